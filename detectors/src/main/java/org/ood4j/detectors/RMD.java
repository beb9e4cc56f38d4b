package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;

/**
 * Relative Mahalanobis distance, from Ren et al., "A Simple Fix to Mahalanobis Distance for
 * Improving Near-OOD Detection" (2021):
 * <pre>  score(z) = min_k ( d_k(z) - d_0(z) )</pre>
 * d_k as in {@link Mahalanobis} (pooled class scatter + 1e-6 I), and d_0 the distance under a
 * background Gaussian fitted to all ID features: mean mu_0, scatter sum_i (z_i - mu_0)(z_i - mu_0)^T
 * + 1e-6 I (undivided too). No factor 1/2, as pytorch-ood.
 */
public final class RMD extends FeaturesDetector implements StreamingFit {
    public RMD(Function<Tensor, Tensor> model) {
        super(model);
    }

    @Override public boolean requiresFit() { return true; }

    @Override protected boolean requiresLabels() { return true; }

    /** One pass: the class moments with their pooled scatter, and the moments of all rows (the background). */
    @Override
    public FitAccumulator fitAccumulator(int pass) {
        return new ClassGaussians.GaussianFit<>(this, Moments.Scatter.POOLED, true, 6, RMD::install);
    }

    private void install(Moments[] m) {
        int dim = m[0].dim();
        Tensor mu = ClassGaussians.means(m[0]);
        Tensor cov = ClassGaussians.scatter(m[0].pooledScatter(), dim, ClassGaussians.SCATTER_EPS);
        Tensor mu0 = Tensor.of(m[1].mean(0), 1, dim);
        Tensor cov0 = ClassGaussians.scatter(m[1].pooledScatter(), dim, ClassGaussians.SCATTER_EPS);
        Tensor precision = ClassGaussians.precision(cov), precision0 = ClassGaussians.precision(cov0);   // before putState moves them
        putState("mu", mu);
        putState("cov", cov);
        putState("precision", precision);
        putState("background_mu", mu0);
        putState("background_cov", cov0);
        putState("background_precision", precision0);
    }

    @Override
    protected Tensor scoreChunk(Tensor features) {
        Tensor d = ClassGaussians.distances(features, state("mu"), state("precision"));
        Tensor d0 = ClassGaussians.distances(features, state("background_mu"), state("background_precision"));
        return d.sub(d0).min(1);
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of();
    }
}
