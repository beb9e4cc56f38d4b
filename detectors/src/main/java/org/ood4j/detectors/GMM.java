package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * Negative log-likelihood under a Gaussian mixture with one component per class (each with its
 * own covariance), as pytorch-ood's GMM:
 * <pre>  score(z) = -log sum_k pi_k N(z; mu_k, Sigma_k)
 *           = -logsumexp_k [ log pi_k - (D log 2pi + log det Sigma_k + (z - mu_k)^T Sigma_k^-1 (z - mu_k)) / 2 ]</pre>
 * with Sigma_k = (1/n_k) sum_{i in k} (z_i - mu_k)(z_i - mu_k)^T + reg I and pi_k = n_k / n.
 * The reg on the diagonal keeps a class with fewer samples than dimensions (or a constant
 * feature) invertible; the mixture is summed by logsumexp so it never underflows.
 */
public final class GMM extends FeaturesDetector implements StreamingFit {
    private final double reg;

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
        return new ClassGaussians.GaussianFit<>(this, Moments.Scatter.PER_GROUP, false, 4, GMM::install);
    }

    private void install(Moments[] m) {
        Moments moments = m[0];
        int classes = moments.classCount(), dim = moments.dim();
        double n = moments.count();
        Tensor precisions = Tensor.zeros(DType.FLOAT64, classes, dim, dim);
        double[] logNorm = new double[classes];   // log pi_k - (D log 2pi + log det Sigma_k) / 2
        for (int k = 0; k < classes; k++) {
            try (Scope s = Scope.open()) {
                double nk = moments.count(k);
                // Sigma_k = M2_k / n_k + reg I
                double[] full = moments.scatter(k);
                for (int i = 0; i < full.length; i++) full[i] /= nk;
                Tensor cov = ClassGaussians.scatter(full, dim, reg);
                precisions.select(0, k).copyFrom(ClassGaussians.precision(cov));
                logNorm[k] = Math.log(nk / n) - 0.5 * (dim * Math.log(2 * Math.PI) + ClassGaussians.logDetSpd(cov));
            }
        }
        putState("mu", ClassGaussians.means(moments));
        putState("precisions", precisions);
        putState("log_norm", Tensor.of(logNorm));
    }

    @Override
    protected Tensor scoreChunk(Tensor features) {
        Tensor z = features.to(DType.FLOAT64);
        Tensor mu = state("mu"), precisions = state("precisions");
        int classes = (int) mu.size(0);
        Tensor logLik = Tensor.zeros(DType.FLOAT64, z.device(), z.size(0), classes);
        for (int k = 0; k < classes; k++) {
            Tensor d = ClassGaussians.distance(z.sub(mu.select(0, k)), precisions.select(0, k));
            logLik.select(1, k).copyFrom(d.mul(-0.5));
        }
        return logLik.add(state("log_norm")).logsumexp(1).neg();
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("reg", reg);
    }
}
