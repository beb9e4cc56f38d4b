package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** Syrk: the upper triangle of A^T A added into a float64 accumulator, over panels and depth blocks. */
class SyrkTest {
    /** A^T A by plain float64 loops (sums in row order). */
    private static double[] reference(double[] a, int rows, int n) {
        double[] c = new double[n * n];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) c[i * n + j] += a[r * n + i] * a[r * n + j];
        }
        return c;
    }

    @Test
    void float64AndFloat32UpdatesMatchThePlainProductAcrossPanelsAndDepthBlocks() {
        // n above one panel (72) and not a multiple of it; rows above one float32 depth block (512)
        int rows = 1100, n = 300;
        SplittableRandom rng = new SplittableRandom(7);
        double[] a = new double[rows * n];
        float[] f = new float[rows * n];
        for (int i = 0; i < a.length; i++) a[i] = f[i] = (float) (rng.nextDouble() * 2 - 1);
        double[] want = reference(a, rows, n);
        double[] c64 = new double[n * n], c32 = new double[n * n];
        Syrk.accumulate(a, rows, n, c64);
        Syrk.accumulate(f, rows, n, c32);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (j < i) {
                    assertEquals(0, c64[i * n + j], "the lower triangle is left alone");
                    continue;
                }
                double w = want[i * n + j];
                assertEquals(w, c64[i * n + j], 1e-12 * rows, "float64 (" + i + ", " + j + ")");
                // float32 FMA chains of at most 512 terms of |a_i a_j| <= 1: error a few 2^-24 sqrt(512) per block
                assertEquals(w, c32[i * n + j], 1e-5 * rows, "float32 (" + i + ", " + j + ")");
            }
        }
        Syrk.mirror(c64, n);
        for (int i = 0; i < n; i++) for (int j = 0; j < i; j++) assertEquals(c64[j * n + i], c64[i * n + j]);
        // an update adds: twice the rows, twice the accumulator
        Syrk.accumulate(a, rows, n, c64 = new double[n * n]);
        Syrk.accumulate(a, rows, n, c64);
        assertEquals(2 * want[5 * n + 7], c64[5 * n + 7], 1e-11 * rows);
    }

    @Test
    void shapesThatDoNotAgreeAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Syrk.accumulate(new double[5], 2, 3, new double[9]));
        assertEquals("syrk: operand of 5 elements is not 2 x 3", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Syrk.accumulate(new float[6], 2, 3, new double[8]));
        assertEquals("syrk: accumulator of 8 elements is not 3 x 3", e.getMessage());
    }
}
