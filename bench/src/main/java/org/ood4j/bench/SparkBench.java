package org.ood4j.bench;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;
import org.ood4j.spark.OodDetector;
import org.ood4j.spark.OodDetectorModel;

/**
 * The Spark side of bench/spark-bench.sh: in local[N], Mahalanobis fitted on DATA/features.npy +
 * labels.npy (first written once, untimed, as Parquet: id, features array&lt;float&gt;, label — what
 * a Spark user's data lake holds) and the same rows scored, each step timed in wall-clock and
 * process CPU seconds. Scoring runs the whole transform into Spark's "noop" sink (every row
 * converted, scored and assembled, nothing written), where the CLI writes 8 bytes a row.
 *
 *   SparkBench DATA WORK [master (local[2])] [partitions (16)]
 *
 * Prints one line per step: "spark fit|score ROWS rows WALL s CPU s", and the fitted state's path.
 */
public final class SparkBench {
    private SparkBench() {}

    public static void main(String[] args) throws Exception {
        Path data = Path.of(args[0]), work = Path.of(args[1]);
        String master = args.length > 2 ? args[2] : "local[2]";
        int partitions = args.length > 3 ? Integer.parseInt(args[3]) : 16;
        SparkSession spark = SparkSession.builder().master(master).appName("ood4j-spark-bench").config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "2").getOrCreate();
        try {
            Path parquet = work.resolve("features.parquet");
            if (!Files.exists(parquet.resolve("_SUCCESS"))) toParquet(spark, data, parquet, partitions);
            Dataset<Row> rows = spark.read().parquet(parquet.toString());
            long n = rows.count();

            long[] t = start();
            OodDetectorModel model = new OodDetector().setDetector("Mahalanobis").setLabelCol("label").fit(rows);
            report("fit", n, t);

            t = start();
            model.transform(rows).write().format("noop").mode(SaveMode.Overwrite).save();
            report("score", n, t);

            Path state = work.resolve("spark-maha.ood4j");
            Files.write(state, model.stateBytes());
            System.out.println("state " + state);
        } finally {
            spark.stop();
        }
    }

    /** The .npy rows as Parquet, in {@code partitions} row ranges read from the memory-mapped files by the executors. */
    static void toParquet(SparkSession spark, Path data, Path parquet, int partitions) throws Exception {
        long n;
        try (Tensor y = Npy.map(data.resolve("labels.npy"))) {
            n = y.size(0);
        }
        List<long[]> ranges = new ArrayList<>();
        for (int p = 0; p < partitions; p++) ranges.add(new long[] {n * p / partitions, n * (p + 1) / partitions});
        String dir = data.toString();
        JavaRDD<Row> rdd = JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(ranges, partitions)
                .flatMap(r -> rowsOf(Path.of(dir), r[0], r[1]));
        StructType schema = new StructType().add("id", DataTypes.LongType, false)
                .add("features", DataTypes.createArrayType(DataTypes.FloatType, false), false).add("label", DataTypes.LongType, false);
        spark.createDataFrame(rdd, schema).write().mode(SaveMode.Overwrite).parquet(parquet.toString());
    }

    private static Iterator<Row> rowsOf(Path data, long from, long to) throws Exception {
        List<Row> out = new ArrayList<>();
        try (Tensor x = Npy.map(data.resolve("features.npy")); Tensor y = Npy.map(data.resolve("labels.npy"));
             Tensor xs = x.slice(0, from, to); Tensor ys = y.slice(0, from, to)) {
            float[] f = xs.toFloatArray();
            long[] labels = ys.toLongArray();
            int dim = (int) x.size(1);
            for (int i = 0; i < labels.length; i++) {
                out.add(RowFactory.create(from + i, java.util.Arrays.copyOfRange(f, i * dim, (i + 1) * dim), labels[i]));
            }
        }
        return out.iterator();
    }

    private static long[] start() {
        return new long[] {System.nanoTime(), cpu()};
    }

    private static void report(String step, long rows, long[] t) {
        double wall = (System.nanoTime() - t[0]) / 1e9, cpu = (cpu() - t[1]) / 1e9;
        System.out.printf(Locale.ROOT, "spark %s %d rows %.2f s %.2f cpu-s%n", step, rows, wall, cpu);
    }

    private static long cpu() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }
}
