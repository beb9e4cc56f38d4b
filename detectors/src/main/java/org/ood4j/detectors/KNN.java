package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.KnnOps;

/**
 * Deep nearest neighbours, from Sun et al., "Out-of-Distribution Detection with Deep Nearest
 * Neighbors" (ICML 2022):
 * <pre>  score(z) = || z - z_(k) ||_2</pre>
 * the Euclidean distance to the k-th nearest in-distribution fit feature (k = 1: the nearest, as
 * pytorch-ood). The bank is the ID fit features as given (pytorch-ood does not normalise them),
 * spilled to disk and memory-mapped at any size ({@link BankDetector}); the search is exact and
 * blocked in the engine: no query x bank matrix.
 *
 * <p>{@code bank_dtype} bfloat16 or float16 halves the bank; the score (a distance) then moves by
 * at most 2^-8 (bfloat16) or 2^-11 (float16) times the largest bank row norm. Measured at 200,000
 * x 2048 against the float32 bank: at most 2.5e-4 (bfloat16) and 3e-5 (float16) relative, the
 * nearest row changing for 0.8% / 0.1% of the queries (near-ties), the same search CPU time
 * ({@code bench/results/2026-12-06-knn-16bit-bank.md}).
 */
public final class KNN extends BankDetector {
    public KNN(Function<Tensor, Tensor> model) {
        this(model, 1);
    }

    /** @param k which neighbour's distance is the score (>= 1) */
    public KNN(Function<Tensor, Tensor> model, int k) {
        this(model, k, FEATURES);
    }

    /**
     * @param k which neighbour's distance is the score (>= 1)
     * @param bankDtype the bank's dtype: features (the fit features' own), float32, float64,
     *     bfloat16 or float16 — the 16-bit ones halve the bank, moving each distance by at most
     *     2^-8 (bfloat16) or 2^-11 (float16) times the largest bank row norm ({@link BankDetector})
     */
    public KNN(Function<Tensor, Tensor> model, int k, String bankDtype) {
        super(model, k, bankDtype);
    }

    @Override
    protected Tensor bankRows(Tensor features) {
        return features;
    }

    @Override
    protected KnnOps.Metric metric() {
        return KnnOps.Metric.L2;
    }

    @Override
    public Tensor scoreNeighbours(Tensor features, Tensor values) {
        return values.select(1, k - 1).to(DType.FLOAT64);
    }

    @Override
    public java.util.Map<String, Object> params() {
        return params(java.util.Map.of());
    }
}
