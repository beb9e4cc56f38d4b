package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * Variational rectified activations, from Xu et al., "VRA: Variational Rectified Activation for
 * Out-of-distribution Detection" (NeurIPS 2023), in pytorch-ood's form: per element of the
 * (C, H, W) map, lower and upper bounds are percentiles of the ID fit maps, and
 * <pre>  score(x) = detector(head(clip(backbone(x), lower, upper)))</pre>
 * Percentiles in [0, 100] with linear interpolation (torch.quantile).
 *
 * <p>The fit streams: the bounds are exact while the fit rows fit the reservoir of
 * {@link #reservoirRows} maps (256 MiB of float64 values: 32,768 maps of 64 x 4 x 4, 334 of
 * ResNet-50's 2048 x 7 x 7); beyond it they are the percentiles of a uniform sample of that
 * many fit maps (reservoir sampling, fixed seed: the same data in the same order give the same
 * bounds). By the Dvoretzky–Kiefer–Wolfowitz inequality a bound then has the rank of a percentile
 * within ±100 sqrt(ln(2/delta) / (2 R)) of the requested one with probability 1 - delta, per element:
 * ±1.15 percentile points at R = 20,000 and delta = 0.01. The bounds are computed in float64 and
 * kept in the fit maps' dtype (torch.quantile of float32 maps is float32).
 */
public final class VRA extends FeatureMapsDetector implements StreamingFit {
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

    /** The reservoir's budget in float64 values: 256 MiB. */
    static final long RESERVOIR_VALUES = 1L << 25;

    /** How many fit maps of {@code elements} values each the reservoir keeps (the quantiles are exact up to that many). */
    static int reservoirRows(long elements) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE - 8, RESERVOIR_VALUES / elements));
    }

    /** One pass: a reservoir of fit maps, then the percentiles of every element over it. */
    @Override
    public FitAccumulator fitAccumulator(int pass) {
        return new BoundsFit(this);
    }

    private static final class BoundsFit extends ChunkAccumulator<VRA> {
        private Reservoir reservoir;
        /** The fit maps' dtype: the bounds are stored in it (torch.quantile of float32 maps is float32). */
        private DType type;

        BoundsFit(VRA detector) {
            super(detector, 0);
        }

        @Override
        protected void addId(Tensor maps, long[] labels) {
            long elements = maps.numel() / maps.size(0);
            if (reservoir == null) reservoir = new Reservoir(reservoirRows(elements), (int) elements);
            widen(maps.dtype());
            reservoir.add(maps.toDoubleArray(), (int) maps.size(0));
        }

        @Override
        protected void mergeFrom(ChunkAccumulator<VRA> other) {
            Reservoir theirs = ((BoundsFit) other).reservoir;
            if (theirs == null) return;
            if (reservoir == null) reservoir = new Reservoir(theirs.capacity(), theirs.width());
            reservoir.merge(theirs);
            if (((BoundsFit) other).type != null) widen(((BoundsFit) other).type);
        }

        /** The bounds' dtype: that of every fit chunk (float64 when float32 and float64 chunks meet). */
        private void widen(DType t) {
            type = type == null ? t : DType.promote(type, t);
        }

        @Override
        protected void install(VRA detector) {
            long[] shape = rowShape();
            try (Scope s = Scope.open()) {
                // each map element's values over the kept maps as one contiguous row (a tiled transpose):
                // the sort then reads a row, not one cache line per value; both percentiles from one sort
                Tensor m = Tensor.of(reservoir.rows(), reservoir.size(), shape[0] * shape[1] * shape[2]);
                Tensor bounds = m.t().contiguous().quantile(
                        new double[] {detector.lowerPercentile / 100, detector.upperPercentile / 100}, 1, false);
                // quantiles in float64, then rounded to the maps' dtype: float32 maps are clamped by float32
                // bounds, as pytorch-ood's clip does, and the clamp and pool stay a float32 pass
                detector.putState("lower", bounds.select(0, 0).reshape(shape).to(type));
                detector.putState("upper", bounds.select(0, 1).reshape(shape).to(type));
            }
        }
    }

    @Override
    protected Tensor shape(Tensor maps) {
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
