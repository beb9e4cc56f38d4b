package org.ood4j.engine.cuda;

/**
 * Views for ops along one dimension (reductions, softmax, sorting): the dimension is moved last,
 * so a kernel sees rows of n elements at a row stride, located by the outer dimensions.
 */
final class Rows {
    private Rows() {}

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
