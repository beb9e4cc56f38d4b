package org.ood4j.engine.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.ood4j.engine.cuda.CudaTesting.assumeCuda;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;

/**
 * The out-of-memory path of the caching allocator: a request larger than the whole device
 * releases the cache, retries once, then throws a CudaException naming the request and the
 * device's free and total bytes; the allocator goes on working afterwards.
 */
class CudaMemoryTest {
    @BeforeEach
    void cuda() { assumeCuda(); }

    @Test
    void aRequestBeyondTheDeviceThrowsNamingTheBytesAndLeavesTheAllocatorUsable() {
        try (Tensor cached = Tensor.zeros(DType.FLOAT32, Device.CUDA, 1 << 20)) {
            assertEquals(0, cached.sum().item());   // a block the cache will hold after close
        }
        long total = CudaContext.get().memoryInfo()[1];
        long elements = (total + (1L << 30)) / 4;
        CudaException e = assertThrows(CudaException.class, () -> Tensor.zeros(DType.FLOAT32, Device.CUDA, elements));
        String m = e.getMessage();
        assertTrue(m.contains("out of GPU memory") && m.contains(String.valueOf(elements * 4)) && m.contains("free of " + total), m);
        try (Tensor host = Tensor.of(new double[] {1, 2, 3}); Tensor x = host.to(Device.CUDA); Tensor y = x.mul(2)) {
            assertArrayEquals(new double[] {2, 4, 6}, y.toDoubleArray());
        }
    }
}
