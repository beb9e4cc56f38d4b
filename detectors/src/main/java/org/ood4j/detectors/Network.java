package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.Tensor;
import org.ood4j.models.Sequential;

/**
 * A network and where to cut it, as the detectors take it: the whole model (logits), the encoder
 * and head around the penultimate features ({@code featuresAt}), and the backbone and head around
 * the last feature maps ({@code featureMapsAt}, -1 when the network has none) — the splits of the
 * conformance contract, where a part ends with the output of the named layer.
 */
public record Network(Sequential model, int featuresAt, int featureMapsAt) {

    public Network {
        if (model == null) throw new IllegalArgumentException("a network needs a model");
        if (featuresAt >= model.size() || featureMapsAt >= model.size()) {
            throw new IllegalArgumentException("split index out of range for a model of " + model.size() + " layers");
        }
    }

    /** A network used whole (logits only); no splits. */
    public static Network of(Sequential model) {
        return new Network(model, -1, -1);
    }

    /** Raw inputs to penultimate features. */
    public Sequential encoder() {
        return model.split(requireSplit(featuresAt, "features")).backbone();
    }

    /** Penultimate features to logits. */
    public Sequential featuresHead() {
        return model.split(requireSplit(featuresAt, "features")).head();
    }

    /** Raw inputs to the last feature maps. */
    public Sequential backbone() {
        return model.split(requireSplit(featureMapsAt, "feature maps")).backbone();
    }

    /** Feature maps to logits. */
    public Sequential mapsHead() {
        return model.split(requireSplit(featureMapsAt, "feature maps")).head();
    }

    private int requireSplit(int index, String what) {
        if (index < 0) throw new IllegalArgumentException("this network has no " + what + " split");
        return index;
    }

    /** The model as a function, or null for no network. */
    static Function<Tensor, Tensor> modelOf(Network n) {
        return n == null ? null : n.model();
    }

    /** The whole model, or null for no network (detectors that run and differentiate it). */
    static Sequential sequentialOf(Network n) {
        return n == null ? null : n.model();
    }

    static Function<Tensor, Tensor> encoderOf(Network n) {
        return n == null ? null : n.encoder();
    }
}
