package org.ood4j.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

import org.apache.spark.TaskContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
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
    Iterator<Row> score(byte[] state, Iterator<Row> rows) {
        if (!rows.hasNext()) return Collections.emptyIterator();
        int partition = TaskContext.getPartitionId();
        Row first = rows.next();
        int dim = width >= 0 ? width : features.width(first, featureIndex, new FeatureColumn.Position(partition, 0));
        Iterator<Row> all = new Iterator<>() {
            private Row head = first;
            @Override public boolean hasNext() { return head != null || rows.hasNext(); }
            @Override public Row next() {
                if (head == null) return rows.next();
                Row r = head;
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

    private final class Scored implements Iterator<Row> {
        private final AbstractDetector detector;
        private final RowBlocks blocks;
        private final List<Row> kept = new ArrayList<>();
        private final List<Row> out = new ArrayList<>();
        private int next;
        private boolean closed;

        Scored(AbstractDetector detector, Iterator<Row> rows, int partition, int dim) {
            this.detector = detector;
            this.blocks = new RowBlocks(rows, partition, features, featureIndex, null, -1, dim, kept);
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
        public Row next() {
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

    static Row withScores(Row row, double score, Boolean ood, Double p) {
        int n = row.length();
        Object[] values = new Object[n + 1 + (ood == null ? 0 : 1) + (p == null ? 0 : 1)];
        for (int i = 0; i < n; i++) values[i] = row.get(i);
        int at = n;
        values[at++] = score;
        if (ood != null) values[at++] = ood;
        if (p != null) values[at] = p;
        return RowFactory.create(values);
    }
}
