package org.ood4j.engine.backend;

import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
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

    /** A bank made ready once for many searches: {@link #search(Tensor, Tensor, int, Metric)} with its bank fixed. */
    interface Prepared {
        Tensor[] search(Tensor queries, int k, Metric metric);
    }

    /**
     * The bank prepared for many searches — a detector's bank between predicts — so that work that
     * depends on the bank only (packing it for the GEMM, its norms, its finiteness check) is done
     * once. The bank must not change while the result is in use. By default nothing is prepared.
     */
    default Prepared prepare(Tensor bank) {
        return (queries, k, metric) -> search(queries, bank, k, metric);
    }

    /**
     * {@link #prepare(Tensor)} for searches mostly by {@code metric}, where a backend prepares
     * differently by metric (the CPU groups an L2 bank into cells); any metric still searches it.
     */
    default Prepared prepare(Tensor bank, Metric metric) {
        return prepare(bank);
    }

    /**
     * The checks every backend makes first: 2-D operands of one feature size, 1 <= k <= N, a
     * metric, queries that compute. The bank may be of a 16-bit storage type (BFLOAT16, FLOAT16):
     * its rows are decoded exactly to float32 as the search reads them, so the search is the same
     * exact search over the rounded bank.
     */
    static void check(Tensor queries, Tensor bank, int k, Metric metric) {
        DType.requireComputable(queries, "knn queries");
        if (queries.rank() != 2 || bank.rank() != 2) {
            throw new IllegalArgumentException("knn needs 2-D queries (Q, D) and bank (N, D), got "
                    + Shape.toString(queries.shape()) + " and " + Shape.toString(bank.shape()));
        }
        if (queries.size(1) != bank.size(1)) {
            throw new IllegalArgumentException("knn queries " + Shape.toString(queries.shape()) + " and bank "
                    + Shape.toString(bank.shape()) + " differ in feature size");
        }
        if (k < 1 || k > bank.size(0)) {
            throw new IllegalArgumentException("knn k = " + k + " must be in [1, " + bank.size(0) + "] for bank "
                    + Shape.toString(bank.shape()));
        }
        if (metric == null) throw new IllegalArgumentException("knn needs a metric");
    }
}
