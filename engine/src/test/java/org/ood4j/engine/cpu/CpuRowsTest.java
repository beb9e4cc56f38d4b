package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.RowMapper;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** Tensor.reduceRows: every row once, any dtype and strides, in parallel for big inputs. */
class CpuRowsTest {
    @Test
    void reducesEachRowToFloat64() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(new SplittableRandom(1), DType.FLOAT32, 5000, 33);   // parallel path
            Tensor sums = x.reduceRows((row, scratch, n) -> {
                assertTrue(scratch.length >= n);
                double t = 0;
                for (int j = 0; j < n; j++) t += row[j];
                return t;
            });
            assertEquals(DType.FLOAT64, sums.dtype());
            assertArrayEquals(new long[] {5000}, sums.shape());
            assertArrayEquals(x.to(DType.FLOAT64).sum(1).toDoubleArray(), sums.toDoubleArray(), 1e-9);
            Tensor lse = x.reduceRows((row, scratch, n) -> RowMath.logSumExp(row, n));
            assertArrayEquals(x.to(DType.FLOAT64).logsumexp(1).toDoubleArray(), lse.toDoubleArray(), 1e-12);
        }
    }

    @Test
    void stridedViewsAndEdgeShapes() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new double[][] {{1, 2, 3}, {4, 5, 6}});
            assertArrayEquals(new double[] {5, 7, 9}, x.t().reduceRows((r, b, n) -> r[0] + r[1]).toDoubleArray());
            assertArrayEquals(new double[] {3, 6}, x.reduceRows((r, b, n) -> RowMath.max(r, n)).toDoubleArray());
            assertArrayEquals(new double[] {2, 2}, x.reduceRows((r, b, n) -> RowMath.argmax(r, n)).toDoubleArray());
            assertEquals(0, Tensor.zeros(DType.FLOAT32, 0, 4).reduceRows((r, b, n) -> 1).numel());
            assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(DType.FLOAT32, 3).reduceRows((r, b, n) -> 1));
        }
    }

    /** mapRows' float32 form takes a float32 tensor's rows as stored (any strides); another dtype's go to the float64 form. */
    @Test
    void mapsFloatRowsAsStored() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(new SplittableRandom(4), DType.FLOAT32, 3000, 2, 37).select(1, 1);   // (3000, 37), rows apart
            RowMapper wide = (row, scratch, n, out) -> {
                for (int j = 0; j < n; j++) out[0] += row[j];
                out[1] = RowMath.max(row, n);
            };
            Tensor both = x.mapRows(2, wide, (row, scratch, n, out) -> {
                assertTrue(scratch.length >= n);
                out[0] = RowMath.sum(row, n);
                out[1] = -RowMath.max(row, n);   // a sign the float64 form does not have: which form ran
            });
            Tensor want = x.to(DType.FLOAT64).mapRows(2, wide, (row, scratch, n, out) -> fail("a float64 tensor's rows are float64"));
            double[] got = both.toDoubleArray(), sums = want.toDoubleArray();
            assertArrayEquals(new long[] {3000, 2}, both.shape());
            for (int i = 0; i < 3000; i++) {
                assertEquals(sums[2 * i], got[2 * i], 1e-12, "row " + i);          // float32 values summed in float64: exact
                assertEquals(-sums[2 * i + 1], got[2 * i + 1], 0, "row " + i);
            }
        }
    }

    /**
     * reduceFiniteRowsInto: each row's value, and the row as the function left it written to the same
     * row of the target (a strided view too); a row with NaN or an infinity gives NaN and is written as read.
     */
    @Test
    void reducesRowsAndWritesThemTransformed() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(new SplittableRandom(5), DType.FLOAT32, 4000, 37);
            x.set(Double.NaN, 17, 3);
            x.set(Double.NEGATIVE_INFINITY, 2500, 36);
            Tensor wide = Tensor.zeros(DType.FLOAT32, 4000, 2, 37), into = wide.select(1, 1);   // rows 74 floats apart
            Tensor sums = x.reduceFiniteRowsInto(into, (row, scratch, n) -> {
                double t = RowMath.sum(row, n);
                RowMath.scale(row, n, 2f);
                return t;
            });
            float[] in = x.toFloatArray(), out = into.contiguous().toFloatArray();
            double[] got = sums.toDoubleArray();
            for (int i = 0; i < 4000; i++) {
                boolean bad = i == 17 || i == 2500;
                double t = 0;
                for (int j = 0; j < 37; j++) {
                    t += in[i * 37 + j];
                    assertEquals(bad ? in[i * 37 + j] : 2 * in[i * 37 + j], out[i * 37 + j], 0, "row " + i + ", column " + j);
                }
                if (bad) assertTrue(Double.isNaN(got[i]), "row " + i);
                else assertEquals(t, got[i], 1e-9, "row " + i);
            }
            assertEquals(0, wide.select(1, 0).abs().sum().item(), "the rest of the target untouched");
            assertThrows(IllegalArgumentException.class, () -> x.reduceFiniteRowsInto(Tensor.zeros(DType.FLOAT32, 4000, 36), (r, b, n) -> 0));
            assertThrows(IllegalArgumentException.class, () -> x.reduceFiniteRowsInto(Tensor.zeros(DType.FLOAT64, 4000, 37), (r, b, n) -> 0));
        }
    }

    /** Float rows have room for a whole last vector; a padded row's exps sum to the row's own sum. */
    @Test
    void floatRowsPaddedForWholeVectorsOfExps() {
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(3);
            for (int c : new int[] {1, 10, 16, 17, 1000}) {
                Tensor x = Tensor.randn(rng, DType.FLOAT32, 3, c).mul(20);
                for (float scale : new float[] {1, 0.25f}) {
                    Tensor lse = x.reduceRows((r, b, n) -> RowMath.logSumExp(r, n), (row, scratch, n) -> {
                        int whole = RowMath.padForExp(row, n, RowMath.shiftMax(row, n), scale);
                        assertEquals((n + 15) / 16 * 16, whole, "room for a whole last vector");
                        assertTrue(scratch.length >= whole);
                        float m = RowMath.shiftMax(row, n);
                        return m + Math.log(RowMath.expShiftedSum(row, whole, m, scale, scratch)) / scale;
                    });
                    double[] got = lse.toDoubleArray();
                    for (int i = 0; i < 3; i++) {
                        // the float32 exps of (z - m) scale, summed: within a few float32 roundings of the float64 sum
                        double wantScaled = x.slice(0, i, i + 1).to(DType.FLOAT64).mul(scale).logsumexp(1).item() / scale;
                        assertEquals(wantScaled, got[i], 1e-5 * Math.max(1, Math.abs(wantScaled)), "c = " + c + ", scale " + scale);
                    }
                }
            }
            // RowMath.logSumExp pads where the row has room: the same sum as without room, within float32 exps' rounding
            float[] roomy = new float[32], exact = new float[10];
            for (int j = 0; j < 10; j++) roomy[j] = exact[j] = (float) rng.nextGaussian() * 5;
            assertEquals(RowMath.logSumExp(exact, 10), RowMath.logSumExp(roomy, 10), 1e-6);
            float[] tight = new float[17];
            assertEquals(17, RowMath.padForExp(tight, 17, 0, 1), "no room: no padding");
            float[] huge = new float[32];
            huge[0] = 1e6f;
            assertEquals(17, RowMath.padForExp(huge, 17, 1e6f, 1e9f), "a scale past the shift's precision: no padding");
        }
    }
}
