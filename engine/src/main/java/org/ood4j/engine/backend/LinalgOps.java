package org.ood4j.engine.backend;

import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/**
 * Dense linear algebra, in float64 internally; results have the input's dtype. Matrices may
 * be batched over one leading dimension where noted.
 */
public interface LinalgOps {
    /** Lower-triangular L with A = L L^T; throws when A is not positive definite. */
    Tensor cholesky(Tensor a);

    /** X with A X = B (B a vector or a matrix); throws when A is singular. */
    Tensor solve(Tensor a, Tensor b);

    Tensor inverse(Tensor a);

    /**
     * The inverse of a symmetric positive-definite matrix (a covariance or scatter), exactly
     * symmetric (its two triangles the same bits); throws when A is not positive definite. The
     * default is {@link #inverse} averaged with its transpose; a backend may go through the
     * Cholesky factor instead, A^-1 = L^-T L^-1, half the work of LU and better conditioned, and
     * mirror one triangle.
     */
    default Tensor inverseSpd(Tensor a) {
        try (Tensor inv = inverse(a); Tensor t = inv.t(); Tensor sum = inv.add(t)) {
            return sum.mul(0.5);
        }
    }

    /**
     * W = L^-1 for the lower Cholesky factor L of a symmetric positive-definite A; throws when A is
     * not positive definite. The default solves L W = I; a backend may invert L by halves instead.
     */
    default Tensor inverseCholesky(Tensor a) {
        try (Tensor l = cholesky(a); Tensor eye = identity(l)) {
            return solve(l, eye);
        }
    }

    /** The identity of l's order, dtype and device (made on the host, then moved). */
    private static Tensor identity(Tensor l) {
        long n = l.size(0);
        Tensor eye = Tensor.zeros(l.dtype(), n, n);
        for (long i = 0; i < n; i++) eye.set(1, i, i);
        return eye.movedTo(l.device());
    }

    /** Moore-Penrose pseudo-inverse, singular values below rcond * s_max treated as zero. */
    Tensor pinv(Tensor a, double rcond);

    /** Symmetric eigen-decomposition: {eigenvalues ascending, eigenvectors as columns}. */
    Tensor[] eigh(Tensor a);

    /**
     * The k largest eigenpairs of a symmetric matrix: {the k eigenvalues ascending, their vectors
     * as the columns of an (n, k) matrix}, the last k of {@link #eigh}. This default takes them from
     * the full decomposition; a backend may compute only them.
     */
    default Tensor[] eighLargest(Tensor a, int k) {
        checkEighLargest(a, k);
        long n = a.size(0);
        Tensor[] all = eigh(a);
        try (Tensor values = all[0]; Tensor vectors = all[1];
             Tensor topValues = values.slice(0, n - k, n); Tensor topVectors = vectors.slice(1, n - k, n)) {
            return new Tensor[] {topValues.copy(), topVectors.copy()};
        }
    }

    /** The operand checks of {@link #eighLargest} every backend applies: a square 2-D matrix and 1 <= k <= n. */
    static void checkEighLargest(Tensor a, int k) {
        if (a.rank() != 2 || a.size(0) != a.size(1)) {
            throw new IllegalArgumentException("eighLargest needs a square 2-D matrix, got " + org.ood4j.engine.Shape.toString(a.shape()));
        }
        long n = a.size(0);
        if (k < 1 || k > n) throw new IllegalArgumentException("eighLargest: k = " + k + " of an " + n + " x " + n + " matrix (1 <= k <= n)");
    }

    /** SVD {U, S descending, Vh}; economy when !full; batched over a leading dimension for 3-D input. */
    Tensor[] svd(Tensor a, boolean full);

    /** {sign, log|det|} of a square matrix. */
    Tensor[] slogdet(Tensor a);

    /**
     * Each matrix X (R x C) of a batch (B, R, C) minus its dominant singular component,
     * <pre>  X' = X - s1 u1 v1^T</pre>
     * (RankFeat's rank-1 feature removal), computed in float64; the result has x's shape, dtype
     * (float32 or float64) and device. Empty input gives an empty copy.
     *
     * <p>The top singular pair comes from the top eigenvector of the small Gram matrix, k x k with
     * k = min(R, C): G = X^T X when C <= R (its top eigenvector is v1, and s1 u1 v1^T = (X v1) v1^T),
     * else G = X X^T (top eigenvector u1, and s1 u1 v1^T = u1 (u1^T X)). For RankFeat's C x HW
     * feature maps k is small (HW = 49 for a 7 x 7 map), so a k x k symmetric eigenproblem by
     * cyclic Jacobi replaces a full SVD: O(R C k) for the Gram matrix, O(sweeps k^3) for Jacobi,
     * and no U or V of the large side. Squaring the condition number in G does not matter here:
     * only the dominant direction is needed, and it is well separated whenever s1 > s2 clearly.
     * Jacobi stops when the off-diagonal mass (sum of squares above the diagonal) is at most 1e-30
     * times the diagonal's, or after 100 sweeps; on a tie for the largest eigenvalue the first
     * diagonal position wins (either of the tied components is a valid answer).
     *
     * @throws IllegalArgumentException when x is not a 3-D float32/float64 tensor, or a matrix
     *         contains NaN or Inf, or entries too large (|x| beyond ~1e75) for its float64 Gram
     *         matrix and the convergence test
     */
    Tensor removeTopSingular(Tensor x);

    /**
     * The row means of {@link #removeTopSingular}(x): (B, R), x's dtype and device, each
     * mean(X - s1 u1 v1^T) over the C columns (RankFeat's rank-1 removal before a global
     * average pool). This default is the composition itself; a backend may compute it without
     * the full-size X' (its means follow from X's row means and the top singular vector).
     */
    default Tensor removeTopSingularRowMeans(Tensor x) {
        try (Tensor removed = removeTopSingular(x)) {
            return removed.mean(2, false);
        }
    }

    /** The operand checks of {@link #removeTopSingular} every backend applies: a 3-D float32/float64 (B, R, C) tensor. */
    static void checkMatrixBatch(Tensor x, String op) {
        x.checkOpen();
        if (!x.dtype().isFloating()) {
            throw new IllegalArgumentException(op + " needs a float32 or float64 tensor, got " + x.dtype() + Shape.toString(x.shape()));
        }
        if (x.rank() != 3) {
            throw new IllegalArgumentException(op + " needs a 3-D batch of matrices (B, R, C), got " + Shape.toString(x.shape()));
        }
        if (x.size(1) > Integer.MAX_VALUE || x.size(2) > Integer.MAX_VALUE
                || x.size(1) * x.size(2) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(op + ": matrices too large " + Shape.toString(x.shape()));
        }
    }

    /** The message when matrix {@code index} of x fails removeTopSingular's finiteness test. */
    static String nonFiniteMessage(String op, Tensor x, long index) {
        return op + ": matrix " + index + " of " + Shape.toString(x.shape())
                + " contains NaN or Inf, or entries too large for its float64 Gram matrix";
    }
}
