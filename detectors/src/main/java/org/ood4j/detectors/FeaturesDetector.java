package org.ood4j.detectors;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * A detector whose scores are a function of a feature vector per sample (the penultimate layer
 * of a network, or any embedding). The model, when given, is the encoder: raw inputs to features.
 * Features are validated once here (2-D, floating, finite, the fitted dimension) and scored in
 * row chunks so memory does not grow with the batch size.
 */
public abstract class FeaturesDetector extends AbstractDetector {
    private volatile long fittedDim = -1;

    protected FeaturesDetector(Function<Tensor, Tensor> encoder) {
        super(encoder);
    }

    /**
     * Fits on features (N, D) and int64 labels (N,), or null labels where the detector needs none;
     * rows with a label below 0 are ignored.
     */
    public FeaturesDetector fitFeatures(Tensor features, Tensor labels) {
        if (!requiresFit()) return this;
        if (this instanceof StreamingFit) {
            // in chunks of bounded size, each pass over the (possibly memory-mapped) features in place
            fitStreamed(acc -> acc.add(features, labels));
            return this;
        }
        Inputs.requireMatrix(features, "features");
        Inputs.requireFinite(features, "features");
        if (labels == null && requiresLabels()) throw new IllegalArgumentException(name() + " needs class labels to fit");
        if (labels != null) Inputs.requireLabels(labels, features.size(0), -1);
        if (expectedDim() >= 0 && features.size(1) != expectedDim()) {
            throw new IllegalArgumentException(name() + ": features have dimension " + features.size(1) + ", expected " + expectedDim());
        }
        startFit(features.device());
        try (Scope s = Scope.open()) {
            Tensor[] id = labels == null ? new Tensor[] {features, null} : Inputs.idRows(features, labels);
            if (id[0].size(0) == 0) throw new IllegalArgumentException(name() + ": every fit sample has a label < 0 (OOD); nothing to fit");
            fitOnId(id[0], id[1]);
        }
        fittedDim = features.size(1);
        markFitted();
        return this;
    }

    /** Outlier scores (N,) float64 for features (N, D). */
    public Tensor predictFeatures(Tensor features) {
        if (!scoresFlagNonFinite()) {
            checkFeatures(features);
            return Inputs.scoreRows(features, this::scoreChunk);
        }
        checkShape(features);
        Tensor scores = Inputs.scoreRows(features, this::scoreChunk);
        try (Tensor total = scores.sum()) {
            if (Double.isFinite(total.item())) return scores;   // every score finite: so was every feature
        }
        try {
            Inputs.requireFinite(features, "features");   // the message names the first bad row
        } catch (RuntimeException e) {
            scores.close();
            throw e;
        }
        return scores;
    }

    /**
     * Whether a feature row holding NaN or an infinity always scores NaN or an infinity: then the
     * features are checked through the scores (one pass over N scores, not over N x D features),
     * and only a score that is not finite sends them to the full check, for its message.
     */
    protected boolean scoresFlagNonFinite() { return false; }

    /** Checks features to score: a fitted detector, a finite matrix (N, D) of the fitted dimension. */
    protected void checkFeatures(Tensor features) {
        checkShape(features);
        Inputs.requireFinite(features, "features");
    }

    /** A fitted detector, a matrix (N, D) of the fitted dimension. */
    private void checkShape(Tensor features) {
        requireFitted(features);
        Inputs.requireMatrix(features, "features");
        long dim = fittedDim >= 0 ? fittedDim : expectedDim();
        if (dim >= 0 && features.size(1) != dim) {
            throw new IllegalArgumentException(name() + ": features have dimension " + features.size(1) + ", expected " + dim);
        }
    }

    @Override
    void checkFitChunk(Tensor rows, Tensor labels, long firstRow) {
        Inputs.requireMatrix(rows, "features");
        Inputs.requireFinite(rows, "features", firstRow);
        if (labels == null && requiresLabels()) throw new IllegalArgumentException(name() + " needs class labels to fit");
        if (labels != null) Inputs.requireLabels(labels, rows.size(0), -1);
        if (expectedDim() >= 0 && rows.size(1) != expectedDim()) {
            throw new IllegalArgumentException(name() + ": features have dimension " + rows.size(1) + ", expected " + expectedDim());
        }
    }

    @Override
    void fitCompleted(long rows, long[] rowShape) {
        fittedDim = rowShape[0];
        super.fitCompleted(rows, rowShape);
    }

    @Override
    java.util.Map<String, Object> fitInfo() {
        return fittedDim < 0 ? java.util.Map.of() : java.util.Map.of("dim", fittedDim);
    }

    @Override
    void restoreFitInfo(java.util.Map<String, Object> info) {
        fittedDim = info.get("dim") instanceof Number n ? n.longValue() : -1;
    }

    /** Whether fitting needs labels (class-conditional detectors). */
    protected boolean requiresLabels() { return false; }

    /** The feature dimension the parameters imply (e.g. a head's input size), or -1. */
    protected long expectedDim() { return -1; }

    /** Fits on in-distribution rows (labels may be null); called inside a scope. */
    protected void fitOnId(Tensor features, Tensor labels) {}

    /** Scores one validated chunk: (n, D) to (n,) float64. */
    protected abstract Tensor scoreChunk(Tensor features);

    @Override
    public Detector fit(Iterable<Batch> data) {
        return fitBatches(data, requireModel());
    }

    /**
     * Fits on features given in chunks — a training set's shards, or a file read piece by piece:
     * each {@link Batch} holds features (n, D) and int64 labels (n,) or null (in every chunk or
     * none). A streaming fit ({@link StreamingFit}) adds them chunk by chunk and iterates them once
     * per pass, so memory holds one chunk; any other fit gathers them first.
     */
    public FeaturesDetector fitFeatures(Iterable<Batch> chunks) {
        return fitBatches(chunks, features -> features);
    }

    /** Fits on the batches' {@code encoder}ed inputs and labels. */
    private FeaturesDetector fitBatches(Iterable<Batch> data, Function<Tensor, Tensor> encoder) {
        if (this instanceof StreamingFit) {
            fitStreamed(acc -> feed(acc, data, encoder));
            return this;
        }
        try (Scope s = Scope.open()) {
            List<Tensor> features = new ArrayList<>(), labels = new ArrayList<>();
            for (Batch b : data) {
                features.add(encoder.apply(b.x()));
                if (b.y() != null) labels.add(b.y());
            }
            if (features.isEmpty()) throw new IllegalArgumentException(name() + ": fit got no batches");
            if (!labels.isEmpty() && labels.size() != features.size()) {
                throw new IllegalArgumentException(name() + ": some batches have labels and some do not");
            }
            fitFeatures(Tensor.cat(features, 0), labels.isEmpty() ? null : Tensor.cat(labels, 0));
        }
        return this;
    }

    @Override
    public Tensor predict(Tensor x) {
        Function<Tensor, Tensor> encoder = requireModel();
        requireFitted();
        try (Tensor features = encoder.apply(x)) {
            return predictFeatures(features);
        }
    }
}
