package org.ood4j.engine.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.Backends;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Norm;

/** The host fallback for devices without convolution-gradient kernels gives the CPU's results (checked with the CPU as the device). */
class HostConvGradTest {
    @Test
    void sameResultsAsTheCpuBackend() {
        ConvGradOps cpu = Backends.of(Device.CPU).convGrad(), host = new HostConvGrad(Device.CPU);
        SplittableRandom rng = new SplittableRandom(2);
        long before = MemoryStats.liveBlocks();
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(rng, DType.FLOAT32, 2, 3, 6, 6), w = Tensor.randn(rng, DType.FLOAT32, 4, 3, 3, 3);
            Tensor g = Tensor.randn(rng, DType.FLOAT32, 2, 4, 6, 6), gp = Tensor.randn(rng, DType.FLOAT32, 2, 3, 3, 3);
            assertArrayEquals(cpu.conv2dInputGrad(g, w, x.shape(), 1, 1, 1).toFloatArray(), host.conv2dInputGrad(g, w, x.shape(), 1, 1, 1).toFloatArray());
            assertArrayEquals(cpu.conv2dWeightGrad(x, g, 3, 3, 1, 1, 1).toFloatArray(), host.conv2dWeightGrad(x, g, 3, 3, 1, 1, 1).toFloatArray());
            assertArrayEquals(cpu.conv2dWeightGradPerSample(x, g, 3, 3, 1, 1, 1).toFloatArray(),
                    host.conv2dWeightGradPerSample(x, g, 3, 3, 1, 1, 1).toFloatArray());
            assertArrayEquals(cpu.conv2dWeightGradNorms(x, g, 3, 3, 1, 1, 1, Norm.L1).toDoubleArray(),
                    host.conv2dWeightGradNorms(x, g, 3, 3, 1, 1, 1, Norm.L1).toDoubleArray());
            assertArrayEquals(cpu.maxPool2dGrad(x, gp, 2, 2).toFloatArray(), host.maxPool2dGrad(x, gp, 2, 2).toFloatArray());
            assertArrayEquals(cpu.adaptiveAvgPool2dGrad(gp, x.shape()).toFloatArray(), host.adaptiveAvgPool2dGrad(gp, x.shape()).toFloatArray());
        }
        assertEquals(before, MemoryStats.liveBlocks());
    }
}
