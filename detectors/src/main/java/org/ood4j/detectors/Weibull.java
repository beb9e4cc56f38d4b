package org.ood4j.detectors;

/**
 * Two-parameter Weibull (location 0): maximum-likelihood fit and CDF, in float64.
 *
 * <p>The MLE of the shape k solves
 * <pre>  g(k) = sum t^k ln t / sum t^k - 1/k - mean(ln t) = 0</pre>
 * and then lambda = (mean t^k)^(1/k). g is increasing (g' = Var_w(ln t) + 1/k^2 > 0), so the
 * root is bracketed and polished by safeguarded Newton. Working with u = t / max(t) keeps t^k
 * finite for the shapes in the thousands that translated tails produce (g is unchanged by the
 * scaling).
 */
final class Weibull {
    private Weibull() {}

    /** {k, lambda}; k = +inf when all values are equal (a step at lambda). */
    static double[] fit(double[] t) {
        double max = 0;
        for (double v : t) {
            if (!(v > 0)) throw new IllegalArgumentException("Weibull fit needs positive values, got " + v);
            max = Math.max(max, v);
        }
        double[] lnU = new double[t.length];
        boolean spread = false;
        for (int i = 0; i < t.length; i++) {
            lnU[i] = Math.log1p((t[i] - max) / max);
            spread |= lnU[i] != 0;
        }
        if (!spread) return new double[] {Double.POSITIVE_INFINITY, max};
        double k = solveShape(lnU);
        double meanUk = 0;
        for (double l : lnU) meanUk += Math.exp(k * l);
        meanUk /= t.length;
        return new double[] {k, max * Math.exp(Math.log(meanUk) / k)};
    }

    /** {g(k), g'(k)} in terms of ln u. */
    private static double[] g(double k, double[] lnU) {
        double sw = 0, swl = 0, swll = 0, mean = 0;
        for (double l : lnU) {
            double w = Math.exp(k * l);
            sw += w;
            swl += w * l;
            swll += w * l * l;
            mean += l;
        }
        mean /= lnU.length;
        double first = swl / sw;
        return new double[] {first - 1 / k - mean, swll / sw - first * first + 1 / (k * k)};
    }

    private static double solveShape(double[] lnU) {
        double lo = 1, hi = 1;
        while (g(lo, lnU)[0] > 0 && lo > 1e-12) lo /= 2;
        while (g(hi, lnU)[0] < 0 && hi < 1e15) hi *= 2;
        double k = Math.sqrt(lo * hi);
        for (int iter = 0; iter < 300; iter++) {
            double[] d = g(k, lnU);
            if (d[0] == 0) return k;
            if (d[0] < 0) lo = k; else hi = k;
            double next = k - d[0] / d[1];
            if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
            if (Math.abs(next - k) <= 1e-15 * k) return next;
            k = next;
        }
        return k;
    }

    /** 1 - exp(-(x / lambda)^k) for x >= 0. */
    static double cdf(double x, double k, double lambda) {
        if (x <= 0) return 0;
        if (Double.isInfinite(k)) return x > lambda ? 1 : (x == lambda ? 1 - Math.exp(-1) : 0);
        return -Math.expm1(-Math.exp(k * Math.log(x / lambda)));
    }
}
