package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * Generalized entropy, from Liu, Lochman and Zach, "GEN: Pushing the Limits of Softmax-Based
 * Out-of-Distribution Detection" (CVPR 2023):
 * <pre>  score(x) = sum_j p_j^gamma (1 - p_j)^gamma</pre>
 * over all classes, with p and 1 - p clamped to [1e-7, 1 - 1e-7] as pytorch-ood does. In
 * float64, 1 - p_j keeps full relative precision down to the clamp (unlike float32, where
 * 1 - 1e-7 rounds).
 */
public final class GEN extends LogitsDetector {
    private static final double EPS = 1e-7;
    private final double gamma;

    public GEN(Function<Tensor, Tensor> model) {
        this(model, 0.1);
    }

    /** @param gamma exponent (> 0) */
    public GEN(Function<Tensor, Tensor> model, double gamma) {
        super(model);
        this.gamma = Params.positive("gamma", gamma);
    }

    @Override public boolean requiresFit() { return false; }

    @Override
    protected Tensor scoreChunk(Tensor logits) {
        return score(logits, gamma);
    }

    public static Tensor score(Tensor logits, double gamma) {
        try (Scope s = Scope.open()) {
            Tensor p = logits.to(DType.FLOAT64).softmax(1);
            Tensor c = p.clamp(EPS, 1 - EPS);
            Tensor q = p.neg().add(1).clamp(EPS, 1 - EPS);
            return s.keep(c.pow(gamma).mul(q.pow(gamma)).sum(1));
        }
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("gamma", gamma);
    }
}
