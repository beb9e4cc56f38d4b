package org.ood4j.engine;

import org.ood4j.engine.backend.LinalgOps;

/**
 * Dense linear algebra on tensors (float64 internally; results in the input's dtype).
 * Decompositions come back as records that close their parts together.
 */
public final class Linalg {
    private Linalg() {}

    /** {U, S, Vh} with A = U diag(S) Vh; S descending. */
    public record Svd(Tensor u, Tensor s, Tensor vh) implements AutoCloseable {
        @Override public void close() { u.close(); s.close(); vh.close(); }
    }

    /** Eigenvalues ascending; eigenvectors as the columns of {@code vectors}. */
    public record Eigh(Tensor values, Tensor vectors) implements AutoCloseable {
        @Override public void close() { values.close(); vectors.close(); }
    }

    /** det(A) = sign * exp(logAbsDet). */
    public record SlogDet(double sign, double logAbsDet) {}

    private static LinalgOps ops(Tensor a) {
        return Backends.of(a.device()).linalg();
    }

    public static Tensor cholesky(Tensor a) { return ops(a).cholesky(a); }

    public static Tensor solve(Tensor a, Tensor b) {
        Backends.sameDevice(a, b);
        return ops(a).solve(a, b);
    }

    public static Tensor inverse(Tensor a) { return ops(a).inverse(a); }

    /**
     * W = L^-1, the inverse of the lower Cholesky factor of a symmetric positive-definite A = L L^T
     * (lower triangular): A^-1 = W^T W, x^T A^-1 x = ||W x||^2 and log det A = -2 sum_i log W_ii —
     * a Gaussian's distances and normaliser from one factorisation, without forming A^-1.
     */
    public static Tensor inverseCholesky(Tensor a) { return ops(a).inverseCholesky(a); }

    /** The inverse of a symmetric positive-definite matrix (through its Cholesky factor where the backend can). */
    public static Tensor inverseSpd(Tensor a) { return ops(a).inverseSpd(a); }

    /** Pseudo-inverse; singular values below rcond * s_max count as zero. */
    public static Tensor pinv(Tensor a, double rcond) { return ops(a).pinv(a, rcond); }

    /** Pseudo-inverse with rcond = max(M, N) * machine epsilon of float64, as numpy.linalg.pinv's default scale. */
    public static Tensor pinv(Tensor a) {
        long m = a.size(-2), n = a.size(-1);
        return pinv(a, Math.max(m, n) * Math.ulp(1.0));
    }

    public static Eigh eigh(Tensor a) {
        Tensor[] r = ops(a).eigh(a);
        return new Eigh(r[0], r[1]);
    }

    /**
     * The k largest eigenpairs of a symmetric matrix (its lower triangle read, as {@link #eigh}):
     * eigenvalues ascending and their eigenvectors as the columns of an (n, k) matrix — the last k
     * of eigh's, up to a rotation within a repeated eigenvalue's space. On the CPU only these are
     * computed (reduction to tridiagonal form, bisection, inverse iteration).
     */
    public static Eigh eighLargest(Tensor a, int k) {
        Tensor[] r = ops(a).eighLargest(a, k);
        return new Eigh(r[0], r[1]);
    }

    /** Economy (thin) SVD when {@code full} is false; batched over a leading dimension for 3-D input. */
    public static Svd svd(Tensor a, boolean full) {
        Tensor[] r = ops(a).svd(a, full);
        return new Svd(r[0], r[1], r[2]);
    }

    /**
     * Each matrix of a batch x (B, R, C) minus its dominant singular component, X - s1 u1 v1^T,
     * computed in float64 from the top eigenvector of the min(R, C)-sized Gram matrix (RankFeat's
     * rank-1 removal; see {@link LinalgOps#removeTopSingular}). Same shape, dtype and device as x.
     *
     * @throws IllegalArgumentException when x is not a 3-D float32/float64 tensor, or a matrix is
     *         not finite (or too large for its float64 Gram matrix)
     */
    public static Tensor removeTopSingular(Tensor x) {
        LinalgOps.checkMatrixBatch(x, "removeTopSingular");
        return ops(x).removeTopSingular(x);
    }

    /**
     * The means over the last dimension of {@link #removeTopSingular}(x), (B, R): the global
     * average pool of RankFeat's shaped maps, without them where the backend can (the CPU can).
     */
    public static Tensor removeTopSingularRowMeans(Tensor x) {
        LinalgOps.checkMatrixBatch(x, "removeTopSingularRowMeans");
        return ops(x).removeTopSingularRowMeans(x);
    }

    public static SlogDet slogdet(Tensor a) {
        Tensor[] r = ops(a).slogdet(a);
        try (Tensor sign = r[0]; Tensor logAbs = r[1]) {
            return new SlogDet(sign.item(), logAbs.item());
        }
    }
}
