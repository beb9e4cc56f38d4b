package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.cpu.RowMath;

/**
 * KL-Matching, from Hendrycks et al., "Scaling Out-of-Distribution Detection for Real-World
 * Settings" (ICML 2022). Fit: for each class c the typical posterior
 * <pre>  d_c = mean of softmax(f(x)) over fit samples whose PREDICTED class is c</pre>
 * (labels only mark OOD rows to skip). Score: {@code KL(p || d_yhat) = sum_j p_j (log p_j - log d_yhat,j)}
 * with 0 log 0 = 0 and yhat = argmax p (the argmax of the logits: softmax keeps their order).
 *
 * <p>A sample predicted as a class that no fit sample was predicted as has no typical posterior
 * to match; its score is +infinity (as far from every fitted posterior as can be), never NaN.
 */
public final class KLMatching extends LogitsDetector implements StreamingFit {
    public KLMatching(Function<Tensor, Tensor> model) {
        super(model);
    }

    @Override public boolean requiresFit() { return true; }

    /** One pass: the mean posterior per predicted class. */
    @Override
    public FitAccumulator fitAccumulator(int pass) {
        return new PosteriorFit(this);
    }

    /** Means of softmax(logits) grouped by the logits' argmax, float64. */
    private static final class PosteriorFit extends MomentsAccumulator<KLMatching> {
        PosteriorFit(KLMatching detector) {
            super(detector, 0, new Moments(Moments.Scatter.NONE));
        }

        @Override
        protected void addId(Tensor logits, long[] labels) {
            // The group sums and the log table scoring reads on the heap; the sums, means and table as tensors.
            if (moments[0].dim() < 0) Inputs.requireClassTables("KLMatching", logits, 2, 3);
            // The posteriors in the logits' dtype (float32 exps summed in float64 for float32 logits, as
            // pytorch-ood's float32 softmax), grouped by the predicted class (the logits' argmax, as
            // pytorch-ood's fit: logits.max(dim=1).indices) into float64 sums: two engine passes over
            // the logits and one over the posteriors, with no float64 copy of either.
            try (Tensor predicted = logits.argmax(1)) {
                long[] classes = predicted.toLongArray();
                if (logits.device() == Device.CPU && logits.dtype() == DType.FLOAT32 && logits.isContiguous()) {
                    addPosteriorSums(moments[0], logits, classes);
                    return;
                }
                try (Tensor posteriors = logits.softmax(1)) {
                    addMeans(moments[0], posteriors, classes);
                }
            }
        }

        /**
         * The posteriors' sums by predicted class from float32 CPU rows, each row read once into L1: its
         * float32 exps and their float64 sum s (the softmax kernel), then e_j / s added to its class's
         * float64 sums. The classes in parallel, each summing its own rows: no row of posteriors written
         * and read back, no scatter (the two-pass form took 180 ms for 50000 x 1000, where reading the
         * logits once takes 13).
         */
        private static void addPosteriorSums(Moments m, Tensor logits, long[] predicted) {
            int rows = (int) logits.size(0), classes = (int) logits.size(1);
            int[] starts = new int[classes + 1], order = new int[rows];
            for (long c : predicted) starts[(int) c + 1]++;
            for (int c = 0; c < classes; c++) starts[c + 1] += starts[c];
            int[] fill = starts.clone();
            for (int r = 0; r < rows; r++) order[fill[(int) predicted[r]]++] = r;
            long[] counts = new long[classes];
            for (int c = 0; c < classes; c++) counts[c] = starts[c + 1] - starts[c];
            double[] sums = new double[classes * classes];
            java.lang.foreign.MemorySegment seg = logits.storage().segment();
            long base = logits.offset();
            java.util.stream.IntStream.range(0, classes).parallel().forEach(c -> {
                float[] z = new float[classes], e = new float[classes];
                for (int at = starts[c]; at < starts[c + 1]; at++) {
                    long row = base + (long) order[at] * classes;
                    java.lang.foreign.MemorySegment.copy(seg, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * row, z, 0, classes);
                    double inverse = 1 / RowMath.expShiftedSum(z, classes, z[c], 1, e);   // z[c] is the row's max
                    for (int j = 0; j < classes; j++) sums[c * classes + j] += e[j] * inverse;
                }
            });
            m.addSums(sums, counts);
        }

        @Override
        protected void install(KLMatching detector) {
            int classes = (int) rowShape()[0];
            // Classes never predicted keep a row of 1 (never read: scored +inf).
            double[] dists = new double[classes * classes];
            java.util.Arrays.fill(dists, 1);
            long[] counts = new long[classes];
            for (long c : moments[0].labels()) {
                counts[(int) c] = moments[0].count(c);
                System.arraycopy(moments[0].mean(c), 0, dists, (int) c * classes, classes);
            }
            detector.putState("dists", Tensor.of(dists, classes, classes));
            detector.putState("counts", Tensor.of(counts));
        }
    }

    /** log d_c (C x C) and which classes have a typical posterior, read from the state once per fit. */
    private record Fitted(double[][] logDists, boolean[] seen) {}

    private volatile Fitted cache;

    private Fitted fitted() {
        Fitted f = cache;
        if (f == null) {
            double[][] logD = state("dists").toDoubleMatrix();
            for (double[] row : logD) for (int j = 0; j < row.length; j++) row[j] = Math.log(row[j]);
            long[] counts = state("counts").toLongArray();
            boolean[] seen = new boolean[counts.length];
            for (int c = 0; c < counts.length; c++) seen[c] = counts[c] > 0;
            f = cache = new Fitted(logD, seen);
        }
        return f;
    }

    @Override
    protected void clearState() {
        super.clearState();
        cache = null;
    }

    /**
     * One fused pass per row: with m = max z, e_j = exp(z_j - m) and s = sum e_j (p = e / s),
     * KL = sum_j p_j (log p_j - log d_j) = (sum_j e_j (z_j - m) - sum_{e_j > 0} e_j log d_j) / s - log s.
     */
    @Override
    protected Tensor scoreChunk(Tensor logits) {
        Fitted f = fitted();
        return logits.reduceRows((z, e, n) -> {
            int predicted = RowMath.argmax(z, n);
            if (!f.seen()[predicted]) return Double.POSITIVE_INFINITY;
            double m = z[predicted];
            System.arraycopy(z, 0, e, 0, n);
            double sum = RowMath.expShiftedSum(e, n, m, true);
            double[] logD = f.logDists()[predicted];
            double ez = 0, ed = 0;
            for (int j = 0; j < n; j++) {
                double ej = e[j];
                if (ej > 0) {
                    ez += ej * (z[j] - m);
                    ed += ej * logD[j];
                }
            }
            return (ez - ed) / sum - Math.log(sum);
        });
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of();
    }
}
