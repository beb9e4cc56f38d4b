package org.ood4j.detectors;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Tape;
import org.ood4j.engine.autodiff.Var;
import org.ood4j.models.Sequential;

/**
 * NAC-UE, from Liu, Tian, Li, Ma and Wang, "Neuron Activation Coverage: Rethinking
 * Out-of-distribution Detection and Generalization" (ICLR 2024), as pytorch-ood computes it.
 *
 * <p>Neuron states: for each chosen layer l (its output z, by layer index of the Sequential) and
 * each sample,
 * <pre>
 *   loss = -(1/C) sum_j log(p_j + 1e-12),  p = softmax(f(x))      (the KL divergence to uniform, up to a constant)
 *   g    = d loss / d z
 *   s    = sigmoid(alpha_l * reduce(z * g))                         (n_l neurons; reduce: see below)
 * </pre>
 * Bins (pytorch-ood's geometric bins, dense near 0 and 1): with M = m_bins, m1 = floor(M/2),
 * l_i = 10^(-6 + i (log10(0.5) + 6) / m1) for i = 0..m1, the edges are
 * e = [l_0, .., l_m1, 1 - l_(m1-1), .., 1 - l_0]; s is clamped to [1e-6, 1 - 1e-6] and falls in bin
 * k where e_k < s <= e_(k+1), clamped to [0, M - 1]. A state of exactly 0.5 (a neuron with output
 * or gradient 0) is in bin m1, as in pytorch-ood, whose float32 middle edge is 0.49999997.
 *
 * <p>Fit: per layer, neuron and bin, the number of fit samples (label >= 0, or all when the
 * batches have no labels) whose state falls there. Score:
 * <pre>  score(x) = -sum_l mean over neurons n of min(count_l[n, bin(s_n(x))] / o_star_l, 1)</pre>
 * m_bins, alpha and o_star are one value or one per layer. reduce ({@code feature_reduce}):
 * "default" = identity for (N, D) outputs, the mean over H, W for (N, C, H, W) and flattening for
 * other ranks; "mean" = the mean over every dimension after the first two; "flatten" = every
 * element a neuron. The network runs in float64; each sample's states depend on itself only.
 */
public final class NACUE extends NetworkDetector {
    /** The clamp of the states, and the smallest bin edge. */
    static final double STATE_EPS = 1e-6;
    /** The constant inside the log of the loss. */
    static final double LOG_EPS = 1e-12;

    private static final List<String> REDUCTIONS = List.of("default", "mean", "flatten");

    private final int[] layers;
    private final int[] mBins;
    private final double[] alpha, oStar;
    private final String featureReduce;
    private final double[][] edges;

    /** m_bins = 50, alpha = 100, o_star = 50, default reduction. */
    public NACUE(Sequential model, int[] layers) {
        this(model, layers, new int[] {50}, new double[] {100}, new double[] {50}, "default");
    }

    /**
     * @param model         the network (inputs to logits), or null
     * @param layers        indices of the layers whose outputs are used (distinct)
     * @param mBins         bins per neuron (>= 2): one value, or one per layer
     * @param alpha         sigmoid steepness (> 0): one value, or one per layer
     * @param oStar         count of full coverage (> 0): one value, or one per layer
     * @param featureReduce "default", "mean" or "flatten" (null = "default")
     */
    public NACUE(Sequential model, int[] layers, int[] mBins, double[] alpha, double[] oStar, String featureReduce) {
        super(model);
        if (layers == null || layers.length == 0) throw new IllegalArgumentException("NACUE: layers must name at least one layer index");
        this.layers = layers.clone();
        for (int i = 0; i < layers.length; i++) {
            if (layers[i] < 0) throw new IllegalArgumentException("NACUE: layer index " + layers[i] + " is negative");
            if (model != null && layers[i] >= model.size()) {
                throw new IllegalArgumentException("NACUE: layer index " + layers[i] + " out of range for a network of " + model.size()
                        + " layers");
            }
            for (int j = 0; j < i; j++) {
                if (layers[j] == layers[i]) throw new IllegalArgumentException("NACUE: layer " + layers[i] + " is given twice");
            }
        }
        this.mBins = perLayer("m_bins", mBins);
        this.alpha = perLayer("alpha", alpha);
        this.oStar = perLayer("o_star", oStar);
        for (int i = 0; i < layers.length; i++) {
            if (this.mBins[i] < 2) throw new IllegalArgumentException("NACUE: m_bins must be at least 2, got " + this.mBins[i]);
            Params.positive("alpha", this.alpha[i]);
            Params.positive("o_star", this.oStar[i]);
        }
        String reduce = featureReduce == null ? "default" : featureReduce;
        if (!REDUCTIONS.contains(reduce)) {
            throw new IllegalArgumentException("NACUE: feature_reduce must be one of " + REDUCTIONS + ", got '" + featureReduce + "'");
        }
        this.featureReduce = reduce;
        this.edges = new double[layers.length][];
        for (int i = 0; i < layers.length; i++) edges[i] = binEdges(this.mBins[i]);
    }

    private int[] perLayer(String name, int[] v) {
        double[] d = perLayer(name, v == null ? null : Arrays.stream(v).asDoubleStream().toArray());
        return Arrays.stream(d).mapToInt(x -> (int) x).toArray();
    }

    private double[] perLayer(String name, double[] v) {
        if (v == null || (v.length != 1 && v.length != layers.length)) {
            throw new IllegalArgumentException("NACUE: " + name + " must be one value or one per layer (" + layers.length + "), got "
                    + (v == null ? "none" : v.length + " values"));
        }
        if (v.length == layers.length) return v.clone();
        double[] out = new double[layers.length];
        Arrays.fill(out, v[0]);
        return out;
    }

    @Override public boolean requiresFit() { return true; }

    // ---------------------------------------------------------------- bins

    /** The 2 floor(M/2) + 1 bin edges of M bins (see the class comment). */
    static double[] binEdges(int m) {
        int m1 = m / 2;
        double[] l = new double[m1 + 1];
        for (int i = 0; i <= m1; i++) l[i] = Math.pow(10, -6 + i * (Math.log10(0.5) + 6) / m1);
        double[] e = new double[2 * m1 + 1];
        System.arraycopy(l, 0, e, 0, m1 + 1);
        for (int i = 0; i < m1; i++) e[m1 + 1 + i] = 1 - l[m1 - 1 - i];
        return e;
    }

    /** The bin of a state: e_k < s <= e_(k+1) after clamping s, clamped to [0, M - 1]; exactly 0.5 is bin floor(M/2). */
    static int bin(double s, double[] edges, int m) {
        if (s == 0.5) return m / 2;
        double c = Math.min(Math.max(s, STATE_EPS), 1 - STATE_EPS);
        int lo = 0, hi = edges.length;      // first index with c <= e_i (bucketize, right = false)
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (edges[mid] < c) lo = mid + 1;
            else hi = mid;
        }
        return Math.min(Math.max(lo - 1, 0), m - 1);
    }

    // ---------------------------------------------------------------- states

    /** Per chosen layer, the states s (n, neurons) of a chunk, as host arrays [layer][sample][neuron]. */
    private double[][][] states(Sequential net, Tensor x) {
        double[][][] out = new double[layers.length][][];
        try (Scope s = Scope.open(); Tape tape = new Tape()) {
            Var xv = tape.watch(x.to(DType.FLOAT64));                  // watched so that every layer output has a gradient
            List<Var> outs = net.forwardCollect(xv, layers);
            Var logits = outs.get(layers.length);
            if (logits.rank() != 2) {
                throw new IllegalArgumentException("NACUE: the network must give logits (N, C), got shape " + Shape.toString(logits.shape()));
            }
            Var loss = logits.softmax(1).add(LOG_EPS).log().sum().mul(-1.0 / logits.size(1));
            List<Tensor> grads = tape.grad(loss, outs.subList(0, layers.length));
            for (int l = 0; l < layers.length; l++) {
                Tensor reduced = reduce(outs.get(l).value().mul(grads.get(l)), l);
                out[l] = reduced.mul(alpha[l]).sigmoid().toDoubleMatrix();
            }
        }
        return out;
    }

    /** (N, ...) to (N, neurons) by the feature_reduce rule; in the caller's scope. */
    private Tensor reduce(Tensor t, int layer) {
        if (t.rank() < 2) {
            throw new IllegalArgumentException("NACUE: the output of layer " + layers[layer] + " has shape " + Shape.toString(t.shape())
                    + "; it needs a batch dimension and at least one neuron dimension");
        }
        boolean spatialMean = featureReduce.equals("mean") ? t.rank() > 2 : featureReduce.equals("default") && t.rank() == 4;
        if (spatialMean) {
            Tensor r = t;
            while (r.rank() > 2) r = r.mean(-1);
            return r;
        }
        return t.rank() == 2 ? t : t.reshape(t.size(0), -1);
    }

    // ---------------------------------------------------------------- fit and score

    @Override
    protected void fitNetwork(Sequential net, Iterable<Batch> data) {
        startFit(null);
        Device device = Device.CPU;                   // the batches': the state goes there
        double[][][] counts = new double[layers.length][][];
        long seen = 0;
        boolean any = false;
        for (Batch b : data) {
            any = true;
            Inputs.requireNetworkInput(b.x());
            device = b.x().device();
            if (b.y() != null) Inputs.requireLabels(b.y(), b.x().size(0), -1);
            long[] y = b.y() == null ? null : b.y().toLongArray();
            long n = b.x().size(0);
            for (long start = 0; start < n; start += CHUNK_ROWS) {
                long end = Math.min(n, start + CHUNK_ROWS);
                double[][][] st;
                try (Scope s = Scope.open()) {
                    st = states(net, b.x().slice(0, start, end));
                }
                for (int l = 0; l < layers.length; l++) {
                    int neurons = st[l][0].length;
                    if (counts[l] == null) counts[l] = new double[neurons][mBins[l]];
                    else if (counts[l].length != neurons) {
                        throw new IllegalArgumentException("NACUE: layer " + layers[l] + " has " + neurons + " neurons in this batch, "
                                + counts[l].length + " before");
                    }
                    for (int i = 0; i < st[l].length; i++) {
                        if (y != null && y[(int) (start + i)] < 0) continue;
                        if (l == 0) seen++;
                        for (int k = 0; k < neurons; k++) counts[l][k][bin(st[l][i][k], edges[l], mBins[l])]++;
                    }
                }
            }
        }
        if (!any) throw new IllegalArgumentException("NACUE: fit got no batches");
        if (seen == 0) throw new IllegalArgumentException("NACUE: every fit sample has a label < 0 (OOD); nothing to fit");
        for (int l = 0; l < layers.length; l++) putState(stateName(l), Tensor.of(counts[l]).movedTo(device));
        markFitted();
    }

    private static String stateName(int layer) {
        return "counts." + layer;
    }

    /** The fitted counts (neurons, m_bins) of the layer at position {@code i} of {@code layers}: how many fit samples fell in each bin. */
    public Tensor counts(int i) {
        return state(stateName(i));
    }

    @Override
    protected Tensor scoreChunk(Sequential net, Tensor x) {
        double[][][] st = states(net, x);
        int n = st[0].length;
        double[] score = new double[n];
        for (int l = 0; l < layers.length; l++) {
            Tensor c = state(stateName(l));
            int neurons = (int) c.size(0), m = mBins[l];
            if (st[l][0].length != neurons) {
                throw new IllegalArgumentException("NACUE: layer " + layers[l] + " has " + st[l][0].length + " neurons, the fit had "
                        + neurons);
            }
            double[] counts = c.toDoubleArray();
            for (int i = 0; i < n; i++) {
                double coverage = 0;
                for (int k = 0; k < neurons; k++) {
                    coverage += Math.min(counts[k * m + bin(st[l][i][k], edges[l], m)] / oStar[l], 1);
                }
                score[i] -= coverage / neurons;
            }
        }
        return Tensor.of(score).to(x.device());
    }

    @Override
    public Map<String, Object> params() {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("layers", Arrays.stream(layers).boxed().toList());
        p.put("m_bins", Arrays.stream(mBins).boxed().toList());
        p.put("alpha", Arrays.stream(alpha).boxed().toList());
        p.put("o_star", Arrays.stream(oStar).boxed().toList());
        p.put("feature_reduce", featureReduce);
        return p;
    }
}
