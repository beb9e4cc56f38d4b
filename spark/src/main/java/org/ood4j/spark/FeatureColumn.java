package org.ood4j.spark;

import java.io.Serializable;
import java.util.Arrays;

import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.UserDefinedType;
import org.ood4j.engine.DType;

/**
 * The detector's input column: {@code array<float>} (read as float32 rows, the precision the
 * single-JVM fit of float32 arrays sees), {@code array<double>} or an ML {@code Vector} (float64
 * rows). Checked against the schema before any job runs; each row is checked as it is read
 * (null, width, NaN or infinity), the message naming the column, the row's position in its
 * partition and the expected value.
 *
 * <p>Rows are read in Spark's internal form (the query's {@code InternalRow}s): an array column is
 * then one copy of its packed values ({@code ArrayData.toFloatArray}), where the public
 * {@code Row} would first convert every array to a Scala collection and, on the way out, back.
 *
 * @param vector        an ML Vector column (else an array)
 * @param containsNull  whether the array type admits null elements (then each is checked)
 */
record FeatureColumn(String name, boolean float32, boolean vector, boolean containsNull) implements Serializable {
    /** The column {@code name} of {@code schema}, refused when absent or of another type. */
    static FeatureColumn of(StructType schema, String name) {
        DataType t = field(schema, name, "featuresCol").dataType();
        if (t instanceof ArrayType a && (a.elementType() == DataTypes.FloatType || a.elementType() == DataTypes.DoubleType)) {
            return new FeatureColumn(name, a.elementType() == DataTypes.FloatType, false, a.containsNull());
        }
        if (t.equals(SQLDataTypes.VectorType())) return new FeatureColumn(name, false, true, false);
        throw new IllegalArgumentException("column '" + name + "' has type " + t.simpleString()
                + ", expected array<float>, array<double> or vector");
    }

    /** The labels column's type: an integral type, or a floating one whose values are checked to be whole as rows are read. */
    static DataType labelType(StructType schema, String name) {
        DataType t = field(schema, name, "labelCol").dataType();
        boolean integral = t == DataTypes.LongType || t == DataTypes.IntegerType || t == DataTypes.ShortType || t == DataTypes.ByteType;
        boolean whole = t == DataTypes.DoubleType || t == DataTypes.FloatType;   // Spark ML's usual label type
        if (!integral && !whole) {
            throw new IllegalArgumentException("column '" + name + "' has type " + t.simpleString() + ", expected an integer class label"
                    + (t instanceof NumericType ? "" : " (int, long, or a whole double)"));
        }
        return t;
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

    /** How many values the row's column holds (null refused). */
    int width(InternalRow row, int index, Position at) {
        if (row.isNullAt(index)) throw at.bad(name, "is null", "an array of numbers");
        return vector ? vector(row, index).size() : row.getArray(index).numElements();
    }

    @SuppressWarnings("unchecked")
    private static Vector vector(InternalRow row, int index) {
        return ((UserDefinedType<Vector>) SQLDataTypes.VectorType()).deserialize(row.getStruct(index, 4));
    }

    /**
     * Copies the row's values into {@code out} at {@code offset} (float[] or double[] as the
     * column's precision), refusing a width other than {@code dim} and non-finite values.
     */
    void copy(InternalRow row, int index, int dim, Object out, int offset, Position at) {
        int width = width(row, index, at);
        if (width != dim) throw at.bad(name, "has " + width + " values", dim + " values");
        if (vector) {
            copy(vector(row, index).toArray(), out, offset, at);
            return;
        }
        ArrayData a = row.getArray(index);
        if (containsNull) {
            for (int j = 0; j < dim; j++) if (a.isNullAt(j)) throw at.bad(name, "holds null at index " + j, "finite numbers");
        }
        if (float32) {
            float[] f = a.toFloatArray();
            for (int j = 0; j < dim; j++) {
                if (!Float.isFinite(f[j])) throw at.bad(name, "holds " + f[j] + " at index " + j, "finite numbers");
            }
            System.arraycopy(f, 0, (float[]) out, offset, dim);
        } else {
            copy(a.toDoubleArray(), out, offset, at);
        }
    }

    private void copy(double[] d, Object out, int offset, Position at) {
        for (int j = 0; j < d.length; j++) {
            if (!Double.isFinite(d[j])) throw at.bad(name, "holds " + d[j] + " at index " + j, "finite numbers");
        }
        System.arraycopy(d, 0, (double[]) out, offset, d.length);
    }

    /** A row's place for messages: its partition and its index there (Spark gives rows no global number without a job). */
    record Position(int partition, long row) {
        IllegalArgumentException bad(String column, String what, String expected) {
            return new IllegalArgumentException("column '" + column + "': row " + row + " of partition " + partition + " " + what
                    + ", expected " + expected);
        }
    }
}
