package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
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
        double beta = solve(new NllPass(logits, labels)::derivatives);
        putState("temperature", Tensor.scalar(1 / beta, DType.FLOAT64));
    }

    @Override
    protected Tensor scoreChunk(Tensor logits) {
        return MaxSoftmax.score(logits, temperature());
    }

    /** Root of L'(beta) in [MIN_BETA, MAX_BETA]: bracket, then Newton with bisection fallback. */
    private static double solve(java.util.function.DoubleFunction<double[]> derivatives) {
        double lo = MIN_BETA, hi = MAX_BETA;
        if (derivatives.apply(lo)[0] >= 0) return lo;   // loss rises from the start: T as large as allowed
        if (derivatives.apply(hi)[0] <= 0) return hi;   // separable: T as small as allowed
        double beta = 1;
        for (int iter = 0; iter < 200; iter++) {
            double[] d = derivatives.apply(beta);
            if (d[0] == 0) return beta;
            if (d[0] < 0) lo = beta; else hi = beta;
            double next = d[1] > 0 ? beta - d[0] / d[1] : Double.NaN;
            if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
            if (Math.abs(next - beta) <= 1e-15 * beta || hi - lo <= 1e-15 * hi) return next;
            beta = next;
        }
        return beta;
    }

    /**
     * The fit with the loss's derivatives gathered elsewhere, e.g. over a cluster's partitions:
     * {@code sums} gives, for a beta, the sums over all {@code idRows} in-distribution fit rows of
     * the terms of L' and L'' ({@link #addDerivativeTerms}, each partition's sum added up). The
     * Newton iteration is this class's, so the temperature is the single-JVM fit's up to the
     * float64 round-off of the order of those sums. {@code rows} counts the fit rows (OOD ones
     * included) and {@code classes} the logits' width, as the array fit records them.
     */
    public TemperatureScaling fitFromSums(Device device, long rows, long idRows, long classes, java.util.function.DoubleFunction<double[]> sums) {
        if (idRows <= 0) throw new IllegalArgumentException(name() + ": every fit sample has a label < 0 (OOD); nothing to fit");
        startFit(device);
        double beta = solve(b -> {
            double[] s = sums.apply(b);
            return new double[] {s[0] / idRows, s[1] / idRows};
        });
        putState("temperature", Tensor.scalar(1 / beta, DType.FLOAT64));
        fitCompleted(rows, new long[] {classes});
        return this;
    }

    /**
     * Adds to {@code sums} {sum of E_p[z] - z_y, sum of Var_p[z]} (p = softmax(beta z)) over the
     * rows of z (n, classes) row-major float64, whose labels in [0, classes) are labels[from..from+n).
     */
    public static void addDerivativeTerms(double beta, double[] z, int classes, long[] labels, int from, double[] sums) {
        int n = z.length / classes;
        for (int r = 0; r < n; r++) {
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
            sums[0] += mean - z[o + (int) labels[from + r]];
            sums[1] += second / sum;
        }
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
            double[] sums = new double[2];
            long n = logits.size(0);
            int classes = (int) logits.size(1);
            for (long start = 0; start < n; start += Inputs.CHUNK_ROWS) {
                long end = Math.min(n, start + Inputs.CHUNK_ROWS);
                try (Tensor chunk = logits.slice(0, start, end)) {
                    addDerivativeTerms(beta, chunk.toDoubleArray(), classes, labels, (int) start, sums);
                }
            }
            return new double[] {sums[0] / n, sums[1] / n};
        }
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of();
    }
}
