package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.cpu.RowMath;

/**
 * Maximum softmax probability (MSP), from Hendrycks and Gimpel, "A Baseline for Detecting
 * Misclassified and Out-of-Distribution Examples in Neural Networks" (ICLR 2017):
 * <pre>  score(x) = -max_y softmax(f(x) / t)_y</pre>
 * computed as {@code -exp(max(z) - logsumexp(z))} = {@code -1 / sum exp(z - max z)} with
 * z = f(x)/t — one fused pass per row, no probability matrix, exact in float64 even for |logits| of 1e4.
 * Float32 logits are scored in float32 with the sum in float64 (within 1e-6 relative).
 */
public final class MaxSoftmax extends LogitsDetector {
    /** {@link #score(Tensor)} as a function value (one instance, so it can be recognised when saving). */
    public static final java.util.function.Function<Tensor, Tensor> SCORE = MaxSoftmax::score;

    private final double t;

    /** t = 1. */
    public MaxSoftmax(Function<Tensor, Tensor> model) {
        this(model, 1.0);
    }

    /** @param t temperature (> 0) */
    public MaxSoftmax(Function<Tensor, Tensor> model, double t) {
        super(model);
        this.t = Params.positive("t", t);
    }

    public double temperature() { return t; }

    @Override public boolean requiresFit() { return false; }

    @Override
    protected Tensor scoreChunk(Tensor logits) {
        return score(logits, t, true);
    }

    @Override protected boolean scoresFlagNonFinite() { return true; }

    /**
     * -max softmax(logits / t) per row, float64: -exp(m - logsumexp(z)) = -1 / sum exp(z - m)
     * with z = logits / t and m = max z, fused into one pass per row. A row whose max is not
     * finite scores NaN.
     */
    public static Tensor score(Tensor logits, double t) {
        return score(logits, t, false);
    }

    /** As {@link #score}; with {@code flagNonFinite}, a row holding NaN or an infinity scores NaN (the input check fused in). */
    static Tensor score(Tensor logits, double t, boolean flagNonFinite) {
        double inverse = 1 / t;
        return rows(logits, (z, scratch, n) -> {
            if (inverse != 1) RowMath.scale(z, n, inverse);
            double m = RowMath.max(z, n);
            if (!Double.isFinite(m)) return Double.NaN;
            return -1 / RowMath.expShiftedSum(z, n, m, false);
        }, (z, scratch, n) -> {
            float m = RowMath.shiftMax(z, n);   // a NaN in the row makes the sum NaN
            if (!Float.isFinite(m)) return Double.NaN;
            int whole = RowMath.padForExp(z, n, m, (float) inverse);
            return -1 / RowMath.expShiftedSum(z, whole, m, (float) inverse, z);   // max(z / t) = max(z) / t for t > 0
        }, flagNonFinite);
    }

    /** -max softmax(logits) per row (t = 1): the form passed as a scoring function. */
    public static Tensor score(Tensor logits) {
        return score(logits, 1.0);
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("t", t);
    }
}
