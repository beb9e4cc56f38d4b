package org.ood4j.engine.cpu;

import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/**
 * Shape helpers for ops that work along one dimension (reductions, softmax, sorting). Such an op
 * views its operands with that dimension moved last, so that {@link StridedLoop#overRows} hands
 * it one whole row at a time.
 */
final class AlongDim {
    /** Rows are loaded into double[], so one row can hold at most this many elements. */
    static final long MAX_ROW = Integer.MAX_VALUE - 8;

    private AlongDim() {}

    /** A view of {@code t} with dimension {@code d} moved to the end; the others keep their order. */
    static Tensor last(Tensor t, int d) {
        int rank = t.rank();
        int[] order = new int[rank];
        for (int i = 0, j = 0; i < rank; i++) {
            if (i != d) order[j++] = i;
        }
        order[rank - 1] = d;
        return t.permute(order);
    }

    /** {@code shape} with dimension {@code d} set to {@code size}. */
    static long[] resized(long[] shape, int d, long size) {
        long[] s = shape.clone();
        s[d] = size;
        return s;
    }

    /** {@code shape} without dimension {@code d}. */
    static long[] removed(long[] shape, int d) {
        long[] s = new long[shape.length - 1];
        System.arraycopy(shape, 0, s, 0, d);
        System.arraycopy(shape, d + 1, s, d, shape.length - d - 1);
        return s;
    }

    /** The size of dimension {@code d} as a row length, refusing rows too long for a Java array. */
    static int rowLength(Tensor x, int d) {
        long n = x.size(d);
        if (n > MAX_ROW) {
            throw new IllegalArgumentException("dimension " + d + " of " + Shape.toString(x.shape())
                    + " is too long to process as one row (" + n + " > " + MAX_ROW + ")");
        }
        return (int) n;
    }
}
