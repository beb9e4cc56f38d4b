package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Knn;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.KnnOps;

/**
 * Nearest-neighbour guidance, from Park et al., "Nearest Neighbor Guidance for
 * Out-of-Distribution Detection" (ICCV 2023):
 * <pre>  score(z) = -( 1/k sum_{b in N_k(z)} <z, b> ) * E(z),   E(z) = logsumexp(z W^T + b)</pre>
 * over a bank of energy-scaled ID features {E(z_i) z_i}, N_k by largest inner product. Raw
 * features, no normalisation (as pytorch-ood).
 */
public final class NNGuide extends FeaturesDetector {
    private final LinearHead head;
    private final int k;

    public NNGuide(Function<Tensor, Tensor> model, Tensor w, Tensor b) {
        this(model, w, b, 10);
    }

    public NNGuide(Function<Tensor, Tensor> model, Tensor w, Tensor b, int k) {
        super(model);
        this.head = new LinearHead(w, b);
        this.k = Params.positive("k", k);
    }

    @Override public boolean requiresFit() { return true; }

    @Override protected long expectedDim() { return head.inputDim(); }

    @Override
    protected void fitOnId(Tensor features, Tensor labels) {
        Inputs.requireNeighbours("NNGuide", features, k);
        Tensor z = features.to(DType.FLOAT64);
        Tensor bank = z.mul(head.apply(z).logsumexp(1, true));
        // the bank keeps the features' precision: float32 features search a float32 bank (the
        // GEMM of the search at twice the float64 rate); the k inner products found are then
        // recomputed exactly (in float64) from the stored rows by the search
        putState("bank", features.dtype() == DType.FLOAT32 ? bank.to(DType.FLOAT32) : bank);
    }

    @Override
    protected Tensor scoreChunk(Tensor features) {
        Tensor bank = state("bank");
        try (Knn.Result r = Knn.search(features.to(bank.dtype()), bank, k, KnnOps.Metric.INNER_PRODUCT)) {
            return r.values().to(DType.FLOAT64).mean(1).mul(head.apply(features).logsumexp(1)).neg();
        }
    }

    @Override
    public void close() {
        super.close();
        head.close();
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("w", head.weight(), "b", head.bias(), "k", k);
    }
}
