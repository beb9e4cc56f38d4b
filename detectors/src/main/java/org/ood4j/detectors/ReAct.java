package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.Tensor;

/**
 * Rectified activations, from Sun, Guo and Li, "ReAct: Out-of-distribution Detection With
 * Rectified Activations" (NeurIPS 2021):
 * <pre>  score(x) = detector(head(min(backbone(x), threshold)))</pre>
 * clipping the feature maps at {@code threshold} removes the abnormally large activations OOD
 * inputs tend to cause.
 */
public final class ReAct extends FeatureMapsDetector {
    private final double threshold;

    public ReAct(Function<Tensor, Tensor> backbone, Function<Tensor, Tensor> head, double threshold, Function<Tensor, Tensor> detector) {
        super(backbone, head, detector);
        if (Double.isNaN(threshold)) throw new IllegalArgumentException("threshold must be a number, got NaN");
        this.threshold = threshold;
    }

    @Override public boolean requiresFit() { return false; }

    @Override
    protected Tensor shape(Tensor maps) {
        return maps.clampMax(threshold);
    }

    @Override
    protected Tensor[] clampBounds(Tensor maps) {
        return new Tensor[] {null, Tensor.scalar(threshold, maps.dtype()).movedTo(maps.device())};
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("threshold", threshold, "detector", detectorName());
    }
}
