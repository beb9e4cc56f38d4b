package org.ood4j.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;

import org.ood4j.detectors.Batch;
import org.ood4j.detectors.Detector;
import org.ood4j.detectors.DetectorRegistry;
import org.ood4j.detectors.FeatureMapsDetector;
import org.ood4j.detectors.FeaturesDetector;
import org.ood4j.detectors.LogitsDetector;
import org.ood4j.detectors.Network;
import org.ood4j.detectors.OodMetrics;
import org.ood4j.detectors.StructuredDetector;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.models.Linear;
import org.ood4j.models.Sequential;
import org.ood4j.models.Zoo;

/**
 * The demo's detectors as data: one row per detector — its registry name, its parameters, and
 * what it is fed — and the loop that fits one row, scores the three evaluation sets and
 * measures it. Rows whose detector the registry does not have (yet) are left out, so new
 * detectors join by being registered.
 */
final class DemoDetectors {
    private DemoDetectors() {}

    static final int MAPS_AT = Zoo.SMALL_CNN_FEATURE_MAPS_AT, FEATURES_AT = Zoo.SMALL_CNN_FEATURES_AT;
    /** Gram's layers: the outputs of the two conv stages (after pooling). */
    static final List<Integer> GRAM_LAYERS = List.of(3, MAPS_AT);
    /** MultiMahalanobis's layers: both conv stages and the features. */
    static final List<Integer> MULTI_MAHALANOBIS_LAYERS = List.of(3, MAPS_AT, FEATURES_AT);
    /** Rows of raw images per forward pass. */
    private static final int BATCH = 250;

    /** What a detector is fed: one of the representations (computed once per set), or the images through the network. */
    enum Feed {
        LOGITS("logits"), FEATURES("features"), FEATURE_MAPS("feature maps"), LAYERS("layers"), MODEL("model");

        final String label;

        Feed(String label) { this.label = label; }
    }

    /** One detector of the demo; {@code layers} are the layer indices a LAYERS row reads (else empty). */
    record Row(String name, Feed feed, Map<String, Object> params, List<Integer> layers) {}

    /** The rows, in table order, of the detectors the registry has. */
    static List<Row> rows(Sequential model, Encoded fit) {
        Linear last = (Linear) model.get(model.size() - 1);
        Tensor w = last.weight().value(), b = last.bias().value();
        int classes = last.outFeatures();
        // ReAct clips at the 90th percentile of the ID activations, as the paper sets it
        double reactThreshold;
        try (Tensor q = fit.layers().get(MAPS_AT).quantile(0.9)) {
            reactThreshold = q.item();
        }
        List<Row> all = new ArrayList<>();
        for (String name : List.of("MaxSoftmax", "TemperatureScaling", "KLMatching", "Entropy", "GEN", "MaxLogit", "OpenMax", "EnergyBased")) {
            all.add(row(name, Feed.LOGITS));
        }
        all.add(row("WeightedEBO", Feed.LOGITS, "weights", Tensor.ones(DType.FLOAT32, classes).movedTo(w.device())));
        for (String name : List.of("Mahalanobis", "RMD", "GMM", "KNN")) all.add(row(name, Feed.FEATURES));
        all.add(row("ViM", Feed.FEATURES, "d", last.inFeatures() / 2, "w", w, "b", b));
        all.add(row("DICE", Feed.FEATURES, "w", w, "b", b, "p", 90));
        all.add(row("NNGuide", Feed.FEATURES, "w", w, "b", b));
        for (String name : List.of("SHE", "NCI", "fDBD")) all.add(row(name, Feed.FEATURES));   // the head comes from the network
        all.add(row("ASH", Feed.FEATURE_MAPS));
        all.add(row("ReAct", Feed.FEATURE_MAPS, "threshold", reactThreshold));
        all.add(row("RankFeat", Feed.FEATURE_MAPS));
        all.add(row("VRA", Feed.FEATURE_MAPS));
        all.add(new Row("Gram", Feed.LAYERS, Map.of("feature_layers", GRAM_LAYERS, "num_classes", classes), GRAM_LAYERS));
        all.add(new Row("MultiMahalanobis", Feed.LAYERS, Map.of("model", MULTI_MAHALANOBIS_LAYERS), MULTI_MAHALANOBIS_LAYERS));
        all.add(row("ODIN", Feed.MODEL, "eps", 0.002, "temperature", 1000.0));
        all.add(row("GradNorm", Feed.MODEL));
        all.add(row("GradNormKL", Feed.MODEL));
        all.add(row("MCD", Feed.MODEL, "samples", 10, "mode", "mean"));
        all.add(row("NACUE", Feed.MODEL, "layers", List.of(MAPS_AT, FEATURES_AT)));
        return all.stream().filter(r -> DetectorRegistry.has(r.name())).toList();
    }

    /** Registered detectors that have no row in the demo. */
    static List<String> withoutRow(List<Row> rows) {
        List<String> names = new ArrayList<>(DetectorRegistry.names());
        rows.forEach(r -> names.remove(r.name()));
        return names;
    }

    private static Row row(String name, Feed feed, Object... keysAndValues) {
        Map<String, Object> params = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) params.put((String) keysAndValues[i], keysAndValues[i + 1]);
        return new Row(name, feed, params, List.of());
    }

    /** The layer indices whose outputs {@link #encode} keeps: what every row reads. */
    static int[] encodedLayers() {
        TreeMap<Integer, Boolean> all = new TreeMap<>();
        for (int i : MULTI_MAHALANOBIS_LAYERS) all.put(i, true);
        for (int i : GRAM_LAYERS) all.put(i, true);
        all.put(MAPS_AT, true);
        all.put(FEATURES_AT, true);
        return all.keySet().stream().mapToInt(Integer::intValue).toArray();
    }

    /** A set's images with the network's outputs the detectors read: chosen layers by index, and the logits. */
    record Encoded(DemoData.Images images, Map<Integer, Tensor> layers, Tensor logits) implements AutoCloseable {
        List<Tensor> layers(List<Integer> indices) {
            return indices.stream().map(layers::get).toList();
        }

        @Override
        public void close() {
            layers.values().forEach(Tensor::close);
            logits.close();
        }
    }

    /** One inference pass over a set, in batches, keeping the {@link #encodedLayers} and the logits. */
    static Encoded encode(Sequential model, DemoData.Images images) {
        int[] indices = encodedLayers();
        List<List<Tensor>> parts = new ArrayList<>();
        for (int i = 0; i <= indices.length; i++) parts.add(new ArrayList<>());
        try (Scope s = Scope.open()) {
            for (long start = 0; start < images.size(); start += BATCH) {
                List<Tensor> outputs = model.forwardCollect(images.x().slice(0, start, Math.min(images.size(), start + BATCH)), indices);
                for (int i = 0; i < outputs.size(); i++) parts.get(i).add(outputs.get(i));
            }
            Map<Integer, Tensor> layers = new LinkedHashMap<>();
            for (int i = 0; i < indices.length; i++) layers.put(indices[i], s.keep(Tensor.cat(parts.get(i), 0)));
            return new Encoded(images, layers, s.keep(Tensor.cat(parts.get(indices.length), 0)));
        }
    }

    /** One row's result: metrics against near- and far-OOD, times, the scores; or the error that stopped it. */
    record Outcome(Row row, OodMetrics.Result near, OodMetrics.Result far, OodMetrics.Roc nearRoc, OodMetrics.Roc farRoc,
                   double fitSeconds, double scoreSeconds, double[] idScores, double[] nearScores, double[] farScores, String error) {
        boolean failed() { return error != null; }

        static Outcome failure(Row row, Throwable e) {
            String message = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
            if (message.length() > 160) message = message.substring(0, 157) + "...";
            return new Outcome(row, null, null, null, null, Double.NaN, Double.NaN, null, null, null,
                    e.getClass().getSimpleName() + (message.isEmpty() ? "" : ": " + message));
        }
    }

    /** Builds, fits and scores one row; a failure becomes an outcome with its error. */
    static Outcome run(Row row, Network network, Encoded fit, Encoded id, Encoded near, Encoded far) {
        try (Scope s = Scope.open(); Detector d = DetectorRegistry.create(row.name(), row.params(), network)) {
            long t0 = System.nanoTime();
            if (d.requiresFit()) fit(d, row, fit);
            long t1 = System.nanoTime();
            double[] idScores = score(d, row, id), nearScores = score(d, row, near), farScores = score(d, row, far);
            long t2 = System.nanoTime();
            OodMetrics nearMetrics = new OodMetrics().update(idScores, nearScores);
            OodMetrics farMetrics = new OodMetrics().update(idScores, farScores);
            return new Outcome(row, nearMetrics.compute(), farMetrics.compute(), nearMetrics.roc(), farMetrics.roc(),
                    (t1 - t0) / 1e9, (t2 - t1) / 1e9, idScores, nearScores, farScores, null);
        } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
            return Outcome.failure(row, e);
        }
    }

    private static void fit(Detector d, Row row, Encoded fit) {
        Tensor y = fit.images().y();
        switch (row.feed()) {
            case LOGITS -> ((LogitsDetector) d).fitLogits(fit.logits(), y);
            case FEATURES -> ((FeaturesDetector) d).fitFeatures(fit.layers().get(FEATURES_AT), y);
            case FEATURE_MAPS -> ((FeatureMapsDetector) d).fitFeatureMaps(fit.layers().get(MAPS_AT), y);
            case LAYERS -> ((StructuredDetector) d).fitStructured(fit.layers(row.layers()), y);
            case MODEL -> d.fit(batches(fit.images()));
        }
    }

    private static double[] score(Detector d, Row row, Encoded set) {
        try (Scope s = Scope.open()) {
            return switch (row.feed()) {
                case LOGITS -> ((LogitsDetector) d).predictLogits(set.logits()).toDoubleArray();
                case FEATURES -> ((FeaturesDetector) d).predictFeatures(set.layers().get(FEATURES_AT)).toDoubleArray();
                case FEATURE_MAPS -> ((FeatureMapsDetector) d).predictFeatureMaps(set.layers().get(MAPS_AT)).toDoubleArray();
                case LAYERS -> ((StructuredDetector) d).predictStructured(set.layers(row.layers()), set.logits()).toDoubleArray();
                case MODEL -> {
                    double[] out = new double[(int) set.images().size()];
                    int at = 0;
                    for (Batch b : batches(set.images())) {
                        double[] part = d.predict(b.x()).toDoubleArray();
                        System.arraycopy(part, 0, out, at, part.length);
                        at += part.length;
                    }
                    yield out;
                }
            };
        }
    }

    /** The images and labels in batches (views, no copies). */
    private static List<Batch> batches(DemoData.Images images) {
        long n = images.size();
        return IntStream.range(0, (int) ((n + BATCH - 1) / BATCH)).mapToObj(i -> {
            long start = (long) i * BATCH, end = Math.min(n, start + BATCH);
            return new Batch(images.x().slice(0, start, end), images.y().slice(0, start, end));
        }).toList();
    }
}
