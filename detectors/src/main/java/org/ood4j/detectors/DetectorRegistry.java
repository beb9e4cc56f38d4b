package org.ood4j.detectors;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

import org.ood4j.engine.Tensor;

/**
 * Detectors by their pytorch-ood class name, built from named parameters with the spec's
 * defaults — what the command line and the conformance cases construct detectors with.
 */
public final class DetectorRegistry {
    /** Builds one detector from its parameters and an optional model. */
    public interface Factory {
        Detector create(Network network, DetectorParams p);
    }

    /**
     * A functional form of a detector (pytorch-ood's module-level functions, such as
     * odin_preprocessing): raw inputs and optional labels to a tensor, on a network.
     */
    public interface Functional {
        Tensor apply(Network network, DetectorParams p, Tensor x, Tensor y);
    }

    private static final Map<String, Factory> FACTORIES = new TreeMap<>();
    private static final Map<String, Functional> FUNCTIONS = new TreeMap<>();

    static {
        FACTORIES.put("MaxSoftmax", (n, p) -> new MaxSoftmax(Network.modelOf(n), p.getDouble("t", 1.0)));
        FACTORIES.put("TemperatureScaling", (n, p) -> new TemperatureScaling(Network.modelOf(n)));
        FACTORIES.put("KLMatching", (n, p) -> new KLMatching(Network.modelOf(n)));
        FACTORIES.put("Entropy", (n, p) -> new Entropy(Network.modelOf(n)));
        FACTORIES.put("GEN", (n, p) -> new GEN(Network.modelOf(n), p.getDouble("gamma", 0.1)));
        FACTORIES.put("MaxLogit", (n, p) -> new MaxLogit(Network.modelOf(n)));
        FACTORIES.put("OpenMax", (n, p) -> new OpenMax(Network.modelOf(n), p.getInt("tailsize", 25), p.getInt("alpha", 10),
                p.getDouble("euclid_weight", 1.0)));
        FACTORIES.put("EnergyBased", (n, p) -> new EnergyBased(Network.modelOf(n), p.getDouble("t", 1.0)));
        FACTORIES.put("WeightedEBO", (n, p) -> new WeightedEBO(Network.modelOf(n), p.requireTensor("weights")));
        FACTORIES.put("Mahalanobis", (n, p) -> new Mahalanobis(Network.encoderOf(n), p.getDouble("eps", 0.002), p.getDoubles("norm_std")));
        FACTORIES.put("MultiMahalanobis", (n, p) -> new MultiMahalanobis(n == null ? null : n.model(), p.getInts("model"),
                p.getDoubles("alpha")));
        FACTORIES.put("RMD", (n, p) -> new RMD(Network.encoderOf(n)));
        FACTORIES.put("GMM", (n, p) -> new GMM(Network.encoderOf(n), p.getDouble("reg", 1e-6)));
        FACTORIES.put("KNN", (n, p) -> new KNN(Network.encoderOf(n), p.getInt("k", 1), p.getString(BankDetector.BANK_DTYPE, BankDetector.FEATURES)));
        FACTORIES.put("ViM", (n, p) -> new ViM(Network.encoderOf(n), p.requireInt("d"), p.requireTensor("w"), p.requireTensor("b")));
        FACTORIES.put("DICE", (n, p) -> new DICE(Network.encoderOf(n), p.requireTensor("w"), p.requireTensor("b"), p.requireDouble("p"),
                scoring(p)));
        FACTORIES.put("NNGuide", (n, p) -> new NNGuide(Network.encoderOf(n), p.requireTensor("w"), p.requireTensor("b"), p.getInt("k", 10),
                p.getString(BankDetector.BANK_DTYPE, BankDetector.FEATURES)));
        FACTORIES.put("SHE", (n, p) -> new SHE(Network.encoderOf(n), n != null && !p.has("head") ? n.featuresHead() : linearHead(p)));
        FACTORIES.put("NCI", (n, p) -> new NCI(Network.encoderOf(n), headOf(n, p), p.getDouble("alpha", 0.0)));
        FACTORIES.put("fDBD", (n, p) -> new fDBD(Network.encoderOf(n), headOf(n, p)));
        FACTORIES.put("ASH", (n, p) -> new ASH(backboneOf(n, "ASH"), n.mapsHead(), p.getString("variant", "ash-s"),
                p.getDouble("percentile", 0.65), scoring(p)));
        FACTORIES.put("ReAct", (n, p) -> new ReAct(backboneOf(n, "ReAct"), n.mapsHead(), p.getDouble("threshold", 1.0), scoring(p)));
        FACTORIES.put("RankFeat", (n, p) -> new RankFeat(backboneOf(n, "RankFeat"), n.mapsHead(), scoring(p)));
        FACTORIES.put("VRA", (n, p) -> new VRA(backboneOf(n, "VRA"), n.mapsHead(), p.getDouble("lower_percentile", 1.0),
                p.getDouble("upper_percentile", 99.0), scoring(p)));
        FACTORIES.put("Gram", (n, p) -> new Gram(n == null ? null : n.model(), p.getInts("feature_layers"), p.requireInt("num_classes"),
                p.getInts("num_poles_list")));
        FACTORIES.put("ODIN", (n, p) -> new ODIN(Network.sequentialOf(n), p.getDouble("eps", 0.05), p.getDouble("temperature", 1000),
                p.getDoubles("norm_std")));
        FACTORIES.put("GradNorm", (n, p) -> new GradNorm(Network.sequentialOf(n), names(p, "param_filter")));
        FACTORIES.put("GradNormKL", (n, p) -> new GradNormKL(Network.sequentialOf(n), names(p, "param_filter")));
        FACTORIES.put("MCD", (n, p) -> new MCD(Network.sequentialOf(n), p.getInt("samples", 30), p.getString("mode", "var"),
                p.getBoolean("batch_norm", true)));
        FACTORIES.put("NACUE", (n, p) -> {
            int[] layers = p.getInts("layers");
            if (layers == null) throw new IllegalArgumentException("NACUE: parameter 'layers' (layer indices) is required");
            double[] bins = p.getOneOrPer("m_bins", 50, layers.length, "layer");
            int[] mBins = new int[bins.length];
            for (int i = 0; i < bins.length; i++) {
                if (bins[i] != Math.rint(bins[i])) throw new IllegalArgumentException("NACUE: parameter 'm_bins' must be integers, got " + bins[i]);
                mBins[i] = (int) bins[i];
            }
            return new NACUE(Network.sequentialOf(n), layers, mBins, p.getOneOrPer("alpha", 100, layers.length, "layer"),
                    p.getOneOrPer("o_star", 50, layers.length, "layer"), p.getString("feature_reduce", "default"));
        });

        FUNCTIONS.put("odin_preprocessing", (n, p, x, y) -> {
            double eps = p.getDouble("eps", 0.05), temperature = p.getDouble("temperature", 1000);
            double[] normStd = p.getDoubles("norm_std");
            p.checkAllRead();
            return ODIN.preprocess(Network.sequentialOf(n), x, y, eps, temperature, normStd);
        });
    }

    /** A list of strings (e.g. parameter names), or null when absent. */
    private static java.util.List<String> names(DetectorParams p, String name) {
        java.util.List<?> list = p.getList(name);
        if (list == null) return null;
        for (Object o : list) {
            if (!(o instanceof String)) throw new IllegalArgumentException("parameter '" + name + "' must be a list of names, got " + list);
        }
        return list.stream().map(String.class::cast).toList();
    }

    private DetectorRegistry() {}

    /** params.detector as a scoring function, EnergyBased.score when absent. */
    private static Function<Tensor, Tensor> scoring(DetectorParams p) {
        return scoringFunction(p.getString("detector", "EnergyBased.score"));
    }

    /** Feature-map detectors cut a network at its last feature maps: they cannot work without one. */
    private static Function<Tensor, Tensor> backboneOf(Network n, String detector) {
        if (n == null) throw new IllegalArgumentException(detector + " needs a network to cut into backbone and head");
        return n.backbone();
    }

    /** params.head, or else the network's head after the features when it is one linear layer. */
    private static LinearHead headOf(Network n, DetectorParams p) {
        if (p.has("head") || n == null) return linearHead(p);
        return LinearHead.of(n.featuresHead());
    }

    /** params.head = {weight (C, D), bias (C,)} as a linear head. */
    private static LinearHead linearHead(DetectorParams p) {
        java.util.Map<String, ?> head = p.getMap("head");
        if (head == null) throw new IllegalArgumentException(p.detector() + ": parameter 'head' {weight, bias} is required without a network");
        if (!(head.get("weight") instanceof Tensor w) || !(head.get("bias") instanceof Tensor b)) {
            throw new IllegalArgumentException(p.detector() + ": parameter 'head' must hold arrays 'weight' and 'bias'");
        }
        return new LinearHead(w, b);
    }

    /** The static scoring functions that shaping detectors (DICE, ASH, ReAct, RankFeat, VRA) apply to logits, by name. */
    private static final Map<String, Function<Tensor, Tensor>> SCORING = Map.of(
            "EnergyBased.score", EnergyBased.SCORE,
            "MaxSoftmax.score", MaxSoftmax.SCORE,
            "MaxLogit.score", MaxLogit.SCORE,
            "Entropy.score", Entropy.SCORE);

    public static Function<Tensor, Tensor> scoringFunction(String name) {
        Function<Tensor, Tensor> f = SCORING.get(name);
        if (f == null) throw new IllegalArgumentException("unknown scoring function '" + name + "'; known: " + new TreeMap<>(SCORING).keySet());
        return f;
    }

    /** The name of one of the known scoring functions (to save a detector that uses it). */
    public static String scoringFunctionName(Function<Tensor, Tensor> f) {
        for (Map.Entry<String, Function<Tensor, Tensor>> e : SCORING.entrySet()) if (e.getValue() == f) return e.getKey();
        throw new UnsupportedOperationException("a custom scoring function cannot be saved; use one of " + new TreeMap<>(SCORING).keySet());
    }

    public static boolean has(String name) {
        return FACTORIES.containsKey(name);
    }

    public static java.util.Set<String> names() {
        return Collections.unmodifiableSet(FACTORIES.keySet());
    }

    /** Whether {@code name} is a functional form (see {@link Functional}). */
    public static boolean hasFunction(String name) {
        return FUNCTIONS.containsKey(name);
    }

    public static java.util.Set<String> functionNames() {
        return Collections.unmodifiableSet(FUNCTIONS.keySet());
    }

    /**
     * Applies the functional form {@code name} with {@code params} (unknown parameter names are an
     * error) to inputs x and labels y (may be null) on a network; the result belongs to the caller.
     */
    public static Tensor apply(String name, Map<String, ?> params, Network network, Tensor x, Tensor y) {
        Functional f = FUNCTIONS.get(name);
        if (f == null) throw new IllegalArgumentException("unknown function '" + name + "'; known: " + FUNCTIONS.keySet());
        return f.apply(network, new DetectorParams(name, params), x, y);
    }

    /**
     * Builds {@code name} with {@code params} (unknown parameter names are an error) on a network
     * (null for the representation interfaces only); each detector takes the part it needs.
     */
    public static Detector create(String name, Map<String, ?> params, Network network) {
        Factory f = FACTORIES.get(name);
        if (f == null) throw new IllegalArgumentException("unknown detector '" + name + "'; known: " + FACTORIES.keySet());
        DetectorParams p = new DetectorParams(name, params);
        Detector d = f.create(network, p);
        try {
            p.checkAllRead();
        } catch (IllegalArgumentException e) {
            d.close();
            throw e;
        }
        return d;
    }
}
