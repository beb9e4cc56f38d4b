package org.ood4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

import org.ood4j.detectors.ASH;
import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.DetectorRegistry;
import org.ood4j.detectors.EnergyBased;
import org.ood4j.detectors.FeatureMapsDetector;
import org.ood4j.detectors.FeaturesDetector;
import org.ood4j.detectors.LogitsDetector;
import org.ood4j.detectors.RankFeat;
import org.ood4j.detectors.ReAct;
import org.ood4j.detectors.VRA;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;
import org.ood4j.models.AdaptiveAvgPool2d;
import org.ood4j.models.Flatten;
import org.ood4j.models.Linear;
import org.ood4j.models.Sequential;

/**
 * The benchmark workload of {@code shared/bench/WORKLOADS.md}: its {@code .npy} files, a
 * generator of such a folder with class structure, and the rows (detector, parameters, what it
 * is fitted on and what it scores).
 */
final class Workload implements AutoCloseable {
    /** The files of a workload folder, in the order they are generated. */
    static final List<String> FILES = List.of("logits_fit.npy", "logits_fit_y.npy", "logits.npy", "feat_fit_x.npy", "feat_fit_y.npy",
            "feat_x.npy", "head_w.npy", "head_b.npy", "fmaps.npy");

    /** The row names of WORKLOADS.md, in its order. */
    static final List<String> ROWS = List.of("MaxSoftmax", "EnergyBased", "Entropy", "MaxLogit", "GEN", "KLMatching", "TemperatureScaling",
            "OpenMax", "Mahalanobis", "RMD", "GMM", "KNN", "NNGuide", "ViM", "SHE", "DICE", "NCI", "fDBD", "ASH", "ReAct", "VRA", "RankFeat");

    /** Full sizes; the first dimension of every array is divided by {@code divisor} (quick: 5). */
    record Sizes(int logitsFit, int logits, int classes, int featFit, int feat, int dim, int featClasses, int maps, int mapH, int mapW) {
        static Sizes divided(int divisor) {
            if (divisor < 1) throw new IllegalArgumentException("the divisor must be at least 1, got " + divisor);
            return new Sizes(Math.max(2000, 50000 / divisor), Math.max(1, 100000 / divisor), 1000, Math.max(20, 50000 / divisor),
                    Math.max(1, 10000 / divisor), 512, 10, Math.max(2, 2000 / divisor), 4, 4);
        }
    }

    private final Map<String, Tensor> arrays = new LinkedHashMap<>();
    private Sequential mapsHead;

    private Workload() {}

    // ---------------------------------------------------------------- generation

    /**
     * Writes a workload folder: class-centred Gaussian logits (the own class raised by 8), ReLU'd
     * class-centred features with a head that separates the classes, and non-negative feature maps
     * whose pooled channels are such features. Every logits class has fit samples (labels cycle
     * through the classes, shuffled).
     */
    static void generate(Path dir, Sizes s, long seed) throws IOException {
        Files.createDirectories(dir);
        SplittableRandom rng = new SplittableRandom(seed);
        try (Scope scope = Scope.open()) {
            Tensor logitCentres = Tensor.randn(rng, DType.FLOAT32, s.classes(), s.classes()).mul(0.5);
            for (int c = 0; c < s.classes(); c++) logitCentres.set(logitCentres.getDouble(c, c) + 8, c, c);
            Tensor fitY = cyclicLabels(rng, s.logitsFit(), s.classes());
            write(dir, "logits_fit.npy", noisy(rng, logitCentres, fitY, 1));
            write(dir, "logits_fit_y.npy", fitY);
            write(dir, "logits.npy", noisy(rng, logitCentres, cyclicLabels(rng, s.logits(), s.classes()), 1));
        }
        try (Scope scope = Scope.open()) {
            Tensor centres = Tensor.randn(rng, DType.FLOAT32, s.featClasses(), s.dim()).mul(2);
            Tensor fitY = cyclicLabels(rng, s.featFit(), s.featClasses());
            write(dir, "feat_fit_x.npy", noisy(rng, centres, fitY, 1).relu());
            write(dir, "feat_fit_y.npy", fitY);
            write(dir, "feat_x.npy", noisy(rng, centres, cyclicLabels(rng, s.feat(), s.featClasses()), 1).relu());
            write(dir, "head_w.npy", centres.mul(0.1));
            write(dir, "head_b.npy", Tensor.randn(rng, DType.FLOAT32, s.featClasses()).mul(0.1));
            Tensor mapY = cyclicLabels(rng, s.maps(), s.featClasses());
            Tensor perChannel = centres.indexSelect(0, mapY).reshape(s.maps(), s.dim(), 1, 1);
            Tensor noise = Tensor.randn(rng, DType.FLOAT32, s.maps(), s.dim(), s.mapH(), s.mapW());
            write(dir, "fmaps.npy", noise.add(perChannel).relu());
        }
    }

    /** centres[y] + sigma * N(0, 1), float32. */
    private static Tensor noisy(SplittableRandom rng, Tensor centres, Tensor y, double sigma) {
        Tensor noise = Tensor.randn(rng, DType.FLOAT32, y.size(0), centres.size(1));
        return centres.indexSelect(0, y).add(sigma == 1 ? noise : noise.mul(sigma));
    }

    /** 0, 1, .., classes - 1, 0, 1, .. shuffled: every class appears when n >= classes. */
    private static Tensor cyclicLabels(SplittableRandom rng, int n, int classes) {
        long[] y = new long[n];
        for (int i = 0; i < n; i++) y[i] = i % classes;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            long t = y[i];
            y[i] = y[j];
            y[j] = t;
        }
        return Tensor.of(y);
    }

    private static void write(Path dir, String name, Tensor t) throws IOException {
        Npy.write(dir.resolve(name), t);
    }

    // ---------------------------------------------------------------- loading

    /** Reads every file of the folder, moved to {@code device}. */
    static Workload load(Path dir, Device device) throws IOException {
        Workload w = new Workload();
        try {
            for (String name : FILES) {
                Path f = dir.resolve(name);
                if (!Files.isRegularFile(f)) throw new IllegalArgumentException("workload folder " + dir + " has no " + name);
                Tensor t = Scope.release(Npy.read(f));
                if (device != Device.CPU) {
                    Tensor moved = Scope.release(t.to(device));
                    t.close();
                    t = moved;
                }
                w.arrays.put(name, t);
            }
            w.check();
            return w;
        } catch (IOException | RuntimeException e) {
            w.close();
            throw e;
        }
    }

    private void check() {
        long classes = get("logits_fit.npy").size(1);
        if (get("logits.npy").size(1) != classes) throw new IllegalArgumentException("logits.npy and logits_fit.npy differ in class count");
        if (get("head_w.npy").size(1) != get("feat_x.npy").size(1)) throw new IllegalArgumentException("head_w.npy does not match feat_x.npy");
        if (get("fmaps.npy").rank() != 4 || get("fmaps.npy").size(1) != get("head_w.npy").size(1)) {
            throw new IllegalArgumentException("fmaps.npy must be (N, D, H, W) with D the head's input size");
        }
    }

    Tensor get(String name) {
        Tensor t = arrays.get(name);
        if (t == null) throw new IllegalArgumentException("no array " + name);
        return t;
    }

    /** A short description of the sizes, for the report. */
    String describe() {
        List<String> parts = new ArrayList<>();
        for (String name : List.of("logits_fit.npy", "logits.npy", "feat_fit_x.npy", "feat_x.npy", "fmaps.npy")) {
            parts.add(name.replace(".npy", "") + " " + java.util.Arrays.toString(get(name).shape()));
        }
        return String.join(", ", parts);
    }

    @Override
    public void close() {
        for (Tensor t : arrays.values()) t.close();
        arrays.clear();
        if (mapsHead != null) mapsHead.close();
        mapsHead = null;
    }

    // ---------------------------------------------------------------- rows

    /** What a row's detector is fitted on and scores. */
    enum Kind { LOGITS, FEATURES, MAPS }

    /**
     * One row of the table.
     *
     * @param labelled whether the fit gets the labels (the detectors that WORKLOADS.md fits on
     *                 features alone get none)
     */
    record Row(String name, Kind kind, Supplier<AbstractDetector> factory, boolean labelled) {}

    List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        Tensor w = get("head_w.npy"), b = get("head_b.npy");
        Map<String, Object> head = Map.of("weight", w, "bias", b);
        int dim = (int) w.size(1);
        registry(rows, Kind.LOGITS, "MaxSoftmax", Map.of("t", 1.0), false);
        registry(rows, Kind.LOGITS, "EnergyBased", Map.of("t", 1.0), false);
        registry(rows, Kind.LOGITS, "Entropy", Map.of(), false);
        registry(rows, Kind.LOGITS, "MaxLogit", Map.of(), false);
        registry(rows, Kind.LOGITS, "GEN", Map.of("gamma", 0.1), false);
        registry(rows, Kind.LOGITS, "KLMatching", Map.of(), true);
        registry(rows, Kind.LOGITS, "TemperatureScaling", Map.of(), true);
        registry(rows, Kind.LOGITS, "OpenMax", Map.of("tailsize", 25, "alpha", 10), true);
        registry(rows, Kind.FEATURES, "Mahalanobis", Map.of("eps", 0.0), true);
        registry(rows, Kind.FEATURES, "RMD", Map.of(), true);
        registry(rows, Kind.FEATURES, "GMM", Map.of("reg", 1e-6), true);
        registry(rows, Kind.FEATURES, "KNN", Map.of("k", 1), false);
        registry(rows, Kind.FEATURES, "NNGuide", Map.of("w", w, "b", b, "k", 10), false);
        // d = 64 (WORKLOADS.md) where the features have more than 64 dimensions, else half of them
        registry(rows, Kind.FEATURES, "ViM", Map.of("d", dim > 64 ? 64 : Math.max(1, dim / 2), "w", w, "b", b), false);
        registry(rows, Kind.FEATURES, "SHE", Map.of("head", head), true);
        // WORKLOADS.md's p = 0.7 is the fraction of weights dropped: the registry's percentile 70
        registry(rows, Kind.FEATURES, "DICE", Map.of("w", w, "b", b, "p", 70.0), false);
        registry(rows, Kind.FEATURES, "NCI", Map.of("head", head, "alpha", 0.0), false);
        registry(rows, Kind.FEATURES, "fDBD", Map.of("head", head), false);
        // feature-map detectors: no backbone (the maps are the input), head = pool + linear
        if (mapsHead == null) mapsHead = poolThenLinear(w, b);
        Sequential mapsHead = this.mapsHead;
        rows.add(new Row("ASH", Kind.MAPS, () -> new ASH(null, mapsHead, "ash-s", 0.65, null), false));
        rows.add(new Row("ReAct", Kind.MAPS, () -> new ReAct(null, mapsHead, 1.0, null), false));
        rows.add(new Row("VRA", Kind.MAPS, () -> new VRA(null, mapsHead, 1, 99, null), false));
        rows.add(new Row("RankFeat", Kind.MAPS, () -> new RankFeat(null, mapsHead, null), false));
        return rows;
    }

    private static void registry(List<Row> rows, Kind kind, String name, Map<String, Object> params, boolean labelled) {
        rows.add(new Row(name, kind, () -> (AbstractDetector) DetectorRegistry.create(name, params, null), labelled));
    }

    /** Fits d as the row says (VRA: on the first half of the maps, WORKLOADS.md's first 1000 of 2000). */
    void fit(Row row, AbstractDetector d) {
        switch (row.kind()) {
            case LOGITS -> ((LogitsDetector) d).fitLogits(get("logits_fit.npy"), get("logits_fit_y.npy"));
            case FEATURES -> ((FeaturesDetector) d).fitFeatures(get("feat_fit_x.npy"), row.labelled() ? get("feat_fit_y.npy") : null);
            case MAPS -> {
                Tensor all = get("fmaps.npy");
                try (Tensor half = all.slice(0, 0, Math.max(1, all.size(0) / 2))) {
                    ((FeatureMapsDetector) d).fitFeatureMaps(half, null);
                }
            }
        }
    }

    /** Scores the whole scoring array of the row. */
    Tensor predict(Row row, AbstractDetector d) {
        return switch (row.kind()) {
            case LOGITS -> ((LogitsDetector) d).predictLogits(get("logits.npy"));
            case FEATURES -> ((FeaturesDetector) d).predictFeatures(get("feat_x.npy"));
            case MAPS -> ((FeatureMapsDetector) d).predictFeatureMaps(get("fmaps.npy"));
        };
    }

    /** The workload's maps head, as a ResNet's: global average pooling, flatten, then the linear layer (w, b). */
    private static Sequential poolThenLinear(Tensor w, Tensor b) {
        Linear linear = new Linear((int) w.size(1), (int) w.size(0), true);
        linear.weight().value().copyFrom(w);
        linear.bias().value().copyFrom(b);
        return new Sequential(new AdaptiveAvgPool2d(), new Flatten(), linear);
    }
}
