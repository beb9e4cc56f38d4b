package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.cpu.RowMath;

/**
 * Directed sparsification, from Sun and Li, "DICE: Leveraging Sparsification for
 * Out-of-Distribution Detection" (ECCV 2022). Fit: with m the mean ID feature, the contribution
 * of weight (c, j) is m_j W_cj; the weights whose contribution is not above the p-th percentile
 * of all C x D contributions are set to 0. Score: {@code detector(z W'^T + b)} (default
 * {@link EnergyBased#score}).
 */
public final class DICE extends FeaturesDetector implements StreamingFit {
    private final LinearHead head;
    private final double p;
    private final Function<Tensor, Tensor> detector;

    /** @param p sparsity percentile in [0, 100]; detector a scoring function of logits, or null for the energy */
    public DICE(Function<Tensor, Tensor> model, Tensor w, Tensor b, double p, Function<Tensor, Tensor> detector) {
        super(model);
        this.head = new LinearHead(w, b);
        this.p = Params.inRange("p", p, 0, 100);
        this.detector = detector == null ? EnergyBased.SCORE : detector;
    }

    @Override public boolean requiresFit() { return true; }

    @Override protected long expectedDim() { return head.inputDim(); }

    /** One pass: the mean ID feature m, then the sparsified head from it. */
    @Override
    public FitAccumulator fitAccumulator(int pass) {
        return new MomentsAccumulator.MeanFit<>(this, DICE::sparsify);
    }

    /** The head with the weights whose contribution m_j W_cj is not above the p-th percentile set to 0; m (1, D). */
    private void sparsify(Tensor mean) {
        Tensor contrib = head.weight().mul(mean.movedTo(head.weight().device()));                                // (C, D)
        Tensor threshold = contrib.quantile(p / 100);
        Tensor keep = contrib.gt(threshold);
        putState("threshold", threshold);
        putState("masked_weight", head.weight().mul(keep));
    }

    @Override
    protected Tensor scoreChunk(Tensor features) {
        if (detector == EnergyBased.SCORE) {
            // the default scoring: -logsumexp of the sparsified head's logits, fused per row
            double[][] w = state("masked_weight").toDoubleMatrix();
            double[] b = head.biasValues();
            return features.reduceRows((z, scratch, n) -> {
                double[] logits = new double[w.length];
                LinearHead.rowLogits(w, b, z, n, logits);
                return 0 - RowMath.logSumExp(logits, logits.length);
            });
        }
        Tensor logits = features.to(DType.FLOAT64).matmul(state("masked_weight").t()).add(head.bias());
        return detector.apply(logits).to(DType.FLOAT64);
    }

    @Override
    public void close() {
        super.close();
        head.close();
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("w", head.weight(), "b", head.bias(), "p", p, "detector", DetectorRegistry.scoringFunctionName(detector));
    }
}
