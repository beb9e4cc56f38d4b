package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.api.Test;

class MomentsTest {
    /** The two-pass float64 reference: class means, then the pooled sum of centred outer products. */
    private static double[] twoPassPooled(double[][] x, long[] y, int classes) {
        int d = x[0].length;
        double[][] mu = new double[classes][d];
        long[] n = new long[classes];
        for (int i = 0; i < x.length; i++) {
            n[(int) y[i]]++;
            for (int j = 0; j < d; j++) mu[(int) y[i]][j] += x[i][j];
        }
        for (int k = 0; k < classes; k++) for (int j = 0; j < d; j++) mu[k][j] /= n[k];
        double[] s = new double[d * d];
        for (int i = 0; i < x.length; i++) {
            for (int a = 0; a < d; a++) for (int b = 0; b < d; b++) s[a * d + b] += (x[i][a] - mu[(int) y[i]][a]) * (x[i][b] - mu[(int) y[i]][b]);
        }
        return s;
    }

    @Test
    void float32ProductsStayWithinTheirBoundAndFloat64ProductsAtRoundOff() {
        Random rng = new Random(3);
        int rows = 20000, d = 9, classes = 5;
        double[][] x = new double[rows][d];
        long[] y = new long[rows];
        for (int i = 0; i < rows; i++) {
            y[i] = rng.nextInt(classes);
            for (int j = 0; j < d; j++) x[i][j] = (float) (1000 + 10 * y[i] + rng.nextGaussian());
        }
        double[] want = twoPassPooled(x, y, classes);
        for (boolean float32 : new boolean[] {false, true}) {
            Moments m = new Moments(Moments.Scatter.POOLED, float32 ? Moments.Products.FLOAT32 : Moments.Products.FLOAT64);
            for (int start = 0; start < rows; start += 4096) {
                int end = Math.min(rows, start + 4096);
                double[] block = new double[(end - start) * d];
                for (int i = start; i < end; i++) System.arraycopy(x[i], 0, block, (i - start) * d, d);
                m.add(block, end - start, java.util.Arrays.copyOfRange(y, start, end));
            }
            double[] got = m.pooledScatter();
            double scale = want[0];   // ~ rows * variance
            // float32: FMA chains of 512 centred terms, about 2^-24 sqrt(512) of the entries; float64: round-off
            double tol = float32 ? 1e-5 : 1e-12;
            for (int i = 0; i < d * d; i++) assertEquals(want[i], got[i], tol * scale, (float32 ? "float32 " : "float64 ") + i);
        }
    }

    @Test
    void chunkedPooledScatterMatchesTwoPass() {
        Random rng = new Random(1);
        int rows = 1000, d = 7, classes = 3;
        double[][] x = new double[rows][d];
        long[] y = new long[rows];
        for (int i = 0; i < rows; i++) {
            y[i] = rng.nextInt(classes);
            for (int j = 0; j < d; j++) x[i][j] = 100 + y[i] + rng.nextGaussian();
        }
        double[] want = twoPassPooled(x, y, classes);
        Moments m = new Moments(Moments.Scatter.POOLED, Moments.Products.FLOAT64);
        for (int start = 0; start < rows; start += 97) {
            int end = Math.min(rows, start + 97);
            double[] block = new double[(end - start) * d];
            for (int i = start; i < end; i++) System.arraycopy(x[i], 0, block, (i - start) * d, d);
            m.add(block, end - start, java.util.Arrays.copyOfRange(y, start, end));
        }
        double[] got = m.pooledScatter();
        for (int i = 0; i < d * d; i++) assertEquals(want[i], got[i], 1e-9 * Math.abs(want[i]) + 1e-9, "entry " + i);
    }

    /** AUTO: float64 products below FLOAT32_FROM_DIM columns (bit-equal to FLOAT64 there), float32 from it on; bad property values named. */
    /** Float32 rows added as a tensor (kept float32 for float32 products) give the bits of their float64 copy's path. */
    @Test
    void float32RowsGiveTheBitsOfTheirFloat64Copy() {
        Random rng = new Random(8);
        int rows = 700, d = Moments.Products.FLOAT32_FROM_DIM + 3, classes = 3;
        float[] x = new float[rows * d];
        long[] y = new long[rows];
        for (int i = 0; i < rows; i++) {
            y[i] = i % classes == 2 ? 7 : i % classes;   // labels 0, 1 and 7
            for (int j = 0; j < d; j++) x[i * d + j] = (float) (3 * y[i] + rng.nextGaussian());
        }
        Moments viaTensor = new Moments(Moments.Scatter.POOLED, Moments.Products.FLOAT32);
        Moments viaDoubles = new Moments(Moments.Scatter.POOLED, Moments.Products.FLOAT32);
        for (int start = 0; start < rows; start += 350) {                         // two chunks: a centre set by the first
            int n = Math.min(350, rows - start);
            long[] labels = java.util.Arrays.copyOfRange(y, start, start + n);
            try (org.ood4j.engine.Tensor chunk = org.ood4j.engine.Tensor.of(java.util.Arrays.copyOfRange(x, start * d, (start + n) * d), n, d)) {
                viaTensor.add(chunk, labels);
                viaDoubles.add(chunk.toDoubleArray(), n, labels);
            }
        }
        for (long label : new long[] {0, 1, 7}) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(viaDoubles.mean(label), viaTensor.mean(label), 0.0, "mean of " + label);
        }
        org.junit.jupiter.api.Assertions.assertArrayEquals(viaDoubles.pooledScatter(), viaTensor.pooledScatter(), 0.0, "pooled scatter");
    }

    @Test
    void autoProductsChooseByWidth() {
        int below = Moments.Products.FLOAT32_FROM_DIM - 1;
        int from = Moments.Products.FLOAT32_FROM_DIM;
        assertFalse(Moments.Products.AUTO.float32(below, 4096));
        assertTrue(Moments.Products.AUTO.float32(from, 4096));
        assertFalse(Moments.Products.AUTO.float32(512, 250), "fewer rows than columns: float64");
        assertTrue(Moments.Products.FLOAT32.float32(2, 1));
        assertFalse(Moments.Products.FLOAT64.float32(4096, 4096));
        Random rng = new Random(5);
        for (int d : new int[] {below, Moments.Products.FLOAT32_FROM_DIM}) {
            boolean same = autoIsFloat64(Moments.Scatter.POOLED, d, 600, rng);
            assertEquals(d == below, same, "width " + d + ": AUTO's products " + (same ? "are" : "are not") + " float64's");
        }
        // a scatter per group (GMM's covariances, often rank-deficient) stays float64 under AUTO at every width
        int d = 2 * Moments.Products.FLOAT32_FROM_DIM;
        assertTrue(autoIsFloat64(Moments.Scatter.PER_GROUP, d, 2 * d, rng), "per-group AUTO products are float64's");
        String old = System.getProperty(Moments.PRODUCTS_PROPERTY);
        try {
            System.setProperty(Moments.PRODUCTS_PROPERTY, "half");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Moments(Moments.Scatter.POOLED));
            assertEquals("-Dood4j.fit.products=half: expected float32, float64 or auto", e.getMessage());
        } finally {
            if (old == null) System.clearProperty(Moments.PRODUCTS_PROPERTY);
            else System.setProperty(Moments.PRODUCTS_PROPERTY, old);
        }
    }

    /** Whether AUTO's scatter of one group of {@code rows} random rows of width d is bit-equal to FLOAT64's. */
    private static boolean autoIsFloat64(Moments.Scatter kind, int d, int rows, Random rng) {
        double[] x = new double[rows * d];
        for (int i = 0; i < x.length; i++) x[i] = (float) (3 + rng.nextGaussian());
        Moments auto = new Moments(kind, Moments.Products.AUTO);
        Moments f64 = new Moments(kind, Moments.Products.FLOAT64);
        auto.add(x.clone(), rows, null);
        f64.add(x.clone(), rows, null);
        return kind == Moments.Scatter.POOLED ? java.util.Arrays.equals(auto.pooledScatter(), f64.pooledScatter())
                : java.util.Arrays.equals(auto.scatter(0), f64.scatter(0));
    }
}
