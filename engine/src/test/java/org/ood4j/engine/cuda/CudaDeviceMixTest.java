package org.ood4j.engine.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.ood4j.engine.cuda.CudaTesting.assumeCuda;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;

/**
 * Where a CPU tensor may meet a CUDA tensor: a 0-dim CPU tensor (a scalar) in elementwise ops
 * and where(), as torch allows; an explicit copyFrom; and host-built values moved with
 * movedTo / arange(n, device). Any other mix is refused with a message naming both tensors.
 */
class CudaDeviceMixTest {
    @BeforeEach
    void cuda() { assumeCuda(); }

    @Test
    void aCpuScalarMeetsACudaTensorInBinaryOpsAndWhere() {
        try (Tensor host = Tensor.of(new double[] {-1, 2, 5}); Tensor x = host.to(Device.CUDA);
             Tensor two = Tensor.scalar(2, DType.FLOAT64);
             Tensor sum = x.add(two); Tensor flipped = two.sub(x); Tensor ge = x.ge(two);
             Tensor chosen = Tensor.where(ge, x, Tensor.scalar(-7, DType.FLOAT64))) {
            assertEquals(Device.CUDA, sum.device());
            assertEquals(Device.CUDA, flipped.device());
            assertArrayEquals(new double[] {1, 4, 7}, sum.toDoubleArray());
            assertArrayEquals(new double[] {3, 0, -3}, flipped.toDoubleArray());
            assertArrayEquals(new long[] {0, 1, 1}, ge.toLongArray());
            assertEquals(Device.CUDA, chosen.device());
            assertArrayEquals(new double[] {-7, 2, 5}, chosen.toDoubleArray());
            assertFalse(two.isClosed(), "the scalar operand stays open (its device copy is closed)");
        }
    }

    @Test
    void anyOtherMixOfDevicesIsRefusedNamingBothTensors() {
        try (Tensor host = Tensor.of(new double[] {1, 2, 3}); Tensor x = host.to(Device.CUDA);
             Tensor cond = Tensor.of(new long[] {1, 0, 1})) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> x.add(host));
            assertTrue(e.getMessage().contains("two devices") && e.getMessage().contains("CUDA") && e.getMessage().contains("CPU"),
                    e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Tensor.where(cond, x, x));
        }
    }

    @Test
    void copyFromMayCrossDevicesBothWays() {
        try (Tensor host = Tensor.of(new double[] {1, 2, 3, 4}); Tensor x = host.to(Device.CUDA);
             Tensor hostOut = Tensor.zeros(DType.FLOAT32, 2, 4); Tensor deviceOut = Tensor.zeros(DType.FLOAT64, Device.CUDA, 3)) {
            hostOut.select(0, 1).copyFrom(x);
            assertArrayEquals(new double[] {0, 0, 0, 0, 1, 2, 3, 4}, hostOut.toDoubleArray());
            deviceOut.slice(0, 1, 3).copyFrom(host.slice(0, 2, 4));
            assertArrayEquals(new double[] {0, 3, 4}, deviceOut.toDoubleArray());
        }
    }

    @Test
    void movedToClosesTheSourceOnlyWhenItCopies() {
        Tensor host = Tensor.of(new long[] {4, 5});
        Tensor moved = host.movedTo(Device.CUDA);
        assertTrue(host.isClosed());
        assertEquals(Device.CUDA, moved.device());
        assertSame(moved, moved.movedTo(Device.CUDA));
        try (moved; Tensor range = Tensor.arange(5, Device.CUDA)) {
            assertArrayEquals(new long[] {4, 5}, moved.toLongArray());
            assertEquals(Device.CUDA, range.device());
            assertArrayEquals(new long[] {0, 1, 2, 3, 4}, range.toLongArray());
        }
    }
}
