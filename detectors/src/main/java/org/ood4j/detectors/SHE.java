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
public final class SHE extends FeaturesDetector implements StreamingFit {
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

    /** One pass: per class, the mean of the fit rows of that class the head classifies correctly. */
    @Override
    public FitAccumulator fitAccumulator(int pass) {
        return new PatternFit(this);
    }

    /** Class means of the correctly classified rows, and the class count: the head's, or the largest label + 1 if above. */
    private static final class PatternFit extends MomentsAccumulator<SHE> {
        private long classes;

        PatternFit(SHE detector) {
            super(detector, 0, new Moments(Moments.Scatter.NONE));
        }

        @Override
        protected void addId(Tensor rows, long[] labels) {
            Predictions p = detector().headPredictions(rows);
            long[] predicted = p.classOf();
            classes = Math.max(classes, p.classes());
            long[] kept = labels.clone();   // the rows the head classifies correctly keep their label; the others are dropped (-1)
            for (int i = 0; i < labels.length; i++) {
                classes = Math.max(classes, labels[i] + 1);
                if (predicted[i] != labels[i]) kept[i] = -1;
            }
            if (java.util.Arrays.stream(kept).allMatch(l -> l < 0)) return;
            addMeans(moments[0], rows, kept);
        }

        @Override
        protected void mergeFrom(ChunkAccumulator<SHE> other) {
            super.mergeFrom(other);
            classes = Math.max(classes, ((PatternFit) other).classes);
        }

        @Override
        protected void install(SHE detector) {
            int k = Math.toIntExact(classes);
            long dim = rowShape()[0];
            double[] patterns = new double[Math.toIntExact(k * dim)];
            long[] counts = new long[k];
            if (moments[0].dim() >= 0) {
                for (long c : moments[0].labels()) {
                    counts[(int) c] = moments[0].count(c);
                    System.arraycopy(moments[0].mean(c), 0, patterns, (int) (c * dim), (int) dim);
                }
            }
            detector.putState("patterns", Tensor.of(patterns, k, dim));
            detector.putState("has_pattern", Tensor.of(counts).gt(Tensor.scalar(0, DType.INT64)));
        }
    }

    /** The head's predicted class of each row, and how many classes the head scores. */
    private record Predictions(long[] classOf, long classes) {}

    /** The head's argmax of each row: one fused pass for a linear head, else its logits' argmax. */
    private Predictions headPredictions(Tensor rows) {
        if (head instanceof LinearHead linear) return new Predictions(linear.predictedClasses(rows), linear.classes());
        try (Tensor logits = head.apply(rows); Tensor argmax = logits.argmax(1)) {
            return new Predictions(argmax.toLongArray(), logits.size(1));
        }
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
