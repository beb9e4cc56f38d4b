package org.ood4j.detectors;

import org.ood4j.engine.Device;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/**
 * What every {@link FitAccumulator} shares: the validation of each chunk (by the detector's
 * family, rows numbered across chunks), the split into chunks of at most {@link Inputs#CHUNK_ROWS}
 * rows, the skipping of OOD rows (label < 0), the merge checks, and the end of a pass. A
 * detector's accumulator adds only what its statistic needs: {@link #addId}, {@link #mergeFrom}
 * and {@link #install}.
 */
abstract class ChunkAccumulator<D extends AbstractDetector & StreamingFit> implements FitAccumulator {
    private final transient D detector;
    private final int pass;
    private final String kind;   // the detector's class: accumulators of two kinds of detector never merge
    private long rowsSeen, idRows;
    private transient long rowsComing;   // rows of the add() in progress not yet handed to addId
    private long[] rowShape;     // the shape of one row (e.g. {D}), fixed by the first chunk
    private Device device;       // of the first chunk: where the fitted state goes

    ChunkAccumulator(D detector, int pass) {
        if (pass < 0 || pass >= detector.fitPasses()) {
            throw new IllegalArgumentException(detector.name() + ": fit pass " + pass + " does not exist (the fit has "
                    + detector.fitPasses() + ")");
        }
        this.detector = detector;
        this.pass = pass;
        this.kind = detector.getClass().getName();
    }

    /** The shape of one fit row (e.g. {D}), or null before the first rows. */
    protected long[] rowShape() { return rowShape == null ? null : rowShape.clone(); }

    /** The detector that made this accumulator (null after deserialisation). */
    protected D detector() { return detector; }

    @Override
    public final void add(Tensor rows, Tensor labels) {
        D d = owner();
        if (rows == null || rows.isClosed() || rows.rank() == 0 || rows.size(0) == 0) d.checkFitChunk(rows, labels, rowsSeen);  // names it
        if (labels != null) Inputs.requireLabels(labels, rows.size(0), -1);
        long[] shape = java.util.Arrays.copyOfRange(rows.shape(), 1, rows.rank());
        if (rowShape == null) {
            rowShape = shape;
            device = rows.device();
        } else if (!java.util.Arrays.equals(rowShape, shape)) {
            throw new IllegalArgumentException(d.name() + ": fit rows of shape " + Shape.toString(shape) + " after rows of shape "
                    + Shape.toString(rowShape));
        }
        long n = rows.size(0);
        for (long start = 0; start < n; start += Inputs.CHUNK_ROWS) {
            long end = Math.min(n, start + Inputs.CHUNK_ROWS);
            try (Scope s = Scope.open()) {
                Tensor x = rows.slice(0, start, end), y = labels == null ? null : labels.slice(0, start, end);
                d.checkFitChunk(x, y, rowsSeen + start);
                long[] ids = y == null ? null : y.toLongArray();
                if (ids != null && java.util.Arrays.stream(ids).anyMatch(v -> v < 0)) {
                    Tensor[] id = Inputs.idRows(x, y);
                    x = id[0];
                    ids = id[1].toLongArray();
                }
                rowsComing = n - start;
                if (x.size(0) > 0) addId(x, ids);
                idRows += x.size(0);
            }
        }
        rowsSeen += n;
    }

    @Override
    public final void merge(FitAccumulator other) {
        if (other == this) throw new IllegalArgumentException("an accumulator cannot be merged into itself");
        if (other == null || other.getClass() != getClass() || ((ChunkAccumulator<?>) other).pass != pass
                || !((ChunkAccumulator<?>) other).kind.equals(kind)) {
            throw new IllegalArgumentException(owner().name() + ": cannot merge " + describe(other) + " into " + describe(this));
        }
        ChunkAccumulator<?> o = (ChunkAccumulator<?>) other;
        if (o.rowShape != null) {
            if (rowShape != null && !java.util.Arrays.equals(rowShape, o.rowShape)) {
                throw new IllegalArgumentException(owner().name() + ": cannot merge fit rows of shape " + Shape.toString(o.rowShape)
                        + " into rows of shape " + Shape.toString(rowShape));
            }
            if (rowShape == null) {
                rowShape = o.rowShape;
                device = o.device;
            }
        }
        rowsSeen += o.rowsSeen;
        idRows += o.idRows;
        @SuppressWarnings("unchecked") ChunkAccumulator<D> same = (ChunkAccumulator<D>) other;   // same class: same D
        mergeFrom(same);
    }

    @Override
    public final void finish() {
        D d = owner();
        if (rowShape == null) throw new IllegalArgumentException(d.name() + ": fit got no rows");
        if (idRows == 0) throw new IllegalArgumentException(d.name() + ": every fit sample has a label < 0 (OOD); nothing to fit");
        if (pass == 0) d.startFit(device);
        try (Scope s = Scope.open()) {
            install(d);
        }
        if (pass == d.fitPasses() - 1) d.fitCompleted(rowsSeen, rowShape);
    }

    private static String describe(FitAccumulator a) {
        if (!(a instanceof ChunkAccumulator<?> c)) return a == null ? "null" : a.getClass().getName();
        return "the fit pass " + c.pass + " of " + c.kind.substring(c.kind.lastIndexOf('.') + 1);
    }

    private D owner() {
        if (detector == null) {
            throw new IllegalStateException("this accumulator was deserialised without its detector: merge it into one made by the"
                    + " detector (fitAccumulator) and finish that");
        }
        return detector;
    }

    /**
     * An upper bound on the in-distribution rows the {@code add} in progress still brings, the chunk
     * in {@link #addId} included (its rows, OOD ones too): a size hint for an accumulator that keeps
     * rows, so that one array fit allocates once.
     */
    protected long rowsComing() { return rowsComing; }

    /** In-distribution rows in {@code rows}, at most {@link Inputs#CHUNK_ROWS}, labels (>= 0) or null; inside a scope. */
    protected abstract void addId(Tensor rows, long[] labels);

    /** Folds the statistics of another accumulator of this class and pass into this one. */
    protected abstract void mergeFrom(ChunkAccumulator<D> other);

    /** Puts the fitted state into the detector (putState); inside a scope. */
    protected abstract void install(D detector);
}
