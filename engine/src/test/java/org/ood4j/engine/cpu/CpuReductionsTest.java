package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ood4j.engine.cpu.TestTensors.assertAllClose;
import static org.ood4j.engine.cpu.TestTensors.assertClose;

import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.ReduceOp;
import org.ood4j.engine.cpu.TestTensors.Case;

class CpuReductionsTest {
    private static final CpuReductions OPS = new CpuReductions();
    private static final double NEG_INF = Double.NEGATIVE_INFINITY;
    private static final double INF = Double.POSITIVE_INFINITY;

    private Scope scope;

    @BeforeEach
    void open() { scope = Scope.open(); }

    @AfterEach
    void close() { scope.close(); }

    static Stream<Case> cases() { return TestTensors.cases(); }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void allFiniteFindsEveryNonFiniteValueWhereverItIs(DType dtype) {
        // 3 MiB and more: several parallel slices, a vector tail and a scalar tail
        int n = (3 << 20) / dtype.byteSize() + 13;
        Tensor x = Tensor.randn(new SplittableRandom(5), dtype, n);
        assertTrue(x.allFinite());
        for (int at : new int[] {0, 1, n / 3, n / 2 + 7, n - 14, n - 1}) {
            for (double bad : new double[] {Double.NaN, INF, NEG_INF}) {
                Tensor y = x.copy();
                y.slice(0, at, at + 1).copyFrom(Tensor.full(bad, dtype, 1));
                assertEquals(false, y.allFinite(), dtype + " " + bad + " at " + at);
                y.close();
            }
        }
        // a strided view takes the counting path: its skipped elements do not count
        Tensor m = x.slice(0, 0, 1000).reshape(100, 10);
        Tensor z = m.copy();
        z.slice(1, 9, 10).copyFrom(Tensor.full(Double.NaN, dtype, 100, 1));
        assertTrue(z.slice(1, 0, 9).allFinite());
        assertEquals(false, z.allFinite());
        assertTrue(Tensor.zeros(DType.INT64, 4).allFinite());
        assertTrue(Tensor.zeros(dtype, 0, 3).allFinite());
    }

    // ---------------------------------------------------------------- float64 references

    static double reference(ReduceOp op, double[] v) {
        int n = v.length;
        double sum = 0, abs = 0, squares = 0, max = NEG_INF, min = INF;
        int argmax = 0, argmin = 0;
        for (int i = 0; i < n; i++) {
            sum += v[i];
            abs += Math.abs(v[i]);
            squares += v[i] * v[i];
            if (v[i] > max) { max = v[i]; argmax = i; }
            if (v[i] < min) { min = v[i]; argmin = i; }
        }
        double mean = sum / n, deviations = 0;
        for (double x : v) deviations += (x - mean) * (x - mean);
        double lse = 0;
        for (double x : v) lse += Math.exp(x - max);
        return switch (op) {
            case SUM -> sum;
            case MEAN -> mean;
            case MIN -> min;
            case MAX -> max;
            case ARGMAX -> argmax;
            case ARGMIN -> argmin;
            case NORM_L1 -> abs;
            case NORM_L2 -> Math.sqrt(squares);
            case LOGSUMEXP -> max + Math.log(lse);
            case VAR -> deviations / (n - 1);
            case VAR_BIASED -> deviations / n;
            case COUNT_NONFINITE -> java.util.Arrays.stream(v).filter(x -> !Double.isFinite(x)).count();
        };
    }

    /** Sums of random data can cancel to near 0: compare them on the scale of sum |x|. */
    static double scale(ReduceOp op, double[] v) {
        if (op != ReduceOp.SUM && op != ReduceOp.MEAN) return 1;
        double abs = 0;
        for (double x : v) abs += Math.abs(x);
        return op == ReduceOp.SUM ? abs : abs / v.length;
    }

    // ---------------------------------------------------------------- every op on every input

    @ParameterizedTest
    @MethodSource("cases")
    void reduceMatchesReference(Case c) {
        Tensor x = TestTensors.normal(c);
        double[][] rows = TestTensors.rowsAlong(x.toDoubleArray(), c.shape(), c.d());
        for (ReduceOp op : ReduceOp.values()) {
            for (boolean keepdim : new boolean[] {false, true}) {
                Tensor r = OPS.reduce(op, x, c.dim(), keepdim);
                String what = op + " keepdim " + keepdim + " of " + c;
                assertArrayEquals(TestTensors.reducedShape(c.shape(), c.d(), keepdim), r.shape(), what);
                assertEquals(op.givesLong() ? DType.INT64 : c.dtype(), r.dtype(), what);
                double[] got = r.toDoubleArray();
                for (int i = 0; i < rows.length; i++) {
                    double expected = reference(op, rows[i]);
                    if (op.givesIndex()) assertEquals(expected, got[i], what + " row " + i);
                    else assertClose(expected, got[i], TestTensors.tolerance(c.dtype()), scale(op, rows[i]), what + " row " + i);
                }
                r.close();
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void softmaxMatchesReference(Case c) {
        Tensor x = TestTensors.normal(c);
        double[] flat = x.toDoubleArray();
        for (boolean log : new boolean[] {false, true}) {
            Tensor r = OPS.softmax(x, c.dim(), log);
            assertArrayEquals(c.shape(), r.shape());
            assertEquals(c.dtype(), r.dtype());
            double[] got = r.toDoubleArray();
            double[][] rows = TestTensors.rowsAlong(flat, c.shape(), c.d());
            for (int i = 0; i < rows.length; i++) {
                double[] expected = softmaxReference(rows[i], log);
                for (int j = 0; j < expected.length; j++) {
                    int at = TestTensors.flatIndex(c.shape(), c.d(), i, j);
                    assertClose(expected[j], got[at], TestTensors.tolerance(c.dtype()), 1, (log ? "log_softmax " : "softmax ") + c);
                }
            }
        }
    }

    static double[] softmaxReference(double[] v, boolean log) {
        double max = NEG_INF;
        for (double x : v) max = Math.max(max, x);
        double sum = 0;
        for (double x : v) sum += Math.exp(x - max);
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = log ? v[i] - max - Math.log(sum) : Math.exp(v[i] - max) / sum;
        }
        return r;
    }

    // ---------------------------------------------------------------- large values, infinities, NaN

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void logSumExpAndSoftmaxAreStableForLargeValues(DType dtype) {
        SplittableRandom rng = new SplittableRandom(5);
        try (Tensor unit = Tensor.rand(rng, dtype, -1, 1, 7, 257); Tensor x = unit.mul(1e4)) {
            double[][] rows = TestTensors.rowsAlong(x.toDoubleArray(), new long[] {7, 257}, 1);
            double[] lse = OPS.reduce(ReduceOp.LOGSUMEXP, x, 1, false).toDoubleArray();
            double[] p = OPS.softmax(x, 1, false).toDoubleArray();
            double[] logP = OPS.softmax(x, 1, true).toDoubleArray();
            for (int i = 0; i < 7; i++) {
                assertTrue(Double.isFinite(lse[i]));
                assertClose(reference(ReduceOp.LOGSUMEXP, rows[i]), lse[i], TestTensors.tolerance(dtype), 1, "lse row " + i);
                double[] expected = softmaxReference(rows[i], false);
                double[] expectedLog = softmaxReference(rows[i], true);
                double total = 0;
                for (int j = 0; j < 257; j++) {
                    total += p[i * 257 + j];
                    assertClose(expected[j], p[i * 257 + j], TestTensors.tolerance(dtype), 1, "softmax");
                    assertClose(expectedLog[j], logP[i * 257 + j], TestTensors.tolerance(dtype), 1, "log_softmax");
                }
                assertClose(1, total, 1e-5, 1, "softmax row sum");
            }
        }
        Tensor twin = Tensor.of(new double[] {1e4, 1e4, -1e4, -1e4 - 1}, 2, 2);
        double[] lse = OPS.reduce(ReduceOp.LOGSUMEXP, twin, 1, false).toDoubleArray();
        assertClose(1e4 + Math.log(2), lse[0], 1e-15, 1, "lse of two 1e4");
        assertClose(-1e4 + Math.log1p(Math.exp(-1)), lse[1], 1e-15, 1, "lse of -1e4, -1e4-1");
    }

    @Test
    void leadingSumsOfContiguousRowsAreTheStridedWalksBits() {
        // the contiguous fast path (rows added into column accumulators) against the strided walk of a non-contiguous view
        SplittableRandom r = new SplittableRandom(8);
        for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            try (Tensor wide = Tensor.randn(r, type, 3001, 2051); Tensor view = wide.slice(1, 0, 2048); Tensor dense = view.contiguous()) {
                for (boolean keep : new boolean[] {false, true}) {
                    try (Tensor fast = dense.mean(0, keep); Tensor slow = view.mean(0, keep)) {
                        assertArrayEquals(slow.shape(), fast.shape());
                        assertArrayEquals(slow.toDoubleArray(), fast.toDoubleArray(), type + " mean");
                    }
                }
                try (Tensor fast = dense.sum(0, false); Tensor slow = view.sum(0, false)) {
                    assertArrayEquals(slow.toDoubleArray(), fast.toDoubleArray(), type + " sum");
                }
            }
        }
    }

    @Test
    void logSumExpHandlesInfinitiesAndNaN() {
        Tensor x = Tensor.of(new double[][] {
            {NEG_INF, NEG_INF, NEG_INF},
            {0, NEG_INF, 0},
            {1, INF, 2},
            {1, Double.NaN, INF},
            {NEG_INF, INF, 0},
        });
        double[] lse = OPS.reduce(ReduceOp.LOGSUMEXP, x, 1, false).toDoubleArray();
        assertArrayEquals(new double[] {NEG_INF, Math.log(2), INF, Double.NaN, INF}, lse);
        assertEquals(NEG_INF, OPS.reduce(ReduceOp.LOGSUMEXP, x.to(DType.FLOAT32), 1, false).getDouble(0));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void softmaxGivesExactZerosForMinusInfinity(DType dtype) {
        try (Tensor x64 = Tensor.of(new double[][] {{NEG_INF, 0, 1e4, NEG_INF}, {3, NEG_INF, 3, NEG_INF}});
             Tensor x = x64.to(dtype)) {
            double[] p = OPS.softmax(x, 1, false).toDoubleArray();
            double[] logP = OPS.softmax(x, 1, true).toDoubleArray();
            assertArrayEquals(new double[] {0, 0, 1, 0, 0.5, 0, 0.5, 0}, p);
            assertArrayEquals(new double[] {NEG_INF, -1e4, 0, NEG_INF, -Math.log(2), NEG_INF, -Math.log(2), NEG_INF}, logP,
                    TestTensors.tolerance(dtype));
            // A column view: softmax along dim 0 of the transpose is the same.
            try (Tensor t = x.t()) {
                assertArrayEquals(p, OPS.softmax(t, 0, false).t().contiguous().toDoubleArray());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void softmaxOfARowWithNaNOrPlusInfinityOrOnlyMinusInfinityIsNaN(DType dtype) {
        double inf = Double.POSITIVE_INFINITY;
        try (Tensor x64 = Tensor.of(new double[][] {{1, Double.NaN, 2}, {1, inf, 2}, {NEG_INF, NEG_INF, NEG_INF}, {0, 0, 0}});
             Tensor x = x64.to(dtype)) {
            for (boolean log : new boolean[] {false, true}) {
                double[] p = OPS.softmax(x, 1, log).toDoubleArray();
                for (int j = 0; j < 9; j++) assertTrue(Double.isNaN(p[j]), (log ? "log_softmax " : "softmax ") + dtype + " element " + j);
                for (int j = 9; j < 12; j++) assertEquals(log ? -Math.log(3) : 1.0 / 3, p[j], TestTensors.tolerance(dtype));
            }
        }
    }

    @Test
    void maxMinAndArgPropagateNaN() {
        Tensor x = Tensor.of(new double[][] {{1, Double.NaN, 5, Double.NaN}, {4, 9, 9, -2}});
        assertArrayEquals(new double[] {Double.NaN, 9}, OPS.reduce(ReduceOp.MAX, x, 1, false).toDoubleArray());
        assertArrayEquals(new double[] {Double.NaN, -2}, OPS.reduce(ReduceOp.MIN, x, 1, false).toDoubleArray());
        assertArrayEquals(new long[] {1, 1}, OPS.reduce(ReduceOp.ARGMAX, x, 1, false).toLongArray());
        assertArrayEquals(new long[] {1, 3}, OPS.reduce(ReduceOp.ARGMIN, x, 1, false).toLongArray());
        assertArrayEquals(new double[] {Double.NaN, 20}, OPS.reduce(ReduceOp.SUM, x, 1, false).toDoubleArray());
    }

    @Test
    void argmaxTakesTheFirstOfEqualMaxima() {
        Tensor x = Tensor.of(new double[][] {{2, 7, 7, 1}, {0, 0, 0, 0}});
        assertArrayEquals(new long[] {1, 0}, OPS.reduce(ReduceOp.ARGMAX, x, 1, false).toLongArray());
        assertArrayEquals(new long[] {3, 0}, OPS.reduce(ReduceOp.ARGMIN, x, 1, false).toLongArray());
        assertArrayEquals(new long[] {0, 0, 0, 0}, OPS.reduce(ReduceOp.ARGMAX, x, 0, false).toLongArray());
    }

    /** The float32 rows' argmax (the max, then the first index holding it): as the float64 one, past the first vectors too. */
    @Test
    void float32ArgmaxTakesTheFirstMaximumOrTheFirstNaN() {
        double[][] rows = new double[4][41];
        for (double[] r : rows) java.util.Arrays.fill(r, -5);
        rows[0][33] = 9; rows[0][35] = 9; rows[0][2] = 8;           // a tie past the first vectors, in the tail too
        rows[1][3] = 9; rows[1][20] = Double.NaN; rows[1][38] = Double.NaN;
        rows[2][3] = -0.0; rows[2][30] = 0.0;                        // -0 and +0 tie: the first
        java.util.Arrays.fill(rows[3], NEG_INF);
        try (Tensor x64 = Tensor.of(rows); Tensor x32 = x64.to(DType.FLOAT32)) {
            long[] want = {33, 20, 3, 0};
            assertArrayEquals(want, OPS.reduce(ReduceOp.ARGMAX, x64, 1, false).toLongArray());
            assertArrayEquals(want, OPS.reduce(ReduceOp.ARGMAX, x32, 1, false).toLongArray());
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void normL2NeitherOverflowsNorUnderflows(DType dtype) {
        double big = dtype == DType.FLOAT32 ? 1e30 : 1e200, tiny = dtype == DType.FLOAT32 ? 1e-30 : 1e-200;
        try (Tensor x64 = Tensor.of(new double[][] {{big, big}, {tiny, tiny}, {3, 4}, {0, 0}, {INF, 1}});
             Tensor x = x64.to(dtype)) {
            double[] n = OPS.reduce(ReduceOp.NORM_L2, x, 1, false).toDoubleArray();
            double tol = TestTensors.tolerance(dtype);
            assertClose(Math.sqrt(2) * big, n[0], tol, 1, "big");
            assertClose(Math.sqrt(2) * tiny, n[1], tol, 1, "tiny");
            assertClose(5, n[2], tol, 1, "3-4-5");
            assertEquals(0, n[3]);
            assertEquals(INF, n[4]);
        }
    }

    @Test
    void varianceOfOneValueIsNaNUnbiasedAndZeroBiased() {
        Tensor x = Tensor.of(new double[] {4, 7}, 2, 1);
        assertArrayEquals(new double[] {Double.NaN, Double.NaN}, OPS.reduce(ReduceOp.VAR, x, 1, false).toDoubleArray());
        assertArrayEquals(new double[] {0, 0}, OPS.reduce(ReduceOp.VAR_BIASED, x, 1, false).toDoubleArray());
        assertEquals(4.5, OPS.reduce(ReduceOp.VAR, x, 0, false).item(), 1e-15);
    }

    @Test
    void varianceIsAccurateFarFromZero() {
        double[] v = {1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16};
        assertEquals(30, OPS.reduce(ReduceOp.VAR, Tensor.of(v), 0, false).item(), 1e-6);
    }

    @Test
    void emptyDimensionGivesSumZeroMeanNaNAndRefusesMax() {
        Tensor x = Tensor.zeros(DType.FLOAT32, 3, 0);
        assertArrayEquals(new double[] {0, 0, 0}, OPS.reduce(ReduceOp.SUM, x, 1, false).toDoubleArray());
        assertArrayEquals(new double[] {Double.NaN, Double.NaN, Double.NaN}, OPS.reduce(ReduceOp.MEAN, x, 1, false).toDoubleArray());
        assertArrayEquals(new double[] {NEG_INF, NEG_INF, NEG_INF}, OPS.reduce(ReduceOp.LOGSUMEXP, x, 1, false).toDoubleArray());
        assertArrayEquals(new long[] {1, 0}, OPS.reduce(ReduceOp.SUM, x, 0, true).shape());
        for (ReduceOp op : new ReduceOp[] {ReduceOp.MAX, ReduceOp.MIN, ReduceOp.ARGMAX, ReduceOp.ARGMIN}) {
            var e = assertThrows(IllegalArgumentException.class, () -> OPS.reduce(op, x, 1, false));
            assertTrue(e.getMessage().contains("dimension 1"), e.getMessage());
        }
        assertArrayEquals(new long[] {0}, OPS.reduce(ReduceOp.MAX, x, 0, false).shape());
    }

    @Test
    void int64SumMinMaxStayExactAndTheRestAreFloat64() {
        long big = (1L << 60) + 1;
        Tensor x = Tensor.of(new long[] {big, 2, -3, big, 5, 6}, 2, 3);
        Tensor sum = OPS.reduce(ReduceOp.SUM, x, 1, false);
        assertEquals(DType.INT64, sum.dtype());
        assertArrayEquals(new long[] {big - 1, big + 11}, sum.toLongArray());
        assertArrayEquals(new long[] {big, big}, OPS.reduce(ReduceOp.MAX, x, 1, false).toLongArray());
        assertArrayEquals(new long[] {big, 2, -3}, OPS.reduce(ReduceOp.MIN, x, 0, false).toLongArray());
        Tensor mean = OPS.reduce(ReduceOp.MEAN, x, 0, false);
        assertEquals(DType.FLOAT64, mean.dtype());
        assertEquals(3.5, mean.getDouble(1));
        assertEquals(DType.FLOAT64, OPS.softmax(x, 1, false).dtype());
    }

    @Test
    void tensorApiReducesAllAndScalars() {
        Tensor x = Tensor.randn(new SplittableRandom(3), DType.FLOAT64, 3, 7, 5);
        double[] flat = x.toDoubleArray();
        try (Tensor t = x.transpose(0, 2)) {
            assertEquals(reference(ReduceOp.SUM, flat), t.sum().item(), 1e-12 * reference(ReduceOp.NORM_L1, flat));
            assertEquals(reference(ReduceOp.MAX, flat), t.max().item());
        }
        Tensor s = Tensor.scalar(3, DType.FLOAT64);
        assertEquals(0, s.sum(0).rank());
        assertEquals(3, s.sum(-1).item());
        assertEquals(1, s.softmax(0).item());
        assertThrows(IllegalArgumentException.class, () -> s.sum(1));
        assertThrows(IllegalArgumentException.class, () -> x.sum(3));
        assertThrows(IllegalArgumentException.class, () -> x.softmax(-4));
    }

    @Test
    void largeInputsRunInParallelAndMatch() {
        Tensor x = Tensor.randn(new SplittableRandom(9), DType.FLOAT32, 300, 1000);
        double[][] rows = TestTensors.rowsAlong(x.toDoubleArray(), new long[] {300, 1000}, 0);
        double[] got = OPS.reduce(ReduceOp.VAR, x, 0, false).toDoubleArray();
        double[] expected = new double[rows.length];
        for (int i = 0; i < rows.length; i++) expected[i] = reference(ReduceOp.VAR, rows[i]);
        assertAllClose(expected, got, 1e-5, "var over dim 0");
    }

    @Test
    void opsReleaseTheirTemporaryViews() {
        scope.close();
        long before = MemoryStats.liveBlocks();
        try (Tensor base = Tensor.randn(new SplittableRandom(1), DType.FLOAT32, 5, 7, 3); Tensor x = base.transpose(0, 1)) {
            for (ReduceOp op : ReduceOp.values()) {
                OPS.reduce(op, x, 1, false).close();
                OPS.reduce(op, x, 2, true).close();
            }
            OPS.softmax(x, 0, true).close();
        }
        assertEquals(before, MemoryStats.liveBlocks());
        scope = Scope.open();
    }
}
