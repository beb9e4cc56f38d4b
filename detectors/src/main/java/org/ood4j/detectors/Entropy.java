package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.cpu.RowMath;

/**
 * Entropy of the predicted class distribution, as in Hendrycks and Gimpel (ICLR 2017):
 * <pre>  score(x) = -sum_y p_y log p_y,   p = clamp(softmax(f(x)), 1e-7, 1)</pre>
 * The clamp is pytorch-ood's: every probability below 1e-7 contributes -1e-7 log 1e-7.
 */
public final class Entropy extends LogitsDetector {
    /** {@link #score(Tensor)} as a function value (one instance, so it can be recognised when saving). */
    public static final java.util.function.Function<Tensor, Tensor> SCORE = Entropy::score;

    static final double MIN_PROBABILITY = 1e-7;
    private static final float MIN_PROBABILITY_F = (float) MIN_PROBABILITY;

    public Entropy(Function<Tensor, Tensor> model) {
        super(model);
    }

    @Override public boolean requiresFit() { return false; }

    @Override
    protected Tensor scoreChunk(Tensor logits) {
        return score(logits, true);
    }

    @Override protected boolean scoresFlagNonFinite() { return true; }

    /** The clamped entropy per row, float64, fused into one pass per row (NaN where the row's max is not finite). */
    public static Tensor score(Tensor logits) {
        return score(logits, false);
    }

    /** As {@link #score}; with {@code flagNonFinite}, a row holding NaN or an infinity scores NaN (the input check fused in). */
    static Tensor score(Tensor logits, boolean flagNonFinite) {
        return rows(logits, (z, scratch, n) -> {
            double m = RowMath.max(z, n);
            if (!Double.isFinite(m)) return Double.NaN;
            double sum = RowMath.expShiftedSum(z, n, m, true);
            for (int j = 0; j < n; j++) z[j] = Math.min(Math.max(z[j] / sum, MIN_PROBABILITY), 1);
            return 0 - RowMath.sumXLogX(z, n);
        }, (z, terms, n) -> {
            float m = RowMath.shiftMax(z, n);   // a NaN in the row makes the sum, hence every term, NaN
            if (!Float.isFinite(m)) return Double.NaN;
            double sum = RowMath.expShiftedSum(z, RowMath.padForExp(z, n, m, 1), m, 1, terms);   // whole vectors
            // log p_j = (z_j - m) - log sum, not log of a float32 p_j: near p = 1 that log would keep
            // few digits of a tiny entropy. The clamp p >= 1e-7 is also one on log p (log is monotone).
            return 0 - RowMath.sumClampedPLogP(terms, z, n, m, sum, MIN_PROBABILITY_F);
        }, flagNonFinite);
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of();
    }
}
