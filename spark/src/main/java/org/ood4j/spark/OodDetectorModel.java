package org.ood4j.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.Map;

import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.DetectorFiles;
import org.ood4j.detectors.FeaturesDetector;
import org.ood4j.detectors.LogitsDetector;
import org.ood4j.detectors.StructuredDetector;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Json;
import org.ood4j.engine.io.Safetensors;

/**
 * A fitted ood4j detector as a Spark ML {@link Model}: {@code transform} adds the outlier score
 * ({@code outputCol}, double), and when the detector is calibrated ({@link #calibrate}, or a
 * state calibrated by {@code ood4j calibrate}) the decision ({@code isOodCol}) and p-value
 * ({@code pValueCol}). The detector's state — the bytes of ood4j's own state file — is
 * broadcast once per {@code transform}; each partition loads it and scores its rows in blocks.
 *
 * <p>{@code write().save(path)} stores Spark's metadata and the state file itself, as
 * {@code path/state/detector.ood4j}, which {@code ood4j score --state} and {@code ood4j serve}
 * read as they are; {@link #fromStateFile} wraps a state fitted by the CLI. Detectors that need
 * no fit (MaxSoftmax, EnergyBased, ...) are models directly: {@link #of}.
 */
public final class OodDetectorModel extends Model<OodDetectorModel> implements OodColumns, MLWritable {
    /** The state file's name inside a saved model's folder. */
    public static final String STATE_FILE = "state/detector.ood4j";
    /** A sharded bank's description and its shards (Spark's object file of state files) inside a saved model's folder. */
    static final String SHARDED_FILE = "state/sharded-bank.bin", SHARDS = "state/shards";

    private final String uid;
    private final byte[] state;          // the state file's bytes; null for a sharded bank
    private final ShardedBank bank;      // a kNN bank left on the cluster; null otherwise
    private final OodColumns.Declared columns;
    private transient Info info;

    /** What the driver knows of the state: the detector's name, the input width it was fitted on (-1: any), calibration. */
    private record Info(String detector, int width, boolean calibrated) {}

    OodDetectorModel(String uid, byte[] state) {
        this(uid, state, null);
    }

    OodDetectorModel(String uid, ShardedBank bank) {
        this(uid, null, bank);
    }

    private OodDetectorModel(String uid, byte[] state, ShardedBank bank) {
        this.uid = uid;
        this.state = state;
        this.bank = bank;
        columns = OodColumns.Declared.of(this);
        setColumnDefaults();
    }

    /** A model of a detector that needs no fit (MaxSoftmax, EnergyBased, ...), with its parameters as {@code name=value} pairs. */
    public static OodDetectorModel of(String detector, String... params) {
        OodDetector estimator = new OodDetector().setDetector(detector).setDetectorParams(params);
        try (AbstractDetector d = estimator.spec().create()) {
            requireColumnInput(d);
            if (!d.isFitted()) throw new IllegalArgumentException(d.name() + " needs a fit: use new OodDetector().setDetector(\"" + d.name() + "\")");
            return new OodDetectorModel(Identifiable$.MODULE$.randomUID("oodDetectorModel"), StateBytes.of(d));
        }
    }

    /** Wraps a state file saved by {@code ood4j fit} (or {@code calibrate}); it is read and checked now. */
    public static OodDetectorModel fromStateFile(java.nio.file.Path file) throws IOException {
        DetectorFiles.load(file, null).close();   // refuses a file that is not a valid state, naming the problem
        OodDetectorModel m = new OodDetectorModel(Identifiable$.MODULE$.randomUID("oodDetectorModel"), Files.readAllBytes(file));
        m.info();
        return m;
    }

    /** The scores of a detector whose input is one features or logits column: refused here for the network detectors. */
    static void requireColumnInput(AbstractDetector d) {
        if (!(d instanceof FeaturesDetector || d instanceof LogitsDetector || d instanceof StructuredDetector)) {
            throw new IllegalArgumentException(d.name() + " scores a network's inputs, not a features or logits column: it cannot be a Spark stage");
        }
    }

    @Override public String uid() { return uid; }
    @Override public Param<String> featuresCol() { return columns.featuresCol(); }
    @Override public Param<String> outputCol() { return columns.outputCol(); }
    @Override public Param<String> isOodCol() { return columns.isOodCol(); }
    @Override public Param<String> pValueCol() { return columns.pValueCol(); }

    public OodDetectorModel setFeaturesCol(String col) { set(featuresCol(), col); return this; }
    public OodDetectorModel setOutputCol(String col) { set(outputCol(), col); return this; }
    public OodDetectorModel setIsOodCol(String col) { set(isOodCol(), col); return this; }
    public OodDetectorModel setPValueCol(String col) { set(pValueCol(), col); return this; }

    /** The detector's name. */
    public String detectorName() { return info().detector(); }

    /** Whether the detector carries a decision rule (threshold, p-values). */
    public boolean isCalibrated() { return info().calibrated(); }

    /** Whether the model is a kNN bank left sharded over the cluster (see {@link OodDetector}). */
    public boolean isSharded() { return bank != null; }

    /** The detector, loaded from the state on this JVM; the caller closes it. */
    public AbstractDetector detector() { return StateBytes.load(requireState("detector()")); }

    /** The state file's bytes (what {@code ood4j score --state} reads). */
    public byte[] stateBytes() { return requireState("stateBytes()").clone(); }

    private byte[] requireState(String what) {
        if (bank != null) {
            throw new IllegalArgumentException(what + ": this " + bank.detector() + " bank is sharded over the cluster, not one state"
                    + " (raise maxBroadcastBankBytes to gather it)");
        }
        return state;
    }

    private Info info() {
        if (info == null && bank != null) info = new Info(bank.detector(), bank.width(), false);
        if (info == null) {
            try {
                Map<String, String> meta = Safetensors.readMetadata(StateBytes.file(state));
                Object fit = Json.parse(meta.getOrDefault("fit", "{}"));
                Object width = fit instanceof Map<?, ?> m ? (m.get("dim") != null ? m.get("dim") : m.get("classes")) : null;
                info = new Info(meta.get("detector"), width instanceof Number n ? n.intValue() : -1, meta.containsKey("calibration"));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the detector's state: " + e.getMessage(), e);
            }
        }
        return info;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        return outputSchema(schema, isCalibrated());
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        if (bank != null) {
            return bank.transform(dataset, FeatureColumn.of(dataset.schema(), getFeaturesCol()), dataset.schema().fieldIndex(getFeaturesCol()), out);
        }
        Broadcast<byte[]> broadcast = JavaSparkContext.fromSparkContext(dataset.sparkSession().sparkContext()).broadcast(state);
        boolean calibrated = isCalibrated();
        Scorer scorer = new Scorer(FeatureColumn.of(dataset.schema(), getFeaturesCol()), dataset.schema().fieldIndex(getFeaturesCol()),
                info().width(), calibrated && !getIsOodCol().isEmpty(), calibrated && !getPValueCol().isEmpty());
        return Scorer.dataFrame(dataset, RowBlocks.internalRows(dataset).mapPartitions(rows -> scorer.score(broadcast.value(), rows)), out);
    }

    /**
     * A copy calibrated on in-distribution data: its scores' threshold at true-positive rate
     * {@code tpr} and a sorted sample of them for p-values (ood4j's {@code Calibration}). The
     * scores are collected on the driver (8 bytes a row).
     */
    public OodDetectorModel calibrate(Dataset<?> idData, double tpr) {
        requireState("calibrate");
        String score = getOutputCol();
        double[] scores = transform(idData).select(score).as(Encoders.DOUBLE()).collectAsList().stream().mapToDouble(Double::doubleValue).toArray();
        try (AbstractDetector d = detector(); Tensor t = Tensor.of(scores, scores.length)) {
            d.calibrate(t, tpr);
            return copyValues(new OodDetectorModel(uid, StateBytes.of(d)), ParamMap.empty());
        }
    }

    @Override
    public OodDetectorModel copy(ParamMap extra) {
        OodDetectorModel copy = new OodDetectorModel(uid, state, bank);
        return copyValues(copy, extra).setParent(parent());
    }

    @Override
    public MLWriter write() {
        return new Writer(this);
    }

    public static MLReader<OodDetectorModel> read() {
        return new Reader();
    }

    public static OodDetectorModel load(String path) {
        return read().load(path);
    }

    /** Spark's metadata (the columns) as any stage's, then the state file beside it, through Hadoop's file system (local, HDFS, S3...). */
    private static final class Writer extends MLWriter {
        private final OodDetectorModel model;

        Writer(OodDetectorModel model) {
            this.model = model;
        }

        @Override
        public void saveImpl(String path) {
            DefaultParamsWriter$.MODULE$.saveMetadata(model, path, sparkSession());
            if (model.bank == null) {
                write(new org.apache.hadoop.fs.Path(path, STATE_FILE), model.state);
                return;
            }
            // a sharded bank: its description, and the shards (each an ood4j state) as Spark's object file
            write(new org.apache.hadoop.fs.Path(path, SHARDED_FILE), SparkFit.serialise(model.bank));
            model.bank.shards().saveAsObjectFile(new org.apache.hadoop.fs.Path(path, SHARDS).toString());
        }

        private void write(org.apache.hadoop.fs.Path file, byte[] bytes) {
            try (FSDataOutputStream out = file.getFileSystem(sc().hadoopConfiguration()).create(file, true)) {
                out.write(bytes);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
            }
        }
    }

    private static final class Reader extends MLReader<OodDetectorModel> {
        @Override
        public OodDetectorModel load(String path) {
            DefaultParamsReader.Metadata meta = DefaultParamsReader$.MODULE$.loadMetadata(path, sparkSession(), OodDetectorModel.class.getName());
            OodDetectorModel model;
            byte[] sharded = read(new org.apache.hadoop.fs.Path(path, SHARDED_FILE), true);
            if (sharded != null) {
                ShardedBank bank = (ShardedBank) SparkFit.deserialiseObject(sharded);
                JavaRDD<byte[]> shards = JavaSparkContext.fromSparkContext(sc()).objectFile(new org.apache.hadoop.fs.Path(path, SHARDS).toString());
                model = new OodDetectorModel(meta.uid(), bank.withShards(shards.persist(StorageLevel.MEMORY_AND_DISK())));
            } else {
                model = new OodDetectorModel(meta.uid(), read(new org.apache.hadoop.fs.Path(path, STATE_FILE), false));
                model.info();   // a state that is not ood4j's is refused here, not in a task
            }
            meta.getAndSetParams(model, scala.Option.empty());
            return model;
        }

        /** The file's bytes; null when it is absent and {@code optional}. */
        private byte[] read(org.apache.hadoop.fs.Path file, boolean optional) {
            try {
                FileSystem fs = file.getFileSystem(sc().hadoopConfiguration());
                if (optional && !fs.exists(file)) return null;
                byte[] bytes = new byte[Math.toIntExact(fs.getFileStatus(file).getLen())];
                try (FSDataInputStream in = fs.open(file)) {
                    in.readFully(bytes);
                }
                return bytes;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
            }
        }
    }
}
