package org.ood4j.engine;

/**
 * A function of one row to a few numbers, for {@link Tensor#mapRows}: a fused per-sample
 * transform whose full-size intermediate would otherwise be written and read back (ASH's
 * shaping followed by a global pool: the kept activations' per-channel sums, not the shaped map).
 * {@code row} holds the row's n values as float64 and may be overwritten; {@code scratch} holds
 * at least n doubles; {@code out} receives the row's values, zeroed before the call. All three
 * belong to the calling thread for the call only.
 */
@FunctionalInterface
public interface RowMapper {
    void apply(double[] row, double[] scratch, int n, double[] out);
}
