package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.cpu.RowMath;

/**
 * Neural-collapse inspired detection, from Liu and Qin, "Detecting Out-of-distribution through
 * the Lens of Neural Collapse" (2023):
 * <pre>  score(h) = -(h - mu_g) . w_c / ||h - mu_g||_2  -  alpha ||h||_1     (second term when alpha > 0)</pre>
 * with mu_g the mean ID fit feature (the global centre), c = argmax(h W^T + b) and w_c its row of
 * the head. A feature equal to mu_g has no direction: its first term is taken as 0.
 */
public final class NCI extends FeaturesDetector implements StreamingFit {
    private final LinearHead head;
    private final double alpha;

    /** @param head the linear head; the detector owns it and closes it */
    public NCI(Function<Tensor, Tensor> encoder, LinearHead head, double alpha) {
        super(encoder);
        if (head == null) throw new IllegalArgumentException("NCI needs a linear head");
        if (!Double.isFinite(alpha)) throw new IllegalArgumentException("alpha must be finite, got " + alpha);
        this.head = head;
        this.alpha = alpha;
    }

    @Override public boolean requiresFit() { return true; }

    @Override protected long expectedDim() { return head.inputDim(); }

    /** One pass: the mean ID fit feature mu. */
    @Override
    public FitAccumulator fitAccumulator(int pass) {
        return new MomentsAccumulator.MeanFit<>(this, (d, mean) -> d.putState("mean", mean));
    }

    /**
     * One fused pass per row, no (N, D) intermediates: the predicted class, then the centred cosine.
     * A float32 row takes its class from float32 logits (the argmax only) and keeps the centring
     * and the two dots of the score in float64.
     */
    @Override
    protected Tensor scoreChunk(Tensor features) {
        double[][] w = head.weightRows();
        float[][] wf = head.weightFloatRows();
        double[] b = head.biasValues(), mean = state("mean").toDoubleArray();
        int classes = w.length;
        return features.reduceRows((h, z, n) -> {
            int c = LinearHead.rowLogits(w, b, h, n, new double[classes]);
            double l1 = alpha > 0 ? l1(h, n) : 0;
            for (int j = 0; j < n; j++) z[j] = h[j] - mean[j];
            return score(RowMath.dot(z, w[c], n), RowMath.dot(z, z, n), l1);
        }, (h, logits, n) -> {
            int c = LinearHead.rowArgmax(wf, b, h, n, classes <= logits.length ? logits : new float[classes]);
            double l1 = 0;
            if (alpha > 0) for (int j = 0; j < n; j++) l1 += Math.abs(h[j]);
            return score(RowMath.centredDot(h, mean, w[c], n), RowMath.centredSquares(h, mean, n), l1);
        });
    }

    /** -cos(h - mu, w_c) - alpha ||h||_1 from (h - mu) . w_c, ||h - mu||^2 and ||h||_1; a feature at mu has cosine 0. */
    private double score(double dot, double squares, double l1) {
        double norm = Math.sqrt(squares);
        double cosine = norm > 0 ? dot / norm : 0;
        double score = 0 - cosine;   // 0 - x: a cosine of 0 scores +0, as before
        return alpha > 0 ? score - alpha * l1 : score;
    }

    private static double l1(double[] h, int n) {
        double s = 0;
        for (int j = 0; j < n; j++) s += Math.abs(h[j]);
        return s;
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("head", head.asParams(), "alpha", alpha);
    }

    @Override
    public void close() {
        super.close();
        head.close();
    }
}
