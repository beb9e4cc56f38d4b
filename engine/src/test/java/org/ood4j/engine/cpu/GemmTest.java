package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** The vector GEMM against the scalar loops and a plain triple loop, at sizes that hit every edge. */
class GemmTest {
    private static final int[][] SIZES = {
        {1, 1, 1}, {3, 5, 7}, {4, 48, 256}, {5, 49, 257}, {7, 33, 5}, {64, 96, 300}, {65, 100, 513}, {130, 17, 1}, {2, 600, 40},
        {301, 70, 260},   // two float32 row blocks (252 rows with AVX-512), four float64 ones, the last partial, k past one stretch
    };

    @Test
    void vectorKernelsAreSelectedWithTheVectorModule() {
        assertNotNull(Gemm.VECTOR, "the tests run with --add-modules jdk.incubator.vector");
        assertTrue(Gemm.implementation().startsWith("vector"), Gemm.implementation());
    }

    @Test
    void floatProductsMatchTheTripleLoop() {
        SplittableRandom rng = new SplittableRandom(1);
        for (int[] s : SIZES) {
            int m = s[0], n = s[1], k = s[2];
            float[] a = new float[m * k], b = new float[k * n];
            for (int i = 0; i < a.length; i++) a[i] = (float) rng.nextGaussian();
            for (int i = 0; i < b.length; i++) b[i] = (float) rng.nextGaussian();
            float[] c = Gemm.sgemm(a, b, m, n, k), scalar = Gemm.scalarSgemm(a, b, m, n, k);
            assertEquals(m * n, c.length);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double exact = 0, magnitude = 0;
                    for (int p = 0; p < k; p++) {
                        exact += (double) a[i * k + p] * b[p * n + j];
                        magnitude += Math.abs((double) a[i * k + p] * b[p * n + j]);
                    }
                    double tol = 1e-6 * magnitude + 1e-6;
                    assertEquals(exact, c[i * n + j], tol, "vector " + m + "x" + n + "x" + k + " at " + i + "," + j);
                    assertEquals(exact, scalar[i * n + j], tol, "scalar at " + i + "," + j);
                }
            }
        }
    }

    @Test
    void aPackedOperandServesManyProductsIntoOneReusedBuffer() {
        SplittableRandom rng = new SplittableRandom(3);
        int n = 37, k = 300;   // n not a whole panel, k over one stretch of the kernels: C is stored, then added to
        float[] b = new float[k * n];
        for (int i = 0; i < b.length; i++) b[i] = (float) rng.nextGaussian();
        Gemm.PackedFloats packed = Gemm.pack(b, n, k);
        float[] c = new float[80 * packed.width()];
        java.util.Arrays.fill(c, Float.NaN);   // a dirty buffer: nothing of it may leak into a product
        for (int m : new int[] {80, 7}) {
            float[] a = new float[m * k];
            for (int i = 0; i < a.length; i++) a[i] = (float) rng.nextGaussian();
            assertSame(c, Gemm.sgemm(a, m, packed, c));
            float[] expected = Gemm.sgemm(a, b, m, n, k);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) assertEquals(expected[i * n + j], c[i * packed.width() + j], m + " rows at " + i + "," + j);
            }
        }
    }

    @Test
    void rowsPackedAsTheColumnsOfBGiveTheProductOfTheirTranspose() {
        SplittableRandom rng = new SplittableRandom(9);
        int d = 70, nb = 37, rowFloats = 75, skip = 3;   // rows of 75 floats, of which the first 70; from row 3 of the memory
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment seg = arena.allocate(4L * rowFloats * (nb + skip), 4);
            float[] transposed = new float[d * nb], a = new float[13 * d];
            double[] expectedNorms = new double[nb], norms = new double[nb];
            for (int j = 0; j < nb; j++) {
                for (int p = 0; p < rowFloats; p++) {
                    float v = (float) rng.nextGaussian();
                    seg.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, (long) (j + skip) * rowFloats + p, v);
                    if (p < d) {
                        transposed[p * nb + j] = v;
                        expectedNorms[j] += (double) v * v;
                    }
                }
            }
            for (int i = 0; i < a.length; i++) a[i] = (float) rng.nextGaussian();
            Gemm.PackedFloats packed = Gemm.packTransposed(seg, 4L * skip * rowFloats, 4L * rowFloats, nb, d, norms);
            assertArrayEquals(Gemm.sgemm(a, 13, Gemm.pack(transposed, nb, d), null), Gemm.sgemm(a, 13, packed, null));
            // float64 sums of the squares, in the vector kernel's lane order: within a few ulps of the sum in order
            for (int j = 0; j < nb; j++) assertEquals(expectedNorms[j], norms[j], 1e-14 * expectedNorms[j], "row " + j);
        }
    }

    @Test
    void packedRowsTimesPanelRangesGiveTheProductsColumnsBitForBit() {
        SplittableRandom rng = new SplittableRandom(5);
        int w = Gemm.panelWidth();
        for (int[] s : SIZES) {
            int m = s[0], n = s[1], k = s[2];
            float[] a = randomFloats(rng, m * k), b = randomFloats(rng, k * n);
            Gemm.PackedFloats packed = Gemm.pack(b, n, k);
            float[] whole = Gemm.sgemm(a, m, packed, null);
            Gemm.PackedRows rows = Gemm.packRows(a, m, k);
            assertTrue(rows.rows() >= m, "rows padded");
            if (!packed.panels()) continue;   // a B the vector kernels do not take
            int panels = packed.width() / w;
            for (int jp0 = 0; jp0 < panels; jp0 += 3) {   // ranges of three panels, the last maybe fewer
                int jp1 = Math.min(panels, jp0 + 3), ldc = 3 * w;
                float[] c = new float[rows.rows() * ldc];
                java.util.Arrays.fill(c, Float.NaN);   // overwritten, never added to
                Gemm.sgemm(rows, packed, jp0, jp1, c, ldc);
                for (int i = 0; i < m; i++) {
                    for (int j = jp0 * w; j < Math.min(n, jp1 * w); j++) {
                        assertEquals(whole[i * packed.width() + j], c[i * ldc + j - jp0 * w], "m n k = " + m + " " + n + " " + k + " at " + i + ", " + j);
                    }
                }
                for (int i = m; i < rows.rows(); i++) assertEquals(0f, c[i * ldc], "a padding row's product");
            }
        }
    }

    private static float[] randomFloats(SplittableRandom rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rng.nextGaussian();
        return v;
    }

    @Test
    void aBlockOfALargerMatrixPacksAsItsContiguousCopy() {
        SplittableRandom rng = new SplittableRandom(8);
        int ldb = 90, rows = 320, col0 = 13, n = 41, k = 300, row0 = 7;   // B = rows 7..306, columns 13..53 of a 320 x 90 matrix
        float[] big = new float[rows * ldb], dense = new float[k * n], a = new float[11 * k];
        for (int i = 0; i < big.length; i++) big[i] = (float) rng.nextGaussian();
        for (int i = 0; i < a.length; i++) a[i] = (float) rng.nextGaussian();
        for (int p = 0; p < k; p++) System.arraycopy(big, (row0 + p) * ldb + col0, dense, p * n, n);
        Gemm.PackedFloats block = Gemm.pack(big, row0 * ldb + col0, ldb, n, k), copy = Gemm.pack(dense, n, k);
        assertArrayEquals(Gemm.sgemm(a, 11, copy, null), Gemm.sgemm(a, 11, block, null));
    }

    /** A float32 A of a float64 product is widened as it is packed: the bits of the product of its float64 copy. */
    @Test
    void floatRowsOfADoubleProductGiveTheProductOfTheirWidenedCopy() {
        SplittableRandom rng = new SplittableRandom(5);
        for (int[] s : SIZES) {
            int m = s[0], n = s[1], k = s[2];
            float[] a = new float[m * k];
            double[] wide = new double[m * k], b = new double[k * n];
            for (int i = 0; i < a.length; i++) wide[i] = a[i] = (float) rng.nextGaussian();
            for (int i = 0; i < b.length; i++) b[i] = rng.nextGaussian();
            assertArrayEquals(Gemm.dgemm(wide, b, m, n, k), Gemm.dgemm(Gemm.Block.ofFloatRows(java.lang.foreign.MemorySegment.ofArray(a), k), b, m, n, k), m + "x" + n + "x" + k);
        }
    }

    @Test
    void doubleProductsMatchTheTripleLoop() {
        SplittableRandom rng = new SplittableRandom(2);
        for (int[] s : SIZES) {
            int m = s[0], n = s[1], k = s[2];
            double[] a = new double[m * k], b = new double[k * n];
            for (int i = 0; i < a.length; i++) a[i] = rng.nextGaussian();
            for (int i = 0; i < b.length; i++) b[i] = rng.nextGaussian();
            double[] c = Gemm.dgemm(a, b, m, n, k);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double exact = 0, magnitude = 0;
                    for (int p = 0; p < k; p++) {
                        exact += a[i * k + p] * b[p * n + j];
                        magnitude += Math.abs(a[i * k + p] * b[p * n + j]);
                    }
                    assertEquals(exact, c[i * n + j], 1e-14 * magnitude + 1e-300, m + "x" + n + "x" + k + " at " + i + "," + j);
                }
            }
        }
    }

    @Test
    void emptyAndNonFiniteOperands() {
        assertEquals(0, Gemm.sgemm(new float[0], new float[0], 0, 0, 3).length);
        assertArrayEquals(new double[6], Gemm.dgemm(new double[0], new double[0], 2, 3, 0));
        // inf and NaN propagate as in the scalar loops (0 * inf = NaN; zero padding never leaks in)
        double[] a = {Double.POSITIVE_INFINITY, 1}, b = {1, 0, 2, 3};
        double[] c = Gemm.dgemm(a, b, 1, 2, 2);
        assertEquals(Double.POSITIVE_INFINITY, c[0]);
        assertTrue(Double.isNaN(c[1]));
    }
}
