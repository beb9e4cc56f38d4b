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

    /** One pass: the class moments with their pooled scatter; the background's follow from them. */
    @Override
    public FitAccumulator fitAccumulator(int pass) {
        return new ClassGaussians.GaussianFit<>(this, Moments.Scatter.POOLED, 5, RMD::install);
    }

    private void install(Moments[] m) {
        Moments classes = m[0];
        int dim = classes.dim(), k = classes.classCount();
        Tensor mu = ClassGaussians.means(classes);
        double[] pooled = classes.pooledScatter();
        double[] mu0 = new double[dim], background = pooled.clone();
        double[][] means = new double[k][];
        long n = classes.count();
        for (int c = 0; c < k; c++) {
            means[c] = classes.mean(c);
            double weight = (double) classes.count(c) / n;
            for (int p = 0; p < dim; p++) mu0[p] += weight * means[c][p];
        }
        // the law of total scatter: sum_i (z_i - mu_0)(z_i - mu_0)^T = sum_k M2_k + sum_k n_k (mu_k - mu_0)(mu_k - mu_0)^T,
        // the pooled class scatter plus a rank-K update (K << D): no second pass of D x D products over the rows
        double[] offset = new double[dim];
        for (int c = 0; c < k; c++) {
            double count = classes.count(c);
            for (int p = 0; p < dim; p++) offset[p] = means[c][p] - mu0[p];
            for (int i = 0; i < dim; i++) {
                double scaled = count * offset[i];
                for (int j = 0; j < dim; j++) background[i * dim + j] += scaled * offset[j];
            }
        }
        Tensor cov = ClassGaussians.scatter(pooled, dim, ClassGaussians.SCATTER_EPS);
        Tensor cov0 = ClassGaussians.scatter(background, dim, ClassGaussians.SCATTER_EPS);
        Tensor precision = ClassGaussians.precision(cov), precision0 = ClassGaussians.precision(cov0);   // before putState moves them
        putState("mu", mu);
        putState("cov", cov);
        putState("precision", precision);
        putState("background_mu", Tensor.of(mu0, 1, dim));
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
