package org.ood4j.engine.cpu;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.*;

/** Placeholder until this op family is written. */
final class CpuKnn implements KnnOps {
    @Override public Tensor[] search(Tensor queries, Tensor bank, int k, KnnOps.Metric metric) { throw new UnsupportedOperationException("not yet"); }
}
