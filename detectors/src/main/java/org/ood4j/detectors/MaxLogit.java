package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.cpu.RowMath;

/**
 * Maximum logit, from Hendrycks et al., "Scaling Out-of-Distribution Detection for Real-World
 * Settings" (ICML 2022):
 * <pre>  score(x) = -max_y f_y(x)</pre>
 */
public final class MaxLogit extends LogitsDetector {
    /** {@link #score(Tensor)} as a function value (one instance, so it can be recognised when saving). */
    public static final java.util.function.Function<Tensor, Tensor> SCORE = MaxLogit::score;

    public MaxLogit(Function<Tensor, Tensor> model) {
        super(model);
    }

    @Override public boolean requiresFit() { return false; }

    @Override
    protected Tensor scoreChunk(Tensor logits) {
        return score(logits, true);
    }

    @Override protected boolean scoresFlagNonFinite() { return true; }

    /** -max logits per row, float64. */
    public static Tensor score(Tensor logits) {
        return score(logits, false);
    }

    /** As {@link #score}; with {@code flagNonFinite}, a row holding NaN or an infinity scores NaN (the input check fused in). */
    static Tensor score(Tensor logits, boolean flagNonFinite) {
        // 0 - x: +0.0 for a max of 0, as neg() gives. A checked float row (flagNonFinite: one holding NaN
        // never reaches the body) takes shiftMax's compare and blend, two vector ops a vector where the
        // NaN-propagating max takes six: on 100000 x 1000 logits the max pass is most of the time beside the read
        return rows(logits, (z, scratch, n) -> 0 - RowMath.max(z, n),
                (z, scratch, n) -> 0 - (double) (flagNonFinite ? RowMath.shiftMax(z, n) : RowMath.max(z, n)), flagNonFinite);
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of();
    }
}
