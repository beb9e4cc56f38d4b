package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * Weighted energy score of VOS, from Du et al., "VOS: Learning What You Don't Know by Virtual
 * Outlier Synthesis" (ICLR 2022):
 * <pre>  score(x) = -log sum_i w_i exp(f_i(x)) = -logsumexp(f(x) + log w)</pre>
 * with one positive weight per class.
 */
public final class WeightedEBO extends LogitsDetector {
    private final long classes;

    /** @param weights (C, 1) or (C,) positive class weights; copied */
    public WeightedEBO(Function<Tensor, Tensor> model, Tensor weights) {
        super(model);
        if (weights == null) throw new IllegalArgumentException("weights are required");
        if (weights.rank() < 1 || weights.rank() > 2 || (weights.rank() == 2 && weights.size(1) != 1)) {
            throw new IllegalArgumentException("weights must have shape (C, 1) or (C,), got "
                    + java.util.Arrays.toString(weights.shape()));
        }
        try (Scope s = Scope.open()) {
            Tensor w = weights.to(DType.FLOAT64).reshape(-1);
            if (w.nonFinite().sum().item() > 0 || w.min().item() <= 0) {
                throw new IllegalArgumentException("weights must be positive and finite, min is " + w.min().item());
            }
            classes = w.size(0);
            putState("weights", s.keep(weights.copy()));
            putState("log_weights", s.keep(w.log()));
        }
    }

    @Override public boolean requiresFit() { return false; }

    @Override
    protected void checkClasses(long c) {
        if (c != classes) throw new IllegalArgumentException("WeightedEBO: logits have " + c + " classes, weights have " + classes);
    }

    @Override
    protected Tensor scoreChunk(Tensor logits) {
        return logits.to(DType.FLOAT64).add(state("log_weights")).logsumexp(1).neg();
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("weights", state("weights"));
    }
}
