package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Linalg;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.WhitenedDistances;

/**
 * The triangular product (an upper-triangular packed B) and the fused whitened distances against
 * float64 references: (z - mu)^T Sigma^-1 (z - mu) through the inverse, row by row.
 */
class CpuWhitenedTest {
    private Scope scope;
    private final SplittableRandom rng = new SplittableRandom(11);

    @BeforeEach void open() { scope = Scope.open(); }
    @AfterEach void close() { scope.close(); }

    /** Skipping the zero rows of each panel gives the full product's values (widths off the panel size, depths past KC). */
    @Test
    void upperTriangularProductEqualsTheFullOne() {
        for (int n : new int[] {1, 17, 300}) {
            int m = 13;
            float[] a = new float[m * n], b = new float[n * n];
            for (int i = 0; i < a.length; i++) a[i] = (float) rng.nextGaussian();
            for (int p = 0; p < n; p++) for (int j = p; j < n; j++) b[p * n + j] = (float) rng.nextGaussian();
            Gemm.PackedFloats upper = Gemm.pack(b, 0, n, n, n, true), full = Gemm.pack(b, n, n);
            float[] cu = Gemm.sgemm(a, m, upper, null), cf = Gemm.sgemm(a, m, full, null);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) assertEquals(cf[i * full.width() + j], cu[i * upper.width() + j], 0f, "n " + n + " [" + i + ", " + j + "]");
            }
        }
    }

    /**
     * Float32 rows (contiguous and strided, row counts off the task block) through the fused pass and
     * float64 rows through the tensor ops, against the precision-matrix reference: within float32's
     * rounding of the rows and factors for well-conditioned covariances.
     */
    @Test
    void distancesMatchThePrecisionReference() {
        for (int dim : new int[] {1, 5, 37, 300}) {
            int classes = 3, rows = 150;
            Tensor means = Tensor.randn(rng, DType.FLOAT64, classes, dim);
            Tensor factors = Tensor.zeros(DType.FLOAT64, classes, dim, dim);
            double[][][] precisions = new double[classes][][];
            for (int k = 0; k < classes; k++) {
                Tensor x = Tensor.randn(rng, DType.FLOAT64, 2 * dim + 5, dim);
                Tensor cov = x.t().matmul(x).div(2 * dim + 5).add(Tensor.scalar(0.1, DType.FLOAT64));
                factors.select(0, k).copyFrom(Linalg.inverseCholesky(cov));
                precisions[k] = Linalg.inverse(cov).toDoubleMatrix();
            }
            WhitenedDistances distances = new WhitenedDistances(means, factors);
            Tensor z = Tensor.randn(rng, DType.FLOAT64, rows, dim).to(DType.FLOAT32);
            double[][] want = reference(z.to(DType.FLOAT64).toDoubleMatrix(), means.toDoubleMatrix(), precisions);
            Tensor strided = Tensor.zeros(DType.FLOAT32, dim, rows).t();   // (rows, dim) with column stride rows
            strided.copyFrom(z);
            for (Tensor input : new Tensor[] {z, strided, z.slice(0, 0, 73), z.to(DType.FLOAT64)}) {
                double[][] got = distances.distances(input).toDoubleMatrix();
                double tol = input.dtype() == DType.FLOAT64 ? 1e-9 : 2e-5;
                for (int i = 0; i < got.length; i++) {
                    for (int k = 0; k < classes; k++) {
                        assertEquals(want[i][k], got[i][k], tol * want[i][k], "dim " + dim + " " + input.dtype() + " row " + i + " class " + k);
                    }
                }
            }
        }
    }

    @Test
    void refusesFeaturesOfAnotherDimension() {
        WhitenedDistances distances = new WhitenedDistances(Tensor.zeros(DType.FLOAT64, 2, 4), Tensor.zeros(DType.FLOAT64, 2, 4, 4));
        var e = assertThrows(IllegalArgumentException.class, () -> distances.distances(Tensor.zeros(DType.FLOAT32, 3, 5)));
        assertEquals("features have dimension 5, the fit had 4 (shape [3, 5])", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new WhitenedDistances(Tensor.zeros(DType.FLOAT64, 2, 4), Tensor.zeros(DType.FLOAT64, 2, 4, 3)));
        assertEquals("whitened distances need means (K, D) and factors (K, D, D), got [2, 4] and [2, 4, 3]", e.getMessage());
    }

    /** (z - mu_k)^T P_k (z - mu_k) in float64, row by row. */
    private static double[][] reference(double[][] z, double[][] mu, double[][][] p) {
        double[][] d = new double[z.length][mu.length];
        int dim = mu[0].length;
        for (int i = 0; i < z.length; i++) {
            for (int k = 0; k < mu.length; k++) {
                double[] c = new double[dim];
                for (int j = 0; j < dim; j++) c[j] = z[i][j] - mu[k][j];
                double s = 0;
                for (int a = 0; a < dim; a++) for (int b = 0; b < dim; b++) s += c[a] * p[k][a][b] * c[b];
                d[i][k] = s;
            }
        }
        return d;
    }
}
