package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.cpu.RowMath;

/**
 * Feature distance to decision boundaries, from Liu and Qin, "Fast Decision Boundary based
 * Out-of-Distribution Detector" (ICML 2024):
 * <pre>  score(z) = -1/(C-1) sum_{c != yhat} |l_yhat - l_c| / ( ||w_yhat - w_c||_2 ||z - mu||_2 )</pre>
 * with l = z W^T + b, yhat = argmax l and mu the mean ID fit feature: the distance from z to each
 * decision boundary of its class, relative to its distance from the ID centre. A feature exactly
 * at mu is the limit of that ratio: -infinity (the most in-distribution score), or 0 when it also
 * lies on every boundary — never NaN.
 */
public final class fDBD extends FeaturesDetector implements StreamingFit {
    private final LinearHead head;
    private final Tensor boundaryNorms;   // ||w_i - w_j|| (C, C)

    /** @param head the linear head; the detector owns it and closes it */
    public fDBD(Function<Tensor, Tensor> encoder, LinearHead head) {
        super(encoder);
        if (head == null) throw new IllegalArgumentException("fDBD needs a linear head");
        if (head.classes() < 2) throw new IllegalArgumentException("fDBD needs at least 2 classes, the head has " + head.classes());
        this.head = head;
        try (Scope s = Scope.open()) {
            Tensor w = head.weight();
            Tensor diff = w.unsqueeze(1).sub(w.unsqueeze(0));                    // (C, C, D)
            Tensor norms = diff.normL2(2, false);
            Tensor offDiagonal = norms.add(ClassGaussians.identity(head.classes(), norms.device()));
            if (offDiagonal.min().item() == 0) throw new IllegalArgumentException("fDBD: two rows of the head weight are identical");
            boundaryNorms = Scope.release(s.keep(norms));
        }
    }

    @Override public boolean requiresFit() { return true; }

    @Override protected long expectedDim() { return head.inputDim(); }

    /** One pass: the mean ID fit feature mu. */
    @Override
    public FitAccumulator fitAccumulator(int pass) {
        return new MomentsAccumulator.MeanFit<>(this, (d, mean) -> d.putState("mean", mean));
    }

    /** One fused pass per row: the C logits, the boundary ratios and the distance to the centre. */
    @Override
    protected Tensor scoreChunk(Tensor features) {
        double[][] w = head.weightRows(), norms = fittedNorms();
        double[] b = head.biasValues(), mean = state("mean").toDoubleArray();
        int classes = w.length;
        return features.reduceRows((z, d, n) -> {
            double[] logits = new double[classes];
            int c = LinearHead.rowLogits(w, b, z, n, logits);
            double ratios = 0;
            for (int k = 0; k < classes; k++) if (k != c) ratios += Math.abs(logits[c] - logits[k]) / norms[c][k];
            for (int j = 0; j < n; j++) d[j] = z[j] - mean[j];
            double distance = Math.sqrt(RowMath.dot(d, d, n));
            if (distance == 0) return ratios > 0 ? Double.NEGATIVE_INFINITY : 0;
            return ratios / distance / -(classes - 1.0);
        });
    }

    private volatile double[][] normRows;

    private double[][] fittedNorms() {
        double[][] r = normRows;
        if (r == null) r = normRows = boundaryNorms.toDoubleMatrix();
        return r;
    }

    /** The same score as chains of tensor ops (kept as the reference of the fused form). */
    Tensor scoreChunkUnfused(Tensor features) {
        Tensor z = features.to(DType.FLOAT64);
        Tensor logits = head.apply(z);
        Tensor predicted = logits.argmax(1, true);                               // (N, 1)
        Tensor gaps = logits.gather(1, predicted).sub(logits).abs();              // |l_yhat - l_c|, 0 at c = yhat
        Tensor norms = boundaryNorms.indexSelect(0, predicted.reshape(-1));      // ||w_yhat - w_c||
        Tensor self = Tensor.arange(logits.size(1), logits.device()).unsqueeze(0).eq(predicted);
        // The c = yhat term is 0 / 0: give it denominator 1 so it adds 0.
        Tensor ratios = gaps.div(Tensor.where(self, Tensor.scalar(1, DType.FLOAT64), norms)).sum(1);
        Tensor distance = z.sub(state("mean")).normL2(1, false);
        Tensor atCentre = distance.eq(Tensor.scalar(0, DType.FLOAT64));
        Tensor safe = Tensor.where(atCentre, Tensor.scalar(1, DType.FLOAT64), distance);
        Tensor limit = Tensor.where(ratios.gt(Tensor.scalar(0, DType.FLOAT64)),
                Tensor.scalar(Double.NEGATIVE_INFINITY, DType.FLOAT64), Tensor.scalar(0, DType.FLOAT64));
        return Tensor.where(atCentre, limit, ratios.div(safe).div(-(logits.size(1) - 1.0)));
    }

    @Override
    public void close() {
        super.close();
        head.close();
        boundaryNorms.close();
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("head", head.asParams());
    }
}
