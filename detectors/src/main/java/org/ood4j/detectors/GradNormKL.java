package org.ood4j.detectors;

import java.util.List;
import java.util.function.Predicate;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Norm;
import org.ood4j.models.Sequential;

/**
 * GradNormKL, from Huang, Geng and Li, "On the Importance of Gradients for Detecting Distributional
 * Shifts in the Wild" (NeurIPS 2021), in pytorch-ood's documented form: per sample, with the
 * network in evaluation mode,
 * <pre>
 *   loss(x)  = binary_cross_entropy(softmax(f(x)), 1/C, reduction='sum')   (a uniform target)
 *   score(x) = -(sum over the selected parameters theta of ||d loss(x) / d theta||_1)
 * </pre>
 * (pytorch-ood's documentation says the logit gradient is softmax - 1/C, the gradient of the
 * KL divergence to the uniform distribution; that of the BCE loss it computes is not, and the BCE
 * form is the one followed here.)
 * The logit gradient is torch's BCE backward (with its clamp max(p(1 - p), 1e-12), active for
 * probabilities below ~1e-12), see {@link GradientNorms#bceSoftmaxLogitGrad}; the parameter
 * gradients follow by the chain rule. All samples' norms come from one batched forward and
 * backward pass per chunk ({@link org.ood4j.models.PerSampleGrads}: a layer's per-sample gradient
 * from its input and output gradient, e.g. ||delta_i a_i^T||_1 = ||delta_i||_1 ||a_i||_1 for a
 * Linear layer); the network runs in float64.
 *
 * <p>param_filter: the state_dict names of the parameters to score ("9.weight"); absent = every
 * trainable parameter, batch-norm weight and bias included. A predicate works too, but cannot be
 * saved. Needs no fitting.
 */
public final class GradNormKL extends GradientNormDetector {
    /** Every parameter. */
    public GradNormKL(Sequential model) {
        this(model, (List<String>) null);
    }

    /**
     * @param model       the network (inputs to logits), in evaluation mode; or null
     * @param paramFilter state_dict names of the parameters to score, or null for all
     */
    public GradNormKL(Sequential model, List<String> paramFilter) {
        super(model, paramFilter);
    }

    /** Parameters selected by a predicate on their state_dict names (such a detector cannot be saved). */
    public GradNormKL(Sequential model, Predicate<String> paramFilter) {
        super(model, paramFilter);
    }

    @Override
    protected Tensor scoreChunk(Sequential net, Tensor x) {
        try (Tensor norms = GradientNorms.norms(net, x, Double.NaN, filter, Norm.L1)) {
            return norms.neg();
        }
    }
}
