package org.ood4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's "On Spark" examples run here: the Java snippet is this test's code between the
 * README markers (checked to be in the README word for word), and the spark-submit example's
 * commands are {@link SparkJob}'s, run with the same arguments.
 */
class ReadmeExampleTest {
    static SparkSession spark;
    static Dataset<Row> train, validation, test;
    @TempDir static Path dir;

    @BeforeAll
    static void start() {
        spark = LocalSpark.start();
        TestData data = TestData.of(11, 3000, 10, 4);
        train = LocalSpark.floatRows(spark, data.rows(false, 0, 2000), 10, data.labels(0, 2000), new int[] {1200, 800});
        validation = LocalSpark.floatRows(spark, data.rows(false, 2000, 2500), 10, data.labels(2000, 2500), new int[] {500});
        test = LocalSpark.floatRows(spark, data.rows(false, 2500, 3000), 10, data.labels(2500, 3000), new int[] {250, 250});
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    @Test
    void theJavaSnippetRuns() throws Exception {
        String modelPath = dir.resolve("maha-model").toString();
        // README:start
        // train, validation, test: Datasets with "features" (array<float>, array<double> or an ML Vector)
        // and, for class-conditional detectors, "label" (integer class; < 0 marks an OOD row, skipped)
        OodDetectorModel model = new OodDetector()
                .setDetector("Mahalanobis")             // any registered name, as `ood4j fit --detector`
                .setDetectorParams("eps=0.002")         // `--param` pairs; @FILE.npy reads an array on the driver
                .setFeaturesCol("features")
                .setLabelCol("label")
                .fit(train)                             // per-partition accumulators, merged exactly
                .calibrate(validation, 0.95);           // keeps 95% of ID rows: adds is_ood and p_value
        model.write().overwrite().save(modelPath);      // modelPath/state/detector.ood4j is an ood4j state file
        Dataset<Row> scored = OodDetectorModel.load(modelPath).transform(test);
        scored.select("id", "ood_score", "is_ood", "p_value").show(5);
        // README:end
        assertEquals(500, scored.count());
        long flagged = scored.filter("is_ood").count();
        assertTrue(flagged > 0 && flagged < 500, "flagged " + flagged + " of 500");
        assertInReadme(List.of(String.join("\n", snippet())));
    }

    @Test
    void theSparkSubmitExampleRuns() throws Exception {
        Path input = dir.resolve("train.parquet"), toScore = dir.resolve("test.parquet");
        train.write().parquet(input.toString());
        test.write().parquet(toScore.toString());
        String model = dir.resolve("job-model").toString(), output = dir.resolve("scored.parquet").toString();
        assertTrue(SparkJob.run(spark, "fit", "--detector", "Mahalanobis", "--param", "eps=0.002", "--input", input.toString(),
                "--label-col", "label", "--model", model).startsWith("fitted Mahalanobis"));
        SparkJob.run(spark, "score", "--model", model, "--input", toScore.toString(), "--output", output);
        assertEquals(500, spark.read().parquet(output).select("ood_score").count());
        assertInReadme(List.of("org.ood4j.spark.SparkJob", "fit --detector Mahalanobis --param eps=0.002", "--label-col label",
                "score --model"));
    }

    /** The lines between the markers in this file, as written (indentation removed). */
    static List<String> snippet() throws Exception {
        List<String> lines = Files.readAllLines(Path.of("src/test/java/org/ood4j/spark/ReadmeExampleTest.java"));
        int start = lines.indexOf("        // README:start"), end = lines.indexOf("        // README:end");
        return lines.subList(start + 1, end).stream().map(l -> l.substring(Math.min(8, l.length()))).toList();
    }

    static void assertInReadme(List<String> lines) throws Exception {
        String readme = Files.readString(Path.of("../README.md"));
        for (String line : lines) assertTrue(readme.contains(line), "README.md lacks: " + line);
    }
}
