package org.ood4j.engine.backend;

import org.ood4j.engine.Tensor;

/** Gathering by index and grouping by label. Index tensors are int64. */
public interface IndexOps {
    /** out[i][j] = x[index[i][j]][j] for dim 0 (and likewise for other dims), as torch.gather. */
    Tensor gather(Tensor x, int dim, Tensor index);

    /** The slices of x at the given indices along dim, as torch.index_select. */
    Tensor indexSelect(Tensor x, int dim, Tensor index);

    /** The elements of x where mask (broadcast to x) is non-zero, as a 1-D tensor in C order. */
    Tensor maskedSelect(Tensor x, Tensor mask);

    /**
     * Per-group sums of the rows of x (N, ...) by labels (N,) in [0, groups): result (groups, ...),
     * accumulated in float64 for floating x. Rows with a negative label are skipped (OOD samples).
     */
    Tensor groupSum(Tensor x, Tensor labels, int groups);

    /**
     * {@link #groupSum} returned in {@code out} (e.g. float64 sums of float32 rows, kept to float64
     * round-off). This default converts x first; a backend that accumulates in float64 anyway
     * stores its sums in {@code out} without the copy.
     */
    default Tensor groupSum(Tensor x, Tensor labels, int groups, org.ood4j.engine.DType out) {
        if (out == x.dtype()) return groupSum(x, labels, groups);
        try (Tensor converted = x.to(out)) {
            return groupSum(converted, labels, groups);
        }
    }

    /** Number of rows per group (int64, shape (groups,)); negative labels are skipped. */
    Tensor groupCount(Tensor labels, int groups);
}
