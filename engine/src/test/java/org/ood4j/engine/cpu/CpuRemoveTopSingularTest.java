package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Linalg;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * Linalg.removeTopSingular on the CPU backend against an independent reference: X - s1 u1 v1^T
 * from the full (EJML) SVD of each matrix, which shares no code with the Gram + Jacobi route.
 */
class CpuRemoveTopSingularTest {
    private Scope scope;

    @BeforeEach void open() { scope = Scope.open(); }
    @AfterEach void close() { scope.close(); }

    /** {B, R, C}: R < C, R > C, R = C, k = 1 either way, B = 1 and B = 7, k up to 64 and past it. */
    static final int[][] SIZES = {
        {1, 5, 3}, {7, 3, 5}, {7, 4, 4}, {1, 1, 6}, {7, 6, 1}, {1, 1, 1}, {7, 13, 2}, {1, 2, 13},
        {3, 64, 49}, {2, 10, 80}, {2, 64, 64}, {1, 70, 66}, {2, 9, 130},
    };

    @Test
    void matchesTheSvdReference() {
        for (int[] size : SIZES) {
            for (DType type : new DType[] {DType.FLOAT64, DType.FLOAT32}) {
                Tensor x = withClearTop(new SplittableRandom(size[0] * 1000 + size[1] * 31 + size[2]), type, size);
                Tensor r = Linalg.removeTopSingular(x);
                String what = type + " " + Arrays.toString(size);
                assertEquals(type, r.dtype(), what);
                assertEquals(Device.CPU, r.device(), what);
                assertArrayEquals(x.shape(), r.shape(), what);
                double[] removed = reference(x);
                assertClose(removed, r.toDoubleArray(), type == DType.FLOAT64 ? 1e-10 : 1e-5, what);
                // removeTopSingularRowMeans forms no X': its means follow from X's and the top vector
                Tensor means = Linalg.removeTopSingularRowMeans(x);
                assertEquals(type, means.dtype(), what);
                assertArrayEquals(new long[] {size[0], size[1]}, means.shape(), what);
                double[] expected = new double[size[0] * size[1]];
                for (int i = 0; i < expected.length; i++) {
                    for (int j = 0; j < size[2]; j++) expected[i] += removed[i * size[2] + j] / size[2];
                }
                assertClose(expected, means.toDoubleArray(), type == DType.FLOAT64 ? 1e-10 : 1e-5, what + " row means");
            }
        }
    }

    @Test
    void stridedInputGivesTheSameAsItsContiguousCopy() {
        Tensor base = withClearTop(new SplittableRandom(3), DType.FLOAT64, new int[] {4, 9, 6});
        Tensor transposed = base.transpose(1, 2);                 // (4, 6, 9), not contiguous
        Tensor sliced = base.slice(2, 1, 5);                     // (4, 9, 4), rows strided
        for (Tensor view : new Tensor[] {transposed, sliced}) {
            assertArrayEquals(Linalg.removeTopSingular(view.copy()).toDoubleArray(), Linalg.removeTopSingular(view).toDoubleArray(), 0);
            assertClose(reference(view), Linalg.removeTopSingular(view).toDoubleArray(), 1e-10, "strided " + Arrays.toString(view.shape()));
        }
    }

    @Test
    void rowMeansNameTheNonFiniteMatrix() {
        double[] bad = new double[3 * 2 * 5];
        bad[17] = Double.NaN;                                        // matrix 1
        var e = assertThrows(IllegalArgumentException.class, () -> Linalg.removeTopSingularRowMeans(Tensor.of(bad, 3, 2, 5)));
        assertTrue(e.getMessage().contains("matrix 1 of [3, 2, 5]") && e.getMessage().contains("NaN or Inf"), e.getMessage());
    }

    @Test
    void squaringFindsJacobisVectorOrLeavesItToJacobi() {
        // with a gap, the squared Gram matrix's column is Jacobi's eigenvector (up to sign); with
        // lambda2 / lambda1 = 0.999 or 1 - 1e-6, 4096 = 2^12 steps cannot separate them to 1e-12 and Jacobi decides
        SplittableRandom rng = new SplittableRandom(9);
        for (double second : new double[] {0.1, 0.9, 0.99, 0.999, 1 - 1e-6}) {
            int k = 16;
            double[] q = orthonormal(rng, k), g = new double[k * k];
            for (int i = 0; i < k; i++) {
                for (int j = 0; j < k; j++) {
                    double sum = 0;
                    for (int l = 0; l < k; l++) sum += q[i * k + l] * (l == 0 ? 1 : l == 1 ? second : 0.5 / (l + 1)) * q[j * k + l];
                    g[i * k + j] = sum;
                }
            }
            double[] squared = TopSingular.bySquaring(g, k), jacobi = TopSingular.topEigenvector(g.clone(), k);
            if (second > 0.995) {
                assertEquals(null, squared, "a near tie is left to Jacobi");
                continue;
            }
            double sign = Math.signum(squared[0] * jacobi[0]);
            for (int i = 0; i < k; i++) assertEquals(jacobi[i], sign * squared[i], 1e-10, "lambda2 " + second + " [" + i + "]");
        }
    }

    /** A random k x k orthonormal matrix (Gram-Schmidt on Gaussian columns), row-major. */
    private static double[] orthonormal(SplittableRandom rng, int k) {
        double[] q = new double[k * k];
        for (int c = 0; c < k; c++) {
            for (int i = 0; i < k; i++) q[i * k + c] = rng.nextGaussian();
            for (int p = 0; p < c; p++) {
                double dot = 0;
                for (int i = 0; i < k; i++) dot += q[i * k + c] * q[i * k + p];
                for (int i = 0; i < k; i++) q[i * k + c] -= dot * q[i * k + p];
            }
            double norm = 0;
            for (int i = 0; i < k; i++) norm += q[i * k + c] * q[i * k + c];
            for (int i = 0; i < k; i++) q[i * k + c] /= Math.sqrt(norm);
        }
        return q;
    }

    @Test
    void aRankOneMatrixLosesEverything() {
        double[] u = {1, -2, 3, 0.5}, v = {2, 1, -1, 4, 0.25, -3, 1};
        for (boolean wide : new boolean[] {false, true}) {
            int rows = wide ? u.length : v.length, cols = wide ? v.length : u.length;
            double[] x = new double[rows * cols];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) x[i * cols + j] = wide ? u[i] * v[j] : v[i] * u[j];
            }
            for (double w : Linalg.removeTopSingular(Tensor.of(x, 1, rows, cols)).toDoubleArray()) assertEquals(0, w, 1e-12);
        }
    }

    @Test
    void zerosStayZero() {
        for (double v : Linalg.removeTopSingular(Tensor.zeros(DType.FLOAT32, 2, 3, 5)).toDoubleArray()) assertEquals(0, v);
    }

    /**
     * Tied top singular values: either tied component is a valid answer. What must hold is what
     * every answer satisfies: the result's singular values are X's without one copy of s1, and
     * what was removed is rank 1 with norm s1.
     */
    @Test
    void tiesRemoveOneOfTheTiedComponents() {
        Tensor identity = Tensor.of(new double[] {1, 0, 0, 0, 1, 0, 0, 0, 1}, 1, 3, 3);
        assertSingularValues(Linalg.removeTopSingular(identity), 1, 1, 0);
        // two equal singular values of 3 and one of 1, in rotated bases (no zeros to make it easy)
        double c = Math.cos(0.7), s = Math.sin(0.7);
        double[][] q1 = {{c, -s, 0}, {s, c, 0}, {0, 0, 1}}, q2 = {{1, 0, 0}, {0, c, -s}, {0, s, c}};
        double[] d = {3, 3, 1};
        double[] x = new double[3 * 4];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                double sum = 0;
                for (int l = 0; l < 3; l++) sum += q1[i][l] * d[l] * q2[j][l];
                x[i * 4 + j] = sum;                                  // column 3 stays zero: a 3 x 4 matrix
            }
        }
        for (boolean transposed : new boolean[] {false, true}) {
            Tensor m = transposed ? Tensor.of(x, 1, 3, 4).transpose(1, 2).copy() : Tensor.of(x, 1, 3, 4);
            Tensor r = Linalg.removeTopSingular(m);
            assertSingularValues(r, 3, 1, 0);
            Tensor removed = m.sub(r);
            assertSingularValues(removed, 3, 0, 0);
        }
    }

    @Test
    void emptyInputGivesAnEmptyCopy() {
        for (long[] shape : new long[][] {{0, 3, 4}, {2, 0, 3}, {2, 3, 0}}) {
            Tensor r = Linalg.removeTopSingular(Tensor.zeros(DType.FLOAT32, shape));
            assertArrayEquals(shape, r.shape());
            assertEquals(DType.FLOAT32, r.dtype());
        }
    }

    @Test
    void refusesBadInputWithClearMessages() {
        var rank = assertThrows(IllegalArgumentException.class, () -> Linalg.removeTopSingular(Tensor.zeros(DType.FLOAT64, 3, 4)));
        assertTrue(rank.getMessage().contains("3-D") && rank.getMessage().contains("[3, 4]"), rank.getMessage());
        var type = assertThrows(IllegalArgumentException.class, () -> Linalg.removeTopSingular(Tensor.zeros(DType.INT64, 1, 3, 4)));
        assertTrue(type.getMessage().contains("INT64") || type.getMessage().contains("int64"), type.getMessage());
        for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, 1e200}) {
            double[] x = new double[3 * 2 * 5];
            Arrays.fill(x, 1);
            x[2 * 10 + 7] = bad;                                     // matrix 2
            var e = assertThrows(IllegalArgumentException.class, () -> Linalg.removeTopSingular(Tensor.of(x, 3, 2, 5)));
            assertTrue(e.getMessage().contains("matrix 2 of [3, 2, 5]") && e.getMessage().contains("NaN or Inf"), e.getMessage());
        }
    }

    // ---------------------------------------------------------------- helpers

    /** Gaussian (B, R, C) plus a strong rank-1 term, so that s1 is well separated from s2. */
    static Tensor withClearTop(SplittableRandom rng, DType type, int[] size) {
        int b = size[0], rows = size[1], cols = size[2];
        double[] x = new double[b * rows * cols];
        for (int m = 0; m < b; m++) {
            double[] u = new double[rows], v = new double[cols];
            for (int i = 0; i < rows; i++) u[i] = rng.nextGaussian();
            for (int j = 0; j < cols; j++) v[j] = rng.nextGaussian();
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) x[(m * rows + i) * cols + j] = rng.nextGaussian() + 0.5 * u[i] * v[j];
            }
        }
        return Tensor.of(x, b, rows, cols).to(type);
    }

    /** X - s1 u1 v1^T per matrix from the engine's (EJML) SVD, in float64 from x's values. */
    static double[] reference(Tensor x) {
        int b = (int) x.size(0), rows = (int) x.size(1), cols = (int) x.size(2), k = Math.min(rows, cols);
        Tensor x64 = x.to(DType.FLOAT64);
        double[] data = x64.toDoubleArray();
        try (Linalg.Svd svd = Linalg.svd(x64, false)) {
            double[] u = svd.u().toDoubleArray(), s = svd.s().toDoubleArray(), vh = svd.vh().toDoubleArray();
            for (int m = 0; m < b; m++) {
                double s1 = s[m * k];
                for (int i = 0; i < rows; i++) {
                    for (int j = 0; j < cols; j++) {
                        data[(m * rows + i) * cols + j] -= s1 * u[(m * rows + i) * k] * vh[m * k * cols + j];
                    }
                }
            }
        }
        return data;
    }

    /** |e - a| <= tol * max|e| per matrix set (an absolute bound at the scale of the data). */
    static void assertClose(double[] expected, double[] actual, double tol, String what) {
        double scale = 1;
        for (double e : expected) scale = Math.max(scale, Math.abs(e));
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= tol * scale)) {
                fail(what + " [" + i + "]: expected " + expected[i] + ", got " + actual[i] + " (tolerance " + tol * scale + ")");
            }
        }
    }

    private static void assertSingularValues(Tensor m, double... expected) {
        try (Linalg.Svd svd = Linalg.svd(m.reshape(m.size(-2), m.size(-1)), false)) {
            double[] s = svd.s().toDoubleArray();
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], i < s.length ? s[i] : 0, 1e-10, "singular values " + Arrays.toString(s));
            }
        }
    }
}
