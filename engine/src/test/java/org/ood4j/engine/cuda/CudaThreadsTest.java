package org.ood4j.engine.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.ood4j.engine.cuda.CudaTesting.assumeCuda;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;

/**
 * Thread churn and virtual threads: CUDA resources (stream, cuBLAS and cuSOLVER handles, pinned
 * staging buffers, the allocator's free list) come from a pool leased per thread, so threads that
 * come and go reuse them instead of leaking a set each; a virtual thread, which may resume on
 * another carrier after blocking, still finds the context current.
 */
class CudaThreadsTest {
    @BeforeEach
    void cuda() { assumeCuda(); }

    /** Transfers, a cuBLAS product and a kernel on the calling thread, checked against the CPU. */
    private static void work(long seed) {
        try (Tensor a = Tensor.rand(new SplittableRandom(seed), DType.FLOAT64, -1, 1, 16, 16);
             Tensor d = a.to(Device.CUDA); Tensor p = d.matmul(d); Tensor s = p.add(d);
             Tensor ep = a.matmul(a); Tensor expected = ep.add(a)) {
            assertArrayEquals(expected.toDoubleArray(), s.toDoubleArray(), 1e-12);
        }
    }

    @Test
    void threadsThatComeAndGoReuseOneStream() throws Exception {
        work(0);
        int before = CudaContext.get().streamsCreated();
        for (int i = 0; i < 24; i++) {
            long seed = i;
            Throwable[] failure = new Throwable[1];
            Thread t = new Thread(() -> work(seed));
            t.setUncaughtExceptionHandler((th, e) -> failure[0] = e);
            t.start();
            t.join();
            if (failure[0] != null) fail(failure[0]);
        }
        int made = CudaContext.get().streamsCreated() - before;
        assertTrue(made <= 1, "24 threads one after another made " + made + " streams (each ended before the next began)");
    }

    @Test
    void virtualThreadsMayMoveBetweenCarriers() throws Exception {
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                long seed = 100 + i;
                done.add(pool.submit(() -> {
                    for (int round = 0; round < 3; round++) {
                        work(seed + 1000L * round);
                        Thread.sleep(2);                       // unmounts: may resume on another carrier
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) f.get();
        }
    }
}
