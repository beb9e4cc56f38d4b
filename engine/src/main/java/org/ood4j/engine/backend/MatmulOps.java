package org.ood4j.engine.backend;

import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/** Matrix products over strided operands (transposed views need no copy by the caller). */
public interface MatmulOps {
    /** (M,K)@(K,N), or batched (B,M,K)@(B,K,N); a 2-D operand broadcasts over the batch. */
    Tensor matmul(Tensor a, Tensor b);

    /** The rank, dtype, inner-dimension and batch rules every backend checks first. */
    static void check(Tensor a, Tensor b) {
        if (a.rank() < 2 || a.rank() > 3 || b.rank() < 2 || b.rank() > 3) {
            throw new IllegalArgumentException("matmul needs 2-D or 3-D operands, got " + Shape.toString(a.shape())
                    + " @ " + Shape.toString(b.shape()));
        }
        if (!a.dtype().isFloating() || !b.dtype().isFloating()) {
            throw new IllegalArgumentException("matmul needs floating operands, got " + a.dtype() + " @ " + b.dtype());
        }
        if (a.size(-1) != b.size(-2)) {
            throw new IllegalArgumentException("matmul inner dimensions differ: " + Shape.toString(a.shape())
                    + " @ " + Shape.toString(b.shape()));
        }
        if (a.rank() == 3 && b.rank() == 3 && a.size(0) != b.size(0) && a.size(0) != 1 && b.size(0) != 1) {
            throw new IllegalArgumentException("matmul batch sizes differ: " + Shape.toString(a.shape())
                    + " @ " + Shape.toString(b.shape()));
        }
    }
}
