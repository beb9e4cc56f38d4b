package org.ood4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.LogitsDetector;
import org.ood4j.detectors.MaxSoftmax;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * The stages in Spark ML: after a VectorAssembler in a Pipeline (ML Vector features, float64),
 * fitted, saved and loaded as a PipelineModel; on array&lt;double&gt; features; a detector without a
 * fit (MaxSoftmax) as a Transformer directly; the estimator's own save/load.
 */
class SparkPipelineTest {
    static final int FIT = 2400, HELD = 300, DIM = 8, CLASSES = 3;
    static SparkSession spark;
    static TestData data;
    @TempDir static Path dir;

    @BeforeAll
    static void start() {
        spark = LocalSpark.start();
        data = TestData.of(3, FIT + HELD, DIM, CLASSES);
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    /** Columns f0..f{DIM-1} (double), label, id, in partitions of the given sizes. */
    static Dataset<Row> columns(int from, int[] sizes) {
        StructType schema = new StructType();
        for (int j = 0; j < DIM; j++) schema = schema.add("f" + j, DataTypes.DoubleType, false);
        schema = schema.add("label", DataTypes.LongType, false).add("id", DataTypes.LongType, false);
        List<List<Row>> parts = new ArrayList<>();
        int row = from;
        for (int size : sizes) {
            List<Row> part = new ArrayList<>();
            for (int i = 0; i < size; i++, row++) {
                Object[] v = new Object[DIM + 2];
                for (int j = 0; j < DIM; j++) v[j] = (double) data.features()[row * DIM + j];
                v[DIM] = data.labels()[row];
                v[DIM + 1] = (long) row;
                part.add(RowFactory.create(v));
            }
            parts.add(part);
        }
        return LocalSpark.partitioned(spark, parts, schema);
    }

    static double[] doubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    @Test
    void afterAVectorAssemblerInAPipeline() throws Exception {
        String[] inputs = new String[DIM];
        for (int j = 0; j < DIM; j++) inputs[j] = "f" + j;
        Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {
                new VectorAssembler().setInputCols(inputs).setOutputCol("features"),
                new OodDetector().setDetector("RMD").setLabelCol("label")});
        PipelineModel fitted = pipeline.fit(columns(0, new int[] {700, 3, 1200, 0, 88, 9, 400}));
        Dataset<Row> held = columns(FIT, new int[] {100, 200});
        double[] scores = LocalSpark.column(fitted.transform(held), "ood_score");

        double[] single;
        try (Scope s = Scope.open(); AbstractDetector d = new OodDetector().setDetector("RMD").spec().create()) {
            ((org.ood4j.detectors.FeaturesDetector) d).fitFeatures(Tensor.of(doubles(data.rows(false, 0, FIT)), FIT, DIM), Tensor.of(data.labels(0, FIT), FIT));
            single = Scorer.scores(d, Tensor.of(doubles(data.rows(false, FIT, FIT + HELD)), HELD, DIM)).toDoubleArray();
        }
        SparkExactnessTest.assertClose(single, scores, 1e-9, "RMD after a VectorAssembler");

        String saved = dir.resolve("pipeline").toString();
        fitted.write().overwrite().save(saved);
        assertArrayEquals(scores, LocalSpark.column(PipelineModel.load(saved).transform(held), "ood_score"), "after PipelineModel save/load");
    }

    @Test
    void onArraysOfDoublesAndAsAnEstimatorSavedAndLoaded() throws Exception {
        Dataset<Row> fit = columns(0, new int[] {1000, 1400}).selectExpr("array(f0, f1, f2, f3, f4, f5, f6, f7) as emb", "label", "id");
        OodDetector estimator = new OodDetector().setDetector("Mahalanobis").setDetectorParams("eps=0.01").setFeaturesCol("emb")
                .setLabelCol("label").setOutputCol("maha");
        String saved = dir.resolve("estimator").toString();
        estimator.write().overwrite().save(saved);
        OodDetector loaded = OodDetector.load(saved);
        assertEquals("Mahalanobis", loaded.getDetector());
        assertArrayEquals(new String[] {"eps=0.01"}, loaded.getOrDefault(loaded.detectorParams()));
        Dataset<Row> held = columns(FIT, new int[] {300}).selectExpr("array(f0, f1, f2, f3, f4, f5, f6, f7) as emb", "id");
        assertArrayEquals(LocalSpark.column(estimator.fit(fit).transform(held), "maha"), LocalSpark.column(loaded.fit(fit).transform(held), "maha"));
    }

    @Test
    void aDetectorWithoutAFitIsATransformer() {
        OodDetectorModel softmax = OodDetectorModel.of("MaxSoftmax", "t=2");
        Dataset<Row> logits = LocalSpark.floatRows(spark, data.rows(true, 0, 500), CLASSES, data.labels(0, 500), new int[] {200, 300});
        double[] scores = LocalSpark.column(softmax.transform(logits), "ood_score");
        try (Scope s = Scope.open(); LogitsDetector d = new MaxSoftmax(null, 2)) {
            assertArrayEquals(d.predictLogits(Tensor.of(data.rows(true, 0, 500), 500, CLASSES)).toDoubleArray(), scores);
        }
    }
}
