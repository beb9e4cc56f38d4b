package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Linalg;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.WhitenedDistances;

/**
 * Negative log-likelihood under a Gaussian mixture with one component per class (each with its
 * own covariance), as pytorch-ood's GMM:
 * <pre>  score(z) = -log sum_k pi_k N(z; mu_k, Sigma_k)
 *           = -logsumexp_k [ log pi_k - (D log 2pi + log det Sigma_k + (z - mu_k)^T Sigma_k^-1 (z - mu_k)) / 2 ]</pre>
 * with Sigma_k = (1/n_k) sum_{i in k} (z_i - mu_k)(z_i - mu_k)^T + reg I and pi_k = n_k / n.
 * The reg on the diagonal keeps a class with fewer samples than dimensions (or a constant
 * feature) invertible; the mixture is summed by logsumexp so it never underflows.
 *
 * <p>The fit keeps per class the inverse Cholesky factor W_k = L_k^-1 of Sigma_k = L_k L_k^T (state
 * "factors", lower triangular), not the precision: (z - mu_k)^T Sigma_k^-1 (z - mu_k) = ||W_k (z - mu_k)||^2
 * is a triangular product (half the flops of one by the precision) and log det Sigma_k = -2 sum_i log (W_k)_ii
 * comes from the same factorisation.
 */
public final class GMM extends FeaturesDetector implements StreamingFit {
    private final double reg;
    private volatile Whitened whitened;

    public GMM(Function<Tensor, Tensor> model) {
        this(model, 1e-6);
    }

    /** @param reg added to the diagonal of each class covariance (> 0) */
    public GMM(Function<Tensor, Tensor> model, double reg) {
        super(model);
        this.reg = Params.positive("reg", reg);
    }

    @Override public boolean requiresFit() { return true; }

    @Override protected boolean requiresLabels() { return true; }

    /** One pass: class counts, means and one centred scatter per class (see {@link Moments}). */
    @Override
    public FitAccumulator fitAccumulator(int pass) {
        return new ClassGaussians.GaussianFit<>(this, Moments.Scatter.PER_GROUP, 4, GMM::install);
    }

    private void install(Moments[] m) {
        Moments moments = m[0];
        int classes = moments.classCount(), dim = moments.dim();
        double n = moments.count();
        Tensor factors = Tensor.zeros(DType.FLOAT64, classes, dim, dim);
        double[] logNorm = new double[classes];   // log pi_k - (D log 2pi + log det Sigma_k) / 2
        // classes in parallel: the factorisation's small blocks (EJML's loops) run on one thread each
        java.util.stream.IntStream.range(0, classes).parallel().forEach(k -> {
            try (Scope s = Scope.open()) {
                double nk = moments.count(k);
                // Sigma_k = M2_k / n_k + reg I
                double[] full = moments.scatter(k);
                for (int i = 0; i < full.length; i++) full[i] /= nk;
                Tensor w = Linalg.inverseCholesky(ClassGaussians.scatter(full, dim, reg));   // W_k = L_k^-1, Sigma_k = L_k L_k^T
                factors.select(0, k).copyFrom(w);
                logNorm[k] = Math.log(nk / n) - 0.5 * (dim * Math.log(2 * Math.PI) + logDet(w));
            }
        });
        putState("mu", ClassGaussians.means(moments));
        putState("factors", factors);
        putState("log_norm", Tensor.of(logNorm));
        whitened = whitened(state().get("mu"), state().get("factors"));   // the scoring form (packed factors) is part of the fit
    }

    /** log det Sigma from W = L^-1 (Sigma = L L^T): 2 sum_i log L_ii = -2 sum_i log W_ii (W's diagonal is 1 / L's). */
    private static double logDet(Tensor w) {
        int dim = (int) w.size(0);
        double[] f = w.toDoubleArray();
        double sum = 0;
        for (int i = 0; i < dim; i++) sum += Math.log(f[i * dim + i]);
        return -2 * sum;
    }

    /**
     * -logsumexp_k [log_norm_k - d_k(z) / 2], d_k = ||W_k (z - mu_k)||^2 in one pass over the rows
     * ({@link WhitenedDistances}). A state saved before the factors (with "precisions", P_k =
     * Sigma_k^-1) scores as it did: d_k = (z - mu_k)^T P_k (z - mu_k).
     */
    @Override
    protected Tensor scoreChunk(Tensor features) {
        Tensor d = state().containsKey("precisions") ? precisionDistances(features) : whitened().distances(features);
        return d.mul(-0.5).add(state("log_norm")).logsumexp(1).neg();
    }

    /** The distances of the state's factors: made (their float32 packing) once per fitted, loaded or moved state. */
    private WhitenedDistances whitened() {
        Tensor factors = state("factors");
        Whitened w = whitened;
        if (w == null || w.factors() != factors) {   // concurrent first calls may both build it: same result
            w = whitened(state("mu"), factors);
            whitened = w;
        }
        return w.distances();
    }

    private static Whitened whitened(Tensor mu, Tensor factors) {
        return new Whitened(factors, new WhitenedDistances(mu, factors));
    }

    /** The packed distances and the state tensor they were made from. */
    private record Whitened(Tensor factors, WhitenedDistances distances) {}

    /** Also drops the packed factors (K D^2 floats on the heap) with the state they were made from. */
    @Override
    protected void clearState() {
        super.clearState();
        whitened = null;
    }

    /** d_k (N, K) of a state with precision matrices: centred rows, float64, class by class. */
    private Tensor precisionDistances(Tensor features) {
        Tensor z = features.to(DType.FLOAT64);
        Tensor mu = state("mu"), precisions = state("precisions");
        int classes = (int) mu.size(0);
        Tensor d = Tensor.zeros(DType.FLOAT64, z.device(), z.size(0), classes);
        for (int k = 0; k < classes; k++) {
            d.select(1, k).copyFrom(ClassGaussians.distance(z.sub(mu.select(0, k)), precisions.select(0, k)));
        }
        return d;
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("reg", reg);
    }
}
