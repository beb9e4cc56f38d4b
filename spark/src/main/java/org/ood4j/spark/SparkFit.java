package org.ood4j.spark;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;

import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.storage.StorageLevel;
import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.BankDetector;
import org.ood4j.detectors.FitAccumulator;
import org.ood4j.detectors.StreamingFit;
import org.ood4j.detectors.TemperatureScaling;
import org.ood4j.engine.Device;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

import scala.Tuple2;

/**
 * The fit of a detector over a Spark dataset's partitions, giving the detector the single-JVM
 * fit of the same rows gives (up to float64 round-off of the merge order):
 * <ul>
 * <li>a statistic ({@link StreamingFit}): per pass, each partition adds its rows in blocks to an
 * accumulator made by a detector built on the executor; the accumulators (serialised) merge in a
 * tree of fixed shape and order — partition i's parent is i / {@link #FANOUT}, children merged in
 * index order — so a refit of the same partitions gives the same bits, which Spark's own
 * treeAggregate (children merged as the shuffle delivers them) would not; the driver merges the
 * root into its detector's accumulator and finishes it. Pass p > 0 needs pass p - 1's result on
 * the executors: the finished accumulators of the earlier passes are broadcast and each
 * executor's detector replays their {@code finish} (a function of the statistics alone) before
 * it accumulates pass p;</li>
 * <li>TemperatureScaling: its Newton iteration runs on the driver, each step's L' and L'' a sum
 * of per-partition sums over the cached logits, added in partition order;</li>
 * <li>a kNN bank (KNN, NNGuide): the partitions' rows, in partition order, appended to the bank on
 * the driver (see {@link OodDetector} for why the bank is gathered).</li>
 * </ul>
 */
final class SparkFit {
    /** Children per node of the merge tree: at most this many accumulators are held by one merge task. */
    static final int FANOUT = 4;

    private SparkFit() {}

    /** Where the fit's rows are: the selected (features[, label]) dataset and how to read it. */
    record Input(JavaRDD<InternalRow> rows, FeatureColumn features, RowBlocks.Labels labels, int dim) {
        /** The partitions' rows as blocks, each block validated (with the row's position) on its executor. */
        JavaRDD<RowBlocks.Block> blocks() {
            FeatureColumn column = features;   // locals: the closure must not capture this record's RDD
            RowBlocks.Labels y = labels;
            int width = dim;
            return rows.mapPartitionsWithIndex((i, it) -> new RowBlocks(it, i, column, 0, y, width, null), true);
        }
    }

    /** Fits {@code d} (built from {@code spec}) on the input. */
    static void fit(AbstractDetector d, DetectorSpec spec, Input in) {
        switch (d) {
            case BankDetector bank -> fitBank(bank, in);
            case StreamingFit s -> fitStreaming(s, spec, in);
            case TemperatureScaling t -> fitTemperature(t, in);
            default -> throw new IllegalArgumentException(d.name() + " has no fit over a Spark dataset: its fit is not a statistic of"
                    + " feature or logit rows");
        }
    }

    private static void fitStreaming(StreamingFit s, DetectorSpec spec, Input in) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(in.rows().context());
        // each pass reads the input again, as the single-JVM streaming fit rereads its file: caching the rows would hold the
        // whole dataset (a user who wants that caches the Dataset)
        JavaRDD<RowBlocks.Block> blocks = in.blocks();
        List<byte[]> finished = new ArrayList<>();
        for (int pass = 0; pass < s.fitPasses(); pass++) {
            Broadcast<List<byte[]>> earlier = jsc.broadcast(List.copyOf(finished));
            int p = pass;
            JavaPairRDD<Integer, byte[]> leaves = blocks.mapPartitionsWithIndex(
                    (i, it) -> List.of(new Tuple2<>(i, accumulate(spec, earlier.value(), p, it))).iterator(), true)
                    .mapToPair(t -> t);
            FitAccumulator acc = s.fitAccumulator(pass);
            acc.merge(deserialise(treeMerge(leaves, blocks.getNumPartitions())));
            acc.finish();
            finished.add(serialise(acc));
            earlier.destroy();
        }
    }

    /** One partition's accumulator of pass {@code pass}, made by a detector built here and brought to that pass. */
    private static byte[] accumulate(DetectorSpec spec, List<byte[]> earlier, int pass, Iterator<RowBlocks.Block> blocks) {
        try (AbstractDetector d = spec.create()) {
            StreamingFit s = (StreamingFit) d;
            for (int q = 0; q < pass; q++) {
                FitAccumulator replay = s.fitAccumulator(q);
                replay.merge(deserialise(earlier.get(q)));
                replay.finish();
            }
            FitAccumulator acc = s.fitAccumulator(pass);
            addAll(acc, blocks);
            return serialise(acc);
        }
    }

    /**
     * Merges the leaves (partition index, accumulator) level by level: node i's parent is
     * i / FANOUT, and a parent merges its children in index order; the driver merges the last
     * level's nodes in index order.
     */
    static byte[] treeMerge(JavaPairRDD<Integer, byte[]> level, int nodes) {
        while (nodes > FANOUT) {
            int parents = (nodes + FANOUT - 1) / FANOUT;
            level = level.mapToPair(t -> new Tuple2<>(t._1() / FANOUT, t)).groupByKey(parents).mapValues(SparkFit::mergeInOrder);
            nodes = parents;
        }
        return mergeInOrder(level.collect());
    }

    private static byte[] mergeInOrder(Iterable<Tuple2<Integer, byte[]>> children) {
        List<Tuple2<Integer, byte[]>> sorted = new ArrayList<>();
        children.forEach(sorted::add);
        sorted.sort(Comparator.comparing(Tuple2::_1));
        FitAccumulator root = deserialise(sorted.get(0)._2());
        for (int i = 1; i < sorted.size(); i++) root.merge(deserialise(sorted.get(i)._2()));
        return serialise(root);
    }

    /**
     * The bank: every partition's blocks, fetched in partition order (one partition at a time on
     * the driver) and appended to the detector's bank accumulator (in memory, or spilled to disk when large).
     */
    private static void fitBank(BankDetector bank, Input in) {
        try (FitAccumulator acc = bank.fitAccumulator(0)) {   // closed: a failed fit frees the rows it holds
            addAll(acc, in.blocks().toLocalIterator());
            acc.finish();
        }
    }

    /** Adds every block (a tensor each, freed after), a refusal naming the block's partition and first row. */
    static void addAll(FitAccumulator acc, Iterator<RowBlocks.Block> blocks) {
        while (blocks.hasNext()) {
            RowBlocks.Block b = blocks.next();
            try (Scope scope = Scope.open()) {
                acc.add(b.features(), b.labelTensor());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("partition " + b.partition() + ", rows from " + b.firstRow() + ": " + e.getMessage(), e);
            }
        }
    }

    /** Temperature scaling: the cached ID logits, each Newton step's derivative sums gathered per partition. */
    private static void fitTemperature(TemperatureScaling t, Input in) {
        if (in.labels() == null) throw new IllegalArgumentException(t.name() + " needs class labels to fit: set labelCol");
        int classes = in.dim();
        String labelName = in.labels().name();
        JavaRDD<RowBlocks.Block> blocks = in.blocks().map(b -> idRows(b, classes, labelName)).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            long idRows = blocks.map(b -> (long) b.rows()).fold(0L, Long::sum), rows = in.rows().count();
            t.fitFromSums(Device.CPU, rows, idRows, classes, beta -> partitionSums(blocks, beta));
        } finally {
            blocks.unpersist(false);
        }
    }

    /** The sums of L' and L'' terms at beta, per partition, added in partition order. */
    private static double[] partitionSums(JavaRDD<RowBlocks.Block> blocks, double beta) {
        List<double[]> parts = blocks.mapPartitions(it -> {
            double[] sums = new double[2];
            while (it.hasNext()) {
                RowBlocks.Block b = it.next();
                TemperatureScaling.addDerivativeTerms(beta, b.doubles(), b.dim(), b.labels(), 0, sums);
            }
            return List.of(sums).iterator();
        }).collect();
        double[] total = new double[2];
        for (double[] p : parts) {
            total[0] += p[0];
            total[1] += p[1];
        }
        return total;
    }

    /** The block's in-distribution rows (label >= 0), a label of {@code classes} or more refused with its row. */
    private static RowBlocks.Block idRows(RowBlocks.Block b, int classes, String labelName) {
        double[] z = b.doubles();
        int n = 0;
        for (int r = 0; r < b.rows(); r++) {
            long y = b.labels()[r];
            if (y >= classes) {
                throw new FeatureColumn.Position(b.partition(), b.firstRow() + r).bad(labelName, "is " + y, "a class in 0.." + (classes - 1));
            }
            if (y >= 0) n++;
        }
        double[] id = new double[n * classes];
        long[] labels = new long[n];
        for (int r = 0, o = 0; r < b.rows(); r++) {
            if (b.labels()[r] < 0) continue;
            System.arraycopy(z, r * classes, id, o * classes, classes);
            labels[o++] = b.labels()[r];
        }
        return new RowBlocks.Block(id, labels, n, classes, b.partition(), b.firstRow());
    }

    /** Java serialisation: accumulators travel as bytes whatever serialiser Spark is configured with. */
    static byte[] serialise(java.io.Serializable object) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(object);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serialise a " + object.getClass().getSimpleName() + ": " + e.getMessage(), e);
        }
        return bytes.toByteArray();
    }

    static FitAccumulator deserialise(byte[] bytes) {
        return (FitAccumulator) deserialiseObject(bytes);
    }

    static Object deserialiseObject(byte[] bytes) {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes))) {
            return in.readObject();
        } catch (IOException | ClassNotFoundException e) {
            throw new IllegalStateException("cannot read serialised ood4j state: " + e.getMessage(), e);
        }
    }
}
