package org.ood4j.engine.cpu;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/**
 * Iterates over the rows (the last dimension) of several operands that share one shape, each
 * with its own strides and offset — the one loop every CPU op is built on. Adjacent dimensions
 * that are contiguous in every operand are merged first, so a contiguous tensor is one long row.
 * Rows are cut into segments of at most {@code segment} elements and the segments run in
 * parallel on the common fork-join pool when there is enough work to pay for it.
 */
final class StridedLoop {
    /** Below this many elements the loop stays on the calling thread. */
    static final long PARALLEL_THRESHOLD = 1 << 15;

    private final long[] shape;
    private final long[][] strides;
    private final long[] offsets;

    /** The body receives the element offset of each operand at the segment's start. */
    interface Body {
        void run(long[] base, int length, double[][] scratch);
    }

    private StridedLoop(long[] shape, long[][] strides, long[] offsets) {
        this.shape = shape;
        this.strides = strides;
        this.offsets = offsets;
    }

    /** A loop over tensors that already have the same shape (broadcast views included). */
    static StridedLoop over(Tensor... operands) {
        long[][] st = new long[operands.length][];
        long[] off = new long[operands.length];
        for (int i = 0; i < operands.length; i++) {
            st[i] = operands[i].strides();
            off[i] = operands[i].offset();
        }
        return of(operands[0].shape(), st, off);
    }

    /**
     * A loop whose rows are exactly the last dimension of each operand: the outer dimensions are
     * merged as in {@link #over}, but the last one is kept as is, even when it has size 1. With a
     * segment of at least the row length, each body call then sees one whole row — what a
     * reduction or a sort along that dimension needs (move the dimension last with a permuted
     * view first). The operands must agree on every dimension but the last, which may differ (an
     * input row of n values against an output row of one value, or of k for top-k); the row
     * length the body receives is operand 0's, and {@link #rowStride} gives each operand's own.
     */
    static StridedLoop overRows(Tensor... operands) {
        int rank = operands[0].rank();
        if (rank == 0) throw new IllegalArgumentException("a row loop needs tensors of rank >= 1");
        long[] outer = Arrays.copyOf(operands[0].shape(), rank - 1);
        long[][] outerStrides = new long[operands.length][];
        long[] rowStrides = new long[operands.length];
        long[] off = new long[operands.length];
        for (int k = 0; k < operands.length; k++) {
            long[] shape = operands[k].shape();
            if (shape.length != rank || !Arrays.equals(outer, Arrays.copyOf(shape, rank - 1))) {
                throw new IllegalArgumentException("row loop over " + Shape.toString(operands[0].shape())
                        + " and " + Shape.toString(shape) + ": outer dimensions differ");
            }
            long[] st = operands[k].strides();
            outerStrides[k] = Arrays.copyOf(st, rank - 1);
            rowStrides[k] = st[rank - 1];
            off[k] = operands[k].offset();
        }
        StridedLoop rows = of(outer, outerStrides, off);
        long[] shape = append(rows.shape, operands[0].size(-1));
        long[][] strides = new long[operands.length][];
        for (int k = 0; k < operands.length; k++) strides[k] = append(rows.strides[k], rowStrides[k]);
        return new StridedLoop(shape, strides, off);
    }

    private static long[] append(long[] a, long v) {
        long[] r = Arrays.copyOf(a, a.length + 1);
        r[a.length] = v;
        return r;
    }

    static StridedLoop of(long[] shape, long[][] strides, long[] offsets) {
        List<Long> dims = new ArrayList<>();
        List<long[]> dimStrides = new ArrayList<>();
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] == 1) continue; // size-1 dims never move the offset
            long[] s = new long[strides.length];
            for (int k = 0; k < strides.length; k++) s[k] = strides[k][d];
            int last = dims.size() - 1;
            if (last >= 0 && mergeable(dims.get(last), dimStrides.get(last), shape[d], s)) {
                dims.set(last, dims.get(last) * shape[d]);
                dimStrides.set(last, s);
            } else {
                dims.add(shape[d]);
                dimStrides.add(s);
            }
        }
        if (dims.isEmpty()) { // a single element
            dims.add(1L);
            dimStrides.add(new long[strides.length]);
        }
        long[] cs = new long[dims.size()];
        long[][] cst = new long[strides.length][dims.size()];
        for (int d = 0; d < cs.length; d++) {
            cs[d] = dims.get(d);
            for (int k = 0; k < strides.length; k++) cst[k][d] = dimStrides.get(d)[k];
        }
        return new StridedLoop(cs, cst, offsets.clone());
    }

    /** Outer dim (size n0, strides s0) followed by inner (n1, s1) is one dim when s0 = s1 * n1 everywhere. */
    private static boolean mergeable(long n0, long[] s0, long n1, long[] s1) {
        for (int k = 0; k < s0.length; k++) {
            if (s0[k] != s1[k] * n1) return false;
        }
        return true;
    }

    long rowLength() { return shape[shape.length - 1]; }

    long rowStride(int operand) { return strides[operand][shape.length - 1]; }

    long rowCount() {
        long n = 1;
        for (int d = 0; d < shape.length - 1; d++) n *= shape[d];
        return n;
    }

    /**
     * Runs {@code body} over every segment of every row. {@code scratch} holds {@code buffers}
     * arrays of at least {@code segment} doubles, private to the running thread.
     */
    void forEach(int segment, int buffers, Body body) {
        long rowLen = rowLength();
        long segsPerRow = (rowLen + segment - 1) / segment;
        long items = rowCount() * segsPerRow;
        long total = rowCount() * rowLen;
        int chunks = total < PARALLEL_THRESHOLD ? 1
                : (int) Math.min(items, 4L * Runtime.getRuntime().availableProcessors());
        if (items == 0) return;
        if (chunks <= 1) {
            runRange(0, items, segment, segsPerRow, buffers, body);
            return;
        }
        IntStream.range(0, chunks).parallel().forEach(c -> {
            long from = items * c / chunks;
            long to = items * (c + 1) / chunks;
            runRange(from, to, segment, segsPerRow, buffers, body);
        });
    }

    /**
     * Runs {@code body} over every segment on the calling thread, in C order of the loop's
     * dimensions — for ops whose output position depends on what came before (masked select).
     */
    void forEachInOrder(int segment, int buffers, Body body) {
        long segsPerRow = (rowLength() + segment - 1) / segment;
        runRange(0, rowCount() * segsPerRow, segment, segsPerRow, buffers, body);
    }

    private void runRange(long from, long to, int segment, long segsPerRow, int buffers, Body body) {
        int rank = shape.length;
        int ops = offsets.length;
        double[][] scratch = new double[buffers][(int) Math.min(segment, rowLength())];
        long[] base = new long[ops];
        long rowLen = rowLength();
        if (rank == 2 && segsPerRow == 1) {
            // whole rows of a matrix, the row ops' common case: each operand's offset by one product, where
            // the general decomposition's 64-bit divisions cost ~40 ns a row
            int len = (int) Math.min(segment, rowLen);
            for (long row = from; row < to; row++) {
                for (int k = 0; k < ops; k++) base[k] = offsets[k] + row * strides[k][0];
                body.run(base, len, scratch);
            }
            return;
        }
        for (long item = from; item < to; item++) {
            long row = item / segsPerRow;
            long start = (item % segsPerRow) * segment;
            int len = (int) Math.min(segment, rowLen - start);
            // Decompose the row index into outer coordinates (dims 0..rank-2).
            long rem = row;
            for (int k = 0; k < ops; k++) base[k] = offsets[k] + start * strides[k][rank - 1];
            for (int d = rank - 2; d >= 0; d--) {
                long coord = rem % shape[d];
                rem /= shape[d];
                for (int k = 0; k < ops; k++) base[k] += coord * strides[k][d];
            }
            body.run(base, len, scratch);
        }
    }
}
