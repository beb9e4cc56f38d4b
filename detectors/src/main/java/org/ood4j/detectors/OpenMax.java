package org.ood4j.detectors;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.IntStream;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;

/**
 * OpenMax, from Bendale and Boult, "Towards Open Set Deep Networks" (CVPR 2016), with the
 * Weibull fits of libMR.
 *
 * <p>Fit (labels >= 0, only samples whose argmax equals their label): class centres mu_c = mean
 * logit vector; distances
 * <pre>  d(l, mu) = euclid_weight ||l - mu|| + (1 - euclid_weight) (1 - l.mu / (|l| |mu|))</pre>
 * and per class a Weibull (shape k, scale lambda, location 0) fitted by maximum likelihood to the
 * {@code tailsize} largest distances, translated to t = tail + 10000 - min(tail) as libMR does. A
 * class without correctly classified fit samples gets no model and w_c = 1 at prediction, as in
 * pytorch-ood (a warning says how many); only a fit without any correct sample is refused.
 *
 * <p>Predict: with a = min(alpha, C), the class of rank r = 0..a-1 gets weight (a - r)/a and
 * probability of being an outlier w_c = 1 - exp(-((d(l, mu_c) + 10000 - min tail_c) / lambda_c)^k_c);
 * its logit is revised to l_c (1 - w_c weight), and the removed mass forms the unknown class's
 * activation v0 = sum_c l_c w_c weight. The score is softmax([v0, revised logits])_0, the
 * probability of the unknown class. All of it in float64: the Weibull shapes of translated
 * tails are in the thousands, so distances need full precision.
 */
public final class OpenMax extends LogitsDetector implements StreamingFit {
    /** libMR's translation of the tail, which keeps the fitted values far from the location 0. */
    static final double TRANSLATE = 10000;
    private static final System.Logger LOG = System.getLogger(OpenMax.class.getName());

    private final int tailsize;
    private final int alpha;
    private final double euclidWeight;
    private volatile Fitted fitted;

    public OpenMax(Function<Tensor, Tensor> model) {
        this(model, 25, 10, 1.0);
    }

    public OpenMax(Function<Tensor, Tensor> model, int tailsize, int alpha, double euclidWeight) {
        super(model);
        this.tailsize = Params.positive("tailsize", tailsize);
        this.alpha = Params.positive("alpha", alpha);
        this.euclidWeight = Params.inRange("euclid_weight", euclidWeight, 0, 1);
    }

    @Override public boolean requiresFit() { return true; }

    /** Class centres and Weibull parameters as plain arrays, built from the state once. */
    private record Fitted(int classes, double[][] mu, double[] muNorm, double[] shape, double[] scale, double[] shift) {}

    /** Two passes: the class centres, then per class the tail of the distances to its centre. */
    @Override
    public int fitPasses() { return 2; }

    @Override
    public FitAccumulator fitAccumulator(int pass) {
        return pass == 0 ? new CentreFit(this) : new TailFit(this);
    }

    /** The correctly classified rows (argmax = label) of each class, and their mean: the class centre. */
    private static final class CentreFit extends MomentsAccumulator<OpenMax> {
        CentreFit(OpenMax detector) {
            super(detector, 0, new Moments(Moments.Scatter.NONE));
        }

        @Override
        protected void addId(Tensor logits, long[] labels) {
            if (moments[0].dim() < 0) Inputs.requireClassTables("OpenMax", logits, 2, 1);   // the class centres as arrays, then as a tensor
            Correct c = correct(logits, labels);
            if (c.rows().length > 0) moments[0].add(c.flat(), c.rows().length, c.labels());
        }

        @Override
        protected void install(OpenMax detector) {
            int classes = (int) rowShape()[0];
            double[] mu = new double[classes * classes];   // a class without correct samples: centre 0 (never read, w_c = 1)
            for (long c : moments[0].labels()) System.arraycopy(moments[0].mean(c), 0, mu, (int) c * classes, classes);
            int withoutModel = classes - moments[0].labels().length;
            if (withoutModel == classes) {
                throw new IllegalArgumentException("OpenMax: no fit sample is correctly classified (argmax of its logits = its label); "
                        + "the Weibull models need some");
            }
            if (withoutModel > 0) {
                LOG.log(System.Logger.Level.WARNING, "OpenMax: {0} of {1} classes have no correctly classified fit samples and no "
                        + "Weibull model; their outlier weight is 1 at prediction (as pytorch-ood)", withoutModel, classes);
            }
            detector.putState("mu", Tensor.of(mu, classes, classes));
            detector.fitted = null;
        }
    }

    /** The correctly classified rows of a chunk as float64 rows, and their labels. */
    private record Correct(double[][] rows, long[] labels) {
        double[] flat() {
            int width = rows.length == 0 ? 0 : rows[0].length;
            double[] f = new double[rows.length * width];
            for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, f, i * width, width);
            return f;
        }
    }

    private static Correct correct(Tensor logits, long[] labels) {
        double[][] rows = logits.to(DType.FLOAT64).toDoubleMatrix();
        int[] keep = IntStream.range(0, rows.length).filter(i -> argmax(rows[i]) == labels[i]).toArray();
        return new Correct(java.util.Arrays.stream(keep).mapToObj(i -> rows[i]).toArray(double[][]::new),
                java.util.Arrays.stream(keep).mapToLong(i -> labels[i]).toArray());
    }

    /**
     * Per class, the {@code tailsize} largest distances of its correctly classified rows to its
     * centre, kept in a bounded min-heap (the smallest kept value is the one to drop), then the
     * Weibull fit of that tail.
     */
    private static final class TailFit extends ChunkAccumulator<OpenMax> {
        private final java.util.TreeMap<Long, java.util.PriorityQueue<Double>> tails = new java.util.TreeMap<>();
        private final int tailsize;
        private transient double[][] mu;

        TailFit(OpenMax detector) {
            super(detector, 1);
            tailsize = detector.tailsize;
        }

        @Override
        protected void addId(Tensor logits, long[] labels) {
            OpenMax d = detector();
            if (mu == null) mu = d.state().get("mu").toDoubleMatrix();
            Correct c = correct(logits, labels);
            for (int i = 0; i < c.labels().length; i++) {
                double[] centre = mu[(int) c.labels()[i]];
                keep(c.labels()[i], d.distance(c.rows()[i], centre, norm(centre)));
            }
        }

        private void keep(long label, double distance) {
            java.util.PriorityQueue<Double> tail = tails.computeIfAbsent(label, l -> new java.util.PriorityQueue<>());
            tail.add(distance);
            if (tail.size() > tailsize) tail.poll();
        }

        @Override
        protected void mergeFrom(ChunkAccumulator<OpenMax> other) {
            ((TailFit) other).tails.forEach((label, tail) -> tail.forEach(v -> keep(label, v)));
        }

        @Override
        protected void install(OpenMax detector) {
            int classes = (int) rowShape()[0];
            double[] params = new double[classes * 3];
            java.util.Arrays.fill(params, Double.NaN);   // no model: see reviseRow
            tails.forEach((c, tail) -> System.arraycopy(fitTail(tail.stream().mapToDouble(Double::doubleValue).toArray(), tailsize),
                    0, params, (int) (c * 3), 3));
            detector.putState("weibull", Tensor.of(params, classes, 3));
            detector.fitted = null;
        }
    }

    /** {shape k, scale lambda, shift = 10000 - min(tail)} of the tail of {@code dists}. */
    static double[] fitTail(double[] dists, int tailsize) {
        double[] sorted = dists.clone();
        java.util.Arrays.sort(sorted);
        int n = Math.min(tailsize, sorted.length);
        double[] tail = java.util.Arrays.copyOfRange(sorted, sorted.length - n, sorted.length);
        double shift = TRANSLATE - tail[0];
        double[] t = new double[n];
        for (int i = 0; i < n; i++) t[i] = tail[i] + shift;
        double[] kl = Weibull.fit(t);
        return new double[] {kl[0], kl[1], shift};
    }

    @Override
    protected Tensor scoreChunk(Tensor logits) {
        double[][] v = revise(logits);
        double[] scores = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (double a : v[i]) max = Math.max(max, a);
            double sum = 0;
            for (double a : v[i]) sum += Math.exp(a - max);
            scores[i] = Math.exp(v[i][0] - max) / sum;
        }
        return Tensor.of(scores);
    }

    /** The unknown class's activation v0 per sample (pytorch-ood's pseudo-activation). */
    public Tensor pseudoActivation(Tensor logits) {
        requireFitted();
        Inputs.requireMatrix(logits, "logits");
        double[][] v = revise(logits);
        double[] v0 = new double[v.length];
        for (int i = 0; i < v.length; i++) v0[i] = v[i][0];
        return Tensor.of(v0);
    }

    /** Rows of [v0, revised logits] for a chunk of logits. */
    private double[][] revise(Tensor logits) {
        Fitted f = fitted();
        double[][] rows = logits.to(DType.FLOAT64).toDoubleMatrix();
        int a = Math.min(alpha, f.classes());
        double[][] out = new double[rows.length][];
        IntStream.range(0, rows.length).parallel().forEach(i -> out[i] = reviseRow(rows[i], a, f));
        return out;
    }

    private double[] reviseRow(double[] l, int a, Fitted f) {
        double[] v = new double[l.length + 1];
        System.arraycopy(l, 0, v, 1, l.length);
        int[] ranked = topIndices(l, a);
        for (int r = 0; r < a; r++) {
            int c = ranked[r];
            double weight = (a - r) / (double) a;
            double w = outlierProbability(l, c, f) * weight;
            v[1 + c] = l[c] * (1 - w);
            v[0] += l[c] * w;
        }
        return v;
    }

    /** w_c(l); a class without a Weibull model (no correct fit sample) is an outlier for sure, as pytorch-ood's ws = 1. */
    private double outlierProbability(double[] l, int c, Fitted f) {
        if (Double.isNaN(f.shape()[c])) return 1;
        return Weibull.cdf(distance(l, f.mu()[c], f.muNorm()[c]) + f.shift()[c], f.shape()[c], f.scale()[c]);
    }

    private Fitted fitted() {
        Fitted f = fitted;
        if (f == null) {
            double[][] mu = state("mu").toDoubleMatrix();
            double[][] p = state("weibull").toDoubleMatrix();
            int classes = mu.length;
            double[] norms = new double[classes], k = new double[classes], lambda = new double[classes], shift = new double[classes];
            for (int c = 0; c < classes; c++) {
                norms[c] = norm(mu[c]);
                k[c] = p[c][0];
                lambda[c] = p[c][1];
                shift[c] = p[c][2];
            }
            f = fitted = new Fitted(classes, mu, norms, k, lambda, shift);
        }
        return f;
    }

    private double distance(double[] l, double[] mu, double muNorm) {
        double sq = 0, dot = 0, ll = 0;
        for (int j = 0; j < l.length; j++) {
            double d = l[j] - mu[j];
            sq += d * d;
            dot += l[j] * mu[j];
            ll += l[j] * l[j];
        }
        double euclid = Math.sqrt(sq);
        if (euclidWeight == 1) return euclid;
        double denom = Math.sqrt(ll) * muNorm;
        double cosine = denom == 0 ? 0 : dot / denom; // a zero vector has no direction: cosine distance 1
        return euclidWeight * euclid + (1 - euclidWeight) * (1 - cosine);
    }

    private static double norm(double[] v) {
        double s = 0;
        for (double x : v) s += x * x;
        return Math.sqrt(s);
    }

    private static int argmax(double[] v) {
        int best = 0;
        for (int j = 1; j < v.length; j++) if (v[j] > v[best]) best = j;
        return best;
    }

    /** Indices of the {@code a} largest values, largest first (lower index first among ties). */
    private static int[] topIndices(double[] v, int a) {
        int[] idx = new int[a];
        boolean[] taken = new boolean[v.length];
        for (int r = 0; r < a; r++) {
            int best = -1;
            for (int j = 0; j < v.length; j++) {
                if (!taken[j] && (best < 0 || v[j] > v[best])) best = j;
            }
            taken[best] = true;
            idx[r] = best;
        }
        return idx;
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("tailsize", tailsize, "alpha", alpha, "euclid_weight", euclidWeight);
    }
}
