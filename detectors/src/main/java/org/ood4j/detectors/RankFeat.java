package org.ood4j.detectors;

import java.util.function.Function;
import java.util.stream.IntStream;

import org.ood4j.engine.Tensor;

/**
 * Rank-1 feature removal, from Song, Sebe and Wang, "RankFeat: Rank-1 Feature Removal for
 * Out-of-distribution Detection" (NeurIPS 2022). Each sample's maps, as a C x HW matrix X, lose
 * their dominant singular component:
 * <pre>  X' = X - s_1 u_1 v_1^T,   score = detector(head(X'))</pre>
 * The top singular pair comes from the eigenvectors of the small Gram matrix of each sample
 * (k x k, k = min(C, HW)), in float64.
 */
public final class RankFeat extends FeatureMapsDetector {
    public RankFeat(Function<Tensor, Tensor> backbone, Function<Tensor, Tensor> head, Function<Tensor, Tensor> detector) {
        super(backbone, head, detector);
    }

    @Override public boolean requiresFit() { return false; }

    /**
     * X' = X - s1 u1 v1^T per sample, from the top eigenvector of the small Gram matrix (X^T X
     * when HW <= C, else X X^T; k x k with k = min(C, HW)): with v1 the top right singular
     * vector, s1 u1 v1^T = (X v1) v1^T; with u1 the top left one, u1 (u1^T X). Float64, samples
     * in parallel; no full SVD.
     */
    @Override
    protected Tensor shape(Tensor maps) {
        long[] shape = maps.shape();
        int n = (int) shape[0], c = (int) shape[1], hw = (int) (shape[2] * shape[3]);
        double[] x;
        try (Tensor flat = maps.reshape(n, (long) c * hw)) {
            x = flat.toDoubleArray();
        }
        IntStream.range(0, n).parallel().forEach(i -> removeTopComponent(x, i * c * hw, c, hw));
        return Tensor.of(x, shape);
    }

    /** Subtracts the dominant singular component from the rows x cols matrix at x[at..]. */
    static void removeTopComponent(double[] x, int at, int rows, int cols) {
        boolean right = cols <= rows;                 // Gram of the columns: its top eigenvector is v1
        int k = right ? cols : rows;
        double[] g = new double[k * k];
        if (right) {
            for (int r = 0; r < rows; r++) {
                int o = at + r * cols;
                for (int a = 0; a < cols; a++) {
                    double xa = x[o + a];
                    for (int b = 0; b <= a; b++) g[a * k + b] += xa * x[o + b];
                }
            }
        } else {
            for (int a = 0; a < rows; a++) {
                for (int b = 0; b <= a; b++) {
                    double s = 0;
                    int oa = at + a * cols, ob = at + b * cols;
                    for (int j = 0; j < cols; j++) s += x[oa + j] * x[ob + j];
                    g[a * k + b] = s;
                }
            }
        }
        for (int a = 0; a < k; a++) for (int b = 0; b < a; b++) g[b * k + a] = g[a * k + b];
        double[] v = topEigenvector(g, k);
        if (right) {
            for (int r = 0; r < rows; r++) {          // row r of X minus (X v)_r v^T
                int o = at + r * cols;
                double xv = 0;
                for (int j = 0; j < cols; j++) xv += x[o + j] * v[j];
                for (int j = 0; j < cols; j++) x[o + j] -= xv * v[j];
            }
        } else {
            double[] w = new double[cols];            // u^T X
            for (int r = 0; r < rows; r++) {
                int o = at + r * cols;
                for (int j = 0; j < cols; j++) w[j] += v[r] * x[o + j];
            }
            for (int r = 0; r < rows; r++) {
                int o = at + r * cols;
                for (int j = 0; j < cols; j++) x[o + j] -= v[r] * w[j];
            }
        }
    }

    /** Unit eigenvector of the largest eigenvalue of the symmetric k x k matrix g (destroyed), by cyclic Jacobi. */
    static double[] topEigenvector(double[] g, int k) {
        double[] vec = new double[k * k];
        for (int i = 0; i < k; i++) vec[i * k + i] = 1;
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0, diag = 0;
            for (int p = 0; p < k; p++) {
                diag += g[p * k + p] * g[p * k + p];
                for (int q = p + 1; q < k; q++) off += g[p * k + q] * g[p * k + q];
            }
            if (off <= 1e-30 * diag || off == 0) break;
            for (int p = 0; p < k; p++) {
                for (int q = p + 1; q < k; q++) {
                    double apq = g[p * k + q];
                    if (apq == 0) continue;
                    double theta = (g[q * k + q] - g[p * k + p]) / (2 * apq);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double cs = 1 / Math.sqrt(t * t + 1), sn = t * cs;
                    for (int r = 0; r < k; r++) {     // G <- G J (columns p, q)
                        double gp = g[r * k + p], gq = g[r * k + q];
                        g[r * k + p] = cs * gp - sn * gq;
                        g[r * k + q] = sn * gp + cs * gq;
                    }
                    for (int r = 0; r < k; r++) {     // G <- J^T G (rows p, q)
                        double gp = g[p * k + r], gq = g[q * k + r];
                        g[p * k + r] = cs * gp - sn * gq;
                        g[q * k + r] = sn * gp + cs * gq;
                    }
                    for (int r = 0; r < k; r++) {     // V <- V J
                        double vp = vec[r * k + p], vq = vec[r * k + q];
                        vec[r * k + p] = cs * vp - sn * vq;
                        vec[r * k + q] = sn * vp + cs * vq;
                    }
                }
            }
        }
        int best = 0;
        for (int i = 1; i < k; i++) if (g[i * k + i] > g[best * k + best]) best = i;
        double[] v = new double[k];
        for (int r = 0; r < k; r++) v[r] = vec[r * k + best];
        return v;
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("detector", detectorName());
    }
}
