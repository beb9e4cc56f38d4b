package org.ood4j.engine;

/**
 * {@link RowReducer}'s float32 form, for {@link Tensor#reduceRows(RowReducer, FloatRowReducer)}:
 * a float32 row is handed over as it is stored, so a fused score reads half the bytes of the
 * float64 form and runs twice the lanes per vector. {@code row} holds the row's n values and may
 * be overwritten; {@code scratch} holds at least n floats; both belong to the calling thread for
 * the call only, and on the CPU have room for n rounded up to a whole vector (see RowMath.padForExp).
 * {@link org.ood4j.engine.cpu.RowMath}'s float overloads are the loops for the body; they sum in
 * float64, so the result keeps float64 accumulation over float32 terms.
 */
@FunctionalInterface
public interface FloatRowReducer {
    double apply(float[] row, float[] scratch, int n);
}
