package org.ood4j.engine.cuda;

import org.ood4j.engine.Tensor;

/**
 * Views for ops along one dimension (reductions, softmax, sorting): the dimension is moved last,
 * so a kernel sees rows of n elements at a row stride, located by the outer dimensions.
 */
final class Rows {
    private Rows() {}

    /** A view of t with dimension d moved to the end; the others keep their order. */
    static Tensor last(Tensor t, int d) {
        int rank = t.rank();
        int[] order = new int[rank];
        for (int i = 0, j = 0; i < rank; i++) {
            if (i != d) order[j++] = i;
        }
        order[rank - 1] = d;
        return t.permute(order);
    }

    /** shape with dimension d set to size. */
    static long[] resized(long[] shape, int d, long size) {
        long[] s = shape.clone();
        s[d] = size;
        return s;
    }

    /** shape without dimension d. */
    static long[] removed(long[] shape, int d) {
        long[] s = new long[shape.length - 1];
        System.arraycopy(shape, 0, s, 0, d);
        System.arraycopy(shape, d + 1, s, d, shape.length - d - 1);
        return s;
    }

    /** All but the last entry (the outer dimensions of a rows view). */
    static long[] outer(long[] a) {
        return java.util.Arrays.copyOf(a, a.length - 1);
    }

    /** Threads per row: a warp for rows up to 256 elements (8 rows a block), else the whole block. */
    static int threadsPerRow(long n) {
        return n <= 256 ? 32 : Launch.BLOCK;
    }

    /** Blocks for a grid-stride loop over rows, given threads per row. */
    static int grid(long rows, int tpr, CudaContext context) {
        long perBlock = Launch.BLOCK / tpr;
        long blocks = (rows + perBlock - 1) / perBlock;
        return (int) Math.max(1, Math.min(blocks, 32L * context.multiprocessors()));
    }
}
