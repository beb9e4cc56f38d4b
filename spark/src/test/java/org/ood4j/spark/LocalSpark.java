package org.ood4j.spark;

import java.util.ArrayList;
import java.util.List;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The tests' Spark: local[2] on 127.0.0.1, no UI, few shuffle partitions, small memory; started
 * by a test class (@BeforeAll) and stopped by it (@AfterAll). Also builds datasets whose
 * partitions have exactly the sizes asked for, in order.
 */
final class LocalSpark {
    private LocalSpark() {}

    static SparkSession start() {
        return SparkSession.builder().master("local[2]").appName("ood4j-spark-tests")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "4")
                .config("spark.default.parallelism", "2")
                .config("spark.sql.adaptive.enabled", "false")
                .getOrCreate();
    }

    /** Uneven partition sizes (one empty) summing to 3000: the fit rows of the exactness tests. */
    static final int[] UNEVEN = {5, 900, 37, 410, 0, 1200, 3, 250, 195};

    /**
     * A dataset (features array&lt;float&gt;, label long, id long) of {@code x} (n x dim, row-major)
     * and labels, split into partitions of the given sizes in row order.
     */
    static Dataset<Row> floatRows(SparkSession spark, float[] x, int dim, long[] labels, int[] sizes) {
        List<List<Row>> parts = new ArrayList<>();
        int row = 0;
        for (int size : sizes) {
            List<Row> part = new ArrayList<>();
            for (int i = 0; i < size; i++, row++) {
                Float[] f = new Float[dim];
                for (int j = 0; j < dim; j++) f[j] = x[row * dim + j];
                part.add(RowFactory.create(f, labels[row], (long) row));
            }
            parts.add(part);
        }
        return partitioned(spark, parts, FLOAT_ROWS);
    }

    /** features array<float> (nullable, with nullable elements: the bad-input tests put nulls there), label long, id long. */
    static final StructType FLOAT_ROWS = new StructType().add("features", DataTypes.createArrayType(DataTypes.FloatType, true), true)
            .add("label", DataTypes.LongType, true).add("id", DataTypes.LongType, false);

    /** A dataset whose partition i holds exactly {@code parts.get(i)}, in order. */
    static Dataset<Row> partitioned(SparkSession spark, List<List<Row>> parts, StructType schema) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Dataset<Row> all = null;
        for (List<Row> part : parts) {
            Dataset<Row> d = spark.createDataFrame(jsc.parallelize(part, 1), schema);
            all = all == null ? d : all.union(d);
        }
        return all;
    }

    /** Each row's value of column {@code col}, ordered by column id. */
    static double[] column(Dataset<Row> scored, String col) {
        return scored.orderBy("id").select(col).collectAsList().stream().mapToDouble(r -> r.getDouble(0)).toArray();
    }
}
