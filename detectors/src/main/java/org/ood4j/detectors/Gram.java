package org.ood4j.detectors;

import java.util.ArrayList;
import java.util.List;

import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryBudget;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * Gram-matrix deviations, from Sastry and Oore, "Detecting Out-of-Distribution Examples with
 * In-distribution Examples and Gram Matrices" (ICML 2020).
 *
 * <p>For layer l and pole p, with F the feature map as (C, H*W): G = F^p (F^p)^T (elementwise
 * powers), r = row sums of G, and the statistics g = sign(r) |r|^(1/p) (C per layer and pole).
 * Since r = F^p (F^p)^T 1 = F^p s with s = the column sums of F^p, the C x C matrix is never formed.
 *
 * <p>Fit (labels >= 0): per class (the label) the first int(0.1 n_c) samples are held out (in fit
 * order; pytorch-ood draws them at random), and min/max bounds of every statistic are taken over
 * the rest. The deviation of x from class c is
 * <pre>  delta_l(x; c) = sum_p sum_i relu(min_ci - g_i)/|min_ci + 1e-6| + relu(g_i - max_ci)/|max_ci + 1e-6|</pre>
 * E_l = mean of delta_l over the held-out samples with their own label (1 when there are none or
 * it is 0), and score(x) = sum_l delta_l(x; argmax logits) / E_l.
 */
public final class Gram extends StructuredDetector {
    private final int classes;
    private final int[] poles;

    /** @param poles the powers p (default 1..10) */
    public Gram(int classes, int[] poles) {
        this(null, null, classes, poles);
    }

    /** On a network: the outputs of the layers at {@code featureLayers} are the maps, its output the logits. */
    public Gram(org.ood4j.models.Sequential network, int[] featureLayers, int classes, int[] poles) {
        super(network, featureLayers);
        this.classes = Params.positive("num_classes", classes);
        this.poles = poles == null ? java.util.stream.IntStream.rangeClosed(1, 10).toArray() : poles.clone();
        if (this.poles.length == 0) throw new IllegalArgumentException("num_poles_list is empty");
        for (int p : this.poles) Params.positive("pole", p);
    }

    @Override public boolean requiresFit() { return true; }

    @Override protected boolean requiresLogits() { return true; }

    /** The statistics (N, P*C) of one layer's maps (N, C, ...), float64. */
    Tensor statistics(Tensor layer) {
        try (Scope s = Scope.open()) {
            Tensor f = layer.to(DType.FLOAT64);
            f = f.reshape(f.size(0), f.size(1), -1);                             // (N, C, HW)
            List<Tensor> perPole = new ArrayList<>();
            for (int p : poles) {
                Tensor fp = p == 1 ? f : f.pow(p);
                Tensor r = fp.mul(fp.sum(1, true)).sum(2);                       // (N, C)
                perPole.add(r.sign().mul(r.abs().pow(1.0 / p)));
            }
            return s.keep(Tensor.cat(perPole, 1));
        }
    }

    @Override
    protected void fitOnId(List<Tensor> layers, Tensor labels) {
        requireMemory(layers);
        long[] y = labels.toLongArray();
        boolean[] heldOut = heldOut(y);
        double[] expected = new double[layers.size()];
        for (int l = 0; l < layers.size(); l++) {
            Tensor g = statistics(layers.get(l));
            double[][] bounds = bounds(g.toDoubleMatrix(), y, heldOut);
            Tensor mins = Tensor.of(bounds[0], classes, g.size(1)).movedTo(g.device());
            Tensor maxs = Tensor.of(bounds[1], classes, g.size(1)).movedTo(g.device());
            putState("min" + l, mins);
            putState("max" + l, maxs);
            expected[l] = expectedDeviation(g, labels, heldOut, mins, maxs);
        }
        putState("expected_deviation", Tensor.of(expected));
    }

    /**
     * Refuses a fit whose class bounds memory cannot hold: per layer a min and a max for every
     * class and statistic (poles x channels), as arrays one layer at a time, as tensors for all.
     */
    private void requireMemory(List<Tensor> layers) {
        long widest = 0, total = 0;
        for (Tensor layer : layers) {
            widest = Math.max(widest, poles.length * layer.size(1));
            total += poles.length * layer.size(1);
        }
        MemoryBudget.require("Gram: a fit of " + classes + " classes", layers.get(0).device(),
                MemoryBudget.Need.float64(2, classes, widest, "class bounds"), MemoryBudget.Need.float64(2, classes, total, "class bounds"),
                "lower num_classes to the classes the labels hold or use fewer poles (num_poles_list)");
    }

    /** The first int(0.1 n_c) samples of each class, in fit order. */
    private boolean[] heldOut(long[] y) {
        int[] count = new int[classes], taken = new int[classes];
        for (long c : y) {
            if (c >= classes) throw new IllegalArgumentException("Gram: label " + c + " out of range for " + classes + " classes");
            count[(int) c]++;
        }
        boolean[] held = new boolean[y.length];
        for (int i = 0; i < y.length; i++) {
            int c = (int) y[i];
            if (taken[c] < count[c] / 10) {
                held[i] = true;
                taken[c]++;
            }
        }
        return held;
    }

    /** {mins, maxs} (classes x P*C, flattened) over the samples not held out. */
    private double[][] bounds(double[][] g, long[] y, boolean[] heldOut) {
        int width = g[0].length;
        double[] mins = new double[classes * width], maxs = new double[classes * width];
        java.util.Arrays.fill(mins, Double.POSITIVE_INFINITY);
        java.util.Arrays.fill(maxs, Double.NEGATIVE_INFINITY);
        boolean[] seen = new boolean[classes];
        for (int i = 0; i < g.length; i++) {
            if (heldOut[i]) continue;
            int c = (int) y[i];
            seen[c] = true;
            for (int j = 0; j < width; j++) {
                mins[c * width + j] = Math.min(mins[c * width + j], g[i][j]);
                maxs[c * width + j] = Math.max(maxs[c * width + j], g[i][j]);
            }
        }
        for (int c = 0; c < classes; c++) {
            if (!seen[c]) throw new IllegalArgumentException("Gram: class " + c + " has no fit samples to bound its statistics");
        }
        return new double[][] {mins, maxs};
    }

    private static double expectedDeviation(Tensor g, Tensor labels, boolean[] heldOut, Tensor mins, Tensor maxs) {
        long[] idx = java.util.stream.IntStream.range(0, heldOut.length).filter(i -> heldOut[i]).asLongStream().toArray();
        if (idx.length == 0) return 1;
        try (Scope s = Scope.open()) {
            Tensor index = Tensor.of(idx).movedTo(g.device());
            double mean = deviation(g.indexSelect(0, index), labels.indexSelect(0, index), mins, maxs).mean().item();
            return mean == 0 ? 1 : mean;
        }
    }

    /** delta(x; c) (N,) for statistics g (N, W) against the bounds of classes c (N,). */
    private static Tensor deviation(Tensor g, Tensor c, Tensor mins, Tensor maxs) {
        Tensor lo = mins.indexSelect(0, c), hi = maxs.indexSelect(0, c);
        Tensor below = lo.sub(g).relu().div(lo.add(1e-6).abs());
        Tensor above = g.sub(hi).relu().div(hi.add(1e-6).abs());
        return below.add(above).sum(1);
    }

    @Override
    protected void checkLogitClasses(long columns) {
        if (columns != classes) throw new IllegalArgumentException("Gram: logits have " + columns + " classes, expected " + classes);
    }

    @Override
    protected Tensor scoreChunk(List<Tensor> layers, Tensor logits) {
        Tensor predicted = logits.argmax(1);
        Tensor expected = state("expected_deviation");
        Tensor total = null;
        for (int l = 0; l < layers.size(); l++) {
            Tensor d = deviation(statistics(layers.get(l)), predicted, state("min" + l), state("max" + l)).div(expected.getDouble(l));
            total = total == null ? d : total.add(d);
        }
        return total;
    }

    @Override
    public java.util.Map<String, Object> params() {
        java.util.Map<String, Object> p = new java.util.LinkedHashMap<>();
        p.put("num_classes", classes);
        p.put("num_poles_list", java.util.Arrays.stream(poles).boxed().toList());
        if (layerIndices() != null) p.put("feature_layers", java.util.Arrays.stream(layerIndices()).boxed().toList());
        return p;
    }
}
