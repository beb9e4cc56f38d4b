package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * Temperature scaling, from Guo et al., "On Calibration of Modern Neural Networks" (ICML 2017):
 * <pre>  score(x) = -max_y softmax(f(x) / T)_y</pre>
 * with T the temperature that minimises the mean negative log-likelihood of the labelled fit
 * logits. With beta = 1/T the loss
 * <pre>  L(beta) = mean_i [ logsumexp(beta z_i) - beta z_{i,y_i} ]</pre>
 * is convex (L'' = mean variance of z under softmax(beta z) >= 0), so the 1-D minimiser is found
 * exactly: bracket the root of L', then safeguarded Newton (bisection when a step leaves the
 * bracket), to machine precision. This is the optimum the spec's L-BFGS aims at; a Newton step
 * on a 1-D convex function is what L-BFGS converges to, without its line-search tolerance.
 *
 * <p>When the fit logits are perfectly separable L keeps falling as T goes to 0, and when the
 * labels are worse than chance it keeps falling as T grows: T is then clamped to [1e-4, 1e4].
 *
 * <p>Unlike the detectors whose fit is a statistic ({@link StreamingFit}), this fit keeps the
 * whole logits: each Newton step is a pass over all of them (L' and L'' at a new beta), so a
 * streamed form would read the data once per step; the logits (N x C) are small next to the
 * features the streaming fits read.
 */
public final class TemperatureScaling extends LogitsDetector {
    static final double MIN_BETA = 1e-4, MAX_BETA = 1e4;

    public TemperatureScaling(Function<Tensor, Tensor> model) {
        super(model);
    }

    @Override public boolean requiresFit() { return true; }

    /** The fitted temperature T. */
    public double temperature() {
        return state("temperature").item();
    }

    @Override
    protected void fitOnId(Tensor logits, Tensor labels) {
        NllPass nll = new NllPass(logits, labels);
        double beta = solve(nll);
        putState("temperature", Tensor.scalar(1 / beta, DType.FLOAT64));
    }

    @Override
    protected Tensor scoreChunk(Tensor logits) {
        return MaxSoftmax.score(logits, temperature());
    }

    /** Root of L'(beta) in [MIN_BETA, MAX_BETA]: bracket, then Newton with bisection fallback. */
    private static double solve(NllPass nll) {
        double lo = MIN_BETA, hi = MAX_BETA;
        if (nll.derivatives(lo)[0] >= 0) return lo;   // loss rises from the start: T as large as allowed
        if (nll.derivatives(hi)[0] <= 0) return hi;   // separable: T as small as allowed
        double beta = 1;
        for (int iter = 0; iter < 200; iter++) {
            double[] d = nll.derivatives(beta);
            if (d[0] == 0) return beta;
            if (d[0] < 0) lo = beta; else hi = beta;
            double next = d[1] > 0 ? beta - d[0] / d[1] : Double.NaN;
            if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
            if (Math.abs(next - beta) <= 1e-15 * beta || hi - lo <= 1e-15 * hi) return next;
            beta = next;
        }
        return beta;
    }

    /** One pass over the fit logits computes L'(beta) and L''(beta) in float64. */
    private static final class NllPass {
        private final Tensor logits;
        private final long[] labels;

        NllPass(Tensor logits, Tensor labels) {
            this.logits = logits;
            this.labels = labels.toLongArray();
        }

        /** {L'(beta), L''(beta)}: mean of E_p[z] - z_y, and mean of Var_p[z], p = softmax(beta z). */
        double[] derivatives(double beta) {
            double d1 = 0, d2 = 0;
            long n = logits.size(0);
            int classes = (int) logits.size(1);
            for (long start = 0; start < n; start += Inputs.CHUNK_ROWS) {
                long end = Math.min(n, start + Inputs.CHUNK_ROWS);
                double[] z;
                try (Tensor chunk = logits.slice(0, start, end)) {
                    z = chunk.toDoubleArray();
                }
                for (int r = 0; r < end - start; r++) {
                    int o = r * classes;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int c = 0; c < classes; c++) max = Math.max(max, beta * z[o + c]);
                    double sum = 0, mean = 0, second = 0;
                    for (int c = 0; c < classes; c++) {
                        double w = Math.exp(beta * z[o + c] - max);
                        sum += w;
                        mean += w * z[o + c];
                    }
                    mean /= sum;
                    for (int c = 0; c < classes; c++) {
                        double dz = z[o + c] - mean;
                        second += Math.exp(beta * z[o + c] - max) * dz * dz;
                    }
                    d1 += mean - z[o + (int) labels[(int) (start + r)]];
                    d2 += second / sum;
                }
            }
            return new double[] {d1 / n, d2 / n};
        }
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of();
    }
}
