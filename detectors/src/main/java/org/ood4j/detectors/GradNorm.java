package org.ood4j.detectors;

import java.util.List;
import java.util.function.Predicate;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Norm;
import org.ood4j.models.Sequential;

/**
 * GradNorm, from Lee and AlRegib, "Gradients as a Measure of Uncertainty in Neural Networks"
 * (ICIP 2020), in pytorch-ood's form: per sample, with the network in evaluation mode,
 * <pre>
 *   loss(x)  = binary_cross_entropy(softmax(f(x)), 1, reduction='sum')   (the all-ones "confounding label")
 *   score(x) = sum over the selected parameters theta of ||d loss(x) / d theta||_2^2
 * </pre>
 * The logit gradient is torch's BCE backward (with its clamp max(p(1 - p), 1e-12), active for
 * probabilities below ~1e-12), see {@link GradientNorms#bceSoftmaxLogitGrad}; the parameter
 * gradients follow by the chain rule. All samples' norms come from one batched forward and
 * backward pass per chunk ({@link org.ood4j.models.PerSampleGrads}: a layer's per-sample gradient
 * from its input and output gradient, e.g. ||delta_i a_i^T||^2 = ||delta_i||^2 ||a_i||^2 for a
 * Linear layer); the network runs in float64.
 *
 * <p>param_filter: the state_dict names of the parameters to score ("9.weight"); absent = every
 * trainable parameter, batch-norm weight and bias included. A predicate works too, but cannot be
 * saved. Needs no fitting.
 */
public final class GradNorm extends GradientNormDetector {
    /** Every parameter. */
    public GradNorm(Sequential model) {
        this(model, (List<String>) null);
    }

    /**
     * @param model       the network (inputs to logits), in evaluation mode; or null
     * @param paramFilter state_dict names of the parameters to score, or null for all
     */
    public GradNorm(Sequential model, List<String> paramFilter) {
        super(model, paramFilter);
    }

    /** Parameters selected by a predicate on their state_dict names (such a detector cannot be saved). */
    public GradNorm(Sequential model, Predicate<String> paramFilter) {
        super(model, paramFilter);
    }

    @Override
    protected Tensor scoreChunk(Sequential net, Tensor x) {
        return GradientNorms.norms(net, x, 1.0, filter, Norm.L2_SQUARED);
    }
}
