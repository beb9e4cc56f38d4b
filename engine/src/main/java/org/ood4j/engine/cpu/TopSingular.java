package org.ood4j.engine.cpu;

/**
 * The dominant singular component of a small-sided matrix, removed in place (RankFeat's rank-1
 * removal, {@link org.ood4j.engine.backend.LinalgOps#removeTopSingular}), in float64.
 *
 * <p>For a rows x cols matrix X the top eigenvector of the k x k Gram matrix (k = min(rows, cols);
 * X^T X when cols <= rows, else X X^T) is found by cyclic Jacobi; with v1 the top right singular
 * vector, s1 u1 v1^T = (X v1) v1^T; with u1 the top left one, s1 u1 v1^T = u1 (u1^T X). No full SVD.
 * kernels/src/main/cuda/linalg.cu runs the same algorithm (same rotation order, same stopping
 * rule) on the GPU, so the two backends agree to rounding.
 */
final class TopSingular {
    /** Jacobi sweeps at most; the stopping rule usually ends it after 5 to 10. */
    static final int MAX_SWEEPS = 100;
    /** Converged when the off-diagonal mass is at most this times the diagonal mass. */
    static final double TOLERANCE = 1e-30;

    private TopSingular() {}

    /**
     * Subtracts the dominant singular component from the rows x cols matrix at x[at..] (row-major).
     * Returns false, leaving x unspecified, when the Gram matrix or the masses of the stopping rule
     * are not finite (NaN or Inf in X, or entries too large to square twice in float64).
     */
    static boolean remove(double[] x, int at, int rows, int cols) {
        boolean right = cols <= rows;                 // Gram of the columns: its top eigenvector is v1
        int k = right ? cols : rows;
        double[] g = new double[k * k];
        if (right) {
            // whole rows of G, not its lower half: the inner loop is then an axpy over k contiguous
            // values, which C2 vectorises; each entry is still its sum over r in order (the same bits)
            for (int r = 0; r < rows; r++) {
                int o = at + r * cols;
                for (int a = 0; a < cols; a++) {
                    double xa = x[o + a];
                    int ga = a * k;
                    for (int b = 0; b < cols; b++) g[ga + b] += xa * x[o + b];
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
        if (!right) for (int a = 0; a < k; a++) for (int b = 0; b < a; b++) g[b * k + a] = g[a * k + b];
        double[] v = topEigenvector(g, k);
        if (v == null) return false;
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
        return true;
    }

    /**
     * Unit eigenvector of the largest eigenvalue of the symmetric k x k matrix g (destroyed), by
     * cyclic Jacobi (pairs p < q in row order); the first diagonal position wins a tie. Null when
     * the masses of the stopping rule are not finite.
     */
    static double[] topEigenvector(double[] g, int k) {
        double[] vecT = new double[k * k];   // the eigenvectors as rows: a rotation's update of two of them is contiguous
        for (int i = 0; i < k; i++) vecT[i * k + i] = 1;
        for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
            double off = 0, diag = 0;
            for (int p = 0; p < k; p++) {
                diag += g[p * k + p] * g[p * k + p];
                for (int q = p + 1; q < k; q++) off += g[p * k + q] * g[p * k + q];
            }
            if (!Double.isFinite(off) || !Double.isFinite(diag)) return null;
            if (off <= TOLERANCE * diag || off == 0) break;
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
                    for (int r = 0, op = p * k, oq = q * k; r < k; r++) {     // G <- J^T G (rows p, q)
                        double gp = g[op + r], gq = g[oq + r];
                        g[op + r] = cs * gp - sn * gq;
                        g[oq + r] = sn * gp + cs * gq;
                    }
                    for (int r = 0, op = p * k, oq = q * k; r < k; r++) {     // V <- V J, on V^T's rows p, q
                        double vp = vecT[op + r], vq = vecT[oq + r];
                        vecT[op + r] = cs * vp - sn * vq;
                        vecT[oq + r] = sn * vp + cs * vq;
                    }
                }
            }
        }
        int best = 0;
        for (int i = 1; i < k; i++) if (g[i * k + i] > g[best * k + best]) best = i;
        return java.util.Arrays.copyOfRange(vecT, best * k, best * k + k);
    }
}
