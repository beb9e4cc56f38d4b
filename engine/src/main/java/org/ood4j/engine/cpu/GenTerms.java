package org.ood4j.engine.cpu;

/**
 * GEN's terms (c q)^gamma, c = clamp(p, eps, 1 - eps), q = clamp(1 - p, eps, 1 - eps) (Liu et al.,
 * CVPR 2023), for {@link RowMath#sumGenTerms}: the constants of one (gamma, eps) and the scalar steps
 * of {@link MathKernels#sumGenTerms}. Each value of a softmax row comes as e = exp(z - shift) (p = e /
 * sum) and u = exp(gamma (z - shift)), so p^gamma = u sum^-gamma needs no power and no log; the rest
 * of a term by the binomial series
 * <pre>  (1 - p)^gamma = 1 + p (a1 + p (a2 + p (a3 + p a4))),  a_k = binom(gamma, k) (-1)^k</pre>
 * for eps <= p <= 1/16 (then 1 - p <= 1 - eps: no clamp to meet), written in e itself with a row's
 * coefficients b_k = a_k sum^-k ({@link Row}): p is never formed, and p^gamma (1 - p)^gamma / sum^-gamma
 * = u + u e (b1 + e (b2 + e (b3 + e b4))). p < eps is clamped on both sides, (eps (1 - eps))^gamma;
 * above the series (at most 16 values a row) the float64 power of a float64 c q. For 0 < gamma <= 1:
 * every term is then at least (eps (1 - eps))^gamma, a normal float32 for eps >= 1e-30 (a larger
 * gamma's terms leave float32's range), and the first term the series leaves out, |a5| p^5 <=
 * 0.0303 (1/16)^5 = 2.9e-8 (|binom(gamma, 5)| is largest near gamma = 0.36), is below 2^-24.
 */
public final class GenTerms {
    /** Up to here a term is the series; above, the float64 step. */
    static final float SERIES_MAX_P = 1 / 16f;

    final double gamma, eps;
    /** (eps (1 - eps))^gamma as a float; the series' coefficients a1..a4. */
    final float clampedTerm;
    private final double a1, a2, a3, a4;

    /** @param gamma the exponent, 0 < gamma <= 1; @param eps the clamp of p and 1 - p, in (0, 1/16) */
    public GenTerms(double gamma, double eps) {
        if (!(gamma > 0 && gamma <= 1)) throw new IllegalArgumentException("GEN's float32 terms need 0 < gamma <= 1, got " + gamma);
        if (!(eps >= 1e-30 && eps < SERIES_MAX_P)) throw new IllegalArgumentException("GEN's float32 terms need 1e-30 <= eps < 1/16, got " + eps);
        this.gamma = gamma;
        this.eps = eps;
        clampedTerm = (float) Math.pow(eps * (1 - eps), gamma);
        double[] a = new double[5];
        a[0] = 1;
        for (int k = 1; k < a.length; k++) a[k] = -a[k - 1] * (gamma - (k - 1)) / k;
        a1 = a[1];
        a2 = a[2];
        a3 = a[3];
        a4 = a[4];
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

    /**
     * The constants of one row of sum {@code sum}: the series' coefficients on e, b_k = a_k sum^-k;
     * the series' range eps sum <= e <= sum / 16 as the bits of positive floats (in the order of their
     * values): e is outside when its bits less {@link #lowBits} exceed {@link #bitsWidth} unsigned, one
     * test for both ends (a NaN is outside too, and makes its term NaN); and sum^-gamma, applied once to
     * the row's sum of series terms.
     */
    Row row(double sum) {
        double inverse = 1 / sum, inverse2 = inverse * inverse;   // products, not powers: a row's constants cost one pow
        int low = Float.floatToRawIntBits((float) (eps * sum));
        return new Row((float) (a1 * inverse), (float) (a2 * inverse2), (float) (a3 * inverse2 * inverse), (float) (a4 * inverse2 * inverse2),
                low, Float.floatToRawIntBits((float) (sum * SERIES_MAX_P)) - low, Math.pow(sum, -gamma), sum);
    }

    /** A row's constants (see {@link GenTerms#row}). */
    record Row(float b1, float b2, float b3, float b4, int lowBits, int bitsWidth, double pPowerScale, double sum) {
        /** Whether e lies outside the series' range, as a vector lane tests it. */
        boolean outside(float e) {
            return Integer.compareUnsigned(Float.floatToRawIntBits(e) - lowBits, bitsWidth) > 0;
        }

        /** p^gamma (1 - p)^gamma / sum^-gamma = u + u e (b1 + e (b2 + e (b3 + e b4))), in fmas as the vector form. */
        float series(float u, float e) {
            float s = Math.fma(e, b4, b3);
            s = Math.fma(e, s, b2);
            s = Math.fma(e, s, b1);
            return Math.fma(u * e, s, u);
        }
    }

    /**
     * The terms of values [from, n) one by one, each as a vector lane computes it: sum^-gamma times
     * their float32 {@link Row#series} terms, plus the float64 terms of those outside the series (the
     * scalar form of {@link MathKernels#sumGenTerms}, and the vector form's tail).
     */
    double sumOneByOne(float[] u, float[] e, int from, int n, Row row) {
        double series = 0, outside = 0;
        for (int i = from; i < n; i++) {
            if (row.outside(e[i])) outside += outside(e, n, i, row);
            else series += row.series(u[i], e[i]);
        }
        return row.pPowerScale() * series + outside;
    }

    /** The term of a value outside the series' range: clamped below it (p < eps), the float64 step above. */
    double outside(float[] e, int n, int i, Row row) {
        return Float.floatToRawIntBits(e[i]) < row.lowBits() ? clampedTerm : large(e, n, i, row.sum());
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
