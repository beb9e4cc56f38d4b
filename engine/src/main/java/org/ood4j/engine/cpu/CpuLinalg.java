package org.ood4j.engine.cpu;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.*;

/** Placeholder until this op family is written. */
final class CpuLinalg implements LinalgOps {
    @Override public Tensor cholesky(Tensor a) { throw new UnsupportedOperationException("not yet"); }
    @Override public Tensor solve(Tensor a, Tensor b) { throw new UnsupportedOperationException("not yet"); }
    @Override public Tensor inverse(Tensor a) { throw new UnsupportedOperationException("not yet"); }
    @Override public Tensor pinv(Tensor a, double rcond) { throw new UnsupportedOperationException("not yet"); }
    @Override public Tensor[] eigh(Tensor a) { throw new UnsupportedOperationException("not yet"); }
    @Override public Tensor[] svd(Tensor a, boolean full) { throw new UnsupportedOperationException("not yet"); }
    @Override public Tensor[] slogdet(Tensor a) { throw new UnsupportedOperationException("not yet"); }
}
