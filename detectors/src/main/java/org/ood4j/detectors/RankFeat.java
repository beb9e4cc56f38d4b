package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Linalg;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * Rank-1 feature removal, from Song, Sebe and Wang, "RankFeat: Rank-1 Feature Removal for
 * Out-of-distribution Detection" (NeurIPS 2022). Each sample's maps, as a C x HW matrix X, lose
 * their dominant singular component:
 * <pre>  X' = X - s_1 u_1 v_1^T,   score = detector(head(X'))</pre>
 * The SVDs are one batched call over the chunk (the engine's batched SVD; on CUDA its
 * fallback), computed in float64.
 */
public final class RankFeat extends FeatureMapsDetector {
    public RankFeat(Function<Tensor, Tensor> backbone, Function<Tensor, Tensor> head, Function<Tensor, Tensor> detector) {
        super(backbone, head, detector);
    }

    @Override public boolean requiresFit() { return false; }

    @Override
    protected Tensor shape(Tensor maps) {
        long[] shape = maps.shape();
        try (Scope s = Scope.open()) {
            Tensor x = maps.to(DType.FLOAT64).reshape(shape[0], shape[1], shape[2] * shape[3]);
            Linalg.Svd svd = Linalg.svd(x, false);
            Tensor u1 = svd.u().slice(2, 0, 1);                  // (N, C, 1)
            Tensor s1 = svd.s().slice(1, 0, 1).unsqueeze(2);      // (N, 1, 1)
            Tensor v1 = svd.vh().slice(1, 0, 1);                 // (N, 1, HW)
            return s.keep(x.sub(u1.mul(s1).mul(v1)).reshape(shape));
        }
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("detector", detectorName());
    }
}
