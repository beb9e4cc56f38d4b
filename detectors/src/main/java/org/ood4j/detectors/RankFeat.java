package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.Linalg;
import org.ood4j.engine.Tensor;

/**
 * Rank-1 feature removal, from Song, Sebe and Wang, "RankFeat: Rank-1 Feature Removal for
 * Out-of-distribution Detection" (NeurIPS 2022). Each sample's maps, as a C x HW matrix X, lose
 * their dominant singular component:
 * <pre>  X' = X - s_1 u_1 v_1^T,   score = detector(head(X'))</pre>
 * The top singular pair comes from the eigenvectors of the small Gram matrix of each sample
 * (k x k, k = min(C, HW)), in float64, on the maps' device (the engine op
 * {@link Linalg#removeTopSingular}).
 */
public final class RankFeat extends FeatureMapsDetector {
    public RankFeat(Function<Tensor, Tensor> backbone, Function<Tensor, Tensor> head, Function<Tensor, Tensor> detector) {
        super(backbone, head, detector);
    }

    @Override public boolean requiresFit() { return false; }

    /**
     * X' = X - s1 u1 v1^T per sample, by the engine's {@link Linalg#removeTopSingular} on the
     * maps as (N, C, HW) matrices: float64 inside, the maps' dtype and device outside.
     */
    @Override
    protected Tensor shape(Tensor maps) {
        long[] shape = maps.shape();
        try (Tensor flat = maps.reshape(shape[0], shape[1], shape[2] * shape[3]);
             Tensor removed = Linalg.removeTopSingular(flat)) {
            return removed.reshape(shape);
        }
    }

    /**
     * The global average pool of the shaped maps, (N, C, 1, 1), without them: the row means of
     * X' by {@link Linalg#removeTopSingularRowMeans} (one read of the maps on the CPU), in the
     * maps' dtype as the pooled X' would be.
     */
    @Override
    protected Tensor pooledShape(Tensor maps) {
        long[] shape = maps.shape();
        try (Tensor flat = maps.reshape(shape[0], shape[1], shape[2] * shape[3]);
             Tensor means = Linalg.removeTopSingularRowMeans(flat)) {
            return means.reshape(shape[0], shape[1], 1, 1);
        }
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("detector", detectorName());
    }
}
