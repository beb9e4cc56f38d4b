package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryBudget;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/** Validation of detector inputs, and scoring in bounded row chunks. */
final class Inputs {
    /** Rows scored at once: bounds the intermediates of a chunk (e.g. 4096 x 1000 float64 = 32 MB). */
    static final int CHUNK_ROWS = 4096;

    private Inputs() {}

    static void requireMatrix(Tensor x, String what) {
        requireRank(x, 2, what, "(N, D)");
    }

    static void requireRank(Tensor x, int rank, String what, String form) {
        if (x == null) throw new IllegalArgumentException(what + " is null");
        x.checkOpen();
        if (x.rank() != rank) {
            throw new IllegalArgumentException(what + " must be " + rank + "-D " + form + ", got shape " + Shape.toString(x.shape()));
        }
        if (!x.dtype().isFloating()) {
            throw new IllegalArgumentException(what + " must be float32 or float64, got " + x.dtype());
        }
        if (x.size(0) == 0) throw new IllegalArgumentException(what + " is an empty batch (0 rows)");
        for (int d = 1; d < rank; d++) {
            if (x.size(d) == 0) throw new IllegalArgumentException(what + " has an empty dimension: " + Shape.toString(x.shape()));
        }
    }

    /** NaN or infinite inputs would give NaN scores: refuse them, naming the first bad row. */
    static void requireFinite(Tensor x, String what) {
        requireFinite(x, what, 0);
    }

    /** As {@link #requireFinite(Tensor, String)} for rows numbered from {@code firstRow} (a chunk of a longer input). */
    static void requireFinite(Tensor x, String what, long firstRow) {
        if (x.allFinite()) return;   // the common case in one scan; the per-row count below names the row
        try (Scope s = Scope.open()) {
            Tensor perRow = x.reshape(x.size(0), -1).countNonFinite(1);
            if (perRow.sum().item() == 0) return;
            long row = firstRow + perRow.argmax(0).getLong();
            throw new IllegalArgumentException(what + " contain NaN or infinite values (first in row " + row + ")");
        }
    }

    /**
     * After scoring with a non-finite check fused in ({@link org.ood4j.engine.Tensor#reduceFiniteRows}):
     * a NaN score means NaN or infinite input, named as {@link #requireFinite} names it; a NaN
     * score of finite input is the computation's own failure, named too — never returned.
     */
    static void requireNoNaN(Tensor scores, Tensor x, String detector, String what) {
        long row;
        try (Scope s = Scope.open()) {
            if (!Double.isNaN(scores.sum().item())) return;   // a NaN score makes the sum NaN: one pass, no mask
            Tensor nan = scores.ne(scores);
            if (nan.sum().item() == 0) return;
            row = nan.argmax(0).getLong();
        }
        scores.close();
        requireFinite(x, what);
        throw new IllegalArgumentException(detector + ": the score of row " + row + " is NaN although its " + what
                + " are finite (the arithmetic overflowed)");
    }

    /** Labels: int64 (N,) with values below {@code classes} (negative = OOD). */
    static void requireLabels(Tensor y, long n, long classes) {
        if (y == null) throw new IllegalArgumentException("labels are required for fitting");
        y.checkOpen();
        if (y.dtype() != DType.INT64) throw new IllegalArgumentException("labels must be int64, got " + y.dtype());
        if (y.rank() != 1 || y.size(0) != n) {
            throw new IllegalArgumentException("labels must have shape [" + n + "], got " + Shape.toString(y.shape()));
        }
        if (n > 0 && classes > 0) {
            try (Scope s = Scope.open()) {
                Tensor max = y.max();
                if (max.getLong() >= classes) {
                    long rows = y.eq(max).sum().getLong();
                    throw new IllegalArgumentException("label " + max.getLong() + " (" + rows(rows) + ") out of range for " + classes
                            + " classes (0.." + (classes - 1) + ")");
                }
            }
        }
    }

    /**
     * Refuses a fit whose C x C float64 class tables (C = the logits' classes) memory cannot
     * hold: {@code onHeap} of them as Java arrays, {@code offHeap} as tensors.
     */
    static void requireClassTables(String detector, Tensor logits, int onHeap, int offHeap) {
        long classes = logits.size(1);
        MemoryBudget.require(detector + ": a fit of " + classes + " classes", logits.device(),
                MemoryBudget.Need.float64(onHeap, classes, classes, "class tables"), MemoryBudget.Need.float64(offHeap, classes, classes, "class tables"),
                "use fewer classes or a detector without a class table (e.g. MaxSoftmax)");
    }

    /**
     * A nearest-neighbour detector's k against its fit rows, and the per-chunk search results
     * (k distances and indices per scored row) against memory, before the fit stores anything.
     */
    static void requireNeighbours(String detector, long rows, org.ood4j.engine.Device device, int k) {
        if (rows < k) {
            throw new IllegalArgumentException(detector + ": k = " + k + " but only " + rows + " ID fit samples");
        }
        MemoryBudget.Need results = MemoryBudget.Need.float64(1, CHUNK_ROWS, k, "distances")
                .and(MemoryBudget.Need.of(1, DType.INT64, CHUNK_ROWS, k, "indices"));
        MemoryBudget.require(detector + ": scoring with k = " + k, device, results, results, "use a smaller k");
    }

    /** "1 row", "5 rows". */
    static String rows(long count) {
        return count + (count == 1 ? " row" : " rows");
    }

    /** {x rows, labels} of the in-distribution samples (label >= 0). */
    static Tensor[] idRows(Tensor x, Tensor y) {
        try (Scope s = Scope.open()) {
            Tensor keep = y.ge(Tensor.scalar(0, DType.INT64));
            Tensor index = Tensor.arange(y.size(0), y.device()).maskedSelect(keep);
            Tensor xs = x.indexSelect(0, index);
            Tensor ys = y.indexSelect(0, index);
            s.keepAll(xs, ys);
            return new Tensor[] {xs, ys};
        }
    }

    /**
     * Raw network inputs: a floating (N, ...) batch of rank >= 2, no empty dimension, finite
     * (a NaN input would make every gradient and score NaN).
     */
    static void requireNetworkInput(Tensor x) {
        if (x == null) throw new IllegalArgumentException("input is null");
        x.checkOpen();
        if (x.rank() < 2) {
            throw new IllegalArgumentException("input must be a batch (N, ...) of rank >= 2, got shape " + Shape.toString(x.shape()));
        }
        if (!x.dtype().isFloating()) throw new IllegalArgumentException("input must be float32 or float64, got " + x.dtype());
        for (int d = 0; d < x.rank(); d++) {
            if (x.size(d) == 0) throw new IllegalArgumentException("input has an empty dimension: " + Shape.toString(x.shape()));
        }
        requireFinite(x, "inputs");
    }

    /** Applies {@code score} to chunks of rows and gathers the (N,) float64 result. */
    static Tensor scoreRows(Tensor x, Function<Tensor, Tensor> score) {
        return scoreRows(x, CHUNK_ROWS, score);
    }

    /**
     * As {@link #scoreRows(Tensor, Function)} with chunks of at most {@code chunkRows} rows. The
     * scores live on x's device (as torch returns them on the input's device).
     */
    static Tensor scoreRows(Tensor x, int chunkRows, Function<Tensor, Tensor> score) {
        long n = x.size(0);
        Tensor out = Tensor.zeros(DType.FLOAT64, x.device(), n);
        try {
            for (long start = 0; start < n; start += chunkRows) {
                long end = Math.min(n, start + chunkRows);
                try (Scope s = Scope.open()) {
                    Tensor chunk = x.slice(0, start, end);
                    out.slice(0, start, end).copyFrom(score.apply(chunk));
                }
            }
            return out;
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }
}
