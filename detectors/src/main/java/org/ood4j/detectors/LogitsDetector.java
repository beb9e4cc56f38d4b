package org.ood4j.detectors;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * A detector whose scores are a function of the logits. {@link #predict} runs the model and
 * forwards its logits to {@link #predictLogits}; the logits are validated once here and
 * scored in row chunks, so memory does not grow with the batch size.
 */
public abstract class LogitsDetector extends AbstractDetector {
    private volatile long fittedClasses = -1;

    protected LogitsDetector(Function<Tensor, Tensor> model) {
        super(model);
    }

    /**
     * Fits on logits (N, C) and int64 labels (N,); rows with a label below 0 are ignored.
     * Detectors that need no fitting accept the call and do nothing.
     */
    public LogitsDetector fitLogits(Tensor logits, Tensor labels) {
        if (!requiresFit()) return this;
        if (this instanceof StreamingFit) {
            fitStreamed(acc -> acc.add(logits, labels));   // in chunks of bounded size, each pass over the logits in place
            return this;
        }
        Inputs.requireMatrix(logits, "logits");
        Inputs.requireFinite(logits, "logits");
        Inputs.requireLabels(labels, logits.size(0), logits.size(1));
        startFit(logits.device());
        try (Scope s = Scope.open()) {
            Tensor[] id = Inputs.idRows(logits, labels);
            if (id[0].size(0) == 0) throw new IllegalArgumentException(name() + ": every fit sample has a label < 0 (OOD); nothing to fit");
            fitOnId(id[0], id[1]);
        }
        fittedClasses = logits.size(1);
        markFitted();
        return this;
    }

    /** Outlier scores (N,) float64 for logits (N, C). */
    public Tensor predictLogits(Tensor logits) {
        requireFitted(logits);
        Inputs.requireMatrix(logits, "logits");
        if (fittedClasses >= 0 && logits.size(1) != fittedClasses) {
            throw new IllegalArgumentException(name() + ": logits have " + logits.size(1) + " classes, the detector was fitted on "
                    + fittedClasses);
        }
        checkClasses(logits.size(1));
        if (!scoresFlagNonFinite()) Inputs.requireFinite(logits, "logits");
        // a score fused into one pass per row (scoresFlagNonFinite) holds nothing but the (N,) scores, so
        // all rows go in one parallel pass: chunks of 4096 rows, each a parallel region of its own, cost
        // 1-1.5 ms of MaxSoftmax's 8-9 on 20000 x 1000 logits
        Tensor scores = Inputs.scoreRows(logits, scoresFlagNonFinite() ? Integer.MAX_VALUE : Inputs.CHUNK_ROWS, this::scoreChunk);
        if (scoresFlagNonFinite()) Inputs.requireNoNaN(scores, logits, name(), "logits");
        return scores;
    }

    /**
     * Whether {@link #scoreChunk} gives NaN for a row holding NaN or an infinity (the scores
     * through {@link Tensor#reduceFiniteRows}): then the logits are checked in the scoring pass
     * itself, not in a pass of their own, and only a NaN score sends them to the full check for
     * its message. Such a score is one pass per row, so the rows are scored in one chunk.
     */
    protected boolean scoresFlagNonFinite() { return false; }

    /**
     * f of each row of the logits — {@code f32} on float32 logits (float32 arithmetic, float64
     * sums: half the bytes and twice the vector lanes), {@code f64} on the others — a row with a
     * NaN or an infinity giving NaN when {@code flagNonFinite}.
     */
    static Tensor rows(Tensor logits, org.ood4j.engine.RowReducer f64, org.ood4j.engine.FloatRowReducer f32, boolean flagNonFinite) {
        return flagNonFinite ? logits.reduceFiniteRows(f64, f32) : logits.reduceRows(f64, f32);
    }

    @Override
    void checkFitChunk(Tensor rows, Tensor labels, long firstRow) {
        Inputs.requireMatrix(rows, "logits");
        Inputs.requireFinite(rows, "logits", firstRow);
        Inputs.requireLabels(labels, rows.size(0), rows.size(1));
    }

    @Override
    void fitCompleted(long rows, long[] rowShape) {
        fittedClasses = rowShape[0];
        super.fitCompleted(rows, rowShape);
    }

    @Override
    java.util.Map<String, Object> fitInfo() {
        return fittedClasses < 0 ? java.util.Map.of() : java.util.Map.of("classes", fittedClasses);
    }

    @Override
    void restoreFitInfo(java.util.Map<String, Object> info) {
        fittedClasses = info.get("classes") instanceof Number n ? n.longValue() : -1;
    }

    /** Fits on in-distribution rows only (labels >= 0); called inside a scope. */
    protected void fitOnId(Tensor logits, Tensor labels) {}

    /** Scores one validated chunk of rows: (n, C) to (n,). Intermediates may be left to the caller's scope. */
    protected abstract Tensor scoreChunk(Tensor logits);

    /** Checks the class count against the detector's parameters (e.g. WeightedEBO's weights). */
    protected void checkClasses(long classes) {}

    @Override
    public Detector fit(Iterable<Batch> data) {
        Function<Tensor, Tensor> m = requireModel();
        if (this instanceof StreamingFit) {
            fitStreamed(acc -> feed(acc, data, m));
            return this;
        }
        try (Scope s = Scope.open()) {
            List<Tensor> logits = new ArrayList<>(), labels = new ArrayList<>();
            for (Batch b : data) {
                logits.add(m.apply(b.x()));
                labels.add(b.y());
            }
            if (logits.isEmpty()) throw new IllegalArgumentException(name() + ": fit got no batches");
            fitLogits(Tensor.cat(logits, 0), Tensor.cat(labels, 0));
        }
        return this;
    }

    @Override
    public Tensor predict(Tensor x) {
        Function<Tensor, Tensor> m = requireModel();
        requireFitted();
        try (Tensor logits = m.apply(x)) {
            return predictLogits(logits);
        }
    }
}
