package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.Backends;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.ConvGradOps;

/**
 * Convolution gradients at sizes the finite-difference checks do not reach (many channels, the
 * GEMM's row blocks, several samples per task), float32 against float64, and the identities that
 * tie the three weight-gradient forms together. Exactness is checked in autodiff.GradCheckTest.
 */
class CpuConvGradTest {
    private final ConvGradOps ops = Backends.of(Device.CPU).convGrad();
    private final SplittableRandom rng = new SplittableRandom(9);
    private Scope scope;

    @BeforeEach void open() { scope = Scope.open(); }
    @AfterEach void close() { scope.close(); }

    @Test
    void float32AgreesWithFloat64AtSize() {
        Tensor x = Tensor.randn(rng, DType.FLOAT32, 7, 17, 9, 8), w = Tensor.randn(rng, DType.FLOAT32, 70, 17, 3, 3);
        Tensor g = Tensor.randn(rng, DType.FLOAT32, 7, 70, 5, 4);
        Tensor x64 = x.to(DType.FLOAT64), w64 = w.to(DType.FLOAT64), g64 = g.to(DType.FLOAT64);
        close(ops.conv2dInputGrad(g, w, x.shape(), 2, 1, 1), ops.conv2dInputGrad(g64, w64, x.shape(), 2, 1, 1));
        close(ops.conv2dWeightGrad(x, g, 3, 3, 2, 1, 1), ops.conv2dWeightGrad(x64, g64, 3, 3, 2, 1, 1));
    }

    @Test
    void perSampleGradientsSumToTheBatchGradient() {
        Tensor x = Tensor.randn(rng, DType.FLOAT64, 5, 3, 6, 6), g = Tensor.randn(rng, DType.FLOAT64, 5, 4, 6, 6);
        Tensor total = ops.conv2dWeightGrad(x, g, 3, 3, 1, 1, 1);
        Tensor perSample = ops.conv2dWeightGradPerSample(x, g, 3, 3, 1, 1, 1);
        assertArrayEquals(new long[] {5, 4, 3, 3, 3}, perSample.shape());
        assertArrayEquals(total.toDoubleArray(), perSample.sum(0).toDoubleArray(), 1e-10);
    }

    @Test
    void maxPoolGradientGoesToTheFirstMaximumAndAccumulates() {
        // 1x1x2x3 input, kernel 2 stride 1: windows [[1,5],[5,2]] and [[5,3],[2,5]] both pick the first 5 at (0,1).
        Tensor x = Tensor.of(new double[] {1, 5, 3, 5, 2, 5}, 1, 1, 2, 3);
        Tensor g = Tensor.of(new double[] {10, 20}, 1, 1, 1, 2);
        assertArrayEquals(new double[] {0, 30, 0, 0, 0, 0}, ops.maxPool2dGrad(x, g, 2, 1).toDoubleArray());
    }

    @Test
    void shapesAreChecked() {
        Tensor x = Tensor.randn(rng, DType.FLOAT32, 2, 3, 5, 5), w = Tensor.randn(rng, DType.FLOAT32, 4, 3, 3, 3);
        Tensor wrong = Tensor.randn(rng, DType.FLOAT32, 2, 4, 5, 4);
        assertThrows(IllegalArgumentException.class, () -> ops.conv2dInputGrad(wrong, w, x.shape(), 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> ops.conv2dWeightGrad(x, wrong, 3, 3, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> ops.maxPool2dGrad(x, wrong, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> ops.adaptiveAvgPool2dGrad(wrong, new long[] {2, 4, 5}));
    }

    private static void close(Tensor f32, Tensor f64) {
        assertEquals(DType.FLOAT32, f32.dtype());
        double[] a = f32.toDoubleArray(), b = f64.toDoubleArray();
        double scale = 0;
        for (double v : b) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < a.length; i++) assertEquals(b[i], a[i], 1e-5 * scale, "element " + i);
    }
}
