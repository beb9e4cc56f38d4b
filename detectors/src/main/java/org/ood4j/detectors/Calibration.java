package org.ood4j.detectors;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A decision rule for one input, learned from scores of in-distribution (ID) validation samples:
 * a threshold, and the ID score sample behind empirical p-values.
 *
 * <p>Convention (scores: higher = more OOD). The ID samples are those to keep; {@code tpr} is the
 * fraction of them kept. With the n ID scores sorted, s_(1) <= ... <= s_(n),
 * <pre>  threshold = s_(ceil(tpr n))   (tpr = 0: -infinity, nothing is kept)
 *  is_ood(x)  = score(x) > threshold</pre>
 * so at least {@code tpr} of the ID samples score at or below it (more under ties, never fewer).
 * This is the ID-positive convention of OpenOOD's "FPR at 95% TPR" (tpr = 0.95 keeps 95% of ID
 * samples); {@link OodMetrics}' FPR95TPR counts OOD as positive instead, and its
 * {@link OodMetrics.Result#threshold95()} is the threshold of that convention.
 *
 * <p>p-value: the conformal p-value of a score under the ID sample,
 * <pre>  p(x) = (1 + #{i : s_i >= score(x)}) / (m + 1)</pre>
 * over the m stored ID scores: small means unlike the ID samples; for a test sample exchangeable
 * with them, P(p <= a) <= a. At most {@link #MAX_SAMPLE} scores are stored (a uniform sample
 * drawn with a fixed seed, so the p-values are a function of the inputs); the threshold is
 * always taken over all n.
 */
public record Calibration(double tpr, double threshold, long idCount, double[] idSample) {
    /** The largest ID sample stored for p-values (800 KB). */
    public static final int MAX_SAMPLE = 100_000;

    public Calibration {
        if (!(tpr >= 0 && tpr <= 1)) throw new IllegalArgumentException("tpr must be in [0, 1], got " + tpr);
        if (idSample.length == 0) throw new IllegalArgumentException("calibration needs at least one ID score");
        idSample = idSample.clone();
        for (int i = 1; i < idSample.length; i++) {
            if (!(idSample[i - 1] <= idSample[i])) throw new IllegalArgumentException("the ID sample must be sorted and free of NaN");
        }
    }

    /** The rule keeping a fraction {@code tpr} of the ID samples whose scores are {@code idScores}. */
    public static Calibration of(double[] idScores, double tpr) {
        if (!(tpr >= 0 && tpr <= 1)) throw new IllegalArgumentException("tpr must be in [0, 1], got " + tpr);
        if (idScores.length == 0) throw new IllegalArgumentException("calibration needs at least one ID score, got none");
        for (int i = 0; i < idScores.length; i++) {
            if (Double.isNaN(idScores[i])) throw new IllegalArgumentException("ID score " + i + " is NaN");
        }
        double[] sorted = idScores.clone();
        Arrays.sort(sorted);
        int kept = (int) Math.ceil(tpr * sorted.length);
        double threshold = kept == 0 ? Double.NEGATIVE_INFINITY : sorted[kept - 1];
        return new Calibration(tpr, threshold, sorted.length, sample(sorted));
    }

    /** A sorted uniform sample of at most MAX_SAMPLE of the sorted scores, by a seeded reservoir. */
    private static double[] sample(double[] sorted) {
        if (sorted.length <= MAX_SAMPLE) return sorted;
        int[] picked = new int[MAX_SAMPLE];
        for (int i = 0; i < MAX_SAMPLE; i++) picked[i] = i;
        SplittableRandom rng = new SplittableRandom(sorted.length);   // seeded by the data size: reproducible
        for (int i = MAX_SAMPLE; i < sorted.length; i++) {
            int j = rng.nextInt(i + 1);
            if (j < MAX_SAMPLE) picked[j] = i;
        }
        Arrays.sort(picked);
        double[] out = new double[MAX_SAMPLE];
        for (int i = 0; i < MAX_SAMPLE; i++) out[i] = sorted[picked[i]];
        return out;
    }

    @Override
    public double[] idSample() {
        return idSample.clone();
    }

    /** Whether each score is flagged OOD: score > threshold. A NaN score is refused. */
    public boolean[] isOod(double[] scores) {
        boolean[] out = new boolean[scores.length];
        for (int i = 0; i < scores.length; i++) out[i] = requireNumber(scores[i], i) > threshold;
        return out;
    }

    /** The empirical p-value of each score (see the class comment). */
    public double[] pValues(double[] scores) {
        double[] out = new double[scores.length];
        int m = idSample.length;
        for (int i = 0; i < scores.length; i++) {
            int atOrAbove = m - firstAtLeast(requireNumber(scores[i], i));
            out[i] = (1.0 + atOrAbove) / (m + 1.0);
        }
        return out;
    }

    /** The index of the first stored ID score >= x (m when none is). */
    private int firstAtLeast(double x) {
        int lo = 0, hi = idSample.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (idSample[mid] < x) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private static double requireNumber(double score, int row) {
        if (Double.isNaN(score)) throw new IllegalArgumentException("score " + row + " is NaN: it cannot be compared with the threshold");
        return score;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Calibration c && Double.compare(tpr, c.tpr) == 0 && Double.compare(threshold, c.threshold) == 0
                && idCount == c.idCount && Arrays.equals(idSample, c.idSample);
    }

    @Override
    public int hashCode() {
        return Double.hashCode(threshold) * 31 + Arrays.hashCode(idSample);
    }

    @Override
    public String toString() {
        return "Calibration[tpr=" + tpr + ", threshold=" + threshold + ", from " + idCount + " ID scores, " + idSample.length + " kept]";
    }
}
