package org.ood4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.cli.Main;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

/**
 * Spark and the ood4j command read one state format: a model saved by Spark scores bit-identically
 * in {@code ood4j score}; a state fitted (and calibrated) by the CLI, wrapped by
 * {@link OodDetectorModel#fromStateFile}, gives the CLI's scores, decisions and p-values in Spark.
 */
class SparkCliTest {
    static final int FIT = 2000, HELD = 300, DIM = 12, CLASSES = 4;
    static SparkSession spark;
    static TestData data;
    static Dataset<Row> fit, held;
    @TempDir static Path dir;
    static Path heldNpy;

    @BeforeAll
    static void start() throws Exception {
        spark = LocalSpark.start();
        data = TestData.of(7, FIT + HELD, DIM, CLASSES);
        fit = LocalSpark.floatRows(spark, data.rows(false, 0, FIT), DIM, data.labels(0, FIT), new int[] {300, 1100, 17, 583});
        held = LocalSpark.floatRows(spark, data.rows(false, FIT, FIT + HELD), DIM, data.labels(FIT, FIT + HELD), new int[] {120, 180});
        heldNpy = write("held.npy", data.rows(false, FIT, FIT + HELD), HELD, DIM);
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    @Test
    void aModelSavedBySparkScoresBitIdenticallyInOod4jScore() throws Exception {
        OodDetectorModel model = new OodDetector().setDetector("Mahalanobis").setLabelCol("label").fit(fit);
        double[] sparkScores = LocalSpark.column(model.transform(held), "ood_score");
        String saved = dir.resolve("spark-model").toString();
        model.write().overwrite().save(saved);

        Path out = dir.resolve("cli-scores.npy");
        cli("score", "--state", Path.of(saved, OodDetectorModel.STATE_FILE).toString(), "--features", heldNpy.toString(), "-o", out.toString(), "--quiet");
        assertArrayEquals(sparkScores, read(out), "ood4j score of the Spark-saved state");
    }

    @Test
    void aCalibratedStateFittedByTheCliGivesTheCliDecisionsInSpark() throws Exception {
        Path fitNpy = write("fit.npy", data.rows(false, 0, FIT), FIT, DIM), labels = dir.resolve("labels.npy");
        try (Tensor y = Tensor.of(data.labels(0, FIT), FIT)) {
            Npy.write(labels, y);
        }
        Path state = dir.resolve("cli.ood4j"), out = dir.resolve("cli-held.npy");
        cli("fit", "--detector", "RMD", "--features", fitNpy.toString(), "--labels", labels.toString(), "-o", state.toString(), "--quiet");
        cli("calibrate", "--state", state.toString(), "--features", fitNpy.toString(), "--tpr", "0.9", "--quiet");
        cli("score", "--state", state.toString(), "--features", heldNpy.toString(), "-o", out.toString(), "--quiet");

        OodDetectorModel model = OodDetectorModel.fromStateFile(state);
        assertEquals(true, model.isCalibrated());
        Dataset<Row> scored = model.transform(held).orderBy("id");
        assertArrayEquals(read(out), LocalSpark.column(scored, "ood_score"), "scores");
        assertArrayEquals(read(dir.resolve("cli-held.p_value.npy")), LocalSpark.column(scored, "p_value"), "p-values");
        List<Boolean> isOod = scored.select("is_ood").as(org.apache.spark.sql.Encoders.BOOLEAN()).collectAsList();
        try (Tensor cliOod = Npy.read(dir.resolve("cli-held.is_ood.npy")); Tensor asDouble = cliOod.to(org.ood4j.engine.DType.FLOAT64)) {
            double[] expected = asDouble.toDoubleArray();
            for (int i = 0; i < HELD; i++) assertEquals(expected[i] != 0, isOod.get(i), "is_ood of row " + i);
        }
    }

    @Test
    void sparkCalibrationMatchesTheCliCalibrationOnTheSameScores() throws Exception {
        OodDetectorModel model = new OodDetector().setDetector("Mahalanobis").setLabelCol("label").fit(fit).calibrate(fit, 0.9);
        assertEquals(true, model.isCalibrated());
        String saved = dir.resolve("calibrated-model").toString();
        model.write().overwrite().save(saved);
        Path out = dir.resolve("calibrated-held.npy");
        cli("score", "--state", Path.of(saved, OodDetectorModel.STATE_FILE).toString(), "--features", heldNpy.toString(), "-o", out.toString(), "--quiet");
        Dataset<Row> scored = OodDetectorModel.load(saved).transform(held).orderBy("id");
        assertArrayEquals(read(dir.resolve("calibrated-held.p_value.npy")), LocalSpark.column(scored, "p_value"), "p-values");
    }

    static void cli(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(0, code, "ood4j " + String.join(" ", args) + ": " + err);
    }

    static Path write(String name, float[] rows, int n, int dim) throws Exception {
        Path p = dir.resolve(name);
        try (Tensor t = Tensor.of(rows, n, dim)) {
            Npy.write(p, t);
        }
        return p;
    }

    static double[] read(Path npy) throws Exception {
        try (Tensor t = Npy.read(npy)) {
            return t.toDoubleArray();
        }
    }
}
