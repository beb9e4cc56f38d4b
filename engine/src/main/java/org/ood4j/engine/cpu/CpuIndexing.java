package org.ood4j.engine.cpu;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.*;

/** Placeholder until this op family is written. */
final class CpuIndexing implements IndexOps {
    @Override public Tensor gather(Tensor x, int dim, Tensor index) { throw new UnsupportedOperationException("not yet"); }
    @Override public Tensor indexSelect(Tensor x, int dim, Tensor index) { throw new UnsupportedOperationException("not yet"); }
    @Override public Tensor maskedSelect(Tensor x, Tensor mask) { throw new UnsupportedOperationException("not yet"); }
    @Override public Tensor groupSum(Tensor x, Tensor labels, int groups) { throw new UnsupportedOperationException("not yet"); }
    @Override public Tensor groupCount(Tensor labels, int groups) { throw new UnsupportedOperationException("not yet"); }
}
