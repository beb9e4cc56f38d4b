package org.ood4j.detectors;

import java.util.List;
import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Tape;
import org.ood4j.engine.autodiff.Var;
import org.ood4j.models.Module;

/**
 * Mahalanobis distance to the closest class, from Lee et al., "A Simple Unified Framework for
 * Detecting Out-of-Distribution Samples and Adversarial Attacks" (NeurIPS 2018):
 * <pre>  score(z) = 1/2 min_k (z - mu_k)^T Sigma^-1 (z - mu_k)</pre>
 * with class means mu_k and the pooled scatter Sigma = sum_k sum_{i in k} (z_i - mu_k)(z_i - mu_k)^T
 * + 1e-6 I of the fit features (undivided, as pytorch-ood computes it; the factor 1/2 as well,
 * so thresholds carry over).
 *
 * <p>The input preprocessing of the paper (eps > 0) perturbs raw inputs through the network and
 * needs its gradient: it applies to {@link #predict} with a model, not to {@link #predictFeatures}
 * nor to {@link #fit}. With k* = argmin_k d_k(f(x)) of the unperturbed input,
 * <pre>  x' = x - eps * sign(grad_x d_k*(f(x))) / norm_std,   score(x) = 1/2 min_k d_k(f(x'))</pre>
 * (sign(0) = 0; norm_std divides input channel i, dimension 1). The encoder must then be a
 * {@link Module} (it is differentiated) and runs in float64, so that no gradient component changes
 * its sign by rounding; the batch is scored in chunks, each sample's step depending on itself only.
 */
public final class Mahalanobis extends FeaturesDetector implements StreamingFit {
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
        this.eps = ODIN.checkEps(eps);
        this.normStd = ODIN.checkNormStd(normStd);
    }

    /** Scores raw inputs through the encoder; with eps > 0 after the input preprocessing (see the class comment). */
    @Override
    public Tensor predict(Tensor x) {
        if (eps == 0) return super.predict(x);
        Function<Tensor, Tensor> encoder = requireModel();
        requireFitted();
        if (!(encoder instanceof Module module)) {
            throw new IllegalStateException("Mahalanobis with eps > 0 differentiates the encoder: pass it as an org.ood4j.models.Module,"
                    + " or use eps = 0 (got " + encoder.getClass().getName() + ")");
        }
        Inputs.requireNetworkInput(x);
        java.util.concurrent.locks.Lock lock = NetworkDetector.MODES.readLock();   // no MCD switches modes meanwhile
        lock.lock();
        try {
            return Inputs.scoreRows(x, NetworkDetector.CHUNK_ROWS, chunk -> scorePerturbed(module, chunk));
        } finally {
            lock.unlock();
        }
    }

    /** 1/2 min_k d_k(f(x')) for one chunk of raw inputs; in the caller's scope. */
    private Tensor scorePerturbed(Module encoder, Tensor x) {
        Tensor x64 = x.to(DType.FLOAT64);
        Tensor mu = state("mu"), precision = state("precision");
        Tensor grad;
        try (Tape tape = new Tape()) {
            Var xv = tape.watch(x64);
            Var z = encoder.forward(xv);
            if (z.rank() != 2 || z.size(1) != mu.size(1)) {
                throw new IllegalArgumentException("Mahalanobis: the encoder gives features of shape " + Shape.toString(z.shape())
                        + ", the fit had dimension " + mu.size(1));
            }
            Tensor closest = ClassGaussians.distances(z.value(), mu, precision).argmin(1);
            Var centred = z.sub(tape.constant(mu.indexSelect(0, closest)));
            Var d = centred.matmul(tape.constant(precision)).mul(centred).sum();   // sum_i d_k*(z_i): sample i's gradient is its own
            grad = tape.grad(d, List.of(xv)).get(0);
        }
        Tensor features = encoder.apply(ODIN.signStep(x64, grad, eps, normStd));
        return predictFeatures(features);
    }

    public double eps() { return eps; }

    /** The per-channel standard deviations of the input preprocessing, or null. */
    public double[] normStd() { return normStd == null ? null : normStd.clone(); }

    @Override public boolean requiresFit() { return true; }

    @Override protected boolean requiresLabels() { return true; }

    /** One pass: class counts, means and the pooled centred scatter (see {@link Moments}). */
    @Override
    public FitAccumulator fitAccumulator(int pass) {
        return new ClassGaussians.GaussianFit<>(this, Moments.Scatter.POOLED, 4, Mahalanobis::install);
    }

    private void install(Moments[] m) {
        Moments classes = m[0];
        int dim = classes.dim();
        Tensor mu = ClassGaussians.means(classes);
        Tensor cov = ClassGaussians.scatter(classes.pooledScatter(), dim, ClassGaussians.SCATTER_EPS);
        Tensor precision = ClassGaussians.precision(cov);   // before putState moves cov to the fit's device
        putState("mu", mu);
        putState("cov", cov);
        putState("precision", precision);
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
