package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.ood4j.engine.cpu.TestTensors.assertClose;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.cpu.TestTensors.Case;

class CpuSortingTest {
    private static final CpuSorting OPS = new CpuSorting();
    private static final double NAN = Double.NaN;
    private static final double[] QS = {0, 0.25, 0.4, 0.5, 0.9, 1};

    private Scope scope;

    @BeforeEach
    void open() { scope = Scope.open(); }

    @AfterEach
    void close() { scope.close(); }

    /** Every case with normal values, and with small integers (many ties). */
    static Stream<Arguments> cases() {
        return TestTensors.cases().flatMap(c -> Stream.of(Arguments.of(c, false), Arguments.of(c, true)));
    }

    static Stream<Case> plainCases() { return TestTensors.cases(); }

    private static Tensor input(Case c, boolean ties) {
        return ties ? TestTensors.ties(c, 5) : TestTensors.normal(c);
    }

    // ---------------------------------------------------------------- float64 references

    /** Positions of v in stable sorted order, NaN largest (Double.compare); descending keeps ties in order. */
    static int[] referenceOrder(double[] v, boolean descending) {
        Integer[] order = new Integer[v.length];
        for (int i = 0; i < v.length; i++) order[i] = i;
        Comparator<Integer> ascending = (a, b) -> Double.compare(v[a], v[b]);
        Arrays.sort(order, descending ? (a, b) -> Double.compare(v[b], v[a]) : ascending); // stable
        return Arrays.stream(order).mapToInt(Integer::intValue).toArray();
    }

    /** torch.quantile's 'linear': pos = q(n-1), between floor and ceil. */
    static double referenceQuantile(double[] v, double q) {
        double[] a = v.clone();
        Arrays.sort(a);
        if (Double.isNaN(a[a.length - 1])) return NAN;
        double pos = q * (a.length - 1);
        int lo = (int) Math.floor(pos), hi = (int) Math.ceil(pos);
        return a[lo] + (a[hi] - a[lo]) * (pos - lo);
    }

    /** Checks values and indices of a sort or top-k along c's dim against the first k of the reference order. */
    private static void assertFirstK(Case c, Tensor x, Tensor[] r, int k, boolean descending, String what) {
        long[] shape = c.shape().clone();
        shape[c.d()] = k;
        assertArrayEquals(shape, r[0].shape(), what);
        assertArrayEquals(shape, r[1].shape(), what);
        assertEquals(c.dtype(), r[0].dtype(), what);
        assertEquals(DType.INT64, r[1].dtype(), what);
        double[] values = r[0].toDoubleArray();
        long[] indices = r[1].toLongArray();
        double[][] rows = TestTensors.rowsAlong(x.toDoubleArray(), c.shape(), c.d());
        for (int i = 0; i < rows.length; i++) {
            int[] order = referenceOrder(rows[i], descending);
            for (int j = 0; j < k; j++) {
                int at = TestTensors.flatIndex(shape, c.d(), i, j);
                assertEquals(order[j], indices[at], what + " row " + i + " position " + j);
                assertEquals(rows[i][order[j]], values[at], what + " row " + i + " position " + j);
            }
        }
    }

    // ---------------------------------------------------------------- every op on every input

    @ParameterizedTest
    @MethodSource("cases")
    void sortMatchesStableReference(Case c, boolean ties) {
        Tensor x = input(c, ties);
        for (boolean descending : new boolean[] {false, true}) {
            Tensor[] r = OPS.sort(x, c.dim(), descending);
            assertFirstK(c, x, r, (int) c.n(), descending, "sort descending " + descending + " of " + c);
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void topkMatchesFirstOfSort(Case c, boolean ties) {
        Tensor x = input(c, ties);
        int n = (int) c.n();
        for (int k : new int[] {0, 1, 3, n / 2, n}) {
            if (k > n) continue;
            for (boolean largest : new boolean[] {true, false}) {
                Tensor[] r = OPS.topk(x, k, c.dim(), largest);
                assertFirstK(c, x, r, k, largest, "top " + k + " largest " + largest + " of " + c);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("plainCases")
    void kthvalueMatchesReference(Case c) {
        Tensor x = TestTensors.normal(c);
        int n = (int) c.n();
        double[][] rows = TestTensors.rowsAlong(x.toDoubleArray(), c.shape(), c.d());
        for (int k : new int[] {1, (n + 1) / 2, n}) {
            for (boolean keepdim : new boolean[] {false, true}) {
                Tensor r = OPS.kthvalue(x, k, c.dim(), keepdim);
                assertArrayEquals(TestTensors.reducedShape(c.shape(), c.d(), keepdim), r.shape());
                assertEquals(c.dtype(), r.dtype());
                double[] got = r.toDoubleArray();
                for (int i = 0; i < rows.length; i++) {
                    double[] sorted = rows[i].clone();
                    Arrays.sort(sorted);
                    assertEquals(sorted[k - 1], got[i], "k " + k + " of " + c + " row " + i);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("plainCases")
    void quantileMatchesReference(Case c) {
        Tensor x = TestTensors.normal(c);
        double[][] rows = TestTensors.rowsAlong(x.toDoubleArray(), c.shape(), c.d());
        for (boolean keepdim : new boolean[] {false, true}) {
            Tensor r = OPS.quantile(x, QS, c.dim(), keepdim);
            long[] reduced = TestTensors.reducedShape(c.shape(), c.d(), keepdim);
            long[] expectedShape = new long[reduced.length + 1];
            expectedShape[0] = QS.length;
            System.arraycopy(reduced, 0, expectedShape, 1, reduced.length);
            assertArrayEquals(expectedShape, r.shape());
            assertEquals(c.dtype(), r.dtype());
            double[] got = r.toDoubleArray();
            for (int j = 0; j < QS.length; j++) {
                for (int i = 0; i < rows.length; i++) {
                    assertClose(referenceQuantile(rows[i], QS[j]), got[j * rows.length + i], TestTensors.tolerance(c.dtype()), 1,
                            "q " + QS[j] + " of " + c + " row " + i);
                }
            }
        }
    }

    // ---------------------------------------------------------------- hand-computed cases

    @Test
    void quantileHandValues() {
        Tensor x = Tensor.of(new double[] {4, 1, 3, 2});
        assertEquals(2.2, x.quantile(0.4, 0, false).item(), 1e-15);
        assertEquals(2.5, x.quantile(0.5).item(), 1e-15);
        assertEquals(1, x.quantile(0).item());
        assertEquals(4, x.quantile(1).item());
        assertEquals(3.25, x.quantile(0.75).item(), 1e-15);
        assertArrayEquals(new double[] {1, 2.2, 4}, OPS.quantile(x, new double[] {0, 0.4, 1}, 0, false).toDoubleArray(), 1e-15);
        assertEquals(5, Tensor.of(new double[] {5}).quantile(0.3).item());
        // Over all elements of a 2-D, transposed view.
        Tensor m = Tensor.of(new double[][] {{1, 2}, {3, 4}, {5, 6}});
        assertEquals(3.5, m.t().quantile(0.5).item(), 1e-15);
        assertArrayEquals(new long[] {1, 2}, m.quantile(0.5, 0, true).shape());
        assertArrayEquals(new double[] {3, 4}, m.quantile(0.5, 0, false).toDoubleArray());
    }

    @Test
    void quantileOfNaNAndInfinities() {
        Tensor x = Tensor.of(new double[][] {{1, NAN, 3}, {0, Double.POSITIVE_INFINITY, 1}});
        double[] q = OPS.quantile(x, new double[] {0, 0.75, 1}, 1, false).toDoubleArray();
        assertArrayEquals(new double[] {NAN, 0, NAN, Double.POSITIVE_INFINITY, NAN, Double.POSITIVE_INFINITY}, q);
        Tensor ints = Tensor.of(new long[] {1, 2, 3, 4});
        Tensor qi = OPS.quantile(ints, new double[] {0.5}, 0, false);
        assertEquals(DType.FLOAT64, qi.dtype());
        assertEquals(2.5, qi.getDouble(0));
    }

    @Test
    void sortPutsNaNLastAscendingAndFirstDescending() {
        Tensor x = Tensor.of(new double[] {3, NAN, 1, NAN, 2});
        Tensor[] up = OPS.sort(x, 0, false);
        assertArrayEquals(new double[] {1, 2, 3, NAN, NAN}, up[0].toDoubleArray());
        assertArrayEquals(new long[] {2, 4, 0, 1, 3}, up[1].toLongArray());
        Tensor[] down = OPS.sort(x, 0, true);
        assertArrayEquals(new double[] {NAN, NAN, 3, 2, 1}, down[0].toDoubleArray());
        assertArrayEquals(new long[] {1, 3, 0, 4, 2}, down[1].toLongArray());
        Tensor[] top = OPS.topk(x, 2, 0, true);
        assertArrayEquals(new long[] {1, 3}, top[1].toLongArray());
        assertArrayEquals(new long[] {2, 4}, OPS.topk(x, 2, 0, false)[1].toLongArray());
        assertEquals(3, OPS.kthvalue(x, 3, 0, false).item());
        assertEquals(NAN, OPS.kthvalue(x, 4, 0, false).item());
    }

    @Test
    void negativeZeroTiesWithZeroAndKeepsOrder() {
        Tensor x = Tensor.of(new double[] {0.0, -0.0, -1, 0.0});
        assertArrayEquals(new long[] {2, 0, 1, 3}, OPS.sort(x, 0, false)[1].toLongArray());
        assertArrayEquals(new long[] {0, 1, 3, 2}, OPS.sort(x, 0, true)[1].toLongArray());
    }

    @Test
    void smallTopkOfALongRowMatchesSort() {
        SplittableRandom rng = new SplittableRandom(11);
        Tensor x = Tensor.rand(rng, DType.INT64, 0, 1000, 3, 100_000).to(DType.FLOAT32);
        for (boolean largest : new boolean[] {true, false}) {
            Tensor[] top = OPS.topk(x, 10, 1, largest);
            Tensor[] sorted = OPS.sort(x, 1, largest);
            try (Tensor firstValues = sorted[0].slice(1, 0, 10); Tensor firstIndices = sorted[1].slice(1, 0, 10)) {
                assertArrayEquals(firstValues.toDoubleArray(), top[0].toDoubleArray());
                assertArrayEquals(firstIndices.toLongArray(), top[1].toLongArray());
            }
        }
    }

    @Test
    void int64ValuesAreSortedExactly() {
        long big = (1L << 60) + 1;
        Tensor x = Tensor.of(new long[] {big, -5, 7});
        Tensor[] r = OPS.sort(x, 0, true);
        assertEquals(DType.INT64, r[0].dtype());
        assertArrayEquals(new long[] {big, 7, -5}, r[0].toLongArray());
        assertArrayEquals(new long[] {big}, OPS.topk(x, 1, 0, true)[0].toLongArray());
    }

    @Test
    void rejectsBadArguments() {
        Tensor x = Tensor.of(new double[][] {{1, 2, 3}, {4, 5, 6}});
        assertThrows(IllegalArgumentException.class, () -> OPS.topk(x, 4, 1, true));
        assertThrows(IllegalArgumentException.class, () -> OPS.topk(x, -1, 1, true));
        assertThrows(IllegalArgumentException.class, () -> OPS.kthvalue(x, 0, 1, false));
        assertThrows(IllegalArgumentException.class, () -> OPS.kthvalue(x, 3, 0, false));
        for (double q : new double[] {-0.1, 1.1, NAN}) {
            assertThrows(IllegalArgumentException.class, () -> OPS.quantile(x, new double[] {0.5, q}, 1, false));
        }
        assertThrows(IllegalArgumentException.class, () -> OPS.quantile(Tensor.zeros(DType.FLOAT32, 2, 0), new double[] {0.5}, 1, false));
        assertThrows(IllegalArgumentException.class, () -> OPS.sort(x, 2, false));
        assertThrows(IllegalArgumentException.class, () -> OPS.sort(x, -3, false));
        assertEquals(0, OPS.sort(Tensor.zeros(DType.FLOAT32, 2, 0), 1, false)[0].numel());
    }

    @Test
    void opsReleaseTheirTemporaryViews() {
        scope.close();
        long before = MemoryStats.liveBlocks();
        try (Tensor base = Tensor.randn(new SplittableRandom(1), DType.FLOAT32, 5, 7, 3); Tensor x = base.transpose(0, 2)) {
            for (Tensor t : OPS.sort(x, 1, true)) t.close();
            for (Tensor t : OPS.topk(x, 2, 0, false)) t.close();
            OPS.kthvalue(x, 2, 2, true).close();
            OPS.quantile(x, QS, 1, false).close();
            OPS.quantile(x, QS, 0, true).close();
        }
        assertEquals(before, MemoryStats.liveBlocks());
        scope = Scope.open();
    }
}
