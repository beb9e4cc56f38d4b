package org.ood4j.detectors;

import java.util.Arrays;

import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/**
 * The standard OOD metrics, as pytorch-ood's {@code OODMetrics}: OOD samples (label < 0) are the
 * positive class and a higher score means more OOD. Feed batches with {@link #update}, then
 * {@link #compute}. The curves are scikit-learn's, exact under ties: every distinct score is one
 * threshold, and areas are trapezoids.
 * <ul>
 *   <li>AUROC — area under the ROC curve.</li>
 *   <li>AUPR-OUT — area under the precision-recall curve with OOD positive (the curve stops where
 *       recall first reaches 1, then closes at recall 0, precision 1, as precision_recall_curve).</li>
 *   <li>AUPR-IN — the same with ID positive and the scores negated.</li>
 *   <li>FPR95TPR — the false-positive rate at the first ROC point (thresholds high to low) whose
 *       true-positive rate reaches 0.95.</li>
 * </ul>
 * Not thread-safe; one instance per evaluation.
 */
public final class OodMetrics {
    private double[] scores = new double[1024];
    private boolean[] ood = new boolean[1024];
    private int size;

    /** The four metrics. */
    /**
     * The metrics, and {@code threshold95}: the score of the ROC point that FPR95TPR is read at —
     * samples scoring at least this are flagged OOD, which catches at least 95% of the OOD samples
     * (OOD is the positive class here; {@link Calibration} keeps a fraction of ID samples instead).
     */
    public record Result(double auroc, double auprIn, double auprOut, double fpr95tpr, double threshold95) {
        @Override
        public String toString() {
            return String.format("AUROC %.4f  AUPR-IN %.4f  AUPR-OUT %.4f  FPR95TPR %.4f (flag scores >= %.6g)", auroc, auprIn, auprOut,
                    fpr95tpr, threshold95);
        }
    }

    /** Adds a batch: scores (N,) and labels (N,) (int64; < 0 = OOD). */
    public OodMetrics update(Tensor batchScores, Tensor labels) {
        if (batchScores.rank() != 1 || labels.rank() != 1 || batchScores.size(0) != labels.size(0)) {
            throw new IllegalArgumentException("scores and labels must be 1-D of one length, got "
                    + Shape.toString(batchScores.shape()) + " and " + Shape.toString(labels.shape()));
        }
        if (labels.dtype() != DType.INT64) throw new IllegalArgumentException("labels must be int64, got " + labels.dtype());
        double[] s = batchScores.toDoubleArray();
        long[] y = labels.toLongArray();
        requireNoNaN(s, "batch's");
        ensure(size + s.length);
        for (int i = 0; i < s.length; i++) {
            scores[size] = s[i];
            ood[size++] = y[i] < 0;
        }
        return this;
    }

    /** Scores of in-distribution samples and of OOD samples, as two arrays. */
    public OodMetrics update(double[] idScores, double[] oodScores) {
        requireNoNaN(idScores, "ID");
        requireNoNaN(oodScores, "OOD");
        ensure(size + idScores.length + oodScores.length);
        for (double v : idScores) add(v, false);
        for (double v : oodScores) add(v, true);
        return this;
    }

    private static void requireNoNaN(double[] s, String which) {
        for (int i = 0; i < s.length; i++) {
            if (Double.isNaN(s[i])) throw new IllegalArgumentException("the " + which + " score at index " + i + " is NaN");
        }
    }

    private void add(double v, boolean isOod) {
        scores[size] = v;
        ood[size++] = isOod;
    }

    private void ensure(int capacity) {
        if (capacity > scores.length) {
            int n = Math.max(capacity, scores.length * 2);
            scores = Arrays.copyOf(scores, n);
            ood = Arrays.copyOf(ood, n);
        }
    }

    public Result compute() {
        checkBothClasses();
        double[] s = Arrays.copyOf(scores, size);
        double[] negated = new double[size];
        boolean[] id = new boolean[size];
        for (int i = 0; i < size; i++) {
            negated[i] = -s[i];
            id[i] = !ood[i];
        }
        Curve out = Curve.of(s, Arrays.copyOf(ood, size));
        int at95 = out.firstAtTpr(0.95);
        return new Result(out.auroc(), Curve.of(negated, id).aupr(), out.aupr(), out.fps[at95] / out.fps[out.fps.length - 1],
                out.thresholds[at95]);
    }

    /** ROC points: false- and true-positive rates (OOD positive), from (0, 0) over every distinct threshold, high to low. */
    public record Roc(double[] fpr, double[] tpr) {}

    /** The ROC curve of the samples so far, the one {@link Result#auroc} is the area under. */
    public Roc roc() {
        checkBothClasses();
        Curve c = Curve.of(Arrays.copyOf(scores, size), Arrays.copyOf(ood, size));
        int m = c.tps.length;
        double p = c.tps[m - 1], n = c.fps[m - 1];
        double[] fpr = new double[m + 1], tpr = new double[m + 1];
        for (int i = 0; i < m; i++) {
            fpr[i + 1] = c.fps[i] / n;
            tpr[i + 1] = c.tps[i] / p;
        }
        return new Roc(fpr, tpr);
    }

    private void checkBothClasses() {
        int positives = 0;
        for (int i = 0; i < size; i++) if (ood[i]) positives++;
        if (positives == 0 || positives == size) {
            throw new IllegalStateException("the metrics need both ID and OOD samples; got " + positives + " OOD of " + size);
        }
    }

    /** True and false positive counts at each distinct threshold, from the highest score down. */
    private record Curve(double[] tps, double[] fps, double[] thresholds) {
        static Curve of(double[] score, boolean[] positive) {
            Integer[] order = new Integer[score.length];
            for (int i = 0; i < order.length; i++) order[i] = i;
            Arrays.sort(order, (a, b) -> Double.compare(score[b], score[a]));
            int distinct = 0;
            double[] tps = new double[score.length], fps = new double[score.length], thresholds = new double[score.length];
            double tp = 0, fp = 0;
            for (int r = 0; r < order.length; r++) {
                if (positive[order[r]]) tp++; else fp++;
                boolean lastOfGroup = r == order.length - 1 || score[order[r + 1]] != score[order[r]];
                if (lastOfGroup) {
                    thresholds[distinct] = score[order[r]];
                    tps[distinct] = tp;
                    fps[distinct++] = fp;
                }
            }
            return new Curve(Arrays.copyOf(tps, distinct), Arrays.copyOf(fps, distinct), Arrays.copyOf(thresholds, distinct));
        }

        double auroc() {
            double p = tps[tps.length - 1], n = fps[fps.length - 1];
            double area = 0, prevX = 0, prevY = 0;
            for (int i = 0; i < tps.length; i++) {
                double x = fps[i] / n, y = tps[i] / p;
                area += (x - prevX) * (y + prevY) / 2;
                prevX = x;
                prevY = y;
            }
            return area;
        }

        /** Trapezoid area under precision(recall), up to the first point of full recall, closed at (0, 1). */
        double aupr() {
            double p = tps[tps.length - 1];
            int last = 0;
            while (tps[last] < p) last++;
            double area = 0, prevRecall = 0, prevPrecision = 1;
            for (int i = 0; i <= last; i++) {
                double recall = tps[i] / p, precision = tps[i] / (tps[i] + fps[i]);
                area += (recall - prevRecall) * (precision + prevPrecision) / 2;
                prevRecall = recall;
                prevPrecision = precision;
            }
            return area;
        }

        /** The first ROC point (thresholds from high to low) whose TPR reaches {@code target}. */
        int firstAtTpr(double target) {
            double p = tps[tps.length - 1];
            int i = 0;
            while (tps[i] / p < target) i++;   // the last point has TPR 1
            return i;
        }
    }
}
