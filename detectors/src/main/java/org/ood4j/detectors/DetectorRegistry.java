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
        Detector create(Function<Tensor, Tensor> model, DetectorParams p);
    }

    private static final Map<String, Factory> FACTORIES = new TreeMap<>();

    static {
        FACTORIES.put("MaxSoftmax", (m, p) -> new MaxSoftmax(m, p.getDouble("t", 1.0)));
        FACTORIES.put("TemperatureScaling", (m, p) -> new TemperatureScaling(m));
        FACTORIES.put("KLMatching", (m, p) -> new KLMatching(m));
        FACTORIES.put("Entropy", (m, p) -> new Entropy(m));
        FACTORIES.put("GEN", (m, p) -> new GEN(m, p.getDouble("gamma", 0.1)));
        FACTORIES.put("MaxLogit", (m, p) -> new MaxLogit(m));
        FACTORIES.put("OpenMax", (m, p) -> new OpenMax(m, p.getInt("tailsize", 25), p.getInt("alpha", 10),
                p.getDouble("euclid_weight", 1.0)));
        FACTORIES.put("EnergyBased", (m, p) -> new EnergyBased(m, p.getDouble("t", 1.0)));
        FACTORIES.put("WeightedEBO", (m, p) -> new WeightedEBO(m, p.requireTensor("weights")));
        FACTORIES.put("Mahalanobis", (m, p) -> new Mahalanobis(m, p.getDouble("eps", 0.002), p.getDoubles("norm_std")));
        FACTORIES.put("MultiMahalanobis", (m, p) -> new MultiMahalanobis(p.getDoubles("alpha")));
        FACTORIES.put("RMD", (m, p) -> new RMD(m));
        FACTORIES.put("GMM", (m, p) -> new GMM(m, p.getDouble("reg", 1e-6)));
        FACTORIES.put("KNN", (m, p) -> new KNN(m, p.getInt("k", 1)));
        FACTORIES.put("ViM", (m, p) -> new ViM(m, p.getInt("d", -1), p.requireTensor("w"), p.requireTensor("b")));
        FACTORIES.put("DICE", (m, p) -> new DICE(m, p.requireTensor("w"), p.requireTensor("b"), p.getDouble("p", Double.NaN),
                scoringFunction(p.getString("detector", "EnergyBased.score"))));
        FACTORIES.put("NNGuide", (m, p) -> new NNGuide(m, p.requireTensor("w"), p.requireTensor("b"), p.getInt("k", 10)));
        FACTORIES.put("SHE", (m, p) -> new SHE(m, linearHead(p)));
        FACTORIES.put("NCI", (m, p) -> new NCI(m, linearHead(p), p.getDouble("alpha", 0.0)));
        FACTORIES.put("fDBD", (m, p) -> new fDBD(m, linearHead(p)));
        FACTORIES.put("Gram", (m, p) -> new Gram(p.getInt("num_classes", -1), p.getInts("num_poles_list")));
    }

    private DetectorRegistry() {}

    /** params.head = {weight (C, D), bias (C,)} as a linear head. */
    private static LinearHead linearHead(DetectorParams p) {
        java.util.Map<String, ?> head = p.getMap("head");
        if (head == null) throw new IllegalArgumentException("parameter 'head' {weight, bias} is required without a network");
        if (!(head.get("weight") instanceof Tensor w) || !(head.get("bias") instanceof Tensor b)) {
            throw new IllegalArgumentException("parameter 'head' must hold arrays 'weight' and 'bias'");
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

    /** Builds {@code name} with {@code params} (unknown parameter names are an error). */
    public static Detector create(String name, Map<String, ?> params, Function<Tensor, Tensor> model) {
        Factory f = FACTORIES.get(name);
        if (f == null) throw new IllegalArgumentException("unknown detector '" + name + "'; known: " + FACTORIES.keySet());
        DetectorParams p = new DetectorParams(name, params);
        Detector d = f.create(model, p);
        try {
            p.checkAllRead();
        } catch (IllegalArgumentException e) {
            d.close();
            throw e;
        }
        return d;
    }
}
