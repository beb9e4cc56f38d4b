package org.ood4j.engine.backend;

import org.ood4j.engine.Tensor;

/** Reductions along one dimension, and the softmax family. */
public interface ReductionOps {
    /**
     * Reduces {@code dim}; float results keep x's floating dtype (float64 for int64 input), index
     * results are int64, and SUM, MIN and MAX of int64 stay int64 (exact, as torch).
     */
    Tensor reduce(ReduceOp op, Tensor x, int dim, boolean keepdim);

    /**
     * Whether every element of x is finite (no NaN, no infinity): the input check that most calls
     * pass, so a backend may answer it faster than counting per row, which then names the row.
     */
    default boolean allFinite(Tensor x) {
        if (!x.dtype().isFloating() || x.numel() == 0) return true;
        try (Tensor flat = x.reshape(-1); Tensor count = flat.countNonFinite(0)) {
            return count.item() == 0;
        }
    }

    /** softmax (or log_softmax when {@code log}) along {@code dim}, max-shifted for stability. */
    Tensor softmax(Tensor x, int dim, boolean log);
}
