package org.ood4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.DetectorParams;
import org.ood4j.detectors.DetectorRegistry;
import org.ood4j.detectors.FeaturesDetector;
import org.ood4j.detectors.LogitsDetector;
import org.ood4j.detectors.StructuredDetector;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * Every detector whose fit is a statistic (and TemperatureScaling, KNN, NNGuide): fitted by Spark
 * on 3000 rows in 9 partitions of uneven size (one empty; the merge tree has two levels), it
 * scores 400 held-out rows as the single-JVM fit of the same rows does, within 1e-9 relative; the
 * model saved and loaded scores them bit-identically.
 */
class SparkExactnessTest {
    static final int FIT = 3000, HELD = 400, DIM = 16, CLASSES = 5;
    static SparkSession spark;
    static TestData data;
    @TempDir static Path dir;
    static Path[] head;

    @BeforeAll
    static void start() throws Exception {
        spark = LocalSpark.start();
        data = TestData.of(21, FIT + HELD, DIM, CLASSES);
        head = data.writeHead(dir);
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    static Stream<Arguments> detectors() {
        return Stream.of(
                Arguments.of("Mahalanobis", List.of(), false),
                Arguments.of("MultiMahalanobis", List.of(), false),
                Arguments.of("RMD", List.of(), false),
                Arguments.of("GMM", List.of(), false),
                Arguments.of("ViM", with(TestData.headParams(head, "w", "b"), "d=8"), false),
                Arguments.of("SHE", TestData.headParams(head, "head.weight", "head.bias"), false),
                Arguments.of("NCI", with(TestData.headParams(head, "head.weight", "head.bias"), "alpha=0.5"), false),
                Arguments.of("fDBD", TestData.headParams(head, "head.weight", "head.bias"), false),
                Arguments.of("DICE", with(TestData.headParams(head, "w", "b"), "p=0.5"), false),
                Arguments.of("KNN", List.of("k=3"), false),
                Arguments.of("KNN", List.of("k=3", "bank_dtype=bfloat16"), false),   // the 16-bit bank: the param travels with the model
                Arguments.of("NNGuide", with(TestData.headParams(head, "w", "b"), "k=3"), false),
                Arguments.of("KLMatching", List.of(), true),
                Arguments.of("OpenMax", List.of("tailsize=20", "alpha=3"), true),
                Arguments.of("TemperatureScaling", List.of(), true));
    }

    private static List<String> with(List<String> params, String more) {
        List<String> out = new ArrayList<>(params);
        out.add(more);
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("detectors")
    void sparkFitIsTheSingleJvmFit(String detector, List<String> params, boolean logits) throws Exception {
        int width = logits ? CLASSES : DIM;
        Dataset<Row> fit = LocalSpark.floatRows(spark, data.rows(logits, 0, FIT), width, data.labels(0, FIT), LocalSpark.UNEVEN);
        assertEquals(LocalSpark.UNEVEN.length, fit.rdd().getNumPartitions());
        Dataset<Row> held = LocalSpark.floatRows(spark, data.rows(logits, FIT, FIT + HELD), width, data.labels(FIT, FIT + HELD), new int[] {150, 250});

        OodDetectorModel model = new OodDetector().setDetector(detector).setDetectorParams(params.toArray(String[]::new))
                .setLabelCol("label").fit(fit);
        double[] spark = LocalSpark.column(model.transform(held), "ood_score");
        double[] single = singleJvm(detector, params, data.rows(logits, 0, FIT), data.labels(0, FIT), data.rows(logits, FIT, FIT + HELD), width);
        assertClose(single, spark, 1e-9, detector);

        String saved = dir.resolve(detector + "-model").toString();
        model.write().overwrite().save(saved);
        OodDetectorModel loaded = OodDetectorModel.load(saved);
        assertEquals(detector, loaded.detectorName());
        assertArrayEquals(spark, LocalSpark.column(loaded.transform(held), "ood_score"), detector + ": scores after save/load");
    }

    static Stream<Arguments> banks() {
        return Stream.of(Arguments.of("KNN", List.of("k=5")), Arguments.of("NNGuide", with(TestData.headParams(head, "w", "b"), "k=7")),
                Arguments.of("KNN", List.of("k=5", "bank_dtype=float16")));
    }

    /**
     * A bank over maxBroadcastBankBytes stays sharded (one shard per non-empty fit partition, the
     * one of 3 rows holding fewer than k): the candidates merged from every shard give the
     * single-JVM scores; saved (shards as Spark's object file) and loaded, the same again.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("banks")
    void aShardedBankScoresAsTheWholeBank(String detector, List<String> params) throws Exception {
        Dataset<Row> fit = LocalSpark.floatRows(spark, data.rows(false, 0, FIT), DIM, data.labels(0, FIT), LocalSpark.UNEVEN);
        Dataset<Row> held = LocalSpark.floatRows(spark, data.rows(false, FIT, FIT + HELD), DIM, data.labels(FIT, FIT + HELD), new int[] {150, 250});
        OodDetectorModel model = new OodDetector().setDetector(detector).setDetectorParams(params.toArray(String[]::new))
                .setLabelCol("label").setMaxBroadcastBankBytes(1000).fit(fit);
        assertTrue(model.isSharded());
        double[] spark = LocalSpark.column(model.transform(held), "ood_score");
        double[] single = singleJvm(detector, params, data.rows(false, 0, FIT), data.labels(0, FIT), data.rows(false, FIT, FIT + HELD), DIM);
        assertClose(single, spark, 1e-9, detector + " sharded");

        String saved = dir.resolve(detector + "-sharded").toString();
        model.write().overwrite().save(saved);
        OodDetectorModel loaded = OodDetectorModel.load(saved);
        assertTrue(loaded.isSharded());
        assertArrayEquals(spark, LocalSpark.column(loaded.transform(held), "ood_score"), detector + ": sharded scores after save/load");
    }

    /** The single-JVM fit of the same rows and its scores of the held-out rows. */
    static double[] singleJvm(String detector, List<String> params, float[] fitRows, long[] labels, float[] heldRows, int width) throws Exception {
        try (Scope s = Scope.open();
             AbstractDetector d = (AbstractDetector) DetectorRegistry.create(detector, DetectorParams.parsePairs(params, "param"), null)) {
            Tensor x = Tensor.of(fitRows, fitRows.length / width, width), y = Tensor.of(labels, labels.length);
            switch (d) {
                case FeaturesDetector f -> f.fitFeatures(x, y);
                case LogitsDetector l -> l.fitLogits(x, y);
                case StructuredDetector st -> st.fitStructured(List.of(x), y);
                default -> throw new AssertionError(detector);
            }
            return Scorer.scores(d, Tensor.of(heldRows, heldRows.length / width, width)).toDoubleArray();
        }
    }

    static void assertClose(double[] expected, double[] actual, double rel, String what) {
        assertEquals(expected.length, actual.length, what + ": rows");
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) worst = Math.max(worst, Math.abs(expected[i] - actual[i]) / Math.max(Math.abs(expected[i]), Math.abs(actual[i])));
        }
        System.out.printf("%s: largest relative difference %.3g (scores %.4g .. %.4g)%n", what, worst,
                java.util.Arrays.stream(actual).min().orElse(0), java.util.Arrays.stream(actual).max().orElse(0));
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            assertTrue(Math.abs(e - a) <= rel * Math.max(Math.abs(e), Math.abs(a)) || e == a,
                    what + ": row " + i + " scored " + a + " on Spark, " + e + " in one JVM");
        }
    }
}
