package org.ood4j.engine.backend;

import org.ood4j.engine.Tensor;

/** Exact k-nearest-neighbour search of Q query rows in an N-row bank, in blocks of bounded memory. */
public interface KnnOps {
    enum Metric {
        /** Euclidean distance, nearest first. */
        L2,
        /** Inner product, largest first. */
        INNER_PRODUCT
    }

    /** {values (Q, k), int64 indices (Q, k)}; L2 values are distances (not squared). */
    Tensor[] search(Tensor queries, Tensor bank, int k, Metric metric);
}
