package org.ood4j.engine.cpu;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.*;

/** Placeholder until this op family is written. */
final class CpuMatmul implements MatmulOps {
    @Override public Tensor matmul(Tensor a, Tensor b) { throw new UnsupportedOperationException("not yet"); }
}
