package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.cpu.RowMath;

/**
 * Simplified Hopfield energy, from Zhang et al., "Out-of-Distribution Detection based on
 * In-Distribution Data Patterns Memorization with Modern Hopfield Energy" (ICLR 2023):
 * <pre>  score(z) = -<z, S_yhat>,   yhat = argmax head(z)</pre>
 * with the stored pattern S_c = mean of the ID fit features of class c that the head classifies
 * as c. A sample predicted as a class without a stored pattern (no fit sample of that class was
 * classified correctly) scores +infinity, never NaN.
 */
public final class SHE extends FeaturesDetector {
    private final Function<Tensor, Tensor> head;

    /**
     * @param backbone features from raw inputs (or null)
     * @param head     logits from features; a {@link LinearHead} is owned (closed with the detector)
     */
    public SHE(Function<Tensor, Tensor> backbone, Function<Tensor, Tensor> head) {
        super(backbone);
        if (head == null) throw new IllegalArgumentException("SHE needs a head (features to logits)");
        this.head = head;
    }

    @Override public boolean requiresFit() { return true; }

    @Override protected boolean requiresLabels() { return true; }

    @Override
    protected void fitOnId(Tensor features, Tensor labels) {
        Tensor z = features.to(DType.FLOAT64);
        Tensor predicted = head.apply(features).argmax(1);
        int classes = (int) Math.max(head.apply(features.slice(0, 0, 1)).size(1), labels.max().item() + 1);
        // Correctly classified rows keep their label; the others get -1 and are skipped by the grouping.
        Tensor correct = predicted.eq(labels);
        Tensor group = Tensor.where(correct, labels, Tensor.scalar(-1, DType.INT64));
        Tensor counts = Tensor.groupCount(group, classes);
        Tensor seen = counts.gt(Tensor.scalar(0, DType.INT64));
        putState("patterns", Tensor.where(seen.unsqueeze(1), z.groupMean(group, classes), Tensor.scalar(0, DType.FLOAT64)));
        putState("has_pattern", seen);
    }

    @Override
    protected Tensor scoreChunk(Tensor features) {
        if (head instanceof LinearHead linear) return scoreFused(features, linear);
        Tensor z = features.to(DType.FLOAT64);
        Tensor predicted = head.apply(features).argmax(1);
        Tensor patterns = state("patterns");
        if (predicted.max().item() >= patterns.size(0)) {
            throw new IllegalArgumentException("SHE: the head predicts class " + (long) predicted.max().item() + ", fitted on "
                    + patterns.size(0) + " classes");
        }
        Tensor energy = z.mul(patterns.indexSelect(0, predicted)).sum(1).neg();
        Tensor known = state("has_pattern").indexSelect(0, predicted);
        return Tensor.where(known, energy, Tensor.scalar(Double.POSITIVE_INFINITY, DType.FLOAT64));
    }

    /** One pass per row for a linear head: the C logits, then the inner product with the predicted class's pattern. */
    private Tensor scoreFused(Tensor features, LinearHead linear) {
        double[][] w = linear.weightRows(), patterns = state("patterns").toDoubleMatrix();
        double[] b = linear.biasValues();
        long[] has = state("has_pattern").to(DType.INT64).toLongArray();
        int classes = w.length;
        if (classes > patterns.length) {
            // as the unfused form: a class the fit never saw cannot be scored
            Tensor predicted = head.apply(features).argmax(1);
            if (predicted.max().item() >= patterns.length) {
                throw new IllegalArgumentException("SHE: the head predicts class " + (long) predicted.max().item() + ", fitted on "
                        + patterns.length + " classes");
            }
        }
        return features.reduceRows((z, scratch, n) -> {
            int c = LinearHead.rowLogits(w, b, z, n, new double[classes]);
            if (has[c] == 0) return Double.POSITIVE_INFINITY;
            return 0 - RowMath.dot(z, patterns[c], n);
        });
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("head", LinearHead.paramsOf(head));
    }

    @Override
    public void close() {
        super.close();
        if (head instanceof LinearHead owned) owned.close();
    }
}
