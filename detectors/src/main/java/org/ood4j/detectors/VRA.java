package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;

/**
 * Variational rectified activations, from Xu et al., "VRA: Variational Rectified Activation for
 * Out-of-distribution Detection" (NeurIPS 2023), in pytorch-ood's form: per element of the
 * (C, H, W) map, lower and upper bounds are percentiles of the ID fit maps, and
 * <pre>  score(x) = detector(head(clip(backbone(x), lower, upper)))</pre>
 * Percentiles in [0, 100] with linear interpolation (torch.quantile).
 */
public final class VRA extends FeatureMapsDetector {
    private final double lowerPercentile, upperPercentile;

    public VRA(Function<Tensor, Tensor> backbone, Function<Tensor, Tensor> head, double lowerPercentile, double upperPercentile,
               Function<Tensor, Tensor> detector) {
        super(backbone, head, detector);
        this.lowerPercentile = Params.inRange("lower_percentile", lowerPercentile, 0, 100);
        this.upperPercentile = Params.inRange("upper_percentile", upperPercentile, 0, 100);
        if (lowerPercentile > upperPercentile) {
            throw new IllegalArgumentException("lower_percentile " + lowerPercentile + " is above upper_percentile " + upperPercentile);
        }
    }

    @Override public boolean requiresFit() { return true; }

    @Override
    protected void fitOnId(Tensor maps) {
        Tensor m = maps.to(DType.FLOAT64);
        putState("lower", m.quantile(lowerPercentile / 100, 0, false));
        putState("upper", m.quantile(upperPercentile / 100, 0, false));
    }

    @Override
    protected Tensor shape(Tensor maps) {
        // float32 maps against the float64 bounds promote to float64 in the first op: no separate conversion pass
        return maps.maximum(state("lower")).minimum(state("upper"));
    }

    @Override
    protected Tensor[] clampBounds(Tensor maps) {
        return new Tensor[] {state("lower"), state("upper")};
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("lower_percentile", lowerPercentile, "upper_percentile", upperPercentile, "detector", detectorName());
    }
}
