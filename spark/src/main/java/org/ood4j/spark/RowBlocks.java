package org.ood4j.spark;

import java.io.Serializable;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.DataType;
import org.ood4j.engine.Tensor;

/**
 * A partition's rows read into blocks of at most {@link #ROWS} rows: the features as one flat
 * float[] or double[] (n x dim, row-major) and the labels as long[] (or none), each block becoming
 * one off-heap tensor per call, never one per row. Every value is checked as it is copied
 * ({@link FeatureColumn#copy}); a label must be a whole number.
 */
final class RowBlocks implements Iterator<RowBlocks.Block> {
    /** Rows per block: a few thousand, as the detectors' own chunks ({@code Inputs.CHUNK_ROWS}). */
    static final int ROWS = 4096;

    /** One block of rows; {@code firstRow} is the index of its first row in partition {@code partition}. */
    record Block(Object values, long[] labels, int rows, int dim, int partition, long firstRow) implements Serializable {
        /** The features (rows, dim) as a new tensor, float32 or float64 as the column. */
        Tensor features() {
            return values instanceof float[] f ? Tensor.of(f, rows, dim) : Tensor.of((double[]) values, rows, dim);
        }

        /** The labels (rows,) int64 as a new tensor, or null. */
        Tensor labelTensor() {
            return labels == null ? null : Tensor.of(labels, rows);
        }

        /** The features as float64, row-major. */
        double[] doubles() {
            if (values instanceof double[] d) return d;
            float[] f = (float[]) values;
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) d[i] = f[i];
            return d;
        }
    }

    private final Iterator<InternalRow> rows;
    private final FeatureColumn features;
    private final String labelName;
    private final DataType labelType;
    private final int featureIndex, labelIndex, dim, partition;
    private final List<InternalRow> keep;
    private long read;

    /**
     * @param labels     the labels' column, or null for no labels
     * @param keep       where the rows go (copied: Spark reuses a row object) as they are read, to write them out with their scores; or null
     */
    RowBlocks(Iterator<InternalRow> rows, int partition, FeatureColumn features, int featureIndex, Labels labels, int dim,
              List<InternalRow> keep) {
        this.rows = rows;
        this.partition = partition;
        this.features = features;
        this.featureIndex = featureIndex;
        this.labelName = labels == null ? null : labels.name();
        this.labelType = labels == null ? null : labels.type();
        this.labelIndex = labels == null ? -1 : labels.index();
        this.dim = dim;
        this.keep = keep;
    }

    @Override
    public boolean hasNext() {
        return rows.hasNext();
    }

    @Override
    public Block next() {
        if (!rows.hasNext()) throw new NoSuchElementException();
        long first = read;
        Object values = features.float32() ? new float[ROWS * dim] : new double[ROWS * dim];
        long[] labels = labelIndex < 0 ? null : new long[ROWS];
        int n = 0;
        for (; n < ROWS && rows.hasNext(); n++, read++) {
            InternalRow row = rows.next();
            if (keep != null) keep.add(row.copy());
            FeatureColumn.Position at = new FeatureColumn.Position(partition, read);
            features.copy(row, featureIndex, dim, values, n * dim, at);
            if (labels != null) labels[n] = label(row, at);
        }
        if (n < ROWS) {
            values = values instanceof float[] f ? java.util.Arrays.copyOf(f, n * dim) : java.util.Arrays.copyOf((double[]) values, n * dim);
            if (labels != null) labels = java.util.Arrays.copyOf(labels, n);
        }
        return new Block(values, labels, n, dim, partition, first);
    }

    /** The labels' column: its name (for messages), type and index in the rows. */
    record Labels(String name, DataType type, int index) implements Serializable {}

    private long label(InternalRow row, FeatureColumn.Position at) {
        if (row.isNullAt(labelIndex)) throw at.bad(labelName, "is null", "an integer class label (< 0 for an OOD row)");
        double v = ((Number) row.get(labelIndex, labelType)).doubleValue();
        if (v != Math.rint(v) || Math.abs(v) > 1L << 53) throw at.bad(labelName, "is " + v, "an integer class label (< 0 for an OOD row)");
        return (long) v;
    }

    /** The width of the first row of the column (the fit's dimension), refusing a dataset without rows. */
    static int firstWidth(org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> rows, FeatureColumn column, String detector) {
        List<InternalRow> first = internalRows(rows.limit(1)).map(InternalRow::copy).collect();
        if (first.isEmpty()) throw new IllegalArgumentException(detector + ": the fit dataset has no rows");
        return column.width(first.get(0), 0, new FeatureColumn.Position(0, 0));
    }

    /** The dataset's rows in Spark's internal form, as its query produces them. */
    static org.apache.spark.api.java.JavaRDD<InternalRow> internalRows(org.apache.spark.sql.Dataset<?> rows) {
        return rows.queryExecution().toRdd().toJavaRDD();
    }
}
