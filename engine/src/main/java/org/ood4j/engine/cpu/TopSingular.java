package org.ood4j.engine.cpu;

/**
 * The dominant singular component of a small-sided matrix, removed in place (RankFeat's rank-1
 * removal, {@link org.ood4j.engine.backend.LinalgOps#removeTopSingular}), in float64.
 *
 * <p>For a rows x cols matrix X the top eigenvector of the k x k Gram matrix (k = min(rows, cols);
 * X^T X when cols <= rows, else X X^T) is found by cyclic Jacobi; with v1 the top right singular
 * vector, s1 u1 v1^T = (X v1) v1^T; with u1 the top left one, s1 u1 v1^T = u1 (u1^T X). No full SVD.
 * kernels/src/main/cuda/linalg.cu runs the same algorithm (same rotation order, same stopping
 * rule) on the GPU, so the two backends agree to rounding; from the fifth sweep on the CPU drops an
 * off-diagonal entry too small to move either diagonal entry instead of rotating it away, a change
 * below float64 rounding of the eigenvector.
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
        double[] v = topVector(x, at, rows, cols);
        if (v == null) return false;
        if (cols <= rows) {
            for (int r = 0; r < rows; r++) {          // row r of X minus (X v)_r v^T
                int o = at + r * cols;
                double xv = rowDot(x, o, v, cols);
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
     * means[to + r] = the mean over the columns of row r of X - s1 u1 v1^T, for the matrix at
     * x[at..], without forming it: with the right vector v1 (cols <= rows) that is m_r - (x_r . v1)
     * mean(v1), with the left one u1 it is m_r - u1_r (u1 . m), m the row means of X (the mean of
     * (X v) v^T's row r is (x_r . v) mean(v); of u (u^T X)'s, u_r times the mean of u^T X, u . m).
     * False when {@link #remove} would fail.
     */
    static boolean removedRowMeans(double[] x, int at, int rows, int cols, double[] means, int to) {
        double[] v = topVector(x, at, rows, cols);
        if (v == null) return false;
        boolean right = cols <= rows;
        double vMean = 0;
        if (right) for (double vj : v) vMean += vj / cols;
        for (int r = 0; r < rows; r++) {
            double sum = 0, dot = 0;                  // row r's sum and, with v1, its product with v1: one pass
            for (int j = 0, o = at + r * cols; j < cols; j++) {
                sum += x[o + j];
                if (right) dot += x[o + j] * v[j];
            }
            means[to + r] = sum / cols - dot * vMean;
        }
        if (!right) {
            double um = 0;
            for (int r = 0; r < rows; r++) um += v[r] * means[to + r];
            for (int r = 0; r < rows; r++) means[to + r] -= v[r] * um;
        }
        return true;
    }

    private static double rowDot(double[] x, int o, double[] v, int n) {
        double s = 0;
        for (int j = 0; j < n; j++) s += x[o + j] * v[j];
        return s;
    }

    /**
     * The top right singular vector v1 (cols <= rows) or left one u1 (else) of the matrix at
     * x[at..], unit length: the top eigenvector of the smaller Gram matrix. Null when it is not finite.
     */
    static double[] topVector(double[] x, int at, int rows, int cols) {
        boolean right = cols <= rows;                 // Gram of the columns: its top eigenvector is v1
        int k = right ? cols : rows;
        double[] g = new double[k * k];
        if (right) {
            MathKernels.INSTANCE.gram(x, at, rows, cols, g);      // register-blocked on the Vector API
        } else {
            for (int a = 0; a < rows; a++) {
                for (int b = 0; b <= a; b++) {
                    double s = 0;
                    int oa = at + a * cols, ob = at + b * cols;
                    for (int j = 0; j < cols; j++) s += x[oa + j] * x[ob + j];
                    g[a * k + b] = s;
                }
            }
            for (int a = 0; a < k; a++) for (int b = 0; b < a; b++) g[b * k + a] = g[a * k + b];
        }
        double[] v = bySquaring(g, k);
        return v != null ? v : topEigenvector(g, k);
    }

    /** Squarings at most before {@link #bySquaring} leaves the matrix to Jacobi: a power of 4096. */
    static final int MAX_SQUARINGS = 12;
    /** Accepted when |M v - (v . M v) v| is at most this times v . M v (M the squared, trace-scaled G). */
    static final double RESIDUAL = 1e-12;

    /**
     * The top eigenvector of the symmetric positive semi-definite Gram matrix g (left as it is) by
     * the power method at 2^s steps: M = G / tr(G), then M = M^2 / tr(M^2) until the column of M
     * with the largest diagonal entry, normalised, is an eigenvector of M to {@link #RESIDUAL} —
     * then its error is that residual: M's other eigenvalues relative to the top one are
     * (lambda_i / lambda_1)^(2^s). s squarings cost 2 s k^3 flops against Jacobi's 9 k^3 per
     * sweep (linalg.cu's count) over 5 to 10 sweeps: 6 squarings at lambda_2 / lambda_1 = 0.5,
     * 9 at 0.9, 4 on the quick workload's maps (ratio 0.04 to 0.05). Null when G is zero or not
     * finite, or no clear gap showed within {@link #MAX_SQUARINGS} (lambda_2 / lambda_1 above
     * about 0.993: 0.993^4096 = 3e-13): cyclic Jacobi then decides.
     */
    static double[] bySquaring(double[] g, int k) {
        double[] m = g.clone(), next = new double[k * k];
        if (!scaleByTrace(m, k)) return null;
        for (int s = 0; s <= MAX_SQUARINGS; s++) {
            int best = 0;
            for (int i = 1; i < k; i++) if (m[i * k + i] > m[best * k + best]) best = i;
            double[] v = new double[k];
            double norm = 0;
            for (int i = 0; i < k; i++) norm += m[i * k + best] * m[i * k + best];
            norm = Math.sqrt(norm);
            for (int i = 0; i < k; i++) v[i] = m[i * k + best] / norm;
            if (residual(m, v, k) <= RESIDUAL) return v;
            if (s == MAX_SQUARINGS) break;
            MathKernels.INSTANCE.gram(m, 0, k, k, next);        // M^2 = M^T M: M is symmetric
            double[] swap = m;
            m = next;
            next = swap;
            if (!scaleByTrace(m, k)) return null;
        }
        return null;
    }

    /** m /= trace(m); false when the trace is not a positive finite number. */
    private static boolean scaleByTrace(double[] m, int k) {
        double trace = 0;
        for (int i = 0; i < k; i++) trace += m[i * k + i];
        if (!(trace > 0) || !Double.isFinite(trace)) return false;
        for (int i = 0; i < k * k; i++) m[i] /= trace;
        return true;
    }

    /** |M v - (v . M v) v| / (v . M v) for a unit v; infinite when v . M v is not positive. */
    private static double residual(double[] m, double[] v, int k) {
        double[] w = new double[k];
        double lambda = 0;
        for (int i = 0; i < k; i++) {
            double s = 0;
            for (int j = 0; j < k; j++) s += m[i * k + j] * v[j];
            w[i] = s;
            lambda += v[i] * s;
        }
        if (!(lambda > 0)) return Double.POSITIVE_INFINITY;
        double r = 0;
        for (int i = 0; i < k; i++) r += (w[i] - lambda * v[i]) * (w[i] - lambda * v[i]);
        return Math.sqrt(r) / lambda;
    }

    /** Whether 100 |apq| vanishes against |app| in float64. */
    private static boolean negligible(double apq, double app) {
        return Math.abs(app) + 100 * Math.abs(apq) == Math.abs(app);
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
                    if (sweep > 3 && negligible(apq, g[p * k + p]) && negligible(apq, g[q * k + q])) {
                        // a rotation too small to change either diagonal entry in float64: apq is dropped
                        // instead (Numerical Recipes' jacobi), which spares the late sweeps most rotations
                        g[p * k + q] = 0;
                        g[q * k + p] = 0;
                        continue;
                    }
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
