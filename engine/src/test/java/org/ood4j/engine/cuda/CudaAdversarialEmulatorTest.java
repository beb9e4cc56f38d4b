package org.ood4j.engine.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.ood4j.engine.cuda.CudaTesting.assumeCuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;
import org.ood4j.kernels.Kernels;

/**
 * What the adversarial emulator promises (kernels/src/test/emu/emu.h), checked from Java: the
 * launch limits a GPU enforces (these hold on a GPU too), and, on the emulator only, poisoned
 * fresh memory and refused overlapping device-to-device copies.
 */
class CudaAdversarialEmulatorTest {
    @BeforeEach
    void cuda() { assumeCuda(); }

    private static boolean emulator() { return System.getProperty("ood4j.test.cudaEmulator") != null; }

    /** The emulator with its adversarial behaviours on (the default; OOD4J_CUDA_EMU_ADVERSARIAL=0 turns them off). */
    private static boolean adversarial() { return emulator() && !"0".equals(System.getenv("OOD4J_CUDA_EMU_ADVERSARIAL")); }

    /** A launch of topk_rows_f over one empty row (k = 0: nothing read or written) with the given shape. */
    private static void launch(int block, int sharedBytes) {
        try (Tensor x = DeviceTensors.empty(DType.FLOAT32, 1); Tensor v = DeviceTensors.empty(DType.FLOAT32, 1);
             Tensor i = DeviceTensors.empty(DType.INT64, 1)) {
            long[] g = Geometry.pack(new long[] {1}, new long[] {0}, new long[] {0}, new long[] {0});
            Launch.of(Kernels.Module.TOPK, "topk_rows_f").strided(g).i64(0).i64(1).i32(0).i32(0).i32(0).i32(1)
                    .ptr(DeviceTensors.address(x)).i32(DeviceTensors.code(DType.FLOAT32))
                    .ptr(DeviceTensors.address(v)).i64(1).ptr(DeviceTensors.address(i)).i64(1)
                    .run(1, 1, block, sharedBytes, "limits test");
            CudaContext.get().synchronize("limits test");
        }
    }

    @Test
    void launchesBeyondSm90LimitsAreRefused() {
        launch(256, 48 * 1024);                                   // at the limit: runs
        var threads = assertThrows(CudaException.class, () -> launch(1025, 0));
        assertTrue(threads.getMessage().contains("CUDA_ERROR_INVALID_VALUE"), threads.getMessage());
        if (emulator() && !adversarial()) return;                // the forgiving emulator checks 227 KB only
        var shared = assertThrows(CudaException.class, () -> launch(256, 48 * 1024 + 4));
        assertTrue(shared.getMessage().contains("CUDA_ERROR_INVALID_VALUE"), shared.getMessage());
    }

    @Test
    void freshDeviceMemoryIsPoisonedAndOverlappingDmaRefused() {
        Assumptions.assumeTrue(adversarial(), "not the adversarial CUDA emulator");
        CudaContext.get().allocator().releaseCache();            // so the block comes fresh from cuMemAlloc
        try (Tensor fresh = DeviceTensors.empty(DType.FLOAT64, 1_234_567)) {
            double[] values = fresh.toDoubleArray();
            assertTrue(Double.isNaN(values[0]) && Double.isNaN(values[values.length - 1]), "fresh memory reads NaN");
            CudaStorage s = DeviceTensors.storage(fresh);
            var overlap = assertThrows(CudaException.class, () -> Transfers.copyDeviceToDevice(8, s.pointer(), 0, s.pointer(), 800));
            assertTrue(overlap.getMessage().contains("CUDA_ERROR_INVALID_VALUE"), overlap.getMessage());
        }
    }
}
