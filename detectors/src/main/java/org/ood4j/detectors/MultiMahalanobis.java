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
 *
 * <p>The fit streams, one pass: the layers of each chunk are pooled and put side by side, and the
 * class moments of those rows kept with their pooled scatter, whose diagonal blocks are the
 * layers' pooled class scatters (the off-diagonal blocks, between layers, are computed and
 * dropped: pooled layers are narrow).
 */
public final class MultiMahalanobis extends StructuredDetector implements StreamingFit {
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
        throw new IllegalStateException("MultiMahalanobis fits through its accumulator");
    }

    @Override
    public FitAccumulator fitAccumulator(int pass) {
        return new LayersFit(this);
    }

    /** The class Gaussians of the pooled layers side by side; the layer shapes, to split them. */
    private static final class LayersFit extends ClassGaussians.GaussianFit<MultiMahalanobis> implements LayersAccumulator {
        private long[][] layerShapes;   // (rows, ...) per layer; rows counted as they are added

        LayersFit(MultiMahalanobis detector) {
            super(detector, Moments.Scatter.POOLED, 4, (d, m) -> {});
        }

        @Override
        public void addLayers(List<Tensor> layers, Tensor labels) {
            long n = detector().checkLayers(layers);
            if (labels != null) Inputs.requireLabels(labels, n, -1);
            if (layerShapes == null) {
                layerShapes = new long[layers.size()][];
                for (int l = 0; l < layers.size(); l++) layerShapes[l] = layers.get(l).shape();
                for (long[] shape : layerShapes) shape[0] = 0;
            }
            if (layers.size() != layerShapes.length) {
                throw new IllegalArgumentException("MultiMahalanobis: got " + layers.size() + " layers, earlier fit rows had " + layerShapes.length);
            }
            for (long start = 0; start < n; start += Inputs.CHUNK_ROWS) {
                long end = Math.min(n, start + Inputs.CHUNK_ROWS);
                try (org.ood4j.engine.Scope s = org.ood4j.engine.Scope.open()) {
                    java.util.List<Tensor> pooled = new java.util.ArrayList<>();
                    for (Tensor layer : layers) pooled.add(pooled(layer.slice(0, start, end)));
                    if (moments[0].dim() < 0) requireMemory(pooled, labels == null ? null : labels.slice(0, start, end));
                    add(Tensor.cat(pooled, 1), labels == null ? null : labels.slice(0, start, end));
                }
            }
            for (long[] shape : layerShapes) shape[0] += n;
        }

        /** Each layer's fit against memory, named by layer, before any accumulator exists (the side-by-side one is checked next). */
        private static void requireMemory(List<Tensor> pooled, Tensor labels) {
            int classes = labels == null ? 1 : (int) java.util.Arrays.stream(labels.toLongArray()).filter(v -> v >= 0).distinct().count();
            for (int l = 0; l < pooled.size(); l++) {
                ClassGaussians.requireMemory("MultiMahalanobis (layer " + l + ")", pooled.get(l), Math.max(1, classes), 4);
            }
        }

        @Override
        protected void mergeFrom(ChunkAccumulator<MultiMahalanobis> other) {
            super.mergeFrom(other);
            long[][] theirs = ((LayersFit) other).layerShapes;
            if (theirs == null) return;
            if (layerShapes == null) {
                layerShapes = new long[theirs.length][];
                for (int l = 0; l < theirs.length; l++) layerShapes[l] = theirs[l].clone();
                return;
            }
            for (int l = 0; l < theirs.length; l++) layerShapes[l][0] += theirs[l][0];
        }

        @Override
        protected void install(MultiMahalanobis detector) {
            if (layerShapes == null) layerShapes = new long[][] {{0, rowShape()[0]}};   // rows added as one layer through add()
            detector.checkAlpha(layerShapes.length);
            Moments m = moments[0];
            int total = m.dim();
            Tensor mu = ClassGaussians.means(m);
            Tensor cov = ClassGaussians.scatter(m.pooledScatter(), total, ClassGaussians.SCATTER_EPS);
            long offset = 0;
            for (int l = 0; l < layerShapes.length; l++) {
                long width = layerShapes[l][1];
                // layer l's block of the side-by-side statistics: its class means and its pooled class scatter (+ eps I)
                detector.putState("mu" + l, mu.slice(1, offset, offset + width).copy());
                detector.putState("precision" + l, ClassGaussians.precision(cov.slice(0, offset, offset + width).slice(1, offset, offset + width).copy()));
                offset += width;
            }
            detector.fittedShapes(layerShapes);
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
