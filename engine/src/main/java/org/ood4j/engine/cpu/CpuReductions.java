package org.ood4j.engine.cpu;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.*;

/** Placeholder until this op family is written. */
final class CpuReductions implements ReductionOps {
    @Override public Tensor reduce(ReduceOp op, Tensor x, int dim, boolean keepdim) { throw new UnsupportedOperationException("not yet"); }
    @Override public Tensor softmax(Tensor x, int dim, boolean log) { throw new UnsupportedOperationException("not yet"); }
}
