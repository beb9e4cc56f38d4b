package org.ood4j.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.BankDetector;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

import scala.Tuple2;

/**
 * A kNN bank (KNN, NNGuide) too large to broadcast: it stays on the cluster, one shard per fit
 * partition, each shard an ordinary ood4j state of that partition's in-distribution rows (so a
 * shard is exactly what the single-JVM fit of those rows would store). A query is scored from
 * its k nearest rows of the union: every block of query rows meets every shard (a cartesian
 * product of query blocks and shards: the queries travel, the bank does not), each shard gives
 * each query its own k nearest values, and the candidates are merged by query block, keeping the
 * k nearest — the same k values an exact search of the whole bank finds, in any merge order — from
 * which the detector computes the score ({@link BankDetector#scoreNeighbours}).
 *
 * <p>Compared with the broadcast bank this moves each query block to every shard and shuffles
 * the candidates (k values per query and shard) and the query rows back to their scores; it is
 * the price of a bank no single executor can hold.
 *
 * @param spec  the detector as configured; shards are built with k = 1, their search is asked for k
 * @param k     the number of neighbours the score reads
 * @param width the features' width
 */
final class ShardedBank implements Serializable {
    private final DetectorSpec spec;
    private final int k, width;
    private final transient JavaRDD<byte[]> shards;

    ShardedBank(DetectorSpec spec, int k, int width, JavaRDD<byte[]> shards) {
        this.spec = spec;
        this.k = k;
        this.width = width;
        this.shards = shards;
    }

    /** The same bank over {@code shards} (e.g. read back from a saved model). */
    ShardedBank withShards(JavaRDD<byte[]> shards) {
        return new ShardedBank(spec, k, width, shards);
    }

    String detector() { return spec.name(); }
    int width() { return width; }
    JavaRDD<byte[]> shards() { return shards; }

    /** Builds the shards of the input's partitions (kept on the executors, memory then disk); refuses a bank of fewer than k rows. */
    static ShardedBank fit(DetectorSpec spec, int k, SparkFit.Input in) {
        DetectorSpec shardSpec = spec.with("k", 1);
        JavaRDD<byte[]> shards = in.blocks().mapPartitions(blocks -> shard(shardSpec, blocks)).persist(StorageLevel.MEMORY_AND_DISK());
        long rows = shards.map(s -> rowsOf(s)).fold(0L, Long::sum);
        if (rows < k) {
            shards.unpersist(false);
            throw new IllegalArgumentException(spec.name() + ": the bank has " + rows + " in-distribution rows, fewer than k = " + k);
        }
        return new ShardedBank(spec, k, in.dim(), shards);
    }

    /** One partition's shard: its blocks fitted as a bank (none when it holds no in-distribution row). */
    private static Iterator<byte[]> shard(DetectorSpec spec, Iterator<RowBlocks.Block> blocks) {
        try (AbstractDetector d = spec.create(); var acc = ((BankDetector) d).fitAccumulator(0)) {
            boolean[] any = {false};
            SparkFit.addAll(acc, new Iterator<>() {   // noting whether any block holds an in-distribution row
                @Override public boolean hasNext() { return blocks.hasNext(); }
                @Override public RowBlocks.Block next() {
                    RowBlocks.Block b = blocks.next();
                    any[0] |= b.labels() == null || java.util.Arrays.stream(b.labels()).anyMatch(y -> y >= 0);
                    return b;
                }
            });
            if (!any[0]) return java.util.Collections.emptyIterator();
            acc.finish();
            return List.of(StateBytes.of(d)).iterator();
        }
    }

    private static long rowsOf(byte[] shard) {
        try (AbstractDetector d = StateBytes.load(shard)) {
            return d.state().get("bank").size(0);
        }
    }

    /** The input rows with their scores appended, as {@code out}. */
    Dataset<Row> transform(Dataset<?> dataset, FeatureColumn features, int featureIndex, StructType out) {
        DetectorSpec scoring = spec;
        int dim = width, count = k;
        JavaPairRDD<Long, Query> queries = RowBlocks.internalRows(dataset)
                .mapPartitionsWithIndex((p, rows) -> queryBlocks(p, rows, features, featureIndex, dim), true)
                .mapToPair(q -> q)
                .persist(StorageLevel.MEMORY_AND_DISK());
        JavaPairRDD<Long, Candidates> best = queries.cartesian(shards).mapPartitionsToPair(pairs -> candidates(pairs, count))
                .reduceByKey(Candidates::merge);
        JavaRDD<InternalRow> scored = queries.join(best).mapPartitions(blocks -> scores(scoring, blocks));
        return Scorer.dataFrame(dataset, scored, out);
    }

    /** A block of query rows: the rows themselves (to write them out) and their features. */
    record Query(List<InternalRow> rows, RowBlocks.Block block) implements Serializable {}

    private static Iterator<Tuple2<Long, Query>> queryBlocks(int partition, Iterator<InternalRow> rows, FeatureColumn features, int index, int dim) {
        List<InternalRow> kept = new ArrayList<>();
        RowBlocks blocks = new RowBlocks(rows, partition, features, index, null, dim, kept);
        List<Tuple2<Long, Query>> out = new ArrayList<>();
        for (long n = 0; blocks.hasNext(); n++) {
            RowBlocks.Block b = blocks.next();
            out.add(new Tuple2<>(((long) partition << 32) | n, new Query(new ArrayList<>(kept), b)));
            kept.clear();
        }
        return out.iterator();
    }

    /** Each query block's candidates in one shard (every pair of this task shares the shard: it is loaded once). */
    private static Iterator<Tuple2<Long, Candidates>> candidates(Iterator<Tuple2<Tuple2<Long, Query>, byte[]>> pairs, int k) {
        List<Tuple2<Long, Candidates>> out = new ArrayList<>();
        AbstractDetector shard = null;
        try {
            while (pairs.hasNext()) {
                Tuple2<Tuple2<Long, Query>, byte[]> pair = pairs.next();
                if (shard == null) shard = StateBytes.load(pair._2());
                BankDetector bank = (BankDetector) shard;
                RowBlocks.Block b = pair._1()._2().block();
                try (Scope s = Scope.open()) {
                    Tensor values = bank.neighbourValues(b.features(), k);
                    out.add(new Tuple2<>(pair._1()._1(), new Candidates(b.rows(), k, (int) values.size(1), values.toDoubleArray(), bank.smallerIsNearer())));
                }
            }
            return out.iterator();
        } finally {
            if (shard != null) shard.close();
        }
    }

    private static Iterator<InternalRow> scores(DetectorSpec spec, Iterator<Tuple2<Long, Tuple2<Query, Candidates>>> blocks) {
        List<InternalRow> out = new ArrayList<>();
        try (AbstractDetector d = spec.create()) {
            BankDetector bank = (BankDetector) d;
            while (blocks.hasNext()) {
                Tuple2<Query, Candidates> q = blocks.next()._2();
                Candidates c = q._2();
                double[] s;
                try (Scope scope = Scope.open()) {
                    s = bank.scoreNeighbours(q._1().block().features(), Tensor.of(c.values(), c.rows(), c.count())).toDoubleArray();
                }
                for (int i = 0; i < s.length; i++) out.add(Scorer.withScores(q._1().rows().get(i), s[i], null, null));
            }
        }
        return out.iterator();
    }

    /**
     * The nearest values found so far for each row of a query block (rows x count, row-major),
     * nearest first; {@link #merge} keeps each row's k nearest of two lists, so the result does
     * not depend on the order of the merges (equal values are equal, whichever shard they came from).
     */
    record Candidates(int rows, int k, int count, double[] values, boolean ascending) implements Serializable {
        Candidates merge(Candidates o) {
            int merged = Math.min(k, count + o.count);
            double[] out = new double[rows * merged];
            for (int r = 0; r < rows; r++) {
                int i = 0, j = 0;
                for (int m = 0; m < merged; m++) {
                    boolean mine = j >= o.count || (i < count && (ascending ? values[r * count + i] <= o.values[r * o.count + j]
                            : values[r * count + i] >= o.values[r * o.count + j]));
                    out[r * merged + m] = mine ? values[r * count + i++] : o.values[r * o.count + j++];
                }
            }
            return new Candidates(rows, k, merged, out, ascending);
        }
    }
}
