package org.ood4j.engine.cpu;

/**
 * GEN's terms (c q)^gamma, c = clamp(p, eps, 1 - eps), q = clamp(1 - p, eps, 1 - eps) (Liu et al.,
 * CVPR 2023), for {@link RowMath#sumGenTerms}: the constants of one (gamma, eps) and the scalar steps
 * of {@link MathKernels#sumGenTerms}. Each value of a softmax row comes as e = exp(z - shift) (p = e /
 * sum) and u = exp(gamma (z - shift)), so p^gamma = u sum^-gamma needs no power and no log; the rest
 * of a term by the binomial series
 * <pre>  (1 - p)^gamma = 1 + p (a1 + p (a2 + p (a3 + p (a4 + p a5)))),  a_k = binom(gamma, k) (-1)^k</pre>
 * for eps <= p <= 1/16 (then 1 - p <= 1 - eps: no clamp to meet). p < eps is clamped on both sides,
 * (eps (1 - eps))^gamma; above the series (at most 16 values a row) the float64 power of a float64 c q.
 * For 0 < gamma <= 1: every term is then at least (eps (1 - eps))^gamma, a normal float32 for eps >=
 * 1e-30 (a larger gamma's terms leave float32's range), and the first term the series leaves out,
 * |a6| p^6 <= gamma (1/16)^6 / 6, is below 2^-24.
 */
public final class GenTerms {
    /** Up to here a term is the series; above, the float64 step. */
    static final float SERIES_MAX_P = 1 / 16f;

    final double gamma, eps;
    /** eps and (eps (1 - eps))^gamma as floats; the series' coefficients a1..a5. */
    final float eps32, clampedTerm, a1, a2, a3, a4, a5;

    /** @param gamma the exponent, 0 < gamma <= 1; @param eps the clamp of p and 1 - p, in (0, 1/16) */
    public GenTerms(double gamma, double eps) {
        if (!(gamma > 0 && gamma <= 1)) throw new IllegalArgumentException("GEN's float32 terms need 0 < gamma <= 1, got " + gamma);
        if (!(eps >= 1e-30 && eps < SERIES_MAX_P)) throw new IllegalArgumentException("GEN's float32 terms need 1e-30 <= eps < 1/16, got " + eps);
        this.gamma = gamma;
        this.eps = eps;
        eps32 = (float) eps;
        clampedTerm = (float) Math.pow(eps * (1 - eps), gamma);
        double[] a = new double[6];
        a[0] = 1;
        for (int k = 1; k < a.length; k++) a[k] = -a[k - 1] * (gamma - (k - 1)) / k;
        a1 = (float) a[1];
        a2 = (float) a[2];
        a3 = (float) a[3];
        a4 = (float) a[4];
        a5 = (float) a[5];
    }

    /** u^root by squarings from root's top bit: a lane of {@link VectorMath#expPowers}' products. */
    static float power(float u, int root) {
        float e = u;
        for (int b = 30 - Integer.numberOfLeadingZeros(root); b >= 0; b--) {
            e = e * e;
            if ((root >> b & 1) != 0) e = e * u;
        }
        return e;
    }

    /** sum^-gamma: p^gamma = u times this, applied to a row's sum of series terms. */
    double pPowerScale(double sum) {
        return Math.pow(sum, -gamma);
    }

    /**
     * The series' range [eps, 1/16] as the bits of positive floats (in the order of their values):
     * p is outside when its bits less {@link #seriesLowBits} exceed {@link #seriesBitsWidth} unsigned,
     * one test for both ends, exact at each (a NaN is outside too, and makes its term NaN).
     */
    int seriesLowBits() { return Float.floatToRawIntBits(eps32); }

    int seriesBitsWidth() { return Float.floatToRawIntBits(SERIES_MAX_P) - Float.floatToRawIntBits(eps32); }

    /** Whether p lies outside the series' range, as a vector lane tests it. */
    static boolean outsideSeries(float p, int lowBits, int bitsWidth) {
        return Integer.compareUnsigned(Float.floatToRawIntBits(p) - lowBits, bitsWidth) > 0;
    }

    /**
     * The terms of values [from, n) one by one, each as a vector lane computes it: sum^-gamma times
     * their float32 {@link #series} terms, plus the float64 terms of those outside the series (the
     * scalar form of {@link MathKernels#sumGenTerms}, and the vector form's tail).
     */
    double sumOneByOne(float[] u, float[] e, int from, int n, double sum) {
        float inverseSum = (float) (1 / sum);
        int low = seriesLowBits(), width = seriesBitsWidth();
        double series = 0, outside = 0;
        for (int i = from; i < n; i++) {
            float p = e[i] * inverseSum;
            if (outsideSeries(p, low, width)) outside += outside(e, n, i, sum, p);
            else series += series(u[i], p);
        }
        return pPowerScale(sum) * series + outside;
    }

    /** The term of a value outside the series' range: clamped below it, the float64 step above. */
    double outside(float[] e, int n, int i, double sum, float p) {
        return p < eps32 ? clampedTerm : large(e, n, i, sum);
    }

    /** p^gamma (1 - p)^gamma / sum^-gamma = u + u p s(p) (p^gamma = u sum^-gamma), in fmas as the vector form. */
    float series(float u, float p) {
        float s = Math.fma(p, a5, a4);
        s = Math.fma(p, s, a3);
        s = Math.fma(p, s, a2);
        s = Math.fma(p, s, a1);
        return Math.fma(u * p, s, u);
    }

    /**
     * p above the series: c q in float64 from e and the row's sum. Past p = 1/2, e is the row's
     * largest value and 1 - p is the others' share: their sum without e (a float32 sum of lanes
     * holding e near 1 would have rounded their small values away), where 1 - p may be as small as eps.
     */
    double large(float[] e, int n, int i, double sum) {
        double ei = e[i], others = sum - ei;
        if (ei > sum / 2) {
            e[i] = 0;
            others = MathKernels.INSTANCE.sum(e, n);
            e[i] = (float) ei;
        }
        double total = ei + others;
        double c = Math.min(Math.max(ei / total, eps), 1 - eps), q = Math.min(Math.max(others / total, eps), 1 - eps);
        return Math.pow(c * q, gamma);
    }
}
