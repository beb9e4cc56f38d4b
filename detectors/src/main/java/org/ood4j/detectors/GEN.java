package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.cpu.GenTerms;
import org.ood4j.engine.cpu.RowMath;

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
        return score(logits, gamma, true);
    }

    @Override protected boolean scoresFlagNonFinite() { return true; }

    /** sum_j (c_j q_j)^gamma per row, float64, fused into one pass per row (NaN where the row's max is not finite). */
    public static Tensor score(Tensor logits, double gamma) {
        return score(logits, gamma, false);
    }

    /**
     * As {@link #score}; with {@code flagNonFinite}, a row holding NaN or an infinity scores NaN (the
     * input check fused in). Float32 rows are scored in float32 for gamma <= 1; a larger gamma's
     * terms, down to (1e-7)^gamma, leave float32's range, and its rows are widened to float64.
     */
    static Tensor score(Tensor logits, double gamma, boolean flagNonFinite) {
        int root = reciprocalRoot(gamma);
        GenTerms terms = gamma > 1 ? null : new GenTerms(gamma, EPS);
        return rows(logits, (z, scratch, n) -> {
            double m = RowMath.max(z, n);
            if (!Double.isFinite(m)) return Double.NaN;
            double sum = RowMath.expShiftedSum(z, n, m, true);
            for (int j = 0; j < n; j++) {
                double p = z[j] / sum;
                double c = Math.min(Math.max(p, EPS), 1 - EPS), q = Math.min(Math.max(1 - p, EPS), 1 - EPS);
                z[j] = c * q;
            }
            return RowMath.sumPow(z, n, gamma);
        }, gamma > 1 ? null : (z, e, n) -> {
            float m = RowMath.shiftMax(z, n);   // a NaN in the row makes the sum, hence every term, NaN
            if (!Float.isFinite(m)) return Double.NaN;
            int whole = RowMath.padForExp(z, n, m, 1);   // the exps as whole vectors; the terms of n values
            double sum;
            if (root > 0) {
                sum = RowMath.expPowers(z, whole, m, root, z, e);   // u = exp(gamma (z - m)), e = u^root: one exp a value
            } else {
                sum = RowMath.expShiftedSum(z, whole, m, 1, e);
                RowMath.exp(z, whole, m, (float) gamma, z);   // u
            }
            return RowMath.sumGenTerms(z, e, n, sum, terms);
        }, flagNonFinite);
    }

    /** n where gamma = 1 / n (the paper's 0.1 among them) for an n up to RowMath.MAX_ROOT, else 0. */
    private static int reciprocalRoot(double gamma) {
        double n = Math.rint(1 / gamma);
        return n >= 1 && n <= RowMath.MAX_ROOT && n * gamma == 1 ? (int) n : 0;
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("gamma", gamma);
    }
}
