package org.ood4j.engine.cpu;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.SortOps;

/**
 * The row limit of ops that work along one dimension (reductions, softmax, sorting). Such an op
 * views its operands with that dimension moved last ({@link Tensor#moveDimToEnd}), so that
 * {@link StridedLoop#overRows} hands it one whole row at a time, loaded into a double[].
 */
final class AlongDim {
    /** Rows are loaded into double[], so one row can hold at most this many elements. */
    static final long MAX_ROW = SortOps.MAX_ROW;

    private AlongDim() {}

    /** The size of dimension {@code d} as a row length, refusing rows too long for a Java array. */
    static int rowLength(Tensor x, int d) {
        return SortOps.rowLength(x, d);
    }
}
