package org.ood4j.engine;

/**
 * {@link RowMapper}'s float32 form, for {@link Tensor#mapRows(int, RowMapper, FloatRowMapper)}: a
 * float32 row is handed over as it is stored (no widening), with a float scratch row; {@code row}
 * and {@code scratch} are as {@link FloatRowReducer}'s, {@code out} as {@link RowMapper}'s (float64,
 * zeroed before the call). For a fused pass that takes a few numbers from each row at once (ViM:
 * a row's distance to the origin and its head's logsumexp) instead of a pass over the rows for each.
 */
@FunctionalInterface
public interface FloatRowMapper {
    void apply(float[] row, float[] scratch, int n, double[] out);
}
