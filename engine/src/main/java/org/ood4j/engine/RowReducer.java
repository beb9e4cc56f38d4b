package org.ood4j.engine;

/**
 * A function of one row to one number, for {@link Tensor#reduceRows}: the fused form of a chain
 * of row ops (softmax, clamp, log, sum ...) that would otherwise write a matrix per step.
 * {@code row} holds the row's n values as float64 and may be overwritten; {@code scratch} is a
 * second buffer of at least n doubles. Both belong to the calling thread for the call only.
 * {@link org.ood4j.engine.cpu.RowMath} has vectorised loops (max, exp, log, dot) for the body.
 */
@FunctionalInterface
public interface RowReducer {
    double apply(double[] row, double[] scratch, int n);
}
