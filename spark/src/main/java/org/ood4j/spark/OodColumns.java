package org.ood4j.spark;

import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The columns shared by {@link OodDetector} and {@link OodDetectorModel}: the features in, the
 * score out, and a calibrated model's decision and p-value out (an empty name leaves that column
 * out). Each stage declares the {@link Param}s (Spark finds them by their public getters); the
 * defaults and the output schema are here, once.
 */
interface OodColumns extends Params {
    Param<String> featuresCol();

    Param<String> outputCol();

    Param<String> isOodCol();

    Param<String> pValueCol();

    default String getFeaturesCol() { return getOrDefault(featuresCol()); }

    default String getOutputCol() { return getOrDefault(outputCol()); }

    default String getIsOodCol() { return getOrDefault(isOodCol()); }

    default String getPValueCol() { return getOrDefault(pValueCol()); }

    /** The Params of the shared columns, made for {@code owner}. */
    record Declared(Param<String> featuresCol, Param<String> outputCol, Param<String> isOodCol, Param<String> pValueCol) {
        static Declared of(Params owner) {
            return new Declared(new Param<>(owner, "featuresCol", "features column: array<float>, array<double> or vector"),
                    new Param<>(owner, "outputCol", "the outlier score column (double; higher means more likely OOD)"),
                    new Param<>(owner, "isOodCol", "a calibrated model's decision column (boolean: score > threshold); empty: none"),
                    new Param<>(owner, "pValueCol", "a calibrated model's p-value column (double); empty: none"));
        }
    }

    /** Sets the defaults: features, ood_score, is_ood, p_value (the names of the CLI's outputs). */
    default void setColumnDefaults() {
        setDefault(featuresCol(), "features");
        setDefault(outputCol(), "ood_score");
        setDefault(isOodCol(), "is_ood");
        setDefault(pValueCol(), "p_value");
    }

    /** The input schema with the score column, and the decision columns when {@code calibrated}; the features column checked. */
    default StructType outputSchema(StructType schema, boolean calibrated) {
        FeatureColumn.of(schema, getFeaturesCol());
        StructType out = schema;
        for (String[] col : outputColumns(calibrated)) {
            if (java.util.Arrays.asList(out.fieldNames()).contains(col[0])) {
                throw new IllegalArgumentException("output column '" + col[0] + "' already exists; set " + col[1] + " to another name");
            }
            out = out.add(col[0], col[0].equals(getIsOodCol()) && calibrated ? DataTypes.BooleanType : DataTypes.DoubleType, false);
        }
        return out;
    }

    /** {name, param} of each output column: the score, then is_ood and p_value when calibrated and named. */
    default java.util.List<String[]> outputColumns(boolean calibrated) {
        java.util.List<String[]> cols = new java.util.ArrayList<>();
        cols.add(new String[] {getOutputCol(), "outputCol"});
        if (calibrated && !getIsOodCol().isEmpty()) cols.add(new String[] {getIsOodCol(), "isOodCol"});
        if (calibrated && !getPValueCol().isEmpty()) cols.add(new String[] {getPValueCol(), "pValueCol"});
        return cols;
    }
}
