package org.ood4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Bad input is an IllegalArgumentException naming the column, the row's place (partition and
 * index there) and what was expected: at fit, on the driver; at a transform's action, as the cause
 * of Spark's job failure (the transform is lazy).
 */
class SparkBadInputTest {
    static final int DIM = 6;
    static SparkSession spark;
    static OodDetectorModel fitted;

    @BeforeAll
    static void start() {
        spark = LocalSpark.start();
        fitted = new OodDetector().setDetector("Mahalanobis").setLabelCol("label").fit(rows(null, -1));
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    /** Two partitions of 40 rows (labels 0..2); row {@code badRow} of partition 1 is replaced by {@code bad} (when not null). */
    static Dataset<Row> rows(Row bad, int badRow) {
        List<List<Row>> parts = new ArrayList<>();
        long id = 0;
        for (int p = 0; p < 2; p++) {
            List<Row> part = new ArrayList<>();
            for (int i = 0; i < 40; i++, id++) {
                Float[] f = new Float[DIM];
                for (int j = 0; j < DIM; j++) f[j] = (float) Math.sin(id * 7 + j * 3 + (id % 3) * 5);
                part.add(p == 1 && i == badRow && bad != null ? bad : RowFactory.create(f, id % 3, id));
            }
            parts.add(part);
        }
        return LocalSpark.partitioned(spark, parts, LocalSpark.FLOAT_ROWS);
    }

    static OodDetector mahalanobis() {
        return new OodDetector().setDetector("Mahalanobis").setLabelCol("label");
    }

    static void refused(String expected, Executable action) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, action);
        assertEquals(true, e.getMessage().contains(expected), "message: " + e.getMessage() + "\nexpected to contain: " + expected);
    }

    @Test
    void aMissingColumnIsNamed() {
        refused("column 'embedding' (featuresCol) does not exist; columns: [features, label, id]",
                () -> mahalanobis().setFeaturesCol("embedding").fit(rows(null, -1)));
        refused("column 'y' (labelCol) does not exist", () -> mahalanobis().setLabelCol("y").fit(rows(null, -1)));
        refused("column 'embedding' (featuresCol) does not exist", () -> fitted.copy(new org.apache.spark.ml.param.ParamMap())
                .setFeaturesCol("embedding").transform(rows(null, -1)));
    }

    @Test
    void aColumnOfAnotherTypeIsNamed() {
        refused("column 'id' has type bigint, expected array<float>, array<double> or vector", () -> mahalanobis().setFeaturesCol("id").fit(rows(null, -1)));
    }

    @Test
    void aRowOfAnotherWidthIsNamedWithItsPlace() {
        Row shortRow = RowFactory.create(new Float[] {1f, 2f, 3f}, 1L, 99L);
        refused("column 'features': row 7 of partition 1 has 3 values, expected 6 values", () -> mahalanobis().fit(rows(shortRow, 7)));
        assertTransformRefuses("column 'features': row 7 of partition 1 has 3 values, expected 6 values", rows(shortRow, 7));
    }

    @Test
    void nanOrNullInARowIsNamedWithItsPlace() {
        Row nan = RowFactory.create(new Float[] {1f, 2f, Float.NaN, 4f, 5f, 6f}, 1L, 99L);
        refused("column 'features': row 12 of partition 1 holds NaN at index 2, expected finite numbers", () -> mahalanobis().fit(rows(nan, 12)));
        assertTransformRefuses("column 'features': row 12 of partition 1 holds NaN at index 2", rows(nan, 12));
        Row nullRow = RowFactory.create(null, 1L, 99L);
        refused("column 'features': row 3 of partition 1 is null", () -> mahalanobis().fit(rows(nullRow, 3)));
        Row nullLabel = RowFactory.create(new Float[] {1f, 2f, 3f, 4f, 5f, 6f}, null, 99L);
        refused("column 'label': row 30 of partition 1 is null, expected an integer class label", () -> mahalanobis().fit(rows(nullLabel, 30)));
    }

    @Test
    void labelsAbsentForAClassConditionalDetectorAreRefused() {
        refused("Mahalanobis needs class labels to fit: set labelCol", () -> new OodDetector().setDetector("Mahalanobis").fit(rows(null, -1)));
        refused("TemperatureScaling needs class labels to fit: set labelCol",
                () -> new OodDetector().setDetector("TemperatureScaling").fit(rows(null, -1)));
    }

    @Test
    void aLabelBeyondTheLogitsClassesIsNamedWithItsPlace() {
        Row big = RowFactory.create(new Float[] {1f, 2f, 3f, 4f, 5f, 6f}, 6L, 99L);
        refused("column 'label': row 9 of partition 1 is 6, expected a class in 0..5",
                () -> new OodDetector().setDetector("TemperatureScaling").setLabelCol("label").fit(rows(big, 9)));
    }

    @Test
    void detectorsThatCannotBeStagesAreRefused() {
        refused("unknown detector 'Mahalanobiss'", () -> new OodDetector().setDetector("Mahalanobiss").fit(rows(null, -1)));
        refused("OodDetector: set the detector", () -> new OodDetector().fit(rows(null, -1)));
        refused("Mahalanobis has no parameter 'epsilon'", () -> mahalanobis().setDetectorParams("epsilon=0.1").fit(rows(null, -1)));
        refused("Mahalanobis needs a fit: use new OodDetector()", () -> OodDetectorModel.of("Mahalanobis"));
        refused("VRA needs a network", () -> new OodDetector().setDetector("VRA").fit(rows(null, -1)));
    }

    /** The transform is lazy: the action fails, Spark's exception caused by ours. */
    static void assertTransformRefuses(String expected, Dataset<Row> input) {
        Exception e = assertThrows(Exception.class, () -> fitted.transform(input).collectAsList());
        IllegalArgumentException cause = SparkErrors.badInput(e);
        assertNotNull(cause, "no IllegalArgumentException among the causes of " + e);
        assertEquals(true, cause.getMessage().contains(expected), "message: " + cause.getMessage());
    }
}
