package org.ood4j.engine.cpu;

import java.util.stream.IntStream;

/**
 * The k largest eigenpairs of a symmetric matrix, as LAPACK's dsyevx with a range of indices
 * (Golub and Van Loan, "Matrix Computations", 4th ed.: 8.3.1 for the reduction, 8.4.1 for
 * bisection, 8.2.2 for inverse iteration):
 * <ol>
 * <li>Householder reduction to tridiagonal form, T = Q^T A Q with Q = H_0 H_1 ... H_{n-3} and
 *     H_j = I - beta_j v_j v_j^T: for each column, p = beta A22 v, w = p - (beta v.p / 2) v,
 *     A22 -= v w^T + w v^T (4/3 n^3 flops in all);</li>
 * <li>the k largest eigenvalues of T by bisection on the Sturm count (the number of negative
 *     pivots of the LDL^T of T - x I), each to a few ulps;</li>
 * <li>their eigenvectors of T by inverse iteration with a tridiagonal LU of T - lambda I with
 *     partial pivoting, each iterate orthogonalised against the vectors of the eigenvalues close
 *     to its own (a cluster, as dstein: |lambda_i - lambda_j| <= 1e-3 ||T||), so that a
 *     multiple eigenvalue gets an orthonormal basis of its space;</li>
 * <li>the back-transformation V = Q Y, one reflector after the other (2 n^2 k flops).</li>
 * </ol>
 * Why not EJML's full decomposition: it computes all n vectors by the QR algorithm, O(n^3) in
 * rotations: 300-360 ms at n = 512 here, where ViM needs 64 of them; this takes about 20 ms.
 */
final class SymmetricEigen {
    /** Iterations of inverse iteration: from an eigenvalue accurate to a few ulps, two give a vector at working accuracy. */
    private static final int INVERSE_ITERATIONS = 3;
    /** Eigenvalues this close (relative to ||T||) form a cluster whose vectors are orthogonalised, as LAPACK's dstein. */
    private static final double CLUSTER = 1e-3;
    /** Trailing sizes from which a reduction step splits its rows between the cores. */
    private static final int PARALLEL_ROWS = 192;

    private SymmetricEigen() {}

    /** The k largest eigenvalues (ascending) and their eigenvectors (n x k, row-major, as columns) of the symmetric n x n a (overwritten). */
    record Pairs(double[] values, double[] vectors) {}

    static Pairs largest(double[] a, int n, int k) {
        if (k < 1 || k > n) throw new IllegalArgumentException("k = " + k + " largest eigenpairs of an " + n + " x " + n + " matrix");
        double[] d = new double[n], e = new double[Math.max(1, n - 1)];
        double[][] reflectors = new double[Math.max(0, n - 2)][];
        double[] betas = new double[Math.max(0, n - 2)];
        tridiagonalise(a, n, d, e, reflectors, betas);
        double norm = 0;
        for (int i = 0; i < n; i++) norm = Math.max(norm, Math.abs(d[i]) + (i > 0 ? Math.abs(e[i - 1]) : 0) + (i < n - 1 ? Math.abs(e[i]) : 0));
        double[] values = new double[k];
        for (int j = 0; j < k; j++) values[j] = eigenvalue(d, e, n, n - k + j, norm);
        double[][] y = new double[k][];
        for (int j = k - 1; j >= 0; j--) y[j] = eigenvector(d, e, n, values[j], norm, y, j, values);
        double[] vectors = new double[n * k];
        IntStream.range(0, k).parallel().forEach(j -> {
            backTransform(y[j], n, reflectors, betas);
            int largest = 0;
            for (int i = 1; i < n; i++) if (Math.abs(y[j][i]) > Math.abs(y[j][largest])) largest = i;
            double sign = y[j][largest] < 0 ? -1 : 1;   // the largest component positive, as the full eigh
            for (int i = 0; i < n; i++) vectors[i * k + j] = sign * y[j][i];
        });
        return new Pairs(values, vectors);
    }

    // ---------------------------------------------------------------- 1. Householder reduction

    /** T's diagonal into d, its off-diagonal into e; reflector j (acting on indices j+1..n-1) and its beta kept for Q. */
    private static void tridiagonalise(double[] a, int n, double[] d, double[] e, double[][] reflectors, double[] betas) {
        double[] p = new double[n], w = new double[n];
        for (int j = 0; j < n - 2; j++) {
            int m = n - j - 1, o = j + 1;   // the trailing block A22 = a[o.., o..], the column below the diagonal a[o.., j]
            double[] v = new double[m];
            double tail = 0;
            for (int i = 0; i < m; i++) {
                v[i] = a[(o + i) * n + j];
                if (i > 0) tail += v[i] * v[i];
            }
            d[j] = a[j * n + j];
            double x0 = v[0], length = Math.sqrt(x0 * x0 + tail);
            if (tail == 0) {   // already tridiagonal in this column: H_j = I
                e[j] = x0;
                reflectors[j] = v;
                betas[j] = 0;
                continue;
            }
            double alpha = x0 > 0 ? -length : length;   // v = x - alpha e1 without cancellation
            v[0] = x0 - alpha;
            double beta = 2 / (v[0] * v[0] + tail);
            e[j] = alpha;
            reflectors[j] = v;
            betas[j] = beta;
            // p = beta A22 v
            rows(m, i -> p[i] = beta * dot(a, (o + i) * n + o, v, m));
            double vp = 0;
            for (int i = 0; i < m; i++) vp += v[i] * p[i];
            double half = beta * vp / 2;
            for (int i = 0; i < m; i++) w[i] = p[i] - half * v[i];
            // A22 -= v w^T + w v^T (both triangles: rows stay contiguous for the next step's products)
            rows(m, i -> {
                int row = (o + i) * n + o;
                double vi = v[i], wi = w[i];
                for (int c = 0; c < m; c++) a[row + c] -= vi * w[c] + wi * v[c];
            });
        }
        if (n >= 2) {
            d[n - 2] = a[(n - 2) * n + n - 2];
            e[n - 2] = a[(n - 1) * n + n - 2];
        }
        d[n - 1] = a[(n - 1) * n + n - 1];
    }

    /** sum of a[at + c] v[c], c < m, in four chains (one chain is bound by the add latency). */
    private static double dot(double[] a, int at, double[] v, int m) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int c = 0;
        for (; c + 4 <= m; c += 4) {
            s0 += a[at + c] * v[c];
            s1 += a[at + c + 1] * v[c + 1];
            s2 += a[at + c + 2] * v[c + 2];
            s3 += a[at + c + 3] * v[c + 3];
        }
        for (; c < m; c++) s0 += a[at + c] * v[c];
        return (s0 + s1) + (s2 + s3);
    }

    private static void rows(int m, java.util.function.IntConsumer body) {
        if (m < PARALLEL_ROWS) {
            for (int i = 0; i < m; i++) body.accept(i);
            return;
        }
        int cores = Runtime.getRuntime().availableProcessors(), tasks = Math.min(m / 64, 2 * cores);
        IntStream.range(0, tasks).parallel().forEach(t -> {
            for (int i = m * t / tasks; i < m * (t + 1) / tasks; i++) body.accept(i);
        });
    }

    // ---------------------------------------------------------------- 2. bisection

    /** The number of eigenvalues of T below x: the negative pivots of T - x I = L D L^T. */
    private static int below(double[] d, double[] e, int n, double x, double tiny) {
        int count = 0;
        double q = d[0] - x;
        for (int i = 0; ; ) {
            if (Math.abs(q) < tiny) q = -tiny;   // a zero pivot counts as negative (LAPACK's dstebz)
            if (q < 0) count++;
            if (++i == n) return count;
            q = d[i] - x - e[i - 1] * e[i - 1] / q;
        }
    }

    /** Eigenvalue number {@code index} (0 = the smallest) of T, by bisection inside the Gershgorin bound. */
    private static double eigenvalue(double[] d, double[] e, int n, int index, double norm) {
        double tiny = Double.MIN_NORMAL / Math.ulp(1.0) + Math.ulp(1.0) * Math.ulp(1.0) * norm;
        double lo = -norm - Math.ulp(norm) * 4 - Double.MIN_NORMAL, hi = norm + Math.ulp(norm) * 4 + Double.MIN_NORMAL;
        double absolute = Math.ulp(1.0) * norm;   // the accuracy any eigenvalue of T has in floating point (LAPACK's default abstol)
        while (true) {
            double mid = lo + (hi - lo) / 2;
            if (mid <= lo || mid >= hi || hi - lo <= Math.max(absolute, 2 * Math.ulp(Math.max(Math.abs(lo), Math.abs(hi))))) return mid;
            if (below(d, e, n, mid, tiny) > index) hi = mid;
            else lo = mid;
        }
    }

    // ---------------------------------------------------------------- 3. inverse iteration

    /**
     * A unit eigenvector of T for lambda: INVERSE_ITERATIONS solves of (T - lambda I) y = b from a
     * fixed start, each result orthogonalised against the vectors found for eigenvalues within the
     * cluster distance (those of index > j are already in {@code found}).
     */
    private static double[] eigenvector(double[] d, double[] e, int n, double lambda, double norm, double[][] found, int j, double[] values) {
        double[] y = new double[n];
        for (int i = 0; i < n; i++) y[i] = 1 + 0.1 * Math.sin(1.7 * i + 0.3 * j);   // no special structure, and reproducible
        TridiagonalLu lu = new TridiagonalLu(d, e, n, lambda, Math.ulp(1.0) * Math.max(norm, Double.MIN_NORMAL));
        for (int it = 0; it < INVERSE_ITERATIONS; it++) {
            normalise(y);
            lu.solve(y);
            for (int other = j + 1; other < found.length; other++) {
                if (Math.abs(values[other] - lambda) > CLUSTER * norm) break;   // values ascend: the later ones are further
                double dot = 0;
                for (int i = 0; i < n; i++) dot += y[i] * found[other][i];
                for (int i = 0; i < n; i++) y[i] -= dot * found[other][i];
            }
        }
        normalise(y);
        return y;
    }

    private static void normalise(double[] y) {
        double s = 0, scale = 0;
        for (double v : y) scale = Math.max(scale, Math.abs(v));
        if (scale == 0) {   // a start in the span of the cluster's vectors: any unit vector orthogonal to them is found next time
            y[0] = 1;
            return;
        }
        for (int i = 0; i < y.length; i++) {
            y[i] /= scale;
            s += y[i] * y[i];
        }
        double inv = 1 / Math.sqrt(s);
        for (int i = 0; i < y.length; i++) y[i] *= inv;
    }

    /** T - lambda I = P L U for a tridiagonal T, by Gaussian elimination with row interchanges (LAPACK's dlagtf); zero pivots become tiny. */
    private static final class TridiagonalLu {
        private final int n;
        private final double[] diag, up1, up2, mult;
        private final boolean[] swapped;

        TridiagonalLu(double[] d, double[] e, int n, double lambda, double tiny) {
            this.n = n;
            diag = new double[n];
            up1 = new double[n];
            up2 = new double[n];
            mult = new double[n];
            swapped = new boolean[n];
            double a = d[0] - lambda, b = n > 1 ? e[0] : 0;   // the current row's pivot candidate and its right neighbour
            for (int i = 0; i < n - 1; i++) {
                double below = e[i], belowDiag = d[i + 1] - lambda, belowRight = i + 1 < n - 1 ? e[i + 1] : 0;
                if (Math.abs(a) >= Math.abs(below)) {
                    double l = a == 0 ? 0 : below / a;
                    diag[i] = a;
                    up1[i] = b;
                    up2[i] = 0;
                    mult[i] = l;
                    a = belowDiag - l * b;
                    b = belowRight;
                } else {   // the row below becomes the pivot row
                    double l = a / below;
                    diag[i] = below;
                    up1[i] = belowDiag;
                    up2[i] = belowRight;
                    mult[i] = l;
                    swapped[i] = true;
                    a = b - l * belowDiag;
                    b = -l * belowRight;
                }
                if (Math.abs(diag[i]) < tiny) diag[i] = diag[i] < 0 ? -tiny : tiny;
            }
            diag[n - 1] = Math.abs(a) < tiny ? (a < 0 ? -tiny : tiny) : a;
        }

        /** y = (T - lambda I)^-1 y, in place; rescaled when it grows past 1e100 (only its direction matters). */
        void solve(double[] y) {
            for (int i = 0; i < n - 1; i++) {
                if (swapped[i]) {
                    double t = y[i];
                    y[i] = y[i + 1];
                    y[i + 1] = t - mult[i] * y[i];
                } else {
                    y[i + 1] -= mult[i] * y[i];
                }
            }
            for (int i = n - 1; i >= 0; i--) {
                double s = y[i];
                if (i + 1 < n) s -= up1[i] * y[i + 1];
                if (i + 2 < n) s -= up2[i] * y[i + 2];
                y[i] = s / diag[i];
                if (Math.abs(y[i]) > 1e100) {
                    for (int r = i; r < n; r++) y[r] *= 1e-100;
                }
            }
        }
    }

    // ---------------------------------------------------------------- 4. back-transformation

    /** y = Q y = H_0 (H_1 (... (H_{n-3} y))). */
    private static void backTransform(double[] y, int n, double[][] reflectors, double[] betas) {
        for (int j = reflectors.length - 1; j >= 0; j--) {
            if (betas[j] == 0) continue;
            double[] v = reflectors[j];
            int o = j + 1;
            double s = 0;
            for (int i = 0; i < v.length; i++) s += v[i] * y[o + i];
            s *= betas[j];
            for (int i = 0; i < v.length; i++) y[o + i] -= s * v[i];
        }
    }
}
