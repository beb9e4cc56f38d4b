package org.ood4j.engine;

import org.ood4j.engine.backend.KnnOps;

/** Exact k-nearest-neighbour search in a bank of rows, in blocks so memory stays bounded. */
public final class Knn {
    private Knn() {}

    /** values (Q, k) — L2 distances nearest first, or inner products largest first — and int64 indices (Q, k). */
    public record Result(Tensor values, Tensor indices) implements AutoCloseable {
        @Override public void close() { values.close(); indices.close(); }
    }

    public static Result search(Tensor queries, Tensor bank, int k, KnnOps.Metric metric) {
        Backends.sameDevice(queries, bank);
        Tensor[] r = Backends.of(queries.device()).knn().search(queries, bank, k, metric);
        return new Result(r[0], r[1]);
    }
}
