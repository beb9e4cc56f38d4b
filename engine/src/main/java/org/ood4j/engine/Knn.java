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

    /** A bank prepared for many searches on its device's backend (see {@link KnnOps#prepare}); the bank must not change meanwhile. */
    public static Bank prepare(Tensor bank) {
        return new Bank(bank, Backends.of(bank.device()).knn().prepare(bank));
    }

    /** A bank prepared for searches mostly by {@code metric} (see {@link KnnOps#prepare(Tensor, KnnOps.Metric)}). */
    public static Bank prepare(Tensor bank, KnnOps.Metric metric) {
        return new Bank(bank, Backends.of(bank.device()).knn().prepare(bank, metric));
    }

    /** A bank and what its backend prepared of it: {@link #search(Tensor, Tensor, int, KnnOps.Metric)} with the bank fixed. */
    public static final class Bank {
        private final Tensor rows;
        private final KnnOps.Prepared prepared;

        private Bank(Tensor rows, KnnOps.Prepared prepared) {
            this.rows = rows;
            this.prepared = prepared;
        }

        /** The bank it was prepared from. */
        public Tensor rows() { return rows; }

        public Result search(Tensor queries, int k, KnnOps.Metric metric) {
            rows.checkOpen();
            Backends.sameDevice(queries, rows);
            Tensor[] r = prepared.search(queries, k, metric);
            return new Result(r[0], r[1]);
        }
    }
}
