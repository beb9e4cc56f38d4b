package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.cpu.RowMath;
import org.ood4j.engine.backend.KnnOps;

/**
 * Nearest-neighbour guidance, from Park et al., "Nearest Neighbor Guidance for
 * Out-of-Distribution Detection" (ICCV 2023):
 * <pre>  score(z) = -( 1/k sum_{b in N_k(z)} <z, b> ) * E(z),   E(z) = logsumexp(z W^T + b)</pre>
 * over a bank of energy-scaled ID features {E(z_i) z_i}, N_k by largest inner product. Raw
 * features, no normalisation (as pytorch-ood). The bank is built a chunk at a time, spilled to
 * disk and memory-mapped ({@link BankDetector}).
 *
 * <p>{@code bank_dtype} bfloat16 or float16 halves the bank; each inner product then moves by at
 * most 2^-8 (bfloat16) or 2^-11 (float16) times ||z|| times the largest bank row norm. Measured
 * at 200,000 x 2048 against the float32 bank: scores within 1.3e-4 (bfloat16) and 1.6e-5
 * (float16) relative ({@code bench/results/2026-12-06-knn-16bit-bank.md}). float16 refuses an
 * energy-scaled bank value over 65504 at the fit.
 */
public final class NNGuide extends BankDetector {
    private final LinearHead head;

    public NNGuide(Function<Tensor, Tensor> model, Tensor w, Tensor b) {
        this(model, w, b, 10);
    }

    public NNGuide(Function<Tensor, Tensor> model, Tensor w, Tensor b, int k) {
        this(model, w, b, k, FEATURES);
    }

    /**
     * @param bankDtype the bank's dtype: features (the fit features' own), float32, float64,
     *     bfloat16 or float16 — the 16-bit ones halve the bank, moving each inner product by at
     *     most 2^-8 (bfloat16) or 2^-11 (float16) times ||z|| times the largest bank row norm
     *     ({@link BankDetector})
     */
    public NNGuide(Function<Tensor, Tensor> model, Tensor w, Tensor b, int k, String bankDtype) {
        super(model, k, bankDtype);
        this.head = new LinearHead(w, b);
    }

    @Override protected long expectedDim() { return head.inputDim(); }

    /**
     * E(z) z in the features' precision, E(z) from one fused float64 pass over the rows (no logits
     * matrix) and rounded to that precision first: float32 features search a float32 bank (the
     * GEMM of the search at twice the float64 rate); the k inner products found are then
     * recomputed exactly (in float64) from the stored rows by the search.
     */
    @Override
    protected Tensor bankRows(Tensor features) {
        try (Tensor scale = energies(features)) {
            return features.mul(scale);
        }
    }

    /**
     * E(z) z written into the held bank's block: the product straight into its place, no tensor of it
     * and no copy (another bank dtype converts it there, as {@link Tensor#mul(Tensor, Tensor)} does).
     */
    @Override
    protected void bankRowsInto(Tensor features, Tensor into) {
        if (into.device() != features.device()) {
            super.bankRowsInto(features, into);   // features on a GPU: through bankRows, moved by the copy
            return;
        }
        if (features.device() == Device.CPU && features.dtype() == DType.FLOAT32 && into.dtype() == DType.FLOAT32) {
            scaledRowsInto(features, into);
            return;
        }
        try (Tensor scale = energies(features)) {
            features.mul(scale, into);
        }
    }

    /**
     * Float32 rows: E(z) and E(z) z from one read of each row (the row's energy from its float32 head
     * logits, the row scaled by E rounded to float32 while it is in L1 and written to its bank row):
     * the same bits as {@link #energies} then the multiply, which read the 50000 x 512 rows twice and
     * wrote the scaled copy in a pass of its own.
     */
    private void scaledRowsInto(Tensor features, Tensor into) {
        float[][] weights = head.weightFloatRows();
        try (Tensor energy = features.reduceFiniteRowsInto(into, (z, scratch, n) -> {
            double e = head.rowLogSumExp(weights, z, scratch, n);
            RowMath.scale(z, n, (float) e);
            return e;
        })) {
            requireFiniteEnergies(energy);
        }
    }

    /** The fit checked its rows for NaN and infinity: a non-finite energy is the head's logits overflowing, refused (not a bank of infinities). */
    private void requireFiniteEnergies(Tensor energy) {
        if (!energy.allFinite()) {
            throw new IllegalArgumentException(name() + ": a fit row's energy logsumexp(z W^T + b) is not finite (the head's logits overflow)");
        }
    }

    /** E(z) of each row as a column (n, 1) in the features' precision. */
    private Tensor energies(Tensor features) {
        try (Tensor energy = head.logSumExps(features); Tensor scale = energy.to(features.dtype())) {
            requireFiniteEnergies(energy);
            return scale.reshape(-1, 1);   // a view: the storage lives while it does
        }
    }

    @Override
    protected KnnOps.Metric metric() {
        return KnnOps.Metric.INNER_PRODUCT;
    }

    @Override
    public Tensor scoreNeighbours(Tensor features, Tensor values) {
        return values.to(DType.FLOAT64).mean(1).mul(head.logSumExps(features)).neg();
    }

    @Override
    public void close() {
        super.close();
        head.close();
    }

    @Override
    public java.util.Map<String, Object> params() {
        return params(java.util.Map.of("w", head.weight(), "b", head.bias()));
    }
}
