package org.ood4j.spark;

import java.io.Serializable;
import java.util.Arrays;

import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.ood4j.engine.DType;

/**
 * The detector's input column: {@code array<float>} (read as float32 rows, the precision the
 * single-JVM fit of float32 arrays sees), {@code array<double>} or an ML {@code Vector} (float64
 * rows). Checked against the schema before any job runs; each row is checked as it is read
 * (null, width, NaN or infinity), the message naming the column, the row's position in its
 * partition and the expected value.
 */
record FeatureColumn(String name, boolean float32) implements Serializable {
    /** The column {@code name} of {@code schema}, refused when absent or of another type. */
    static FeatureColumn of(StructType schema, String name) {
        DataType t = field(schema, name, "featuresCol").dataType();
        if (t instanceof ArrayType a && (a.elementType() == DataTypes.FloatType || a.elementType() == DataTypes.DoubleType)) {
            return new FeatureColumn(name, a.elementType() == DataTypes.FloatType);
        }
        if (t.equals(SQLDataTypes.VectorType())) return new FeatureColumn(name, false);
        throw new IllegalArgumentException("column '" + name + "' has type " + t.simpleString()
                + ", expected array<float>, array<double> or vector");
    }

    /** The labels column: an integral type; the row's position and the value are checked as rows are read. */
    static void requireLabels(StructType schema, String name) {
        DataType t = field(schema, name, "labelCol").dataType();
        boolean integral = t == DataTypes.LongType || t == DataTypes.IntegerType || t == DataTypes.ShortType || t == DataTypes.ByteType;
        boolean whole = t == DataTypes.DoubleType || t == DataTypes.FloatType;   // Spark ML's usual label type: checked to be whole per row
        if (!integral && !whole) {
            throw new IllegalArgumentException("column '" + name + "' has type " + t.simpleString() + ", expected an integer class label"
                    + (t instanceof NumericType ? "" : " (int, long, or a whole double)"));
        }
    }

    static StructField field(StructType schema, String name, String param) {
        if (!Arrays.asList(schema.fieldNames()).contains(name)) {
            throw new IllegalArgumentException("column '" + name + "' (" + param + ") does not exist; columns: " + Arrays.toString(schema.fieldNames()));
        }
        return schema.apply(name);
    }

    DType dtype() {
        return float32 ? DType.FLOAT32 : DType.FLOAT64;
    }

    /** How many values row {@code row}'s column holds (null refused). */
    int width(Row row, int index, Position at) {
        if (row.isNullAt(index)) throw at.bad(name, "is null", "an array of numbers");
        Object v = row.get(index);
        return v instanceof Vector vec ? vec.size() : ((scala.collection.Seq<?>) v).length();
    }

    /**
     * Copies the row's values into {@code out} at {@code offset} (float[] or double[] as the
     * column's precision), refusing a width other than {@code dim} and non-finite values.
     */
    void copy(Row row, int index, int dim, Object out, int offset, Position at) {
        int width = width(row, index, at);
        if (width != dim) throw at.bad(name, "has " + width + " values", dim + " values");
        Object v = row.get(index);
        if (v instanceof Vector vec) {
            double[] d = vec.toArray();
            for (int j = 0; j < dim; j++) put(out, offset + j, d[j], j, at);
            return;
        }
        scala.collection.Seq<?> seq = (scala.collection.Seq<?>) v;
        for (int j = 0; j < dim; j++) {
            Object x = seq.apply(j);
            if (x == null) throw at.bad(name, "holds null at index " + j, "finite numbers");
            put(out, offset + j, ((Number) x).doubleValue(), j, at);
        }
    }

    private void put(Object out, int i, double value, int j, Position at) {
        if (!Double.isFinite(value)) throw at.bad(name, "holds " + value + " at index " + j, "finite numbers");
        if (out instanceof float[] f) f[i] = (float) value;
        else ((double[]) out)[i] = value;
    }

    /** A row's place for messages: its partition and its index there (Spark gives rows no global number without a job). */
    record Position(int partition, long row) {
        IllegalArgumentException bad(String column, String what, String expected) {
            return new IllegalArgumentException("column '" + column + "': row " + row + " of partition " + partition + " " + what
                    + ", expected " + expected);
        }
    }
}
