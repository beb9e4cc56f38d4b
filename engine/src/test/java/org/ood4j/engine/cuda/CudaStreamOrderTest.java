package org.ood4j.engine.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.ood4j.engine.cuda.CudaTesting.assumeCuda;

import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;

/**
 * Each thread runs its ops on a stream of its own, and streams run concurrently (on a GPU, and
 * on the emulator's asynchronous streams): a tensor written on one thread and read on another
 * must be ordered by events (CudaStorage). Each case puts a slow product (cuBLAS, N^3
 * multiply-adds) before the write or after the read it checks, so that a missing wait shows as
 * stale or half-updated values.
 */
class CudaStreamOrderTest {
    private static final int N = 320;

    private ExecutorService worker;

    @BeforeEach
    void cuda() {
        assumeCuda();
        worker = Executors.newSingleThreadExecutor();
    }

    @AfterEach
    void stop() { if (worker != null) worker.shutdownNow(); }

    private <T> T onWorker(Callable<T> task) throws Exception {
        return worker.submit(task).get();
    }

    private static double total(Tensor t) {
        try (Tensor s = t.sum()) {
            return s.item();
        }
    }

    private static Tensor random(long seed) {
        return Tensor.rand(new SplittableRandom(seed), DType.FLOAT64, -1, 1, N, N);
    }

    @Test
    void aWriteOnAnotherThreadIsSeenByTheOwnersLaterRead() throws Exception {
        try (Tensor a = random(1); Tensor d = a.to(Device.CUDA); Tensor expected = a.matmul(a);
             Tensor target = Tensor.zeros(DType.FLOAT64, Device.CUDA, N, N)) {
            onWorker(() -> {
                try (Tensor p = d.matmul(d)) {
                    target.copyFrom(p);
                }
                return null;
            });
            assertArrayEquals(expected.toDoubleArray(), target.toDoubleArray(), 1e-9, "the worker's write, read by the owner");
        }
    }

    @Test
    void theOwnersWritesAfterAnotherThreadReadAreStillSeenThere() throws Exception {
        try (Tensor a = random(2); Tensor d = a.to(Device.CUDA); Tensor expected = a.matmul(a);
             Tensor target = Tensor.zeros(DType.FLOAT64, Device.CUDA, N, N)) {
            assertEquals(0.0, onWorker(() -> total(target)), "a first read on the worker");
            try (Tensor p = d.matmul(d)) {
                target.copyFrom(p);                        // the owner's write, behind a slow product
            }
            double[] seen = onWorker(target::toDoubleArray);
            assertArrayEquals(expected.toDoubleArray(), seen, 1e-9, "the owner's later write, read by the worker");
        }
    }

    @Test
    void aWriteWaitsForAnEarlierReadOnAnotherThread() throws Exception {
        try (Tensor a = random(3); Tensor d = a.to(Device.CUDA); Tensor expected = a.matmul(a)) {
            Tensor product = onWorker(() -> d.matmul(d));  // reads d on the worker's stream, slowly
            try (product; Tensor zero = Tensor.zeros(DType.FLOAT64, Device.CUDA, N, N)) {
                d.copyFrom(zero);                          // must not land before that read
                assertArrayEquals(expected.toDoubleArray(), onWorker(product::toDoubleArray), 1e-9,
                        "the product read d before it was overwritten");
                assertEquals(0.0, total(d));
            }
        }
    }
}
