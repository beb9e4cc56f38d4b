package org.ood4j.engine;

import org.ood4j.engine.cpu.CpuWhitened;

/**
 * Squared Mahalanobis distances to K Gaussians, each through its whitening factor:
 * <pre>  d_k(z) = ||W_k (z - mu_k)||^2 = (z - mu_k)^T Sigma_k^-1 (z - mu_k),  W_k = L_k^-1,  Sigma_k = L_k L_k^T</pre>
 * ({@link Linalg#inverseCholesky}). Prepared once for many batches of rows: float32 rows on the CPU
 * go through one fused pass ({@link CpuWhitened}: triangular float32 block products, float64 sums of
 * squares); any other rows (float64, or on another device) through float64 tensor ops, class by class.
 * Holds the means and factors it is given without owning them: they must outlive it.
 */
public final class WhitenedDistances {
    private final Tensor means, factors;
    private final CpuWhitened cpu;   // the packed factors, when they live on the host

    /**
     * @param means   (K, D) class means
     * @param factors (K, D, D) lower-triangular W_k, float64, on the means' device
     */
    public WhitenedDistances(Tensor means, Tensor factors) {
        if (means.rank() != 2 || factors.rank() != 3 || factors.size(0) != means.size(0) || factors.size(1) != means.size(1)
                || factors.size(2) != means.size(1)) {
            throw new IllegalArgumentException("whitened distances need means (K, D) and factors (K, D, D), got "
                    + Shape.toString(means.shape()) + " and " + Shape.toString(factors.shape()));
        }
        Backends.sameDevice(means, factors);
        this.means = means;
        this.factors = factors;
        int classes = (int) means.size(0), dim = (int) means.size(1);
        cpu = means.device() == Device.CPU ? new CpuWhitened(means.toDoubleArray(), factors.toDoubleArray(), classes, dim) : null;
    }

    /** d_k of every row of z (N, D), as a new (N, K) float64 tensor on z's device. */
    public Tensor distances(Tensor z) {
        if (z.rank() != 2 || z.size(1) != means.size(1)) {
            throw new IllegalArgumentException("features have dimension " + (z.rank() == 2 ? z.size(1) : -1) + ", the fit had "
                    + means.size(1) + " (shape " + Shape.toString(z.shape()) + ")");
        }
        if (cpu != null && z.device() == Device.CPU && z.dtype() == DType.FLOAT32) return cpu.distances(z);
        int classes = (int) means.size(0);
        try (Scope s = Scope.open()) {
            Tensor z64 = z.to(DType.FLOAT64);
            Tensor out = Tensor.zeros(DType.FLOAT64, z.device(), z.size(0), classes);
            for (int k = 0; k < classes; k++) {
                Tensor y = z64.sub(means.select(0, k)).matmul(factors.select(0, k).t());   // rows of W_k (z - mu_k)
                out.select(1, k).copyFrom(y.mul(y).sum(1));
            }
            return s.keep(out);
        }
    }
}
