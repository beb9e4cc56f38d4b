package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;

/**
 * Neural-collapse inspired detection, from Liu and Qin, "Detecting Out-of-distribution through
 * the Lens of Neural Collapse" (2023):
 * <pre>  score(h) = -(h - mu_g) . w_c / ||h - mu_g||_2  -  alpha ||h||_1     (second term when alpha > 0)</pre>
 * with mu_g the mean ID fit feature (the global centre), c = argmax(h W^T + b) and w_c its row of
 * the head. A feature equal to mu_g has no direction: its first term is taken as 0.
 */
public final class NCI extends FeaturesDetector {
    private final LinearHead head;
    private final double alpha;

    /** @param head the linear head; the detector owns it and closes it */
    public NCI(Function<Tensor, Tensor> encoder, LinearHead head, double alpha) {
        super(encoder);
        if (head == null) throw new IllegalArgumentException("NCI needs a linear head");
        if (!Double.isFinite(alpha)) throw new IllegalArgumentException("alpha must be finite, got " + alpha);
        this.head = head;
        this.alpha = alpha;
    }

    @Override public boolean requiresFit() { return true; }

    @Override protected long expectedDim() { return head.inputDim(); }

    @Override
    protected void fitOnId(Tensor features, Tensor labels) {
        putState("mean", features.to(DType.FLOAT64).mean(0, true));
    }

    @Override
    protected Tensor scoreChunk(Tensor features) {
        Tensor h = features.to(DType.FLOAT64);
        Tensor z = h.sub(state("mean"));
        Tensor w = head.weight().indexSelect(0, head.apply(h).argmax(1));
        Tensor norm = z.normL2(1, false);
        Tensor cosine = Tensor.where(norm.gt(Tensor.scalar(0, DType.FLOAT64)), z.mul(w).sum(1).div(norm), Tensor.scalar(0, DType.FLOAT64));
        Tensor score = cosine.neg();
        return alpha > 0 ? score.sub(h.normL1(1, false).mul(alpha)) : score;
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("head", head.asParams(), "alpha", alpha);
    }

    @Override
    public void close() {
        super.close();
        head.close();
    }
}
