package org.ood4j.engine.backend;

import org.ood4j.engine.Tensor;

/** Elementwise ops over strided, broadcast operands; results are new contiguous tensors. */
public interface ElementwiseOps {
    /** {@code op(x; a, b)} in x's dtype (int64 input gives float64 for ops that need a fraction). */
    Tensor unary(UnaryOp op, Tensor x, double a, double b);

    /** {@code op(x, y)} with NumPy broadcasting, in the promoted dtype (int64 for comparisons). */
    Tensor binary(BinaryOp op, Tensor x, Tensor y);

    /**
     * {@link #binary} written into {@code out} (the broadcast shape; converted to out's dtype), e.g.
     * a block of a larger tensor, with no new tensor of the result: by default through one.
     */
    default void binaryInto(BinaryOp op, Tensor x, Tensor y, Tensor out) {
        try (Tensor r = binary(op, x, y)) {
            copy(r, out);
        }
    }

    /** {@code cond != 0 ? a : b}, all three broadcast. */
    Tensor where(Tensor cond, Tensor a, Tensor b);

    /** Copies {@code src} into {@code dst} of the same shape, converting the dtype. */
    void copy(Tensor src, Tensor dst);
}
