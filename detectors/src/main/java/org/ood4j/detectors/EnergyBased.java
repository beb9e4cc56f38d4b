package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.cpu.RowMath;

/**
 * Energy score, from Liu et al., "Energy-based Out-of-distribution Detection" (NeurIPS 2020):
 * <pre>  E(x) = -t * log sum_i exp(f_i(x) / t)</pre>
 * the negative free energy; higher = more OOD.
 */
public final class EnergyBased extends LogitsDetector {
    /** {@link #score(Tensor)} as a function value (one instance, so it can be recognised when saving). */
    public static final java.util.function.Function<Tensor, Tensor> SCORE = EnergyBased::score;

    private final double t;

    public EnergyBased(Function<Tensor, Tensor> model) {
        this(model, 1.0);
    }

    /** @param t temperature (> 0) */
    public EnergyBased(Function<Tensor, Tensor> model, double t) {
        super(model);
        this.t = Params.positive("t", t);
    }

    @Override public boolean requiresFit() { return false; }

    @Override
    protected Tensor scoreChunk(Tensor logits) {
        return score(logits, t, true);
    }

    @Override protected boolean scoresFlagNonFinite() { return true; }

    /** -t logsumexp(logits / t) per row, float64. */
    public static Tensor score(Tensor logits, double t) {
        return score(logits, t, false);
    }

    /** As {@link #score}; with {@code flagNonFinite}, a row holding NaN or an infinity scores NaN (the input check fused in). */
    static Tensor score(Tensor logits, double t, boolean flagNonFinite) {
        double inverse = 1 / t;
        return rows(logits, (z, scratch, n) -> {
            if (inverse != 1) RowMath.scale(z, n, inverse);
            return 0 - t * RowMath.logSumExp(z, n);
        }, (z, scratch, n) -> {
            float m = RowMath.shiftMax(z, n);                                // a NaN in the row makes the sum NaN
            if (!Float.isFinite(m)) return 0 - (double) RowMath.max(z, n);    // as logSumExp: a non-finite max (NaN first) is the answer
            int whole = RowMath.padForExp(z, n, m, (float) inverse);
            return 0 - (m + t * Math.log(RowMath.expShiftedSum(z, whole, m, (float) inverse, z)));   // t lse(z/t) = m + t log sum exp((z-m)/t)
        }, flagNonFinite);
    }

    /** -logsumexp(logits) per row (t = 1): the default scoring function of ASH, ReAct, RankFeat, VRA, DICE. */
    public static Tensor score(Tensor logits) {
        return score(logits, 1.0);
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("t", t);
    }
}
