package org.ood4j.engine.autodiff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** Per-sample gradients from one batched pass against single-sample backward passes on the tape. */
class PerSampleTest {
    private final SplittableRandom rng = new SplittableRandom(17);
    private Scope scope;
    private long before;

    @BeforeEach void open() { before = MemoryStats.liveBlocks(); scope = Scope.open(); }
    @AfterEach void close() { scope.close(); assertEquals(before, MemoryStats.liveBlocks(), "leak"); }

    @Test
    void linearNormsMatchMaterialisedOuterProducts() {
        for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            Tensor a = Tensor.randn(rng, type, 5, 7), delta = Tensor.randn(rng, type, 5, 3);
            Tensor grads = PerSample.linearWeightGrads(a, delta);
            assertArrayEquals(new long[] {5, 3, 7}, grads.shape());
            assertEquals(a.getDouble(2, 4) * delta.getDouble(2, 1), grads.getDouble(2, 1, 4), 1e-6);
            for (Norm norm : Norm.values()) {
                assertArrayEquals(PerSample.norms(grads, norm).toDoubleArray(),
                        PerSample.linearWeightNorms(a, delta, norm).toDoubleArray(), 1e-5);
            }
        }
    }

    @Test
    void conv2dWeightGradsAreEachSamplesOwnGradient() {
        int[][] geometries = {{1, 1, 1}, {2, 1, 1}, {1, 0, 2}};   // stride, padding, dilation
        for (int[] g : geometries) {
            Tensor x = Tensor.randn(rng, DType.FLOAT64, 3, 2, 6, 5), w = Tensor.randn(rng, DType.FLOAT64, 4, 2, 3, 2);
            Tensor r = Tensor.randn(rng, DType.FLOAT64, outShape(x, w, g));
            Tensor perSample = PerSample.conv2dWeightGrads(x, r, 3, 2, g[0], g[1], g[2]);
            for (int i = 0; i < 3; i++) {
                Tensor single = singleSampleWeightGrad(x.slice(0, i, i + 1), w, r.slice(0, i, i + 1), g);
                assertArrayEquals(single.toDoubleArray(), perSample.select(0, i).toDoubleArray(), 1e-12);
            }
            for (Norm norm : Norm.values()) {
                assertArrayEquals(PerSample.norms(perSample, norm).toDoubleArray(),
                        PerSample.conv2dWeightNorms(x, r, 3, 2, g[0], g[1], g[2], norm).toDoubleArray(), 1e-10);
            }
        }
    }

    @Test
    void conv2dFloat32AgreesWithFloat64() {
        Tensor x = Tensor.randn(rng, DType.FLOAT32, 6, 3, 8, 8), w = Tensor.randn(rng, DType.FLOAT32, 9, 3, 3, 3);
        Tensor r = Tensor.randn(rng, DType.FLOAT32, 6, 9, 8, 8);
        Tensor n32 = PerSample.conv2dWeightNorms(x, r, 3, 3, 1, 1, 1, Norm.L2_SQUARED);
        Tensor n64 = PerSample.conv2dWeightNorms(x.to(DType.FLOAT64), r.to(DType.FLOAT64), 3, 3, 1, 1, 1, Norm.L2_SQUARED);
        double[] a = n32.toDoubleArray(), b = n64.toDoubleArray();
        for (int i = 0; i < a.length; i++) assertEquals(b[i], a[i], 1e-5 * b[i]);
    }

    @Test
    void conv2dSquaredNormsOfDeepLayersViaGramMatrices() {
        // L = 9 output positions, 40 x 288 weight: the L x L Gram route is the cheaper one here.
        for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            Tensor x = Tensor.randn(rng, type, 4, 32, 3, 3), r = Tensor.randn(rng, type, 4, 40, 3, 3);
            double[] direct = PerSample.norms(PerSample.conv2dWeightGrads(x, r, 3, 3, 1, 1, 1), Norm.L2_SQUARED).toDoubleArray();
            double[] gram = PerSample.conv2dWeightNorms(x, r, 3, 3, 1, 1, 1, Norm.L2_SQUARED).toDoubleArray();
            for (int i = 0; i < 4; i++) assertEquals(direct[i], gram[i], (type == DType.FLOAT32 ? 1e-5 : 1e-12) * direct[i]);
        }
    }

    @Test
    void batchNormAndBiasGradsMatchSingleSampleBackward() {
        Tensor x = Tensor.randn(rng, DType.FLOAT64, 3, 2, 4, 3), r = Tensor.randn(rng, DType.FLOAT64, 3, 2, 4, 3);
        Tensor gamma = Tensor.randn(rng, DType.FLOAT64, 2), beta = Tensor.randn(rng, DType.FLOAT64, 2);
        Tensor mean = Tensor.randn(rng, DType.FLOAT64, 2), var = Tensor.rand(rng, DType.FLOAT64, 0.5, 2, 2);
        Tensor gw = PerSample.batchNormWeightGrads(x, r, mean, var, 1e-5), gb = PerSample.channelBiasGrads(r);
        assertArrayEquals(new long[] {3, 2}, gw.shape());
        for (int i = 0; i < 3; i++) {
            try (Tape tape = new Tape()) {
                Var g = tape.watch(gamma), b = tape.watch(beta);
                Var y = Functional.batchNormEval(tape.constant(x.slice(0, i, i + 1)), g, b, mean, var, 1e-5);
                List<Tensor> grads = tape.vjp(y, r.slice(0, i, i + 1), List.of(g, b));
                assertArrayEquals(grads.get(0).toDoubleArray(), gw.select(0, i).toDoubleArray(), 1e-12);
                assertArrayEquals(grads.get(1).toDoubleArray(), gb.select(0, i).toDoubleArray(), 1e-12);
            }
        }
        assertArrayEquals(r.toDoubleArray(), PerSample.channelBiasGrads(r.reshape(3, -1)).toDoubleArray());
        assertThrows(IllegalArgumentException.class, () -> PerSample.linearWeightNorms(x, r, Norm.L1));
    }

    private static long[] outShape(Tensor x, Tensor w, int[] g) {
        long oh = (x.size(2) + 2L * g[1] - g[2] * (w.size(2) - 1) - 1) / g[0] + 1;
        long ow = (x.size(3) + 2L * g[1] - g[2] * (w.size(3) - 1) - 1) / g[0] + 1;
        return new long[] {x.size(0), w.size(0), oh, ow};
    }

    private static Tensor singleSampleWeightGrad(Tensor x, Tensor w, Tensor r, int[] g) {
        try (Tape tape = new Tape()) {
            Var wv = tape.watch(w);
            Var y = Functional.conv2d(tape.constant(x), wv, null, g[0], g[1], g[2]);
            return tape.vjp(y, r, List.of(wv)).get(0);
        }
    }
}
