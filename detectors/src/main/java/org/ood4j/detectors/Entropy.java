package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * Entropy of the predicted class distribution, as in Hendrycks and Gimpel (ICLR 2017):
 * <pre>  score(x) = -sum_y p_y log p_y,   p = clamp(softmax(f(x)), 1e-7, 1)</pre>
 * The clamp is pytorch-ood's: every probability below 1e-7 contributes -1e-7 log 1e-7.
 */
public final class Entropy extends LogitsDetector {
    /** {@link #score(Tensor)} as a function value (one instance, so it can be recognised when saving). */
    public static final java.util.function.Function<Tensor, Tensor> SCORE = Entropy::score;

    static final double MIN_PROBABILITY = 1e-7;

    public Entropy(Function<Tensor, Tensor> model) {
        super(model);
    }

    @Override public boolean requiresFit() { return false; }

    @Override
    protected Tensor scoreChunk(Tensor logits) {
        return score(logits);
    }

    /** The clamped entropy per row, float64. */
    public static Tensor score(Tensor logits) {
        try (Scope s = Scope.open()) {
            Tensor p = logits.to(DType.FLOAT64).softmax(1).clamp(MIN_PROBABILITY, 1);
            return s.keep(p.mul(p.log()).sum(1).neg());
        }
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of();
    }
}
