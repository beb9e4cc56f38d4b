package org.ood4j.engine.cpu;

import org.ood4j.engine.Device;
import org.ood4j.engine.backend.Backend;
import org.ood4j.engine.backend.ConvGradOps;
import org.ood4j.engine.backend.ConvOps;
import org.ood4j.engine.backend.ElementwiseOps;
import org.ood4j.engine.backend.IndexOps;
import org.ood4j.engine.backend.KnnOps;
import org.ood4j.engine.backend.LinalgOps;
import org.ood4j.engine.backend.MatmulOps;
import org.ood4j.engine.backend.ReductionOps;
import org.ood4j.engine.backend.SortOps;

/** The CPU backend: plain loops over off-heap segments, parallel on the common pool; EJML for decompositions. */
public final class CpuBackend implements Backend {
    private final ElementwiseOps elementwise = new CpuElementwise();
    private final ReductionOps reductions = new CpuReductions();
    private final SortOps sorting = new CpuSorting();
    private final IndexOps indexing = new CpuIndexing();
    private final MatmulOps matmul = new CpuMatmul();
    private final LinalgOps linalg = new CpuLinalg();
    private final KnnOps knn = new CpuKnn();
    private final ConvOps conv = new CpuConv();
    private final ConvGradOps convGrad = new CpuConvGrad();

    @Override public Device device() { return Device.CPU; }
    @Override public ElementwiseOps elementwise() { return elementwise; }
    @Override public ReductionOps reductions() { return reductions; }
    @Override public SortOps sorting() { return sorting; }
    @Override public IndexOps indexing() { return indexing; }
    @Override public MatmulOps matmul() { return matmul; }
    @Override public LinalgOps linalg() { return linalg; }
    @Override public KnnOps knn() { return knn; }
    @Override public ConvOps conv() { return conv; }
    @Override public ConvGradOps convGrad() { return convGrad; }
}
