package org.ood4j.engine.backend;

import org.ood4j.engine.Tensor;

/** Reductions along one dimension, and the softmax family. */
public interface ReductionOps {
    /**
     * Reduces {@code dim}; float results keep x's floating dtype (float64 for int64 input), index
     * results are int64, and SUM, MIN and MAX of int64 stay int64 (exact, as torch).
     */
    Tensor reduce(ReduceOp op, Tensor x, int dim, boolean keepdim);

    /** softmax (or log_softmax when {@code log}) along {@code dim}, max-shifted for stability. */
    Tensor softmax(Tensor x, int dim, boolean log);
}
