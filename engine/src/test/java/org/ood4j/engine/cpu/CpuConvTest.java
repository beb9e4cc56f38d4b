package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.Conv;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** Convolution and pooling against direct loops in float64. */
class CpuConvTest {
    private Scope scope;
    private final SplittableRandom rng = new SplittableRandom(5);

    @BeforeEach void open() { scope = Scope.open(); }
    @AfterEach void close() { scope.close(); }

    // ---------------------------------------------------------------- conv2d

    @Test
    void conv2dMatchesDirectLoops() {
        int[][] kernels = {{3, 3}, {1, 1}, {2, 3}};
        for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            for (int[] k : kernels) {
                for (int stride = 1; stride <= 2; stride++) {
                    for (int padding = 0; padding <= 1; padding++) {
                        for (int dilation = 1; dilation <= 2; dilation++) {
                            Tensor x = Tensor.randn(rng, type, 2, 3, 7, 9);
                            Tensor w = Tensor.randn(rng, type, 5, 3, k[0], k[1]);
                            Tensor b = Tensor.randn(rng, type, 5);
                            check(x, w, b, stride, padding, dilation);
                            check(x, w, null, stride, padding, dilation);
                        }
                    }
                }
            }
        }
    }

    @Test
    void conv2dWithManyChannelsAndOddSizes() {
        // O = 70 crosses the GEMM's 4-row and 64-row blocks; N = 5 runs samples in parallel.
        Tensor x = Tensor.randn(rng, DType.FLOAT32, 5, 17, 15, 13);
        Tensor w = Tensor.randn(rng, DType.FLOAT32, 70, 17, 3, 3);
        Tensor b = Tensor.randn(rng, DType.FLOAT32, 70);
        check(x, w, b, 1, 1, 1);
        check(x, w, b, 2, 0, 2);
        Tensor one = Tensor.randn(rng, DType.FLOAT64, 1, 1, 1, 1);
        check(one, Tensor.randn(rng, DType.FLOAT64, 1, 1, 1, 1), null, 1, 0, 1);
        check(one, Tensor.randn(rng, DType.FLOAT64, 3, 1, 3, 3), null, 1, 1, 1);
    }

    @Test
    void conv2dOfStridedViewsAndMixedDtypes() {
        Tensor nhwc = Tensor.randn(rng, DType.FLOAT32, 2, 6, 8, 4);
        Tensor w = Tensor.randn(rng, DType.FLOAT64, 3, 4, 3, 3);
        try (Tensor x = nhwc.permute(0, 3, 1, 2)) {        // NCHW view of NHWC memory
            Tensor out = check(x, w, Tensor.randn(rng, DType.FLOAT32, 3), 1, 1, 1);
            assertEquals(DType.FLOAT64, out.dtype());
        }
    }

    @Test
    void conv2dValidatesShapes() {
        Tensor x = Tensor.randn(rng, DType.FLOAT32, 1, 3, 5, 5);
        var e = assertThrows(IllegalArgumentException.class,
                () -> Conv.conv2d(x, Tensor.randn(rng, DType.FLOAT32, 4, 2, 3, 3), null, 1, 0, 1));
        assertTrue(e.getMessage().contains("[1, 3, 5, 5]") && e.getMessage().contains("[4, 2, 3, 3]"), e.getMessage());
        Tensor w = Tensor.randn(rng, DType.FLOAT32, 4, 3, 3, 3);
        e = assertThrows(IllegalArgumentException.class, () -> Conv.conv2d(Tensor.randn(rng, DType.FLOAT32, 3, 5, 5), w, null, 1, 0, 1));
        assertTrue(e.getMessage().contains("[3, 5, 5]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Conv.conv2d(x, Tensor.randn(rng, DType.FLOAT32, 4, 3, 3), null, 1, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> Conv.conv2d(x, w, Tensor.randn(rng, DType.FLOAT32, 5), 1, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> Conv.conv2d(x, w, null, 0, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> Conv.conv2d(x, w, null, 1, -1, 1));
        assertThrows(IllegalArgumentException.class, () -> Conv.conv2d(x, w, null, 1, 0, 3)); // 7-wide dilated kernel on 5
    }

    private static Tensor check(Tensor x, Tensor w, Tensor b, int stride, int padding, int dilation) {
        Tensor out = Conv.conv2d(x, w, b, stride, padding, dilation);
        double[] expected = conv2dReference(x, w, b, stride, padding, dilation);
        long n = x.size(0), o = w.size(0);
        long oh = (x.size(2) + 2L * padding - dilation * (w.size(2) - 1) - 1) / stride + 1;
        long ow = (x.size(3) + 2L * padding - dilation * (w.size(3) - 1) - 1) / stride + 1;
        assertArrayEquals(new long[] {n, o, oh, ow}, out.shape());
        double tol = out.dtype() == DType.FLOAT32 ? 1e-4 : 1e-12;
        double[] actual = out.toDoubleArray();
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tol * Math.max(1, Math.abs(expected[i])), "element " + i);
        }
        return out;
    }

    /** The definition, one output element at a time. */
    private static double[] conv2dReference(Tensor x, Tensor w, Tensor b, int s, int p, int d) {
        int n = (int) x.size(0), c = (int) x.size(1), h = (int) x.size(2), wd = (int) x.size(3);
        int o = (int) w.size(0), kh = (int) w.size(2), kw = (int) w.size(3);
        int oh = (h + 2 * p - d * (kh - 1) - 1) / s + 1, ow = (wd + 2 * p - d * (kw - 1) - 1) / s + 1;
        double[] out = new double[n * o * oh * ow];
        int at = 0;
        for (int i = 0; i < n; i++) {
            for (int oc = 0; oc < o; oc++) {
                for (int y = 0; y < oh; y++) {
                    for (int z = 0; z < ow; z++) {
                        double sum = b == null ? 0 : b.getDouble(oc);
                        for (int ch = 0; ch < c; ch++) {
                            for (int ki = 0; ki < kh; ki++) {
                                for (int kj = 0; kj < kw; kj++) {
                                    int ih = y * s - p + ki * d, iw = z * s - p + kj * d;
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                                    sum += x.getDouble(i, ch, ih, iw) * w.getDouble(oc, ch, ki, kj);
                                }
                            }
                        }
                        out[at++] = sum;
                    }
                }
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- pooling

    @Test
    void maxPoolMatchesDirectLoops() {
        int[][] cases = {{2, 2}, {3, 2}, {3, 1}, {1, 1}, {7, 3}};   // {kernel, stride}
        for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            Tensor x = Tensor.randn(rng, type, 2, 3, 7, 9);
            for (int[] c : cases) {
                Tensor out = Conv.maxPool2d(x, c[0], c[1]);
                assertEquals(type, out.dtype());
                int oh = (7 - c[0]) / c[1] + 1, ow = (9 - c[0]) / c[1] + 1;
                assertArrayEquals(new long[] {2, 3, oh, ow}, out.shape());
                for (int n = 0; n < 2; n++) {
                    for (int ch = 0; ch < 3; ch++) {
                        for (int i = 0; i < oh; i++) {
                            for (int j = 0; j < ow; j++) {
                                double m = Double.NEGATIVE_INFINITY;
                                for (int a = 0; a < c[0]; a++) {
                                    for (int bb = 0; bb < c[0]; bb++) m = Math.max(m, x.getDouble(n, ch, i * c[1] + a, j * c[1] + bb));
                                }
                                assertEquals(m, out.getDouble(n, ch, i, j));
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void maxPoolPropagatesNanAndReadsViews() {
        Tensor x = Tensor.randn(rng, DType.FLOAT64, 1, 2, 4, 4);
        x.set(Double.NaN, 0, 1, 2, 3);
        Tensor out = Conv.maxPool2d(x, 2, 2);
        assertTrue(Double.isNaN(out.getDouble(0, 1, 1, 1)));
        assertTrue(Double.isFinite(out.getDouble(0, 1, 0, 0)));
        try (Tensor t = x.transpose(2, 3)) {
            Tensor ot = Conv.maxPool2d(t, 2, 2);
            assertEquals(out.getDouble(0, 0, 0, 1), ot.getDouble(0, 0, 1, 0));
        }
        assertThrows(IllegalArgumentException.class, () -> Conv.maxPool2d(x, 5, 1));
        assertThrows(IllegalArgumentException.class, () -> Conv.maxPool2d(x, 2, 0));
        assertThrows(IllegalArgumentException.class, () -> Conv.maxPool2d(Tensor.randn(rng, DType.FLOAT64, 2, 4, 4), 2, 2));
    }

    @Test
    void float32ClampedPoolIsTheClampThenThePool() {
        // float32 maps and bounds take MathKernels.planeMeans (8-value blocks, then the tail): planes of 4
        // (no whole block), 9, 16 and 49 values, against clamp-then-mean in float64, and bit for bit
        // against the unfused clamp followed by the float32 pool; 13 channels: runs that are no multiple of 8
        // Bounds per element (13, side, side), or one per plane (MathKernels.planeMeans' perPlane form): per
        // channel (13, 1, 1) as VRA's, and a scalar upper bound alone as ReAct's. 37 channels of 4 x 4: runs of
        // two folds of 16 planes and five planes past them (the 16-value planes' form).
        SplittableRandom rng = new SplittableRandom(4);
        for (int channels : new int[] {13, 37})
        for (String kind : new String[] {"element", "channel", "scalar"})
        for (int side : channels == 13 ? new int[] {2, 3, 4, 7} : new int[] {4}) {
            final int ch = channels;
            Tensor x = Tensor.randn(rng, DType.FLOAT32, 5, ch, side, side);
            long[] boundShape = kind.equals("element") ? new long[] {ch, side, side} : new long[] {ch, 1, 1};
            Tensor lower = kind.equals("scalar") ? null : Tensor.randn(rng, DType.FLOAT32, boundShape).mul(0.5).sub(0.5);
            Tensor upper = kind.equals("scalar") ? Tensor.scalar(0.3, DType.FLOAT32) : lower.add(1);
            Tensor lowerMap = lower == null ? Tensor.full(Double.NEGATIVE_INFINITY, DType.FLOAT32, ch, side, side) : lower.expand(ch, side, side);
            Tensor upperMap = upper.expand(ch, side, side);
            x.set(Double.NaN, 3, 4, 1, 1);
            Tensor fused = Conv.clampedGlobalAvgPool(x, lower, upper);
            Tensor unfused = Conv.adaptiveAvgPool2d((lower == null ? x : x.maximum(lower)).minimum(upper), 1, 1);
            assertEquals(DType.FLOAT32, fused.dtype());
            assertArrayEquals(unfused.toDoubleArray(), fused.toDoubleArray(), 0, kind + ", " + side + " x " + side);
            assertTrue(Double.isNaN(fused.getDouble(3, 4, 0, 0)));
            // the checked form: null for NaN or an infinity (even one the clamp would hide), else the same bits
            assertEquals(null, Conv.clampedGlobalAvgPoolIfFinite(x, lower, upper));
            x.set(Double.POSITIVE_INFINITY, 3, 4, 1, 1);
            assertEquals(null, Conv.clampedGlobalAvgPoolIfFinite(x, lower, upper), side + " x " + side + ": +Inf");
            x.set(0.25, 3, 4, 1, 1);
            x.set(Double.NEGATIVE_INFINITY, 3, 4, side - 1, side - 1);                   // in the tail when side is odd
            assertEquals(null, Conv.clampedGlobalAvgPoolIfFinite(x, lower, upper), side + " x " + side + ": -Inf");
            x.set(Double.NaN, 3, 4, 1, 1);
            Tensor finite = x.slice(0, 0, 3);
            assertArrayEquals(Conv.clampedGlobalAvgPool(finite, lower, upper).toDoubleArray(),
                    Conv.clampedGlobalAvgPoolIfFinite(finite, lower, upper).toDoubleArray(), 0);
            for (int n = 0; n < 5; n++) {
                for (int c = 0; c < ch; c++) {
                    if (n == 3 && c == 4) continue;
                    double sum = 0;
                    for (int i = 0; i < side; i++) {
                        for (int j = 0; j < side; j++) {
                            sum += Math.min(Math.max(x.getDouble(n, c, i, j), lowerMap.getDouble(c, i, j)), upperMap.getDouble(c, i, j));
                        }
                    }
                    assertEquals(sum / (side * side), fused.getDouble(n, c, 0, 0), 1e-6, side + " x " + side + " at " + n + ", " + c);
                }
            }
        }
    }

    @Test
    void adaptiveAvgPoolMatchesPyTorchWindows() {
        int[][] cases = {{7, 10, 3, 4}, {7, 10, 1, 1}, {7, 10, 7, 10}, {3, 5, 5, 7}, {13, 6, 4, 6}};   // {H, W, outH, outW}
        for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            for (int[] c : cases) {
                Tensor x = Tensor.randn(rng, type, 2, 3, c[0], c[1]);
                Tensor out = Conv.adaptiveAvgPool2d(x, c[2], c[3]);
                assertEquals(type, out.dtype());
                assertArrayEquals(new long[] {2, 3, c[2], c[3]}, out.shape());
                for (int n = 0; n < 2; n++) {
                    for (int ch = 0; ch < 3; ch++) {
                        for (int i = 0; i < c[2]; i++) {
                            int i0 = (int) Math.floor((double) i * c[0] / c[2]), i1 = (int) Math.ceil((double) (i + 1) * c[0] / c[2]);
                            for (int j = 0; j < c[3]; j++) {
                                int j0 = (int) Math.floor((double) j * c[1] / c[3]), j1 = (int) Math.ceil((double) (j + 1) * c[1] / c[3]);
                                double sum = 0;
                                for (int a = i0; a < i1; a++) {
                                    for (int bb = j0; bb < j1; bb++) sum += x.getDouble(n, ch, a, bb);
                                }
                                double tol = type == DType.FLOAT32 ? 1e-6 : 1e-15;
                                assertEquals(sum / ((i1 - i0) * (j1 - j0)), out.getDouble(n, ch, i, j), tol);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void adaptiveAvgPoolKnownValues() {
        // H = 5 to 3: windows [0,2), [1,4), [3,5).
        Tensor x = Tensor.of(new double[] {1, 2, 3, 4, 5}, 1, 1, 5, 1);
        assertArrayEquals(new double[] {1.5, 3, 4.5}, Conv.adaptiveAvgPool2d(x, 3, 1).toDoubleArray(), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> Conv.adaptiveAvgPool2d(x, 0, 1));
    }
}
