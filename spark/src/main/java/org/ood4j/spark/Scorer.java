package org.ood4j.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.JoinedRow;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.TaskCompletionListener;
import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.Calibration;
import org.ood4j.detectors.FeaturesDetector;
import org.ood4j.detectors.LogitsDetector;
import org.ood4j.detectors.StructuredDetector;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * Scores one partition: the detector loaded once from the broadcast state, the rows read in
 * blocks ({@link RowBlocks}), each block scored as one tensor and written out as the input rows
 * followed by the score (and, for a calibrated detector, the decision and p-value). The detector
 * is closed when the rows run out or the task ends, whichever comes first.
 *
 * @param width the input width the detector was fitted on, or -1 (a detector without a fit:
 *              each partition's first row sets it)
 * @param isOod, pValue whether a calibrated detector's decision and p-value columns are added
 */
record Scorer(FeatureColumn features, int featureIndex, int width, boolean isOod, boolean pValue) implements Serializable {
    Iterator<InternalRow> score(byte[] state, Iterator<InternalRow> rows) {
        if (!rows.hasNext()) return Collections.emptyIterator();
        int partition = TaskContext.getPartitionId();
        InternalRow first = rows.next().copy();
        int dim = width >= 0 ? width : features.width(first, featureIndex, new FeatureColumn.Position(partition, 0));
        Iterator<InternalRow> all = new Iterator<>() {
            private InternalRow head = first;
            @Override public boolean hasNext() { return head != null || rows.hasNext(); }
            @Override public InternalRow next() {
                if (head == null) return rows.next();
                InternalRow r = head;
                head = null;
                return r;
            }
        };
        return new Scored(StateBytes.load(state), all, partition, dim);
    }

    /** The scores of a block (n,) float64, by the detector's input family. */
    static Tensor scores(AbstractDetector d, Tensor x) {
        return switch (d) {
            case FeaturesDetector f -> f.predictFeatures(x);
            case LogitsDetector l -> l.predictLogits(x);
            case StructuredDetector s -> s.predictStructured(List.of(x), null);
            default -> throw new IllegalArgumentException(d.name() + " scores a network's inputs, not a features or logits column");
        };
    }

    private final class Scored implements Iterator<InternalRow> {
        private final AbstractDetector detector;
        private final RowBlocks blocks;
        private final List<InternalRow> kept = new ArrayList<>();
        private final List<InternalRow> out = new ArrayList<>();
        private int next;
        private boolean closed;

        Scored(AbstractDetector detector, Iterator<InternalRow> rows, int partition, int dim) {
            this.detector = detector;
            this.blocks = new RowBlocks(rows, partition, features, featureIndex, null, dim, kept);
            TaskContext task = TaskContext.get();
            if (task != null) task.addTaskCompletionListener((TaskCompletionListener) context -> close());
        }

        @Override
        public boolean hasNext() {
            if (next < out.size()) return true;
            if (!blocks.hasNext()) {
                close();
                return false;
            }
            scoreBlock();
            return true;
        }

        @Override
        public InternalRow next() {
            if (!hasNext()) throw new NoSuchElementException();
            return out.get(next++);
        }

        private void scoreBlock() {
            kept.clear();
            out.clear();
            next = 0;
            RowBlocks.Block b = blocks.next();
            double[] s;
            try (Scope scope = Scope.open()) {
                s = scores(detector, b.features()).toDoubleArray();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("column '" + features.name() + "', partition " + b.partition() + ", rows from "
                        + b.firstRow() + ": " + e.getMessage(), e);
            }
            Calibration c = detector.calibration();
            boolean[] ood = c != null && isOod ? c.isOod(s) : null;
            double[] p = c != null && pValue ? c.pValues(s) : null;
            for (int i = 0; i < kept.size(); i++) out.add(withScores(kept.get(i), s[i], ood == null ? null : ood[i], p == null ? null : p[i]));
        }

        private synchronized void close() {
            if (!closed) {
                closed = true;
                detector.close();
            }
        }
    }

    /** The row followed by its score (and decision, p-value): the row's bytes are not converted, Spark copies them once. */
    static InternalRow withScores(InternalRow row, double score, Boolean ood, Double p) {
        Object[] values = new Object[1 + (ood == null ? 0 : 1) + (p == null ? 0 : 1)];
        int at = 0;
        values[at++] = score;
        if (ood != null) values[at++] = ood;
        if (p != null) values[at] = p;
        return new JoinedRow(row, new GenericInternalRow(values));
    }

    /**
     * Internal rows of {@code schema} as a DataFrame of {@code like}'s session. Spark's public API
     * makes DataFrames of external {@code Row}s only, converting every array on the way in; the
     * classic session's internalCreateDataFrame (Spark SQL's own way, public in the bytecode,
     * not in Spark Connect) takes the rows as they are.
     */
    static Dataset<Row> dataFrame(Dataset<?> like, JavaRDD<InternalRow> rows, StructType schema) {
        return ((org.apache.spark.sql.classic.SparkSession) like.sparkSession()).internalCreateDataFrame(rows.rdd(), schema, false);
    }
}
