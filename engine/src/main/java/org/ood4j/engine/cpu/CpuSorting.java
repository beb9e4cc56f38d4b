package org.ood4j.engine.cpu;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.*;

/** Placeholder until this op family is written. */
final class CpuSorting implements SortOps {
    @Override public Tensor[] sort(Tensor x, int dim, boolean descending) { throw new UnsupportedOperationException("not yet"); }
    @Override public Tensor[] topk(Tensor x, int k, int dim, boolean largest) { throw new UnsupportedOperationException("not yet"); }
    @Override public Tensor kthvalue(Tensor x, int k, int dim, boolean keepdim) { throw new UnsupportedOperationException("not yet"); }
    @Override public Tensor quantile(Tensor x, double[] qs, int dim, boolean keepdim) { throw new UnsupportedOperationException("not yet"); }
}
