package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Linalg;
import org.ood4j.engine.Tensor;

/** Linalg.eighLargest on the CPU (SymmetricEigen) against the full eigh: values, residuals, orthonormality, spans. */
class EighLargestTest {
    /** X^T X of n x d rows whose columns have scales decaying from 1 to 0.01 (a feature covariance's shape). */
    private static double[] scatter(SplittableRandom rng, int rows, int d) {
        double[] x = new double[rows * d], a = new double[d * d];
        for (int r = 0; r < rows; r++) for (int c = 0; c < d; c++) x[r * d + c] = rng.nextGaussian() * Math.pow(0.01, (double) c / d);
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < d; i++) {
                double xi = x[r * d + i];
                for (int j = 0; j < d; j++) a[i * d + j] += xi * x[r * d + j];
            }
        }
        return a;
    }

    /** Checks the k pairs of a against the full eigh: values, ||A v - lambda v||, V^T V = I, and (with a gap) the same span. */
    private static void check(double[] a, int n, int k, boolean sameSpan) {
        Tensor m = Tensor.of(a, n, n);
        double norm = 0;
        for (double v : a) norm = Math.max(norm, Math.abs(v));
        norm *= n;
        try (Linalg.Eigh top = Linalg.eighLargest(m, k); Linalg.Eigh all = Linalg.eigh(m)) {
            assertEquals(java.util.List.of((long) k), java.util.List.of(top.values().shape()[0]));
            double[] values = top.values().toDoubleArray(), allValues = all.values().toDoubleArray();
            double[][] v = top.vectors().toDoubleMatrix(), w = all.vectors().toDoubleMatrix();
            for (int j = 0; j < k; j++) {
                assertEquals(allValues[n - k + j], values[j], 1e-12 * norm, "eigenvalue " + j);
                if (j > 0) assertTrue(values[j] >= values[j - 1], "ascending");
                for (int i = 0; i < n; i++) {   // A v = lambda v
                    double s = 0;
                    for (int c = 0; c < n; c++) s += a[i * n + c] * v[c][j];
                    assertEquals(values[j] * v[i][j], s, 1e-10 * norm, "residual " + j + " row " + i);
                }
                for (int o = 0; o <= j; o++) {   // orthonormal
                    double s = 0;
                    for (int i = 0; i < n; i++) s += v[i][j] * v[i][o];
                    assertEquals(o == j ? 1 : 0, s, 1e-10, "V^T V at " + j + ", " + o);
                }
            }
            if (!sameSpan) return;
            for (int r = 0; r < n; r++) {   // V V^T = W_k W_k^T: the same space as the full decomposition's last k
                for (int c = 0; c < n; c++) {
                    double p = 0, q = 0;
                    for (int j = 0; j < k; j++) {
                        p += v[r][j] * v[c][j];
                        q += w[r][n - k + j] * w[c][n - k + j];
                    }
                    assertEquals(q, p, 1e-8, "projector at " + r + ", " + c);
                }
            }
        }
    }

    @Test
    void theLargestPairsOfACovarianceMatchTheFullDecomposition() {
        SplittableRandom rng = new SplittableRandom(5);
        check(scatter(rng, 900, 200), 200, 40, true);
        check(scatter(rng, 400, 64), 64, 64, true);   // all of them
        check(scatter(rng, 400, 64), 64, 1, true);
    }

    @Test
    void aRankDeficientMatrixGetsAnOrthonormalBasisOfItsRepeatedZeroEigenvalue() {
        SplittableRandom rng = new SplittableRandom(6);
        check(scatter(rng, 20, 100), 100, 30, false);   // 80 zero eigenvalues; the top 30 take 10 of them
    }

    @Test
    void repeatedEigenvaluesOfARotatedDiagonal() {
        int n = 60;
        SplittableRandom rng = new SplittableRandom(7);
        double[] q = new double[n * n];   // an orthogonal Q by Gram-Schmidt of a Gaussian matrix
        for (int c = 0; c < n; c++) {
            double[] col = new double[n];
            for (int i = 0; i < n; i++) col[i] = rng.nextGaussian();
            for (int o = 0; o < c; o++) {
                double s = 0;
                for (int i = 0; i < n; i++) s += col[i] * q[i * n + o];
                for (int i = 0; i < n; i++) col[i] -= s * q[i * n + o];
            }
            double len = 0;
            for (double x : col) len += x * x;
            for (int i = 0; i < n; i++) q[i * n + c] = col[i] / Math.sqrt(len);
        }
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int c = 0; c < n; c++) s += q[i * n + c] * (c < 20 ? 3.0 : c < 45 ? 1.0 : 0.5) * q[j * n + c];
                a[i * n + j] = s;
            }
        }
        check(a, n, 20, true);    // exactly the triple eigenvalue's space
        check(a, n, 30, false);   // it and 10 of the 25 vectors of eigenvalue 1
    }

    @Test
    void smallAndBadInputs() {
        check(new double[] {4}, 1, 1, true);
        check(new double[] {2, 1, 1, 2}, 2, 1, true);
        check(new double[] {2, 1, 1, 2}, 2, 2, true);
        try (Linalg.Eigh e = Linalg.eighLargest(Tensor.of(new double[] {2, 0, 0, 3}, 2, 2).to(DType.FLOAT32), 1)) {
            assertEquals(DType.FLOAT32, e.vectors().dtype());
            assertEquals(3.0, e.values().toDoubleArray()[0], 1e-6);
        }
        Tensor m = Tensor.of(new double[] {2, 1, 1, 2}, 2, 2);
        assertThrows(IllegalArgumentException.class, () -> Linalg.eighLargest(m, 0));
        assertThrows(IllegalArgumentException.class, () -> Linalg.eighLargest(m, 3));
        assertThrows(IllegalArgumentException.class, () -> Linalg.eighLargest(Tensor.of(new double[] {1, 2, 3, 4, 5, 6}, 2, 3), 1));
        IllegalArgumentException nan = assertThrows(IllegalArgumentException.class,
                () -> Linalg.eighLargest(Tensor.of(new double[] {1, Double.NaN, Double.NaN, 1}, 2, 2), 1));
        assertTrue(nan.getMessage().contains("NaN") || nan.getMessage().contains("finite"), nan.getMessage());
    }
}
