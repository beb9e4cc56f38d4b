package org.ood4j.engine.backend;

import org.ood4j.engine.MemoryBudget;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/** Sorting and order statistics along one dimension. */
public interface SortOps {
    /** Stable sort: {values, int64 indices}. NaN sorts as the largest value. */
    Tensor[] sort(Tensor x, int dim, boolean descending);

    /** The k largest (or smallest) along dim, in order: {values, int64 indices}. */
    Tensor[] topk(Tensor x, int k, int dim, boolean largest);

    /** The k-th smallest value (k from 1), as torch.kthvalue. */
    Tensor kthvalue(Tensor x, int k, int dim, boolean keepdim);

    /**
     * Quantiles with linear interpolation between closest ranks (torch.quantile's default);
     * the result has a leading dimension of {@code qs.length}.
     */
    Tensor quantile(Tensor x, double[] qs, int dim, boolean keepdim);

    /** The longest row an op along one dimension takes: the CPU loads a row into one Java array. */
    long MAX_ROW = MemoryBudget.MAX_ARRAY;

    /**
     * The size of dimension {@code d} as a row length, refusing rows longer than {@link #MAX_ROW}
     * (every backend refuses the same rows; CUDA's kernels keep positions in a row as int).
     */
    static int rowLength(Tensor x, int d) {
        long n = x.size(d);
        if (n > MAX_ROW) {
            throw new IllegalArgumentException("dimension " + d + " of " + Shape.toString(x.shape())
                    + " is too long to process as one row (" + n + " > " + MAX_ROW + ")");
        }
        return (int) n;
    }

    /** The check every backend's quantile makes first: each q in [0, 1]. */
    static void checkQuantiles(double[] qs) {
        for (double q : qs) {
            if (!(q >= 0 && q <= 1)) throw new IllegalArgumentException("quantile q = " + q + " is not in [0, 1]");
        }
    }
}
