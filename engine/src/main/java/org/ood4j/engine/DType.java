package org.ood4j.engine;

import java.lang.foreign.ValueLayout;

/** Element types of a {@link Tensor}. Floating types compute; INT64 holds labels, indices and masks. */
public enum DType {
    FLOAT32(4, ValueLayout.JAVA_FLOAT_UNALIGNED),
    FLOAT64(8, ValueLayout.JAVA_DOUBLE_UNALIGNED),
    INT64(8, ValueLayout.JAVA_LONG_UNALIGNED);

    private final int byteSize;
    private final ValueLayout layout;

    DType(int byteSize, ValueLayout layout) {
        this.byteSize = byteSize;
        this.layout = layout;
    }

    public int byteSize() { return byteSize; }

    public ValueLayout layout() { return layout; }

    public boolean isFloating() { return this != INT64; }

    /** The type two operands of a binary op are computed in: float64 over float32 over int64. */
    public static DType promote(DType a, DType b) {
        if (a == FLOAT64 || b == FLOAT64) return FLOAT64;
        if (a == FLOAT32 || b == FLOAT32) return FLOAT32;
        return INT64;
    }
}
