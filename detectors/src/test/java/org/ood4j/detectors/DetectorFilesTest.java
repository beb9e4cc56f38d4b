package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.ArrayFormatException;
import org.ood4j.engine.io.Safetensors;
import org.ood4j.models.Sequential;
import org.ood4j.models.Zoo;

/**
 * Every detector of the registry saves and loads back to bit-identical scores (through its
 * representation interface, or through a small CNN for the detectors that run the network); bad
 * files are refused.
 */
class DetectorFilesTest {
    @TempDir Path dir;

    static final int CLASSES = 4, DIM = 6;
    /** Height and width of the raw images: the smallest the small CNN takes, so many rows stay cheap. */
    static final int SIDE = 4;

    /**
     * Random data of class structure: logits (60, C), features (60, D), maps (60, 3, 2, 2), labels
     * with OOD rows, and raw images (60, 3, SIDE, SIDE) for {@link #network}.
     */
    record Data(Tensor logits, Tensor features, Tensor maps, Tensor labels, Tensor w, Tensor b, Tensor images) {
        static Data make() {
            return make(60);
        }

        /** n rows (the first 4 OOD) of the same structure. */
        static Data make(int n) {
            SplittableRandom rng = new SplittableRandom(17);
            long[] y = new long[n];
            double[] f = new double[n * DIM];
            for (int i = 0; i < n; i++) {
                y[i] = i < 4 ? -1 : i % CLASSES;
                for (int j = 0; j < DIM; j++) f[i * DIM + j] = rng.nextGaussian() + (j == Math.max(y[i], 0) ? 4 : 0);
            }
            Tensor features = Tensor.of(f, n, DIM);
            Tensor w = Tensor.randn(rng, DType.FLOAT32, CLASSES, DIM).add(Tensor.of(eye(), CLASSES, DIM));
            Tensor b = Tensor.randn(rng, DType.FLOAT32, CLASSES);
            Tensor logits = features.matmul(w.t().to(DType.FLOAT64)).add(b).to(DType.FLOAT32);
            Tensor maps = Tensor.randn(rng, DType.FLOAT32, n, 3, 2, 2).abs();
            Tensor images = Tensor.randn(rng, DType.FLOAT32, n, 3, SIDE, SIDE);
            return new Data(logits, features.to(DType.FLOAT32), maps, Tensor.of(y), w, b, images);
        }

        long size() {
            return labels.size(0);
        }

        /** Rows [from, to) of every per-sample array (views); the head is shared. */
        Data rows(long from, long to) {
            return new Data(logits.slice(0, from, to), features.slice(0, from, to), maps.slice(0, from, to),
                    labels.slice(0, from, to), w, b, images.slice(0, from, to));
        }

        static double[] eye() {
            double[] e = new double[CLASSES * DIM];
            for (int c = 0; c < CLASSES; c++) e[c * DIM + c] = 3;
            return e;
        }
    }

    static Stream<String> detectors() {
        return DetectorRegistry.names().stream();
    }

    /** A small CNN with batch norm and Dropout(0) for the detectors that run the network: (3, SIDE, SIDE) images, C classes. */
    static Network network(Sequential cnn) {
        return new Network(cnn, Zoo.SMALL_CNN_FEATURES_AT, Zoo.SMALL_CNN_FEATURE_MAPS_AT);
    }

    static Sequential smallCnn() {
        return Zoo.smallCnn(3, SIDE, SIDE, CLASSES, 2, 0.0, new SplittableRandom(5));
    }

    /** Detectors that work only through a network (gradients, dropout, or cutting it at the feature maps). */
    static final java.util.Set<String> ON_NETWORK = java.util.Set.of("ODIN", "GradNorm", "GradNormKL", "MCD", "NACUE",
            "ASH", "ReAct", "RankFeat", "VRA");

    /** The small CNN for the detectors that run the network, else null (the representation interfaces). */
    static Network networkFor(String name, Sequential cnn) {
        return ON_NETWORK.contains(name) ? network(cnn) : null;
    }

    static Map<String, Object> paramsFor(String name, Data d) {
        Map<String, Object> head = Map.of("weight", d.w(), "bias", d.b());
        return switch (name) {
            case "WeightedEBO" -> Map.of("weights", Tensor.of(new double[] {0.5, 1, 2, 1}));
            case "ViM" -> Map.of("d", 2, "w", d.w(), "b", d.b());
            case "NNGuide" -> Map.of("w", d.w(), "b", d.b(), "k", 3);
            case "DICE" -> Map.of("w", d.w(), "b", d.b(), "p", 60, "detector", "MaxSoftmax.score");
            case "SHE", "fDBD" -> Map.of("head", head);
            case "NCI" -> Map.of("head", head, "alpha", 0.1);
            case "Gram" -> Map.of("num_classes", CLASSES, "num_poles_list", List.of(1, 2));
            case "MultiMahalanobis" -> Map.of("alpha", List.of(1.0, 0.5));
            case "OpenMax" -> Map.of("tailsize", 5, "alpha", 2);
            case "KNN" -> Map.of("k", 2);
            case "ASH" -> Map.of("variant", "ash-b", "percentile", 0.5);
            case "ReAct" -> Map.of("threshold", 0.5, "detector", "MaxSoftmax.score");
            case "VRA" -> Map.of("lower_percentile", 10, "upper_percentile", 80);
            case "ODIN" -> Map.of("eps", 0.01, "temperature", 10.0, "norm_std", List.of(0.5, 1.0, 2.0));
            case "GradNorm" -> Map.of("param_filter", List.of("9.weight", "12.bias", "5.weight"));
            case "MCD" -> Map.of("samples", 3, "mode", "mean", "batch_norm", false);
            case "NACUE" -> Map.of("layers", List.of(2, 10), "m_bins", List.of(10, 20), "alpha", 5.0, "o_star", 3);
            default -> Map.of();
        };
    }

    /** Fits through the detector's representation interface (or the network, for those that run it). */
    static void fit(AbstractDetector det, Data d) {
        if (det instanceof NetworkDetector || det instanceof FeatureMapsDetector) det.fit(List.of(new Batch(d.images(), d.labels())));
        else if (det instanceof LogitsDetector l) l.fitLogits(d.logits(), d.labels());
        else if (det instanceof FeaturesDetector f) f.fitFeatures(d.features(), d.labels());
        else ((StructuredDetector) det).fitStructured(layers(d), d.labels());
    }

    /** The detector's scores of d's rows, through the same interface as {@link #fit}. */
    static Tensor score(AbstractDetector det, Data d) {
        if (det instanceof NetworkDetector || det instanceof FeatureMapsDetector) return det.predict(d.images());
        if (det instanceof LogitsDetector l) return l.predictLogits(d.logits());
        if (det instanceof FeaturesDetector f) return f.predictFeatures(d.features());
        return ((StructuredDetector) det).predictStructured(layers(d), d.logits());
    }

    private static List<Tensor> layers(Data d) {
        return List.of(d.maps(), d.features());
    }

    private static Tensor fitAndScore(AbstractDetector det, Data d, boolean fit) {
        if (fit) fit(det, d);
        return score(det, d);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("detectors")
    void savedDetectorsScoreBitIdentically(String name) throws IOException {
        try (Scope s = Scope.open(); Sequential cnn = smallCnn()) {
            Data d = Data.make();
            Network network = networkFor(name, cnn);
            Path file = dir.resolve(name + ".safetensors");
            double[] before;
            try (AbstractDetector det = (AbstractDetector) DetectorRegistry.create(name, paramsFor(name, d), network)) {
                before = fitAndScore(det, d, true).toDoubleArray();
                DetectorFiles.save(det, file);
            }
            long live = MemoryStats.liveBlocks();
            try (AbstractDetector loaded = DetectorFiles.load(file, network)) {
                assertEquals(name, loaded.name());
                assertTrue(loaded.isFitted());
                double[] after = fitAndScore(loaded, d, false).toDoubleArray();
                for (int i = 0; i < before.length; i++) {
                    assertEquals(Double.doubleToLongBits(before[i]), Double.doubleToLongBits(after[i]),
                            name + " score " + i + ": " + before[i] + " vs " + after[i]);
                }
            }
            assertTrue(MemoryStats.liveBlocks() <= live + 2, "loading leaves nothing behind but the scores");
        }
    }

    @Test
    void mahalanobisWithInputPreprocessingThroughTheNetwork() throws IOException {
        try (Scope s = Scope.open(); Sequential cnn = smallCnn()) {
            Data d = Data.make();
            Network network = network(cnn);
            Map<String, Object> params = Map.of("eps", 0.01, "norm_std", List.of(0.5, 1.0, 2.0));
            Path file = dir.resolve("mahalanobis-eps.safetensors");
            double[] before, plain;
            try (Mahalanobis m = (Mahalanobis) DetectorRegistry.create("Mahalanobis", params, network)) {
                m.fit(List.of(new Batch(d.images(), d.labels())));
                before = m.predict(d.images()).toDoubleArray();
                plain = m.predictFeatures(network.encoder().apply(d.images())).toDoubleArray();
                DetectorFiles.save(m, file);
            }
            assertFalse(java.util.Arrays.equals(before, plain), "eps > 0 moves the inputs");
            try (Mahalanobis loaded = DetectorFiles.load(file, network, Mahalanobis.class)) {
                assertEquals(0.01, loaded.eps());
                double[] after = loaded.predict(d.images()).toDoubleArray();
                for (int i = 0; i < before.length; i++) assertEquals(Double.doubleToLongBits(before[i]), Double.doubleToLongBits(after[i]));
            }
        }
    }

    private Path savedKnn() throws IOException {
        try (Scope s = Scope.open()) {
            Data d = Data.make();
            KNN knn = new KNN(null);
            knn.fitFeatures(d.features(), d.labels());
            Path file = dir.resolve("knn.safetensors");
            DetectorFiles.save(knn, file);
            knn.close();
            return file;
        }
    }

    @Test
    void aFileOfAnotherDetectorIsRefused() throws IOException {
        Path file = savedKnn();
        var e = assertThrows(ArrayFormatException.class, () -> DetectorFiles.load(file, null, Mahalanobis.class));
        assertTrue(e.getMessage().contains("KNN"), e.getMessage());
    }

    @Test
    void aChangedByteIsRefused() throws IOException {
        Path file = savedKnn();
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 3] ^= 1;                          // inside the last tensor's data
        Files.write(file, bytes);
        var e = assertThrows(ArrayFormatException.class, () -> DetectorFiles.load(file, null));
        assertTrue(e.getMessage().contains("checksum"), e.getMessage());
    }

    @Test
    void aTruncatedFileIsRefused() throws IOException {
        Path file = savedKnn();
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 10));
        assertThrows(ArrayFormatException.class, () -> DetectorFiles.load(file, null));
    }

    @Test
    void otherFormatsAndVersionsAreRefused() throws IOException {
        Path plain = dir.resolve("plain.safetensors");
        try (Tensor t = Tensor.zeros(DType.FLOAT32, 2)) {
            Safetensors.write(plain, Map.of("x", t), Map.of("format", "something-else"));
        }
        var e = assertThrows(ArrayFormatException.class, () -> DetectorFiles.load(plain, null));
        assertTrue(e.getMessage().contains("not a saved ood4j detector"), e.getMessage());
        Path future = dir.resolve("future.safetensors");
        try (Tensor t = Tensor.zeros(DType.FLOAT32, 2)) {
            Safetensors.write(future, Map.of("x", t), Map.of("format", DetectorFiles.FORMAT, "version", "99"));
        }
        e = assertThrows(ArrayFormatException.class, () -> DetectorFiles.load(future, null));
        assertTrue(e.getMessage().contains("version 99"), e.getMessage());
    }

    @Test
    void unfittedDetectorsAndCustomFunctionsCannotBeSaved() {
        assertThrows(RequiresFitException.class, () -> DetectorFiles.save(new KNN(null), dir.resolve("x")));
        try (Scope s = Scope.open()) {
            DICE dice = new DICE(null, Tensor.ones(DType.FLOAT32, 2, 2), Tensor.zeros(DType.FLOAT32, 2), 50, x -> x.sum(1));
            dice.fitFeatures(Tensor.ones(DType.FLOAT32, 3, 2), null);
            assertThrows(UnsupportedOperationException.class, () -> DetectorFiles.save(dice, dir.resolve("dice")));
        }
    }

    @Test
    void changedParametersAreRefusedToo() throws IOException {
        Path file = dir.resolve("msp.safetensors");
        try (MaxSoftmax msp = new MaxSoftmax(null, 2.0)) {
            DetectorFiles.save(msp, file);
        }
        Map<String, String> meta = new java.util.LinkedHashMap<>(Safetensors.readMetadata(file));
        meta.put("params", meta.get("params").replace("2.0", "3.0"));
        Map<String, Tensor> tensors = Safetensors.read(file);
        Safetensors.write(file, tensors, meta);
        tensors.values().forEach(Tensor::close);
        var e = assertThrows(ArrayFormatException.class, () -> DetectorFiles.load(file, null));
        assertTrue(e.getMessage().contains("checksum"), e.getMessage());
    }
}
