package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ood4j.engine.cpu.TestTensors.assertClose;

import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.cpu.TestTensors.Case;

class CpuIndexingTest {
    private static final CpuIndexing OPS = new CpuIndexing();

    private Scope scope;

    @BeforeEach
    void open() { scope = Scope.open(); }

    @AfterEach
    void close() { scope.close(); }

    static Stream<Case> cases() { return TestTensors.cases(); }

    // ---------------------------------------------------------------- multi-index helpers for references

    /** The multi-index of flat C-order position p in shape. */
    static long[] unravel(long p, long[] shape) {
        long[] m = new long[shape.length];
        for (int i = shape.length - 1; i >= 0; i--) {
            m[i] = p % shape[i];
            p /= shape[i];
        }
        return m;
    }

    /** The flat C-order position of multi-index m in shape. */
    static int ravel(long[] m, long[] shape) {
        long p = 0;
        for (int i = 0; i < shape.length; i++) p = p * shape[i] + m[i];
        return (int) p;
    }

    /** Random int64 indices in [0, bound) of the given shape, laid out like the case's input. */
    static Tensor randomIndex(Case c, long bound, long[] shape) {
        SplittableRandom rng = new SplittableRandom(c.seed() + 1);
        return TestTensors.inLayout(c.layout(), shape, s -> Tensor.rand(rng, DType.INT64, 0, bound, s));
    }

    // ---------------------------------------------------------------- gather and index_select

    @ParameterizedTest
    @MethodSource("cases")
    void gatherMatchesReference(Case c) {
        Tensor x = TestTensors.normal(c);
        double[] flat = x.toDoubleArray();
        long[] same = c.shape().clone();
        same[c.d()] = 3;
        long[] smaller = c.shape().clone();
        for (int i = 0; i < smaller.length; i++) smaller[i] = Math.max(1, smaller[i] - 1);
        smaller[c.d()] = c.n() + 2;
        for (long[] indexShape : new long[][] {same, smaller}) {
            Tensor index = randomIndex(c, c.n(), indexShape);
            Tensor out = OPS.gather(x, c.dim(), index);
            assertArrayEquals(indexShape, out.shape());
            assertEquals(c.dtype(), out.dtype());
            double[] got = out.toDoubleArray();
            long[] idx = index.toLongArray();
            for (int p = 0; p < got.length; p++) {
                long[] m = unravel(p, indexShape);
                m[c.d()] = idx[p];
                assertEquals(flat[ravel(m, c.shape())], got[p], "gather " + c + " index " + Shape.toString(indexShape));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void indexSelectMatchesReference(Case c) {
        Tensor x = TestTensors.normal(c);
        double[] flat = x.toDoubleArray();
        SplittableRandom rng = new SplittableRandom(c.seed());
        Tensor pairs = Tensor.rand(rng, DType.INT64, 0, c.n(), 5, 2);
        try (Tensor strided = pairs.select(1, 1)) { // a 1-D index with stride 2
            for (Tensor index : new Tensor[] {pairs.select(1, 0).contiguous(), strided}) {
                Tensor out = OPS.indexSelect(x, c.dim(), index);
                long[] shape = c.shape().clone();
                shape[c.d()] = 5;
                assertArrayEquals(shape, out.shape());
                double[] got = out.toDoubleArray();
                long[] idx = index.toLongArray();
                for (int p = 0; p < got.length; p++) {
                    long[] m = unravel(p, shape);
                    m[c.d()] = idx[(int) m[c.d()]];
                    assertEquals(flat[ravel(m, c.shape())], got[p], "indexSelect " + c);
                }
            }
        }
    }

    @Test
    void gatherHandValuesAndInt64Exactness() {
        Tensor x = Tensor.of(new double[][] {{1, 2}, {3, 4}});
        Tensor index = Tensor.of(new long[] {0, 0, 1, 0}, 2, 2);
        assertArrayEquals(new double[] {1, 1, 4, 3}, OPS.gather(x, 1, index).toDoubleArray());
        assertArrayEquals(new double[] {1, 2, 3, 2}, OPS.gather(x, 0, index).toDoubleArray());
        long big = (1L << 60) + 1;
        Tensor ints = Tensor.of(new long[] {7, big, -3});
        assertArrayEquals(new long[] {big, big, -3}, OPS.indexSelect(ints, 0, Tensor.of(new long[] {1, 1, 2})).toLongArray());
        assertEquals(0, OPS.indexSelect(x, 1, Tensor.zeros(DType.INT64, 0)).numel());
    }

    @Test
    void outOfRangeIndicesNameTheValueAndTheDimensionSize() {
        Tensor x = Tensor.zeros(DType.FLOAT32, 3, 4);
        var e = assertThrows(IndexOutOfBoundsException.class, () -> OPS.gather(x, 1, Tensor.of(new long[] {0, 4}, 1, 2)));
        assertTrue(e.getMessage().contains("index 4") && e.getMessage().contains("size 4"), e.getMessage());
        e = assertThrows(IndexOutOfBoundsException.class, () -> OPS.indexSelect(x, 0, Tensor.of(new long[] {-1})));
        assertTrue(e.getMessage().contains("index -1") && e.getMessage().contains("size 3"), e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> OPS.gather(Tensor.zeros(DType.FLOAT32, 3, 0), 1,
                Tensor.of(new long[] {0}, 1, 1)));
    }

    @Test
    void rejectsBadIndexTensors() {
        Tensor x = Tensor.zeros(DType.FLOAT32, 3, 4);
        assertThrows(IllegalArgumentException.class, () -> OPS.gather(x, 1, Tensor.of(new double[] {0}, 1, 1)));
        assertThrows(IllegalArgumentException.class, () -> OPS.gather(x, 1, Tensor.of(new long[] {0})));
        assertThrows(IllegalArgumentException.class, () -> OPS.gather(x, 1, Tensor.zeros(DType.INT64, 4, 1)));
        assertThrows(IllegalArgumentException.class, () -> OPS.gather(x, 2, Tensor.zeros(DType.INT64, 1, 1)));
        assertThrows(IllegalArgumentException.class, () -> OPS.indexSelect(x, 0, Tensor.zeros(DType.INT64, 1, 1)));
        assertThrows(IllegalArgumentException.class, () -> OPS.indexSelect(x, 0, Tensor.of(new float[] {0})));
        assertThrows(IllegalArgumentException.class, () -> OPS.maskedSelect(x, Tensor.ones(DType.FLOAT32, 3, 4)));
    }

    // ---------------------------------------------------------------- masked select

    @ParameterizedTest
    @MethodSource("cases")
    void maskedSelectMatchesReference(Case c) {
        Tensor x = TestTensors.normal(c);
        double[] flat = x.toDoubleArray();
        long[] row = {c.shape()[c.shape().length - 1]};
        for (long[] maskShape : new long[][] {c.shape(), row}) {
            Tensor mask = randomIndex(c, 2, maskShape);
            Tensor out = OPS.maskedSelect(x, mask);
            assertEquals(1, out.rank());
            assertEquals(c.dtype(), out.dtype());
            try (Tensor full = mask.expand(c.shape())) {
                long[] m = full.toLongArray();
                double[] expected = new double[flat.length];
                int count = 0;
                for (int i = 0; i < flat.length; i++) if (m[i] != 0) expected[count++] = flat[i];
                assertArrayEquals(java.util.Arrays.copyOf(expected, count), out.toDoubleArray(), "maskedSelect " + c);
            }
        }
    }

    @Test
    void maskedSelectBroadcastsBothWaysAndKeepsInt64() {
        long big = (1L << 60) + 1;
        Tensor x = Tensor.of(new long[] {big, 2, 3});
        Tensor mask = Tensor.of(new long[] {1, 0}, 2, 1);
        assertArrayEquals(new long[] {big, 2, 3}, OPS.maskedSelect(x, mask).toLongArray());
        assertEquals(0, OPS.maskedSelect(x, Tensor.zeros(DType.INT64, 3)).numel());
    }

    // ---------------------------------------------------------------- grouping

    static Stream<Case> groupCases() {
        return TestTensors.cases().filter(c -> c.d() == 0);
    }

    @ParameterizedTest
    @MethodSource("groupCases")
    void groupSumAndCountMatchReference(Case c) {
        int groups = 4;
        Tensor x = TestTensors.normal(c);
        int rows = (int) c.shape()[0];
        int rowSize = (int) (x.numel() / rows);
        Tensor labels = Tensor.rand(new SplittableRandom(c.seed()), DType.INT64, -1, groups, rows);
        long[] label = labels.toLongArray();
        double[] flat = x.toDoubleArray();
        double[] expected = new double[groups * rowSize];
        long[] counts = new long[groups];
        for (int i = 0; i < rows; i++) {
            if (label[i] < 0) continue;
            counts[(int) label[i]]++;
            for (int j = 0; j < rowSize; j++) expected[(int) label[i] * rowSize + j] += flat[i * rowSize + j];
        }
        Tensor sums = OPS.groupSum(x, labels, groups);
        long[] shape = c.shape().clone();
        shape[0] = groups;
        assertArrayEquals(shape, sums.shape());
        assertEquals(c.dtype(), sums.dtype());
        double[] got = sums.toDoubleArray();
        for (int i = 0; i < expected.length; i++) {
            assertClose(expected[i], got[i], TestTensors.tolerance(c.dtype()), rows, "groupSum " + c + " [" + i + "]");
        }
        assertArrayEquals(counts, OPS.groupCount(labels, groups).toLongArray());
    }

    @Test
    void float64GroupSumsOfFloat32RowsKeepTheDigitsAFloat32SumLoses() {
        // 2^24 + 1 + 1 + ...: each 1 is lost in a float32 sum of float32 values, kept in float64
        int rows = 5000;
        float[] values = new float[rows * 2];
        java.util.Arrays.fill(values, 1f);
        values[0] = 0x1p24f;
        values[1] = 0x1p24f;
        Tensor x = Tensor.of(values, rows, 2);
        long[] label = new long[rows];
        label[rows - 1] = -1;   // skipped
        Tensor labels = Tensor.of(label);
        Tensor sums = x.groupSum(labels, 1, DType.FLOAT64);
        assertEquals(DType.FLOAT64, sums.dtype());
        assertArrayEquals(new double[] {0x1p24 + rows - 2, 0x1p24 + rows - 2}, sums.toDoubleArray());
        assertEquals(0x1p24f, x.groupSum(labels, 1).toDoubleArray()[0], 0x1p24 * 1e-3, "the float32 form rounds");
        assertThrows(IllegalArgumentException.class, () -> x.groupSum(labels, 1, DType.INT64));
    }

    @Test
    void aOneGroupSumOfManyFloat32RowsAddsBlocksOf1024RowsInOrder() {
        SplittableRandom rng = new SplittableRandom(23);
        int rows = 5000, cols = 37, groups = 3, group = 1;
        Tensor x = Tensor.randn(rng, DType.FLOAT32, rows, cols);
        double[][] values = x.toDoubleMatrix();
        long[] label = new long[rows];
        java.util.Arrays.fill(label, group);
        double[] expected = new double[cols];
        for (int r0 = 0; r0 < rows; r0 += 1024) {   // each block summed in row order, the blocks added in order
            double[] block = new double[cols];
            for (int r = r0; r < Math.min(rows, r0 + 1024); r++) for (int j = 0; j < cols; j++) block[j] += values[r][j];
            for (int j = 0; j < cols; j++) expected[j] += block[j];
        }
        double[] got = x.groupSum(Tensor.of(label), groups, DType.FLOAT64).toDoubleArray();
        for (int j = 0; j < cols; j++) {
            assertEquals(0.0, got[j], "group 0, column " + j);
            assertEquals(expected[j], got[group * cols + j], "group 1, column " + j);   // the same bits
            assertEquals(0.0, got[2 * cols + j], "group 2, column " + j);
        }
        // float64 sums keep what a float32 sum loses here too
        float[] ones = new float[rows * 2];
        java.util.Arrays.fill(ones, 1f);
        ones[0] = ones[1] = 0x1p24f;
        assertArrayEquals(new double[] {0x1p24 + rows - 1, 0x1p24 + rows - 1},
                Tensor.of(ones, rows, 2).groupSum(Tensor.of(new long[rows]), 1, DType.FLOAT64).toDoubleArray());
    }

    @Test
    void groupSumOfALargeInputMatchesAndMeansDivide() {
        SplittableRandom rng = new SplittableRandom(17);
        Tensor x = Tensor.randn(rng, DType.FLOAT64, 2000, 300);
        Tensor labels = Tensor.rand(rng, DType.INT64, -1, 10, 2000);
        double[][] rows = x.toDoubleMatrix();
        long[] label = labels.toLongArray();
        double[][] expected = new double[11][300];
        long[] counts = new long[11];
        for (int i = 0; i < 2000; i++) {
            if (label[i] < 0) continue;
            counts[(int) label[i]]++;
            for (int j = 0; j < 300; j++) expected[(int) label[i]][j] += rows[i][j];
        }
        double[][] means = x.groupMean(labels, 11).toDoubleMatrix();
        for (int g = 0; g < 10; g++) {
            for (int j = 0; j < 300; j++) assertClose(expected[g][j] / counts[g], means[g][j], 1e-12, 1, "mean " + g + "," + j);
        }
        assertTrue(Double.isNaN(means[10][0]), "an empty group has NaN mean");
    }

    @Test
    void groupOpsCheckLabels() {
        Tensor x = Tensor.ones(DType.FLOAT32, 3, 2);
        var e = assertThrows(IllegalArgumentException.class, () -> OPS.groupSum(x, Tensor.of(new long[] {0, 7, 1}), 3));
        assertTrue(e.getMessage().contains("label 7"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> OPS.groupCount(Tensor.of(new long[] {0, 3}), 3));
        assertTrue(e.getMessage().contains("label 3"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> OPS.groupSum(x, Tensor.of(new double[] {0, 1, 1}), 3));
        assertThrows(IllegalArgumentException.class, () -> OPS.groupSum(x, Tensor.of(new long[] {0, 1}), 3));
        assertThrows(IllegalArgumentException.class, () -> OPS.groupCount(Tensor.of(new long[] {0, 1}, 1, 2), 3));
        Tensor ints = OPS.groupSum(Tensor.of(new long[] {1, 2, 3, 4}, 2, 2), Tensor.of(new long[] {1, 1}), 2);
        assertEquals(DType.FLOAT64, ints.dtype());
        assertArrayEquals(new double[] {0, 0, 4, 6}, ints.toDoubleArray());
        assertArrayEquals(new long[] {0, 0}, OPS.groupCount(Tensor.of(new long[] {-1, -5}), 2).toLongArray());
    }

    @Test
    void opsReleaseTheirTemporaryViews() {
        scope.close();
        long before = MemoryStats.liveBlocks();
        try (Tensor base = Tensor.randn(new SplittableRandom(1), DType.FLOAT32, 5, 7, 3);
             Tensor x = base.transpose(0, 2);
             Tensor index = Tensor.of(new long[] {0, 2, 1}, 3, 1, 1);
             Tensor flat = Tensor.of(new long[] {4, 0});
             Tensor mask = Tensor.of(new long[] {1, 0, 1}, 3, 1, 1);
             Tensor labels = Tensor.of(new long[] {0, -1, 1})) {
            OPS.gather(x, 0, index).close();
            OPS.indexSelect(x, 2, flat).close();
            OPS.maskedSelect(x, mask).close();
            OPS.groupSum(x, labels, 2).close();
            OPS.groupCount(labels, 2).close();
        }
        assertEquals(before, MemoryStats.liveBlocks());
        scope = Scope.open();
    }
}
