package org.ood4j.engine;

import java.lang.foreign.ValueLayout;

/**
 * Element types of a {@link Tensor}. Floating types compute; INT64 holds labels, indices and masks.
 *
 * <p>BFLOAT16 and FLOAT16 are <em>storage only</em>: half the bytes of float32, for data that is
 * read far more than it is computed with (a kNN bank). A tensor of them can be made, viewed,
 * converted with {@link Tensor#to(DType)}, saved and loaded, and searched as a kNN bank
 * ({@link Knn}, which decodes its rows to float32 tile by tile); every other op refuses it with
 * a message naming the dtype — convert to FLOAT32 first.
 */
public enum DType {
    FLOAT32(4, ValueLayout.JAVA_FLOAT_UNALIGNED),
    FLOAT64(8, ValueLayout.JAVA_DOUBLE_UNALIGNED),
    INT64(8, ValueLayout.JAVA_LONG_UNALIGNED),
    /** bfloat16: the top 16 bits of a float32 (8 exponent bits, 8 significant bits). Storage only. */
    BFLOAT16(2, ValueLayout.JAVA_SHORT_UNALIGNED),
    /** IEEE 754 binary16 (5 exponent bits, 11 significant bits, max 65504). Storage only. */
    FLOAT16(2, ValueLayout.JAVA_SHORT_UNALIGNED);

    private final int byteSize;
    private final ValueLayout layout;

    DType(int byteSize, ValueLayout layout) {
        this.byteSize = byteSize;
        this.layout = layout;
    }

    public int byteSize() { return byteSize; }

    public ValueLayout layout() { return layout; }

    /** A type the ops compute in: float32 or float64 (the 16-bit types only store). */
    public boolean isFloating() { return this == FLOAT32 || this == FLOAT64; }

    /** BFLOAT16 or FLOAT16: no op but conversion, views, IO and the kNN bank search takes it. */
    public boolean isStorageOnly() { return byteSize == 2; }

    /** The type a value of this type is computed in: float32 for the 16-bit types, else itself. */
    public DType computeType() { return isStorageOnly() ? FLOAT32 : this; }

    /** The type two operands of a binary op are computed in: float64 over float32 (and the 16-bit types) over int64. */
    public static DType promote(DType a, DType b) {
        if (a == FLOAT64 || b == FLOAT64) return FLOAT64;
        if (a.computeType() == FLOAT32 || b.computeType() == FLOAT32) return FLOAT32;
        return INT64;
    }

    /** Refuses a storage-only tensor in an op that computes, naming the dtype and the way out. */
    public static void requireComputable(Tensor t, String op) {
        if (t.dtype().isStorageOnly()) {
            throw new IllegalArgumentException(op + " does not take " + t.dtype() + " " + Shape.toString(t.shape())
                    + ": " + t.dtype() + " is a storage-only dtype (kNN banks); convert with to(DType.FLOAT32) first");
        }
    }
}
