package org.ood4j.detectors;

import java.util.List;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;

/**
 * Mahalanobis over several layers, from Lee et al. (NeurIPS 2018), the feature ensemble:
 * <pre>  score(x) = sum_l alpha_l * 1/2 min_k d_lk(z_l)</pre>
 * with one class-conditional Gaussian (shared covariance, as {@link Mahalanobis}) per layer; a
 * layer output of shape (N, C, H, W) is averaged over H, W first, a 2-D output is used as it is.
 * alpha defaults to all ones.
 */
public final class MultiMahalanobis extends StructuredDetector {
    private final double[] alpha;

    /** @param alpha one weight per layer, or null for all ones */
    public MultiMahalanobis(double[] alpha) {
        this(null, null, alpha);
    }

    /**
     * On a network: chunk i of the network ends at layer {@code chunkEnds[i]}, whose output is
     * layer i's representation (pytorch-ood's list of modules, as indices).
     */
    public MultiMahalanobis(org.ood4j.models.Sequential network, int[] chunkEnds, double[] alpha) {
        super(network, chunkEnds);
        this.alpha = alpha == null ? null : alpha.clone();
    }

    @Override public boolean requiresFit() { return true; }

    @Override
    protected void fitOnId(List<Tensor> layers, Tensor labels) {
        checkAlpha(layers.size());
        int classes = ClassGaussians.classCount(labels);
        for (int l = 0; l < layers.size(); l++) {
            Tensor z = pooled(layers.get(l));
            ClassGaussians.requireMemory("MultiMahalanobis (layer " + l + ")", z, classes, 4);
            Tensor mu = ClassGaussians.means(z, labels, classes);
            Tensor cov = ClassGaussians.scatter(ClassGaussians.centred(z, labels, mu), ClassGaussians.SCATTER_EPS);
            putState("mu" + l, mu);
            putState("precision" + l, ClassGaussians.precision(cov));
        }
    }

    private void checkAlpha(int layers) {
        if (alpha != null && alpha.length != layers) {
            throw new IllegalArgumentException("MultiMahalanobis: " + alpha.length + " alpha weights for " + layers + " layers");
        }
    }

    /** (N, C, H, W) averaged over H, W; (N, D) as it is; in float64. */
    static Tensor pooled(Tensor layer) {
        Tensor z = layer.to(DType.FLOAT64);
        if (z.rank() == 2) return z;
        return z.reshape(z.size(0), z.size(1), -1).mean(2);
    }

    @Override
    protected Tensor scoreChunk(List<Tensor> layers, Tensor logits) {
        checkAlpha(layers.size());
        Tensor total = null;
        for (int l = 0; l < layers.size(); l++) {
            double w = alpha == null ? 1 : alpha[l];
            Tensor term = ClassGaussians.distances(pooled(layers.get(l)), state("mu" + l), state("precision" + l)).min(1).mul(0.5 * w);
            total = total == null ? term : total.add(term);
        }
        return total;
    }

    @Override
    public java.util.Map<String, Object> params() {
        java.util.Map<String, Object> p = new java.util.LinkedHashMap<>();
        if (alpha != null) p.put("alpha", java.util.Arrays.stream(alpha).boxed().toList());
        if (layerIndices() != null) p.put("model", java.util.Arrays.stream(layerIndices()).boxed().toList());
        return p;
    }
}
