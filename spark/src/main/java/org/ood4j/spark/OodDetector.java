package org.ood4j.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.BankDetector;
import org.ood4j.detectors.DetectorParams;
import org.ood4j.detectors.FitAccumulator;
import org.ood4j.detectors.StreamingFit;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * An ood4j detector as a Spark ML {@link Estimator}: {@code fit} learns the detector from a
 * dataset's features (and labels, for class-conditional detectors) across its partitions and
 * gives an {@link OodDetectorModel}, which scores rows. Parameters: {@code detector} (a
 * registered name, as pytorch-ood's class), {@code detectorParams} ({@code name=value} pairs, as
 * the CLI's {@code --param}: numbers, JSON, {@code @FILE.npy} arrays read on the driver, dotted
 * names nesting), {@code featuresCol}, {@code labelCol} (unset: no labels), {@code outputCol},
 * {@code isOodCol}, {@code pValueCol}.
 *
 * <p>The fit is {@link SparkFit}'s: for a statistic, per-partition accumulators merged in a
 * fixed tree, so the fitted detector is the single-JVM fit of the same rows (float64 round-off
 * apart). For KNN and NNGuide the bank is the union of the partitions' rows, gathered in
 * partition order into one bank file on the driver: the search is then exact and the model is
 * an ordinary ood4j state that {@code ood4j score}/{@code serve} read; the model then broadcasts
 * that state to the executors once per {@code transform}, and each executor memory-maps it (page
 * cache, not heap). That is the cheap way while the bank fits: each query is searched where it
 * lies, nothing is shuffled. A bank of more than {@code maxBroadcastBankBytes} (default 1 GiB;
 * a broadcast byte array ends at 2 GB, and a bank beyond an executor's memory should not be copied
 * to each) stays where its rows are, one shard per fit partition, and queries meet every shard
 * ({@link ShardedBank}): same scores, paid for with a shuffle of query blocks and candidates.
 */
public final class OodDetector extends Estimator<OodDetectorModel> implements OodColumns, DefaultParamsWritable {
    private final String uid;
    private final Param<String> detector, labelCol;
    private final StringArrayParam detectorParams;
    private final LongParam maxBroadcastBankBytes;
    private final OodColumns.Declared columns;

    public OodDetector() {
        this(Identifiable$.MODULE$.randomUID("oodDetector"));
    }

    public OodDetector(String uid) {
        this.uid = uid;
        detector = new Param<>(this, "detector", "the detector's registered name (pytorch-ood's class name), e.g. Mahalanobis");
        detectorParams = new StringArrayParam(this, "detectorParams", "detector parameters as name=value pairs (the CLI's --param)");
        labelCol = new Param<>(this, "labelCol", "integer class labels (< 0: an OOD row, skipped by the fit); unset: no labels");
        maxBroadcastBankBytes = new LongParam(this, "maxBroadcastBankBytes", "a kNN bank (KNN, NNGuide) of at most this many bytes"
                + " is gathered and broadcast; a larger one stays sharded over the fit partitions");
        columns = OodColumns.Declared.of(this);
        setDefault(detectorParams, new String[0]);
        setDefault(maxBroadcastBankBytes, 1L << 30);
        setColumnDefaults();
    }

    @Override public String uid() { return uid; }
    public Param<String> detector() { return detector; }
    public StringArrayParam detectorParams() { return detectorParams; }
    public Param<String> labelCol() { return labelCol; }
    public LongParam maxBroadcastBankBytes() { return maxBroadcastBankBytes; }
    @Override public Param<String> featuresCol() { return columns.featuresCol(); }
    @Override public Param<String> outputCol() { return columns.outputCol(); }
    @Override public Param<String> isOodCol() { return columns.isOodCol(); }
    @Override public Param<String> pValueCol() { return columns.pValueCol(); }

    public OodDetector setDetector(String name) { set(detector, name); return this; }
    /** The detector's parameters as {@code name=value} pairs, as the CLI's {@code --param}. */
    public OodDetector setDetectorParams(String... pairs) { set(detectorParams, pairs); return this; }
    public OodDetector setFeaturesCol(String col) { set(featuresCol(), col); return this; }
    public OodDetector setLabelCol(String col) { set(labelCol, col); return this; }
    public OodDetector setOutputCol(String col) { set(outputCol(), col); return this; }
    public OodDetector setIsOodCol(String col) { set(isOodCol(), col); return this; }
    public OodDetector setPValueCol(String col) { set(pValueCol(), col); return this; }
    /** The largest kNN bank that is broadcast (default 1 GiB, below the 2 GB of one broadcast byte array). */
    public OodDetector setMaxBroadcastBankBytes(long bytes) { set(maxBroadcastBankBytes, bytes); return this; }

    public String getDetector() {
        if (!isDefined(detector)) throw new IllegalArgumentException("OodDetector: set the detector (e.g. setDetector(\"Mahalanobis\"))");
        return getOrDefault(detector);
    }

    /** The label column, or null when unset. */
    public String getLabelCol() { return isDefined(labelCol) ? getOrDefault(labelCol) : null; }

    @Override
    public StructType transformSchema(StructType schema) {
        if (getLabelCol() != null) FeatureColumn.labelType(schema, getLabelCol());
        return outputSchema(schema, false);
    }

    @Override
    public OodDetectorModel fit(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        DetectorSpec spec = spec();
        try (AbstractDetector d = spec.create()) {
            OodDetectorModel.requireColumnInput(d);
            OodDetectorModel model = d.requiresFit() ? fit(d, spec, dataset) : new OodDetectorModel(uid, StateBytes.of(d));
            return copyValues(model, ParamMap.empty()).setParent(this);
        }
    }

    /** The detector named by the parameters, its tensor parameters ({@code @FILE.npy}) read here on the driver. */
    DetectorSpec spec() {
        try (Scope s = Scope.open()) {
            Map<String, Object> params = DetectorParams.parsePairs(List.of(getOrDefault(detectorParams)), "detectorParams");
            return DetectorSpec.of(getDetector(), params);
        } catch (IOException e) {
            throw new UncheckedIOException("OodDetector: cannot read a detector parameter: " + e.getMessage(), e);
        }
    }

    private OodDetectorModel fit(AbstractDetector d, DetectorSpec spec, Dataset<?> dataset) {
        List<String> cols = new ArrayList<>(List.of(getFeaturesCol()));
        if (getLabelCol() != null) cols.add(getLabelCol());
        Dataset<Row> rows = dataset.toDF().select(cols.stream().map(org.apache.spark.sql.functions::col).toArray(org.apache.spark.sql.Column[]::new));
        FeatureColumn features = FeatureColumn.of(dataset.schema(), getFeaturesCol());
        int dim = RowBlocks.firstWidth(rows, features, d.name());
        if (getLabelCol() == null) requireNoLabels(d, features, dim);
        RowBlocks.Labels labels = getLabelCol() == null ? null
                : new RowBlocks.Labels(getLabelCol(), FeatureColumn.labelType(dataset.schema(), getLabelCol()), 1);
        SparkFit.Input in = new SparkFit.Input(RowBlocks.internalRows(rows), features, labels, dim);
        if (d instanceof BankDetector bank && rows.count() * dim * bank.bankType(features.dtype()).byteSize() > (Long) getOrDefault(maxBroadcastBankBytes)) {
            return new OodDetectorModel(uid, SparkErrors.unwrapped(() -> ShardedBank.fit(spec, bank.k(), in)));
        }
        SparkErrors.unwrapped(() -> SparkFit.fit(d, spec, in));
        return new OodDetectorModel(uid, StateBytes.of(d));
    }

    /**
     * Without labelCol, a class-conditional detector is refused here, before any job: one row of
     * zeros without labels is offered to a throwaway accumulator of its first pass, which refuses
     * it as the detector's own fit would (a kNN bank, which takes no labels, is not probed: its
     * accumulator writes a file).
     */
    private static void requireNoLabels(AbstractDetector d, FeatureColumn features, int dim) {
        if (!(d instanceof StreamingFit s) || d instanceof BankDetector) return;
        FitAccumulator probe = s.fitAccumulator(0);
        try (Tensor row = Tensor.zeros(features.dtype(), 1, dim)) {
            probe.add(row, null);
        } catch (IllegalArgumentException e) {
            if (e.getMessage().contains("labels")) {
                throw new IllegalArgumentException(e.getMessage() + ": set labelCol to the column of integer class labels", e);
            }
            throw e;
        }
    }

    @Override
    public OodDetector copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    public static MLReader<OodDetector> read() {
        return new DefaultParamsReader<>();
    }

    public static OodDetector load(String path) {
        return read().load(path);
    }
}
