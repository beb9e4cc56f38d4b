package org.ood4j.engine.backend;

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

    /** Moore-Penrose pseudo-inverse, singular values below rcond * s_max treated as zero. */
    Tensor pinv(Tensor a, double rcond);

    /** Symmetric eigen-decomposition: {eigenvalues ascending, eigenvectors as columns}. */
    Tensor[] eigh(Tensor a);

    /** SVD {U, S descending, Vh}; economy when !full; batched over a leading dimension for 3-D input. */
    Tensor[] svd(Tensor a, boolean full);

    /** {sign, log|det|} of a square matrix. */
    Tensor[] slogdet(Tensor a);
}
