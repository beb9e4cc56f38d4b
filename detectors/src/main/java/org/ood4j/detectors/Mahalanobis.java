package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;

/**
 * Mahalanobis distance to the closest class, from Lee et al., "A Simple Unified Framework for
 * Detecting Out-of-Distribution Samples and Adversarial Attacks" (NeurIPS 2018):
 * <pre>  score(z) = 1/2 min_k (z - mu_k)^T Sigma^-1 (z - mu_k)</pre>
 * with class means mu_k and the pooled scatter Sigma = sum_k sum_{i in k} (z_i - mu_k)(z_i - mu_k)^T
 * + 1e-6 I of the fit features (undivided, as pytorch-ood computes it; the factor 1/2 as well,
 * so thresholds carry over).
 *
 * <p>The input preprocessing of the paper (eps > 0) perturbs raw inputs through the network and
 * needs its gradient: it applies to {@link #predict} with a model, not to {@link #predictFeatures}.
 */
public final class Mahalanobis extends FeaturesDetector {
    private final double eps;
    private final double[] normStd;

    public Mahalanobis(Function<Tensor, Tensor> model) {
        this(model, 0.002, null);
    }

    /**
     * @param eps     input-preprocessing step (>= 0), used by the model interface
     * @param normStd per-input-channel standard deviations that divide the signed gradient, or null
     */
    public Mahalanobis(Function<Tensor, Tensor> model, double eps, double[] normStd) {
        super(model);
        if (!(eps >= 0) || Double.isInfinite(eps)) throw new IllegalArgumentException("eps must be >= 0 and finite, got " + eps);
        this.eps = eps;
        this.normStd = normStd == null ? null : normStd.clone();
        if (normStd != null) for (double s : normStd) Params.positive("norm_std", s);
    }

    public double eps() { return eps; }

    @Override public boolean requiresFit() { return true; }

    @Override protected boolean requiresLabels() { return true; }

    @Override
    protected void fitOnId(Tensor features, Tensor labels) {
        int classes = ClassGaussians.classCount(labels);
        Tensor z = features.to(DType.FLOAT64);
        Tensor mu = ClassGaussians.means(z, labels, classes);
        Tensor cov = ClassGaussians.scatter(ClassGaussians.centred(z, labels, mu), ClassGaussians.SCATTER_EPS);
        putState("mu", mu);
        putState("cov", cov);
        putState("precision", ClassGaussians.precision(cov));
    }

    @Override
    protected Tensor scoreChunk(Tensor features) {
        return ClassGaussians.distances(features, state("mu"), state("precision")).min(1).mul(0.5);
    }

    /** Squared distances (N, K) to every class mean, for callers that need the closest class too. */
    public Tensor classDistances(Tensor features) {
        requireFitted();
        return ClassGaussians.distances(features, state("mu"), state("precision"));
    }

    @Override
    public java.util.Map<String, Object> params() {
        java.util.Map<String, Object> p = new java.util.LinkedHashMap<>();
        p.put("eps", eps);
        if (normStd != null) p.put("norm_std", java.util.Arrays.stream(normStd).boxed().toList());
        return p;
    }
}
