package org.ood4j.engine.cpu;

/**
 * One softmax row's constants for {@link MathKernels#logClampedPOneMinusP} and the scalar steps
 * both kernels take per value: log clamp(p) + log clamp(1 - p) from a logit z, its exp e = exp(z -
 * shift) and the row's float64 sum of e.
 */
final class GenTerms {
    /** Up to here log(1 - p) is the series; above, the float64 log (at most 15 values of a row). */
    static final float SERIES_MAX_P = 1 / 16f;
    /**
     * log(1 - p) = p (-1 + p (-1/2 + p (-1/3 + p (-1/4 + p (-1/5))))): the series to p^5/5, the rest
     * below p^6/6 = 3e-8 for p <= 1/16 (an error of gamma 3e-8 relative in a term (c q)^gamma).
     */
    static final float C1 = -1, C2 = -1 / 2f, C3 = -1 / 3f, C4 = -1 / 4f, C5 = -1 / 5f;

    /** log p = (z - shift) - log sum: logits of 300 have an ulp of 3e-5, which z - shift drops. */
    final float shift, logSum, inverseSum, logLo, logHi;
    final double sum, inverse, lo, hi;

    GenTerms(float shift, double sum, double lo, double hi) {
        this.sum = sum;
        this.inverse = 1 / sum;
        this.lo = lo;
        this.hi = hi;
        this.shift = shift;
        this.logSum = (float) Math.log(sum);
        this.inverseSum = (float) inverse;
        this.logLo = (float) Math.log(lo);
        this.logHi = (float) Math.log(hi);
    }

    /** log clamp(p) + log clamp(1 - p) of one value: as a vector lane computes it. */
    float at(float e, float z) {
        float p = e * inverseSum;
        return p > SERIES_MAX_P ? large(e, z) : small(p, z);
    }

    /**
     * p <= 1/16: with GEN's clamps (lo = 1e-7, hi = 1 - 1e-7; any lo < 15/16 and hi > 1/16 alike), log p
     * has no upper clamp to meet and log(1 - p) none below; log(1 - p) by the series, clamped to log hi
     * where p < 1 - hi.
     */
    float small(float p, float z) {
        return Math.max((z - shift) - logSum, logLo) + Math.min(p * series(p), logHi);
    }

    /** p > 1/16: both clamps, and log(1 - p) of (sum - e) / sum in float64 (near p = 1 float32 keeps about one digit). */
    float large(float e, float z) {
        float logP = Math.min(Math.max((z - shift) - logSum, logLo), logHi);
        return logP + (float) Math.log(Math.min(Math.max((sum - e) * inverse, lo), hi));
    }

    /** -1 - p/2 - ... - p^4/5 by Horner's scheme in fmas, as the vector form. */
    private static float series(float p) {
        float s = Math.fma(p, C5, C4);
        s = Math.fma(p, s, C3);
        s = Math.fma(p, s, C2);
        return Math.fma(p, s, C1);
    }
}
