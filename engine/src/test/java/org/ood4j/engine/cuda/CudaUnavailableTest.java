package org.ood4j.engine.cuda;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.Backends;
import org.ood4j.engine.CudaStatus;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;

/** On a machine without a usable GPU: a clear reason, exceptions that name it, and no crash. */
class CudaUnavailableTest {
    private static CudaStatus unavailable() {
        CudaStatus s = Backends.cudaStatus();
        Assumptions.assumeFalse(s.available(), "CUDA is available here: " + s);
        return s;
    }

    @Test
    void statusGivesAClearReason() {
        CudaStatus s = unavailable();
        assertFalse(s.description().isBlank());
        assertTrue(s.toString().startsWith("unavailable: "), s.toString());
        assertSame(s, Backends.cudaStatus(), "decided once per process");
        assertEquals(Device.CPU, Device.auto());
    }

    @Test
    void allocatingOnCudaThrowsWithTheReason() {
        CudaStatus s = unavailable();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Tensor.zeros(DType.FLOAT32, Device.CUDA, 3, 4));
        assertTrue(e.getMessage().contains(s.description()), e.getMessage());
    }

    @Test
    void movingToCudaThrowsWithTheReasonAndLeavesTheTensorUsable() {
        CudaStatus s = unavailable();
        try (Tensor x = Tensor.of(new float[] {1, 2, 3})) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> x.to(Device.CUDA));
            assertTrue(e.getMessage().contains(s.description()), e.getMessage());
            assertArrayEquals(new float[] {1, 2, 3}, x.toFloatArray());
        }
    }

    @Test
    void theBackendItselfIsRefusedWithTheReason() {
        CudaStatus s = unavailable();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Backends.of(Device.CUDA));
        assertTrue(e.getMessage().contains(s.description()), e.getMessage());
    }
}
