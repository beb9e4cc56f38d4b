package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** The vector kernels agree with the scalar ones, edge values included. */
class MathKernelsTest {
    private static double[] sample(int n) {
        SplittableRandom rng = new SplittableRandom(11);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = 20 * rng.nextGaussian();
        v[0] = Double.NEGATIVE_INFINITY;
        v[1] = Double.NaN;
        v[2] = 0;
        v[3] = -745.5; // exp underflows to a subnormal
        v[4] = 709;
        return v;
    }

    @Test
    void vectorPathIsActiveInTheTestJvm() {
        assertTrue(MathKernels.INSTANCE.name().startsWith("vector"), MathKernels.INSTANCE.name());
    }

    @Test
    void vectorMatchesScalarToAnUlpOrTwo() {
        MathKernels vector = new VectorKernels(), scalar = new ScalarKernels();
        for (int n : new int[] {5, 7, 257, 1000}) {
            double[] a = sample(n), b = a.clone();
            vector.exp(a, n);
            scalar.exp(b, n);
            assertClose(b, a);
            double[] c = sample(n), d = c.clone();
            for (int i = 0; i < n; i++) { c[i] = Math.abs(c[i]); d[i] = Math.abs(d[i]); }
            vector.log(c, n);
            scalar.log(d, n);
            assertClose(d, c);
            double[] e = sample(n), f = e.clone();
            e[1] = f[1] = 1; // a NaN would make both sums NaN
            assertEquals(scalar.expShiftedSum(f, n, 3, true), vector.expShiftedSum(e, n, 3, true), 1e-13 * scalar.expShiftedSum(f.clone(), n, 0, false));
            assertClose(f, e);
        }
    }

    /** kNN candidates scanned a vector at a time: every hit the scalar walk finds, in order, ties at the bar included. */
    @Test
    void firstKeyAtMostFindsTheScalarHits() {
        MathKernels vector = new VectorKernels(), scalar = new ScalarKernels();
        SplittableRandom rng = new SplittableRandom(21);
        int n = 203, at = 5;
        float[] dots = new float[at + n];
        double[] norms = new double[n];
        for (int j = 0; j < n; j++) {
            dots[at + j] = (float) rng.nextGaussian();
            norms[j] = 1 + rng.nextDouble();
        }
        double qn = 1.5;
        for (double[] metricNorms : new double[][] {norms, null}) {
            double[] keys = new double[n];
            for (int j = 0; j < n; j++) keys[j] = CpuKnn.key(dots[at + j], j, qn, metricNorms);
            double[] sorted = keys.clone();
            java.util.Arrays.sort(sorted);
            // bars with no, few and many hits, one exactly a key (a tie enters), and the open heap's +inf
            for (double bar : new double[] {sorted[0] - 1, sorted[0], sorted[3], sorted[n / 2], sorted[n - 1], Double.POSITIVE_INFINITY}) {
                for (int from : new int[] {0, 1, 9, n - 3, n}) {
                    int want = scalar.firstKeyAtMost(dots, at, from, n, qn, metricNorms, bar);
                    assertEquals(want, vector.firstKeyAtMost(dots, at, from, n, qn, metricNorms, bar),
                            (metricNorms == null ? "inner product" : "L2") + ", bar " + bar + ", from " + from);
                    int expected = from;
                    while (expected < n && keys[expected] > bar) expected++;
                    assertEquals(expected, want, "scalar walk");
                }
            }
        }
    }

    @Test
    void loadFiniteCopiesTheRowAndFlagsAnyNaNOrInfinity() {
        MathKernels vector = new VectorKernels(), scalar = new ScalarKernels();
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            int total = 1003;
            java.lang.foreign.MemorySegment seg = arena.allocate(4L * total, 8);
            for (int n : new int[] {1, 7, 16, 17, 1000}) {
                for (long from : new long[] {0, 4, 12}) {   // unaligned starts too
                    for (int at = -1; at < n; at = at < 0 ? 0 : at < 2 ? at + 1 : at + Math.max(1, n / 3)) {
                        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                            for (int i = 0; i < total; i++) seg.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, i * 0.37f - 150.5f);
                            if (at >= 0) seg.set(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, from + 4L * at, bad);
                            // the value just past the row is bad too: a vector reaching past n (a row with room) must not see it
                            if (4L * n + from + 4 <= 4L * total) seg.set(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, from + 4L * n, Float.NaN);
                            float[] v = new float[n], s = new float[n], roomy = new float[(n + 15) / 16 * 16];
                            boolean vf = vector.loadFinite(seg, from, v, n), sf = scalar.loadFinite(seg, from, s, n);
                            boolean rf = vector.loadFinite(seg, from, roomy, n);
                            String where = "n " + n + " from " + from + " bad at " + at + " " + bad;
                            assertEquals(at < 0, vf, where);
                            assertEquals(at < 0, sf, where);
                            assertEquals(at < 0, rf, where + " (a row with room)");
                            for (int i = 0; i < n; i++) {
                                float expected = seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, from + 4L * i);
                                assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(v[i]), where + " value " + i);
                                assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(s[i]), where + " value " + i);
                                assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(roomy[i]), where + " value " + i);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void memoryScansAndRowDotsMatchScalar() {
        MathKernels vector = new VectorKernels(), scalar = new ScalarKernels();
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            for (boolean f64 : new boolean[] {false, true}) {
                int size = f64 ? 8 : 4, n = 301;
                java.lang.foreign.MemorySegment seg = arena.allocate((long) n * size, 8);
                for (int i = 0; i < n; i++) {
                    if (f64) seg.setAtIndex(java.lang.foreign.ValueLayout.JAVA_DOUBLE, i, i - 150.5);
                    else seg.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, i - 150.5f);
                }
                for (int at : new int[] {-1, 0, 37, 300}) {
                    double bad = at == 37 ? Double.POSITIVE_INFINITY : Double.NaN;
                    if (at >= 0 && f64) seg.setAtIndex(java.lang.foreign.ValueLayout.JAVA_DOUBLE, at, bad);
                    if (at >= 0 && !f64) seg.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, at, (float) bad);
                    for (long from : new long[] {0, size}) {   // an odd start too
                        long bytes = (long) n * size - from;
                        boolean expected = at < 0 || at < from / size;
                        assertEquals(expected, scalar.allFinite(seg, from, bytes, f64), "scalar " + f64 + " " + at + " from " + from);
                        assertEquals(expected, vector.allFinite(seg, from, bytes, f64), "vector " + f64 + " " + at + " from " + from);
                    }
                    if (at >= 0 && f64) seg.setAtIndex(java.lang.foreign.ValueLayout.JAVA_DOUBLE, at, 1.0);
                    if (at >= 0 && !f64) seg.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, at, 1f);
                }
            }
        }
        // float32 rows added to float64 sums: the scalar loop's bits, any length, start, row count (blocks of 8 and not) and stride
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment seg = arena.allocate(4L * 2100, 4);
            SplittableRandom values = new SplittableRandom(9);
            for (int i = 0; i < 2100; i++) seg.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (float) values.nextGaussian());
            for (int n : new int[] {0, 5, 8, 102}) {
                for (int rows : new int[] {1, 7, 8, 19}) {
                    double[] a = new double[n + 3], b = new double[n + 3];
                    for (int i = 0; i < a.length; i++) a[i] = b[i] = values.nextGaussian() * 1e8;
                    vector.addFloats(seg, 4, 4L * 103, rows, n, a, 2);
                    scalar.addFloats(seg, 4, 4L * 103, rows, n, b, 2);
                    assertArrayEquals(b, a, "n = " + n + ", rows = " + rows);
                }
            }
        }
        // a row times a few rows: the bits of one dot per row, any row count (whole groups of five and not)
        SplittableRandom rng = new SplittableRandom(4);
        for (int rows : new int[] {1, 3, 4, 5, 10, 12}) {
            double[] z = new double[133];
            double[][] w = new double[rows][133];
            for (int i = 0; i < z.length; i++) z[i] = rng.nextGaussian();
            for (double[] r : w) for (int i = 0; i < r.length; i++) r[i] = rng.nextGaussian();
            double[] out = new double[rows], ref = new double[rows];
            vector.dots(z, w, z.length, out);
            scalar.dots(z, w, z.length, ref);
            for (int c = 0; c < rows; c++) {
                assertEquals(vector.dot(z, w[c], z.length), out[c], "row " + c + " of " + rows);
                assertEquals(ref[c], out[c], 1e-12, "row " + c + " of " + rows);
            }
        }
    }

    @Test
    void rowReductionsMatchScalar() {
        MathKernels vector = new VectorKernels(), scalar = new ScalarKernels();
        for (int n : new int[] {1, 5, 8, 9, 257, 1000}) {
            double[] v = sample(Math.max(n, 5));
            double[] finite = v.clone();
            finite[0] = -3;
            finite[1] = 2;
            assertEquals(scalar.max(finite, n), vector.max(finite, n));
            if (n > 1) assertTrue(Double.isNaN(vector.max(v, n)), "NaN propagates");
            double[] pos = new double[n], other = new double[n];
            SplittableRandom rng = new SplittableRandom(n);
            for (int i = 0; i < n; i++) {
                pos[i] = rng.nextDouble(1e-9, 1);
                other[i] = rng.nextGaussian();
            }
            double ref = scalar.dot(pos, other, n);
            assertEquals(ref, vector.dot(pos, other, n), 1e-13 * n);
            assertEquals(scalar.sumXLogX(pos, n), vector.sumXLogX(pos, n), 1e-12 * n);
            assertEquals(scalar.sumPow(pos, n, 0.1), vector.sumPow(pos, n, 0.1), 1e-12 * n);
            assertEquals(scalar.sumPow(pos, n, 0.1), java.util.Arrays.stream(pos).map(x -> Math.pow(x, 0.1)).sum(), 1e-12 * n);
        }
        double[] negInf = {Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY};
        assertEquals(Double.NEGATIVE_INFINITY, vector.max(negInf, 2));
    }

    /** The float32 kernels against the scalar ones (Math in float64, rounded): sums in float64, NaN and infinities as the float64 forms. */
    @Test
    void float32KernelsMatchScalar() {
        MathKernels vector = new VectorKernels(), scalar = new ScalarKernels();
        for (int n : new int[] {1, 5, 8, 9, 17, 257, 1000, 4100}) {   // 4100: float32 lane sums flushed to float64 after 64 terms
            float[] v = new float[n];
            SplittableRandom rng = new SplittableRandom(n);
            for (int i = 0; i < n; i++) v[i] = (float) (20 * rng.nextGaussian());
            float m = scalar.max(v, n);
            assertEquals(m, vector.max(v, n));
            float[] a = new float[n], b = new float[n];
            double want = scalar.expShiftedSum(v, n, m, 0.5f, b);
            assertEquals(want, vector.expShiftedSum(v, n, m, 0.5f, a), 2e-7 * want);
            for (int i = 0; i < n; i++) assertEquals(b[i], a[i], 2 * Math.ulp(b[i]), "exp at " + i);
            double sum = 0;
            for (int i = 0; i < n; i++) sum += a[i];
            assertEquals(sum, vector.sum(a, n), 1e-12 * Math.abs(sum));   // float64 sums: no float32 rounding
            // the clamped entropy terms from the exps at scale 1: the scalar form's float32 terms (summed in
            // float64) within the float32 sums' rounding, and within that of the float64 definition
            float[] e = new float[n];
            double sum1 = vector.expShiftedSum(v, n, m, 1, e);
            float inverse = (float) (1 / sum1), logSum = (float) Math.log(sum1), minP = 1e-7f;
            double exact = 0;
            for (int i = 0; i < n; i++) {
                double p = Math.max(Math.exp(v[i] - (double) m) / sum1, minP);
                exact += p * Math.log(p);
            }
            double got = vector.sumClampedPLogP(e, v, n, m, inverse, logSum, minP);
            assertEquals(scalar.sumClampedPLogP(e, v, n, m, inverse, logSum, minP), got, 64 * 0x1p-24 * Math.abs(got), "64 terms a float32 lane at most");
            assertEquals(exact, got, 1e-6 * Math.abs(exact) + 1e-9, "n = " + n);
            for (double gamma : new double[] {0.1, 1 / 7.0, 0.37, 1}) assertGenScore(vector, scalar, v, n, gamma, "n = " + n);
            assertTrue(vector.allFinite(v, n));
            v[n - 1] = Float.POSITIVE_INFINITY;
            assertFalse(vector.allFinite(v, n));
            assertEquals(Float.POSITIVE_INFINITY, vector.max(v, n));
            v[0] = Float.NaN;
            assertTrue(Float.isNaN(vector.max(v, n)), "NaN propagates");
        }
        float[] ones = new float[1000];
        java.util.Arrays.fill(ones, 1e-8f);
        ones[0] = 1;
        assertEquals(1 + 999 * (double) 1e-8f, vector.sum(ones, 1000), 1e-15);   // a float32 sum would lose every 1e-8
    }

    @Test
    void shiftMaxIsTheLargestValueOtherThanNaN() {
        MathKernels vector = new VectorKernels(), scalar = new ScalarKernels();
        SplittableRandom rng = new SplittableRandom(6);
        for (int n : new int[] {1, 7, 16, 63, 64, 65, 1000}) {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float) rng.nextGaussian();
            float max = scalar.max(v, n);
            assertEquals(max, vector.shiftMax(v, n));
            assertEquals(max, scalar.shiftMax(v, n));
            v[rng.nextInt(n)] = Float.NaN;
            float without = Float.NEGATIVE_INFINITY;
            for (float x : v) if (x > without) without = x;
            assertEquals(without, vector.shiftMax(v, n), "NaN skipped, n = " + n);
            assertEquals(without, scalar.shiftMax(v, n));
            v[n - 1] = Float.POSITIVE_INFINITY;
            assertEquals(Float.POSITIVE_INFINITY, vector.shiftMax(v, n));
            java.util.Arrays.fill(v, Float.NaN);
            assertEquals(Float.NEGATIVE_INFINITY, vector.shiftMax(v, n), "no value but NaN");
        }
    }

    @Test
    void genScoresAtTheSeriesEdgeInFlatRowsAndNearCertainty() {
        MathKernels vector = new VectorKernels(), scalar = new ScalarKernels();
        // p = 1/8 (past the series), 1/16 (its last value), 1/17 .. 1/64 (inside), and a gentle slope; rows
        // past 64 steps of two vectors (the vector form's terms outside the series come after each 64)
        for (int n : new int[] {8, 16, 17, 32, 64, 100, 1000, 2100, 4100}) {
            for (double slope : new double[] {0, 0.01, 0.3}) {
                float[] z = new float[n];
                for (int i = 0; i < n; i++) z[i] = (float) (slope * i);
                for (double gamma : new double[] {0.1, 0.37, 1}) assertGenScore(vector, scalar, z, n, gamma, "n = " + n + ", slope " + slope);
            }
            // one class far ahead: 1 - p down to 1e-9 (below the clamp), where float32 sums would have lost it
            for (double gap : new double[] {5, 12, 20, 27, 40}) {
                float[] z = new float[n];
                for (int i = 0; i < n; i++) z[i] = (float) (0.01 * i);
                z[n / 2] = (float) gap;
                for (double gamma : new double[] {0.1, 0.37}) assertGenScore(vector, scalar, z, n, gamma, "n = " + n + ", gap " + gap);
            }
        }
    }

    @Test
    void expPowersAreTheExpsFromTheirRootsFlooredAtTheNormalFloats() {
        MathKernels vector = new VectorKernels(), scalar = new ScalarKernels();
        for (int n : new int[] {1, 15, 16, 17, 100}) {
            float[] v = new float[n];
            SplittableRandom rng = new SplittableRandom(n);
            for (int i = 0; i < n; i++) v[i] = (float) (30 * rng.nextGaussian());
            v[0] = 3;   // the shift: exp(0) = 1
            if (n > 2) v[n - 1] = -200;   // below the floor
            for (int root : new int[] {1, 2, 10, 17, 64}) {
                double[] sums = new double[2];
                MathKernels[] kernels = {vector, scalar};
                for (int k = 0; k < 2; k++) {
                    float[] u = new float[n], e = new float[n];
                    sums[k] = kernels[k].expPowers(v, n, 3, root, u, e);
                    double want = 0;
                    for (int i = 0; i < n; i++) {
                        // x as float32 rounds it (v - shift, then times 1 / root): |x| 2^-23 relative in the exp
                        double x = Math.max(v[i] - 3f, -87.0), rounding = Math.abs(x) * 0x1p-23;
                        assertEquals(Math.exp(x / root), u[i], (2 * 0x1p-23 + rounding / root) * u[i], "u, root " + root + ", v " + v[i]);
                        assertEquals(Math.exp(x), e[i], (2 * root * 0x1p-23 + rounding) * e[i], "e, root " + root + ", v " + v[i]);
                        assertTrue(e[i] >= Float.MIN_NORMAL, "a normal float");
                        want += e[i];
                    }
                    assertEquals(1, e[0], "exp(0) is 1 exactly");
                    assertEquals(want, sums[k], n * 0x1p-24 * want, "the sum of e");
                    float[] aliased = v.clone(), e2 = new float[n];
                    kernels[k].expPowers(aliased, n, 3, root, aliased, e2);
                    assertArrayEquals(u, aliased, "u may be v");
                    assertArrayEquals(e, e2);
                }
            }
        }
    }

    /**
     * GEN's score of row z through the kernels (as GEN's float32 path: one exp and u^root where gamma
     * = 1 / root, else two exps) against the float64 definition (1 - p as the others' share), and the
     * vector form against the scalar one.
     */
    private static void assertGenScore(MathKernels vector, MathKernels scalar, float[] z, int n, double gamma, String what) {
        double eps = 1e-7;
        double m = Double.NEGATIVE_INFINITY, total = 0;
        for (int i = 0; i < n; i++) m = Math.max(m, z[i]);
        for (int i = 0; i < n; i++) total += Math.exp(z[i] - m);
        double exact = 0;
        for (int i = 0; i < n; i++) {
            double e = Math.exp(z[i] - m), others = total - e;
            if (e > total / 2) {
                others = 0;
                for (int j = 0; j < n; j++) if (j != i) others += Math.exp(z[j] - m);
            }
            double c = Math.min(Math.max(e / total, eps), 1 - eps), q = Math.min(Math.max(others / total, eps), 1 - eps);
            exact += Math.pow(c * q, gamma);
        }
        double root = Math.rint(1 / gamma);
        double[] got = new double[2];
        MathKernels[] kernels = {vector, scalar};
        for (int k = 0; k < 2; k++) {
            float[] u = new float[n], e = new float[n];
            double sum;
            if (root * gamma == 1 && root <= RowMath.MAX_ROOT) {
                sum = kernels[k].expPowers(z, n, (float) m, (int) root, u, e);
            } else {
                sum = kernels[k].expShiftedSum(z, n, (float) m, 1, e);
                kernels[k].expShiftedSum(z, n, (float) m, (float) gamma, u);
            }
            got[k] = kernels[k].sumGenTerms(u, e, n, sum, new GenTerms(gamma, eps));
        }
        assertEquals(exact, got[0], 2e-6 * exact, what + ", gamma " + gamma + ": vector against float64");
        assertEquals(exact, got[1], 2e-6 * exact, what + ", gamma " + gamma + ": scalar against float64");
    }

    private static void assertClose(double[] want, double[] got) {
        for (int i = 0; i < want.length; i++) {
            if (Double.isNaN(want[i])) {
                assertTrue(Double.isNaN(got[i]), "element " + i);
            } else {
                assertEquals(want[i], got[i], 4 * Math.ulp(want[i]), "element " + i);
            }
        }
    }
}
