package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Knn;
import org.ood4j.engine.Linalg;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.KnnOps;
import org.ood4j.engine.io.ArrayFormatException;
import org.ood4j.engine.io.Npy;
import org.ood4j.engine.io.Safetensors;

/**
 * The catalogue of what users get wrong, one row each: the public entry point, what it is
 * handed, the exception it must throw and a fragment its message must contain (the problem and
 * the offending value or shape). README's "Errors" section lists the same families.
 */
class BadInputTest {
    record Case(String what, Class<? extends Throwable> type, String fragment, Executable call) {
        @Override public String toString() { return what; }
    }

    private static Tensor f32(long... shape) { return Tensor.zeros(DType.FLOAT32, shape); }

    private static Tensor logits(double[][] rows) { return Tensor.of(rows).to(DType.FLOAT32); }

    private static Tensor withValue(Tensor t, double v, long... at) {
        t.set(v, at);
        return t;
    }

    private static KLMatching fittedKl() {
        KLMatching kl = new KLMatching(null);
        kl.fitLogits(logits(new double[][] {{2, 0, 0}, {0, 2, 0}, {0, 0, 2}}), Tensor.of(new long[] {0, 1, 2}));
        return kl;
    }

    private static KNN fittedKnn() {
        KNN knn = new KNN(null);
        knn.fitFeatures(Tensor.randn(new java.util.SplittableRandom(1), DType.FLOAT32, 10, 4), null);
        return knn;
    }

    /** Labels 0, 1, ..., classes - 1, 0, 1, ... of n rows. */
    private static Tensor cycling(int n, int classes) {
        return Tensor.of(java.util.stream.LongStream.range(0, n).map(i -> i % classes).toArray());
    }

    /** Ten real classes (0..9) and one stray {@code label}. */
    private static Tensor tenClassesAnd(long label) {
        long[] y = java.util.Arrays.copyOf(java.util.stream.LongStream.range(0, 10).toArray(), 11);
        y[10] = label;
        return Tensor.of(y);
    }

    /** A MultiMahalanobis fitted on one layer of 20 rows. */
    private static MultiMahalanobis fittedMultiMahalanobis() {
        MultiMahalanobis m = new MultiMahalanobis(null, null, null);
        m.fitStructured(List.of(Tensor.randn(new java.util.SplittableRandom(2), DType.FLOAT32, 20, 3)), cycling(20, 2));
        return m;
    }

    private static Path file(String name, byte[] bytes) throws IOException {
        Path dir = Files.createTempDirectory("ood4j-bad");
        Path f = dir.resolve(name);
        Files.write(f, bytes);
        return f;
    }

    static Stream<Case> cases() {
        return Stream.of(
                // ---- tensors
                new Case("array length does not fit the shape", IllegalArgumentException.class, "needs 6 values",
                        () -> Tensor.of(new float[5], 2, 3)),
                new Case("reshape to another element count", IllegalArgumentException.class, "cannot reshape [2, 3]",
                        () -> f32(2, 3).reshape(4, 2)),
                new Case("shapes that do not broadcast", IllegalArgumentException.class, "do not broadcast",
                        () -> f32(3, 2).add(f32(4, 2))),
                new Case("matmul inner dimensions differ", IllegalArgumentException.class, "inner dimensions",
                        () -> f32(2, 3).matmul(f32(4, 2))),
                new Case("matmul of int64", IllegalArgumentException.class, "floating",
                        () -> Tensor.zeros(DType.INT64, 2, 2).matmul(Tensor.zeros(DType.INT64, 2, 2))),
                new Case("a closed tensor", IllegalStateException.class, "[2, 2] FLOAT32 is closed", () -> {
                    Tensor t = f32(2, 2);
                    t.close();
                    t.sum();
                }),
                new Case("a tensor closed twice", IllegalStateException.class, "closed twice", () -> {
                    Tensor t = f32(1);
                    t.close();
                    t.close();
                }),
                new Case("a device without CUDA", IllegalStateException.class, "CUDA", () -> f32(2).to(Device.CUDA)),
                new Case("index out of range", IndexOutOfBoundsException.class, "index 5", () -> f32(3, 2).select(0, 5)),
                new Case("gather index out of range", IndexOutOfBoundsException.class, "7",
                        () -> f32(2, 3).gather(1, Tensor.of(new long[] {0, 7}, 2, 1))),
                new Case("top-k larger than the row", IllegalArgumentException.class, "5", () -> f32(2, 3).topk(5, 1, true)),
                new Case("quantile outside [0, 1]", IllegalArgumentException.class, "1.5", () -> f32(4).quantile(1.5)),
                new Case("Cholesky of a matrix that is not positive definite", IllegalArgumentException.class, "positive definite",
                        () -> Linalg.cholesky(Tensor.of(new double[][] {{1, 2}, {2, 1}}))),
                new Case("inverse of a non-square matrix", IllegalArgumentException.class, "[2, 3]", () -> Linalg.inverse(f32(2, 3))),
                new Case("kNN with k = 0", IllegalArgumentException.class, "k", () -> Knn.search(f32(2, 3), f32(4, 3), 0, KnnOps.Metric.L2)),
                new Case("kNN of another dimension", IllegalArgumentException.class, "[4, 5]",
                        () -> Knn.search(f32(2, 3), f32(4, 5), 1, KnnOps.Metric.L2)),
                // ---- files
                new Case("a truncated .npy", ArrayFormatException.class, "expected", () -> {
                    byte[] full = Npy.toBytes(Tensor.of(new float[] {1, 2, 3, 4}));
                    Npy.read(file("t.npy", java.util.Arrays.copyOf(full, full.length - 5)));
                }),
                new Case("a .npy of an unsupported dtype", ArrayFormatException.class, "<c8", () -> {
                    String header = "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }";
                    header = header + " ".repeat(128 - 10 - header.length() - 1) + "\n";
                    byte[] h = header.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                    byte[] bytes = new byte[10 + h.length + 8];
                    byte[] magic = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (byte) h.length, 0};
                    System.arraycopy(magic, 0, bytes, 0, 10);
                    System.arraycopy(h, 0, bytes, 10, h.length);
                    Npy.read(file("c.npy", bytes));
                }),
                new Case("a safetensors header longer than the file", ArrayFormatException.class, "header", () -> {
                    byte[] bytes = new byte[16];
                    bytes[0] = (byte) 0xff;
                    bytes[1] = (byte) 0xff;
                    Safetensors.read(file("h.safetensors", bytes));
                }),
                new Case("a saved file of another detector", ArrayFormatException.class, "KNN", () -> {
                    Path f = Files.createTempFile("knn", ".safetensors");
                    try (KNN knn = fittedKnn()) {
                        DetectorFiles.save(knn, f);
                    }
                    DetectorFiles.load(f, null, Mahalanobis.class);
                }),
                new Case("a plain safetensors file as a detector", ArrayFormatException.class, "not a saved ood4j detector", () -> {
                    Path f = Files.createTempFile("plain", ".safetensors");
                    Safetensors.write(f, Map.of("x", f32(1)));
                    DetectorFiles.load(f, null);
                }),
                // ---- detector inputs
                new Case("logits of the wrong rank", IllegalArgumentException.class, "[4]", () -> new MaxSoftmax(null).predictLogits(f32(4))),
                new Case("another class count at predict", IllegalArgumentException.class, "5 classes",
                        () -> fittedKl().predictLogits(f32(2, 5))),
                new Case("another feature dimension at predict", IllegalArgumentException.class, "dimension 7",
                        () -> fittedKnn().predictFeatures(f32(2, 7))),
                new Case("an empty batch", IllegalArgumentException.class, "empty", () -> new EnergyBased(null).predictLogits(f32(0, 3))),
                new Case("NaN in logits", IllegalArgumentException.class, "NaN", () -> new MaxLogit(null).predictLogits(withValue(f32(3, 2), Double.NaN, 1, 1))),
                new Case("infinity in features", IllegalArgumentException.class, "row 2",
                        () -> fittedKnn().predictFeatures(withValue(f32(3, 4), Double.POSITIVE_INFINITY, 2, 0))),
                new Case("a label beyond the classes", IllegalArgumentException.class, "label 9",
                        () -> new KLMatching(null).fitLogits(f32(2, 3), Tensor.of(new long[] {0, 9}))),
                new Case("float labels", IllegalArgumentException.class, "int64",
                        () -> new KLMatching(null).fitLogits(f32(2, 3), Tensor.of(new float[] {0, 1}))),
                new Case("labels of another length", IllegalArgumentException.class, "shape [2]",
                        () -> new KLMatching(null).fitLogits(f32(2, 3), Tensor.of(new long[] {0, 1, 2}))),
                new Case("every label OOD", IllegalArgumentException.class, "OOD",
                        () -> new KLMatching(null).fitLogits(f32(2, 3), Tensor.of(new long[] {-1, -1}))),
                new Case("a class with no samples", IllegalArgumentException.class, "[1]",
                        () -> new Mahalanobis(null).fitFeatures(f32(2, 3), Tensor.of(new long[] {0, 2}))),
                new Case("scoring before fitting", RequiresFitException.class, "Mahalanobis", () -> new Mahalanobis(null).predictFeatures(f32(1, 3))),
                new Case("predict(x) without a model", ModelNotSetException.class, "without a model", () -> new Entropy(null).predict(f32(1, 3))),
                new Case("a label of 1e12", IllegalArgumentException.class, "label 1000000000000 (1 row) implies 1000000000001 classes",
                        () -> new Mahalanobis(null).fitFeatures(f32(11, 3), tenClassesAnd(1_000_000_000_000L))),
                new Case("a label of 1e12 for GMM", IllegalArgumentException.class, "label 1000000000000 (1 row)",
                        () -> new GMM(null).fitFeatures(f32(11, 3), tenClassesAnd(1_000_000_000_000L))),
                new Case("a stray label 100000 among 10 classes", IllegalArgumentException.class,
                        "classes [10..99999] (99,990 classes) have no fit samples",
                        () -> new Mahalanobis(null).fitFeatures(f32(11, 3), tenClassesAnd(100_000))),
                new Case("a label beyond the classes, counted", IllegalArgumentException.class, "label 9 (2 rows) out of range for 3 classes",
                        () -> new KLMatching(null).fitLogits(f32(3, 3), Tensor.of(new long[] {0, 9, 9}))),
                // ---- limits: refused at once with what it needs and what is there (never an OutOfMemoryError)
                new Case("Mahalanobis at feature dimension 200000", IllegalArgumentException.class,
                        "Mahalanobis: a fit of 2 classes at feature dimension 200000 needs about",
                        () -> new Mahalanobis(null).fitFeatures(f32(10, 200_000), cycling(10, 2))),
                new Case("RMD at feature dimension 200000", IllegalArgumentException.class, "RMD: a fit of 2 classes at feature dimension 200000",
                        () -> new RMD(null).fitFeatures(f32(10, 200_000), cycling(10, 2))),
                new Case("GMM at feature dimension 200000", IllegalArgumentException.class, "GMM: a fit of 2 classes at feature dimension 200000",
                        () -> new GMM(null).fitFeatures(f32(10, 200_000), cycling(10, 2))),
                new Case("MultiMahalanobis at dimension 200000", IllegalArgumentException.class,
                        "MultiMahalanobis (layer 0): a fit of 2 classes at feature dimension 200000",
                        () -> new MultiMahalanobis(null, null, null).fitStructured(List.of(f32(10, 200_000)), cycling(10, 2))),
                new Case("ViM at feature dimension 200000", IllegalArgumentException.class, "ViM: a fit at feature dimension 200000 needs about",
                        () -> new ViM(null, 1, f32(2, 200_000), f32(2)).fitFeatures(f32(10, 200_000), null)),
                new Case("KLMatching with 200000 classes", IllegalArgumentException.class, "KLMatching: a fit of 200000 classes needs about",
                        () -> new KLMatching(null).fitLogits(f32(10, 200_000), cycling(10, 2))),
                new Case("OpenMax with 200000 classes", IllegalArgumentException.class, "OpenMax: a fit of 200000 classes needs about",
                        () -> new OpenMax(null).fitLogits(f32(10, 200_000), cycling(10, 2))),
                new Case("KNN with k = 1000000", IllegalArgumentException.class, "KNN: scoring with k = 1000000 needs about",
                        () -> new KNN(null, 1_000_000).fitFeatures(f32(1_000_000, 1), null)),
                new Case("Gram with 100 million classes", IllegalArgumentException.class, "Gram: a fit of 100000000 classes needs about",
                        () -> new Gram(100_000_000, null).fitStructured(List.of(f32(10, 64, 2, 2)), cycling(10, 2))),
                new Case("layers of different row counts", IllegalArgumentException.class, "layer 1 has 2 rows",
                        () -> new MultiMahalanobis(null).fitStructured(List.of(f32(3, 2), f32(2, 2)), Tensor.of(new long[] {0, 1, 0}))),
                new Case("Gram fit logits of other rows than the layers", IllegalArgumentException.class,
                        "Gram: logits have 100 rows, the layers 200",
                        () -> new Gram(2, null).fitStructured(List.of(f32(200, 2, 3, 3)), f32(100, 2), cycling(200, 2))),
                new Case("NaN in Gram fit logits", IllegalArgumentException.class, "Gram: logits contain NaN",
                        () -> new Gram(2, null).fitStructured(List.of(f32(4, 2, 3, 3)), withValue(f32(4, 2), Double.NaN, 3, 1), cycling(4, 2))),
                new Case("1-D Gram fit logits", IllegalArgumentException.class, "Gram: logits must be 2-D",
                        () -> new Gram(2, null).fitStructured(List.of(f32(4, 2, 3, 3)), f32(4), cycling(4, 2))),
                new Case("structured scores with logits of other rows", IllegalArgumentException.class,
                        "MultiMahalanobis: logits have 10 rows, the layers 20",
                        () -> fittedMultiMahalanobis().predictStructured(List.of(f32(20, 3)), f32(10, 2))),
                // ---- parameters
                new Case("a negative temperature", IllegalArgumentException.class, "t must be", () -> new MaxSoftmax(null, -1)),
                new Case("gamma <= 0", IllegalArgumentException.class, "gamma", () -> new GEN(null, 0)),
                new Case("k = 0", IllegalArgumentException.class, "k must be at least 1, got 0", () -> new KNN(null, 0)),
                new Case("a percentile of 1.5 for ASH", IllegalArgumentException.class, "percentile must be in [0.0, 1.0], got 1.5",
                        () -> new ASH(null, x -> x, "ash-s", 1.5, null)),
                new Case("a DICE percentile of 150", IllegalArgumentException.class, "p must be in [0.0, 100.0], got 150",
                        () -> new DICE(null, f32(2, 2), f32(2), 150, null)),
                new Case("a zero class weight", IllegalArgumentException.class, "positive", () -> new WeightedEBO(null, Tensor.of(new double[] {1, 0}))),
                new Case("DICE without p", IllegalArgumentException.class, "DICE: parameter 'p' is required",
                        () -> DetectorRegistry.create("DICE", Map.of("w", f32(2, 2), "b", f32(2)), null)),
                new Case("Gram without num_classes", IllegalArgumentException.class, "Gram: parameter 'num_classes' is required",
                        () -> DetectorRegistry.create("Gram", Map.of(), null)),
                new Case("ViM without d", IllegalArgumentException.class, "ViM: parameter 'd' is required",
                        () -> DetectorRegistry.create("ViM", Map.of("w", f32(2, 4), "b", f32(2)), null)),
                new Case("SHE without a head or a network", IllegalArgumentException.class, "SHE: parameter 'head' {weight, bias} is required",
                        () -> DetectorRegistry.create("SHE", Map.of(), null)),
                new Case("an unknown detector", IllegalArgumentException.class, "unknown detector 'Foo'", () -> DetectorRegistry.create("Foo", Map.of(), null)),
                new Case("an unknown parameter", IllegalArgumentException.class, "has no parameter 'temp'",
                        () -> DetectorRegistry.create("MaxSoftmax", Map.of("temp", 1), null)),
                new Case("a parameter of the wrong type", IllegalArgumentException.class, "must be a number",
                        () -> DetectorRegistry.create("MaxSoftmax", Map.of("t", List.of(1)), null)),
                // ---- metrics
                new Case("metrics without OOD samples", IllegalStateException.class, "both ID and OOD",
                        () -> new OodMetrics().update(new double[] {1, 2}, new double[0]).compute()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void throwsASpecificExceptionNamingTheProblem(Case c) {
        try (Scope s = Scope.open()) {
            long start = System.nanoTime();
            Throwable e = assertThrows(c.type(), c.call(), c.what());
            // refused before any large allocation: limits far beyond the machine are instant too
            assertTrue(System.nanoTime() - start < 5_000_000_000L, c.what() + ": took " + (System.nanoTime() - start) / 1_000_000 + " ms");
            assertNotNull(e.getMessage(), c.what());
            assertTrue(e.getMessage().contains(c.fragment()), c.what() + ": message '" + e.getMessage() + "' should contain '" + c.fragment() + "'");
            assertEquals(1, e.getMessage().lines().count(), c.what() + ": one line, got '" + e.getMessage() + "'");
            assertTrue(e.getMessage().length() <= 300, c.what() + ": at most 300 characters, got " + e.getMessage().length());
        }
    }
}
