package org.ood4j.engine.backend;

import org.ood4j.engine.Tensor;

/** Matrix products over strided operands (transposed views need no copy by the caller). */
public interface MatmulOps {
    /** (M,K)@(K,N), or batched (B,M,K)@(B,K,N); a 2-D operand broadcasts over the batch. */
    Tensor matmul(Tensor a, Tensor b);
}
