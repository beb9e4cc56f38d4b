package org.ood4j.engine.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.ood4j.engine.cuda.CudaTesting.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.Backends;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Functional;
import org.ood4j.engine.autodiff.Norm;
import org.ood4j.engine.autodiff.PerSample;
import org.ood4j.engine.autodiff.Tape;
import org.ood4j.engine.autodiff.Var;
import org.ood4j.engine.backend.ConvGradOps;

/**
 * The CUDA convolution and pooling gradients against the CPU backend: every method over odd
 * geometries (stride, padding, dilation, non-square kernels, C != O, batch 1 and 5), both float
 * types, strided operands, several column chunks, ties and NaN in max-pool windows (which must
 * route exactly as on the CPU), adaptive windows of non-divisible and enlarging sizes; and the
 * autodiff tape's gradients and per-sample norms of a small conv net on both devices.
 */
class CudaConvGradTest {
    private static final ConvGradOps CPU = Backends.of(Device.CPU).convGrad();
    private ConvGradOps gpu;

    @BeforeEach
    void cuda() {
        assumeCuda();
        gpu = Backends.of(Device.CUDA).convGrad();
        assertInstanceOf(CudaConvGrad.class, gpu, "the CUDA backend has its own convolution gradients");
    }

    /** batch n, channels c in, o out, input h x w, kernel kh x kw, stride, padding, dilation. */
    private record Case(int n, int c, int o, int h, int w, int kh, int kw, int stride, int padding, int dilation) {
        long outH() { return (h + 2L * padding - (long) dilation * (kh - 1) - 1) / stride + 1; }
        long outW() { return (w + 2L * padding - (long) dilation * (kw - 1) - 1) / stride + 1; }
        long[] x() { return new long[] {n, c, h, w}; }
        long[] weight() { return new long[] {o, c, kh, kw}; }
        long[] gradOut() { return new long[] {n, o, outH(), outW()}; }
    }

    private static final Case[] CASES = {
        new Case(1, 3, 4, 7, 6, 3, 3, 1, 1, 1),
        new Case(5, 2, 3, 9, 7, 3, 3, 2, 0, 1),
        new Case(5, 3, 2, 8, 9, 3, 3, 1, 1, 2),
        new Case(1, 4, 5, 5, 5, 1, 1, 2, 0, 1),
        new Case(5, 2, 6, 6, 5, 1, 1, 1, 1, 1),
        new Case(5, 3, 4, 11, 10, 3, 2, 2, 1, 2),
        new Case(5, 1, 7, 4, 13, 2, 3, 1, 0, 1),
        // a deep layer: L = 9 output positions, 20 x 144 weight: the squared norms take the Gram route
        new Case(4, 16, 20, 3, 3, 3, 3, 1, 1, 1),
    };

    private static double convTol(DType type) {
        return type == DType.FLOAT32 ? 1e-4 : 1e-10;
    }

    @Test
    void convolutionGradientsMatchTheCpu() {
        noLeaks(() -> {
            for (int i = 0; i < CASES.length; i++) {
                for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                    Layout xLayout = i % 2 == 0 ? Layout.CONTIGUOUS : Layout.TRANSPOSED;
                    checkConvCase(CASES[i], type, type, xLayout, 100L * i);
                }
            }
        });
    }

    @Test
    void mixedDtypesPromoteAsOnTheCpu() {
        noLeaks(() -> checkConvCase(CASES[1], DType.FLOAT32, DType.FLOAT64, Layout.SLICED, 7));
    }

    @Test
    void severalColumnChunksGiveTheSameGradients() {
        long saved = ConvColumns.columnBudget;
        try {
            for (long budget : new long[] {1, 6_000}) {   // one sample a chunk; a few samples a chunk, the last one short
                ConvColumns.columnBudget = budget;
                noLeaks(() -> {
                    for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                        checkConvCase(CASES[1], type, type, Layout.TRANSPOSED, 11);
                        checkConvCase(CASES[5], type, type, Layout.CONTIGUOUS, 12);
                        checkConvCase(CASES[7], type, type, Layout.CONTIGUOUS, 13);
                    }
                });
            }
        } finally {
            ConvColumns.columnBudget = saved;
        }
    }

    /** Every convolution-gradient method on one case, CPU against CUDA. */
    private void checkConvCase(Case k, DType xType, DType gType, Layout xLayout, long seed) {
        Tensor[] x = normal(seed, xType, xLayout, 1, k.x());
        Tensor[] w = normal(seed + 1, gType, Layout.SLICED, 1, k.weight());
        Tensor[] g = normal(seed + 2, gType, Layout.SLICED, 1, k.gradOut());
        DType type = DType.promote(xType, gType);
        double tol = convTol(type);   // mixed: float32 values computed in float64 on both devices
        String what = k + " " + xType + "/" + gType + " " + xLayout;
        int s = k.stride(), p = k.padding(), d = k.dilation();
        try {
            try (Tensor e = CPU.conv2dInputGrad(g[0], w[0], k.x(), s, p, d);
                 Tensor a = gpu.conv2dInputGrad(g[1], w[1], k.x(), s, p, d)) {
                assertMatches(e, a, tol, "input gradient " + what);
            }
            try (Tensor e = CPU.conv2dWeightGrad(x[0], g[0], k.kh(), k.kw(), s, p, d);
                 Tensor a = gpu.conv2dWeightGrad(x[1], g[1], k.kh(), k.kw(), s, p, d)) {
                assertMatches(e, a, tol, "weight gradient " + what);
            }
            try (Tensor e = CPU.conv2dWeightGradPerSample(x[0], g[0], k.kh(), k.kw(), s, p, d);
                 Tensor a = gpu.conv2dWeightGradPerSample(x[1], g[1], k.kh(), k.kw(), s, p, d)) {
                assertMatches(e, a, tol, "per-sample weight gradients " + what);
            }
            for (Norm norm : Norm.values()) {
                try (Tensor e = CPU.conv2dWeightGradNorms(x[0], g[0], k.kh(), k.kw(), s, p, d, norm);
                     Tensor a = gpu.conv2dWeightGradNorms(x[1], g[1], k.kh(), k.kw(), s, p, d, norm)) {
                    assertEquals(DType.FLOAT64, a.dtype());
                    assertMatches(e, a, tol, norm + " norms " + what);
                }
            }
        } finally {
            closeAll(x);
            closeAll(w);
            closeAll(g);
        }
    }

    @Test
    void inputGradientIsDeterministic() {
        noLeaks(() -> {
            Case k = CASES[2];
            Tensor[] w = normal(1, DType.FLOAT32, Layout.CONTIGUOUS, 1, k.weight());
            Tensor[] g = normal(2, DType.FLOAT32, Layout.CONTIGUOUS, 1, k.gradOut());
            try (Tensor a = gpu.conv2dInputGrad(g[1], w[1], k.x(), k.stride(), k.padding(), k.dilation());
                 Tensor b = gpu.conv2dInputGrad(g[1], w[1], k.x(), k.stride(), k.padding(), k.dilation())) {
                assertArrayEquals(a.toFloatArray(), b.toFloatArray());
            } finally {
                closeAll(w);
                closeAll(g);
            }
        });
    }

    // ---------------------------------------------------------------- max pooling

    private static final int[][] POOLS = {{2, 2}, {3, 1}, {3, 2}, {2, 3}, {1, 1}, {7, 2}};   // kernel, stride

    @Test
    void maxPoolGradientRoutesLikeTheCpuThroughTiesNaNAndInfinity() {
        noLeaks(() -> {
            for (long[] shape : new long[][] {{5, 3, 9, 8}, {1, 2, 7, 7}}) {
                for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                    for (boolean special : new boolean[] {false, true}) {
                        try (Tensor host = tiedValues(shape, type, special, 31 + shape[0])) {
                            Tensor[] x = pair(host, Layout.CONTIGUOUS, shape);
                            try {
                                checkMaxPool(x, shape, type, type, "ties" + (special ? "+NaN/-inf" : "") + " " + type);
                            } finally {
                                closeAll(x);
                            }
                        }
                    }
                    // ties in a strided view of x
                    Tensor[] x = ints(5, type, Layout.TRANSPOSED, 3, shape);
                    try {
                        checkMaxPool(x, shape, type, type, "transposed ties " + type);
                    } finally {
                        closeAll(x);
                    }
                }
            }
        });
    }

    @Test
    void maxPoolGradientOfMixedDtypes() {
        noLeaks(() -> {
            long[] shape = {5, 3, 9, 8};
            Tensor[] x = ints(9, DType.FLOAT32, Layout.SLICED, 4, shape);
            try {
                checkMaxPool(x, shape, DType.FLOAT32, DType.FLOAT64, "float32 input, float64 gradient");
            } finally {
                closeAll(x);
            }
        });
    }

    /** For every pool geometry that fits: the CPU's and CUDA's gradients agree exactly (same order, float64 sums). */
    private void checkMaxPool(Tensor[] x, long[] shape, DType xType, DType gType, String what) {
        for (int[] pool : POOLS) {
            int kernel = pool[0], stride = pool[1];
            if (kernel > shape[2] || kernel > shape[3]) continue;
            long outH = (shape[2] - kernel) / stride + 1, outW = (shape[3] - kernel) / stride + 1;
            Tensor[] g = normal(kernel * 10L + stride, gType, Layout.SLICED, 1, shape[0], shape[1], outH, outW);
            try (Tensor e = CPU.maxPool2dGrad(x[0], g[0], kernel, stride); Tensor a = gpu.maxPool2dGrad(x[1], g[1], kernel, stride)) {
                assertMatches(e, a, 0, "maxPool2d gradient " + kernel + "/" + stride + " " + what);
                try (Tensor again = gpu.maxPool2dGrad(x[1], g[1], kernel, stride)) {
                    assertArrayEquals(a.toDoubleArray(), again.toDoubleArray(), "deterministic " + what);
                }
            } finally {
                closeAll(g);
            }
        }
    }

    /**
     * Integers in [0, 3) (windows full of ties); with {@code special}, NaN after larger values in
     * places, -inf elsewhere, and one plane's top-left 3 x 3 block all -inf (a window with no finite maximum).
     */
    private static Tensor tiedValues(long[] shape, DType type, boolean special, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int n = (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = rng.nextInt(3);
            if (special && i % 13 == 5) v[i] = Double.NaN;
            if (special && i % 17 == 3) v[i] = Double.NEGATIVE_INFINITY;
        }
        if (special) {
            int w = (int) shape[3];
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 3; j++) v[i * w + j] = Double.NEGATIVE_INFINITY;
            }
        }
        try (Tensor t = Tensor.of(v, shape)) {
            return t.to(type);
        }
    }

    @Test
    void overlappingMaxPoolWindowsAddUpAtTheirSharedFirstMaximum() {
        noLeaks(() -> {
            // windows [[1,5],[5,2]] and [[5,3],[2,5]] both pick the first 5 at (0, 1)
            try (Tensor x = Tensor.of(new double[] {1, 5, 3, 5, 2, 5}, 1, 1, 2, 3); Tensor dx = x.to(Device.CUDA);
                 Tensor g = Tensor.of(new double[] {10, 20}, 1, 1, 1, 2); Tensor dg = g.to(Device.CUDA);
                 Tensor r = gpu.maxPool2dGrad(dx, dg, 2, 1)) {
                assertArrayEquals(new double[] {0, 30, 0, 0, 0, 0}, r.toDoubleArray());
            }
        });
    }

    // ---------------------------------------------------------------- adaptive average pooling

    @Test
    void adaptiveAvgPoolGradientMatchesTheCpuExactly() {
        int[][] outs = {{3, 4}, {7, 10}, {1, 1}, {4, 3}, {9, 13}, {2, 7}};
        noLeaks(() -> {
            long[] in = {5, 3, 7, 10};
            for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                for (int[] out : outs) {
                    Tensor[] g = normal(out[0] * 100L + out[1], type, Layout.TRANSPOSED, 1, in[0], in[1], out[0], out[1]);
                    try (Tensor e = CPU.adaptiveAvgPool2dGrad(g[0], in); Tensor a = gpu.adaptiveAvgPool2dGrad(g[1], in)) {
                        assertMatches(e, a, 0, "adaptiveAvgPool2d gradient to " + Arrays.toString(out) + " " + type);
                    } finally {
                        closeAll(g);
                    }
                }
            }
        });
    }

    // ---------------------------------------------------------------- checks

    @Test
    void operandsAreCheckedAsOnTheCpu() {
        noLeaks(() -> {
            try (Scope s = Scope.open()) {
                Tensor x = on(Device.CUDA, Tensor.randn(new SplittableRandom(3), DType.FLOAT32, 2, 3, 5, 5));
                Tensor w = on(Device.CUDA, Tensor.randn(new SplittableRandom(4), DType.FLOAT32, 4, 3, 3, 3));
                Tensor wrong = on(Device.CUDA, Tensor.randn(new SplittableRandom(5), DType.FLOAT32, 2, 4, 5, 4));
                Tensor ix = Tensor.zeros(DType.INT64, Device.CUDA, 2, 3, 5, 5), ig = Tensor.zeros(DType.INT64, Device.CUDA, 2, 4, 5, 5);
                assertThrows(IllegalArgumentException.class, () -> gpu.conv2dInputGrad(wrong, w, x.shape(), 1, 1, 1));
                assertThrows(IllegalArgumentException.class, () -> gpu.conv2dWeightGrad(x, wrong, 3, 3, 1, 1, 1));
                assertThrows(IllegalArgumentException.class, () -> gpu.conv2dWeightGradPerSample(x, wrong, 3, 3, 1, 1, 1));
                assertThrows(IllegalArgumentException.class, () -> gpu.conv2dWeightGradNorms(x, wrong, 3, 3, 1, 1, 1, Norm.L1));
                assertThrows(IllegalArgumentException.class, () -> gpu.conv2dWeightGrad(ix, ig, 3, 3, 1, 1, 1));
                assertThrows(IllegalArgumentException.class, () -> gpu.conv2dWeightGrad(x, wrong, 3, 3, 0, 1, 1));
                assertThrows(IllegalArgumentException.class, () -> gpu.maxPool2dGrad(x, wrong, 2, 2));
                assertThrows(IllegalArgumentException.class, () -> gpu.maxPool2dGrad(x, wrong, 6, 1));
                assertThrows(IllegalArgumentException.class, () -> gpu.adaptiveAvgPool2dGrad(wrong, new long[] {2, 4, 5}));
                assertThrows(IllegalArgumentException.class, () -> gpu.adaptiveAvgPool2dGrad(wrong, new long[] {2, 3, 5, 4}));
            }
        });
    }

    // ---------------------------------------------------------------- the autodiff tape

    /**
     * conv(2→4, 3x3, pad 1) + bias → relu → max pool 3/2 (overlapping) → conv(4→3, 3x3, pad 1,
     * dilation 1) → adaptive average pool to 2 x 2 → Σ y²: the tape's gradients (input, weights,
     * bias, both layer outputs) and the per-sample weight-gradient norms and gradients of both
     * convolutions, computed on each device, agree.
     */
    @Test
    void tapeGradientsAndPerSampleNormsOfASmallConvNetMatchTheCpu() {
        noLeaks(() -> {
            for (DType type : new DType[] {DType.FLOAT64, DType.FLOAT32}) {
                List<Tensor> cpu = smallNet(Device.CPU, type), cuda = smallNet(Device.CUDA, type);
                try {
                    assertEquals(cpu.size(), cuda.size());
                    for (int i = 0; i < cpu.size(); i++) {
                        assertMatches(cpu.get(i), cuda.get(i), type == DType.FLOAT32 ? 2e-4 : 1e-9, type + " result " + i);
                    }
                } finally {
                    closeAll(cpu.toArray(Tensor[]::new));
                    closeAll(cuda.toArray(Tensor[]::new));
                }
            }
        });
    }

    /** The gradients and per-sample results of the small net on one device (the caller closes them). */
    private static List<Tensor> smallNet(Device device, DType type) {
        SplittableRandom rng = new SplittableRandom(21);
        List<Tensor> results = new ArrayList<>();
        try (Scope scope = Scope.open(); Tape tape = new Tape()) {
            Tensor x = on(device, Tensor.randn(rng, type, 5, 2, 9, 8));
            Tensor w1 = on(device, Tensor.randn(rng, type, 4, 2, 3, 3)), b1 = on(device, Tensor.randn(rng, type, 4));
            Tensor w2 = on(device, Tensor.randn(rng, type, 3, 4, 3, 3));
            Var vx = tape.watch(x), vw1 = tape.watch(w1), vb1 = tape.watch(b1), vw2 = tape.watch(w2);
            Var c1 = Functional.conv2d(vx, vw1, vb1, 1, 1, 1);
            Var p1 = Functional.maxPool2d(c1.relu(), 3, 2);
            Var c2 = Functional.conv2d(p1, vw2, null, 1, 1, 1);
            Var y = Functional.adaptiveAvgPool2d(c2, 2, 2);
            Var loss = y.mul(y).sum();
            List<Tensor> grads = tape.grad(loss, List.of(vx, vw1, vb1, vw2, c1, c2));
            results.addAll(grads);
            Tensor d1 = grads.get(4), d2 = grads.get(5);
            for (Norm norm : Norm.values()) {
                results.add(PerSample.conv2dWeightNorms(x, d1, 3, 3, 1, 1, 1, norm));
                results.add(PerSample.conv2dWeightNorms(p1.value(), d2, 3, 3, 1, 1, 1, norm));
            }
            results.add(PerSample.conv2dWeightGrads(p1.value(), d2, 3, 3, 1, 1, 1));
            for (Tensor r : results) {
                assertEquals(device, r.device(), "the tape's results stay on the device");
                scope.keep(r);
            }
            return results;
        }
    }

    private static Tensor on(Device device, Tensor host) {
        try (host) {
            return host.to(device);
        }
    }

    // ---------------------------------------------------------------- leaks

    private static void noLeaks(Runnable body) {
        long before = MemoryStats.liveBlocks();
        try (Scope s = Scope.open()) {
            body.run();
        }
        assertEquals(before, MemoryStats.liveBlocks(), "leaked storage");
    }
}
