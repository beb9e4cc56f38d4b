package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;

/** Copies a tensor of any strides into a row-major heap array (the form the GEMM kernels read). */
final class Packing {
    private Packing() {}

    static float[] floats(Tensor t) {
        float[] out = new float[Math.toIntExact(t.numel())];
        if (t.dtype() == DType.FLOAT32 && t.isContiguous()) {
            MemorySegment.copy(t.storage().segment(), DType.FLOAT32.layout(), t.offset() * 4, out, 0, out.length);
            return out;
        }
        if (t.dtype() == DType.FLOAT32 && isTransposed(t)) {
            int cols = (int) t.size(1);
            transpose(t, (r0, c, run, count) -> {
                for (int r = 0; r < count; r++) out[(r0 + r) * cols + c] = (float) run[r];
            });
            return out;
        }
        double[] buf = new double[CpuElementwise.SEGMENT];
        int[] pos = {0};
        rows(t, buf, (n) -> {
            for (int i = 0; i < n; i++) out[pos[0] + i] = (float) buf[i];
            pos[0] += n;
        });
        return out;
    }

    /** Elements widened per task: 32 KiB of float32 ({@link HostRows#widenFloats}), in L1 while widened. */
    private static final int WIDEN_BLOCK = 1 << 13;

    static double[] doubles(Tensor t) {
        double[] out = new double[Math.toIntExact(t.numel())];
        if (t.dtype() == DType.FLOAT64 && t.isContiguous()) {
            MemorySegment.copy(t.storage().segment(), DType.FLOAT64.layout(), t.offset() * 8, out, 0, out.length);
            return out;
        }
        if (t.dtype() == DType.FLOAT32 && t.isContiguous()) {   // float32 operands of float64 products (ViM's rows times its space)
            MemorySegment seg = t.storage().segment();
            int blocks = (out.length + WIDEN_BLOCK - 1) / WIDEN_BLOCK;
            java.util.stream.IntStream range = java.util.stream.IntStream.range(0, blocks);
            if (blocks >= 16) range = range.parallel();
            range.forEach(b -> {
                int from = b * WIDEN_BLOCK;
                HostRows.widenFloats(seg, t.offset() + from, Math.min(WIDEN_BLOCK, out.length - from), out, from);
            });
            return out;
        }
        if (isTransposed(t)) {
            int cols = (int) t.size(1);
            transpose(t, (r0, c, run, count) -> {
                for (int r = 0; r < count; r++) out[(r0 + r) * cols + c] = run[r];
            });
            return out;
        }
        double[] buf = new double[CpuElementwise.SEGMENT];
        int[] pos = {0};
        rows(t, buf, (n) -> {
            System.arraycopy(buf, 0, out, pos[0], n);
            pos[0] += n;
        });
        return out;
    }

    private interface Sink { void take(int n); }

    /** Rows of a tile per pass: a tile's 64 output rows stay in L1/L2 while its columns are scattered into them. */
    private static final int TILE = 64;

    /**
     * A 2-D view whose columns are contiguous in memory (strides (1, ld): the transpose of a
     * row-major matrix, {@code x.t()}), float32 or float64: read column run by column run.
     */
    static boolean isTransposed(Tensor t) {
        return t.rank() == 2 && t.strides()[0] == 1 && t.strides()[1] != 1 && t.size(0) > 1
                && (t.dtype() == DType.FLOAT32 || t.dtype() == DType.FLOAT64);
    }

    /** Takes the elements (r0 + r, c) of the view, r < count, as run[r]: one column's run of a tile. */
    interface ColumnSink { void take(int r0, int c, double[] run, int count); }

    /**
     * The elements of a transposed view, in tiles of {@link #TILE} x TILE: each column's run of a
     * tile is one contiguous read (not one cache miss per element, as the row walk of {@link #rows}
     * makes of a stride of ld), for the sink to scatter into the tile's rows of a row-major output
     * while they are in cache (a packing here, a copy in {@link CpuElementwise#copy}); tiles of
     * columns in parallel (they write disjoint elements).
     */
    static void transpose(Tensor t, ColumnSink sink) {
        MemorySegment seg = t.storage().segment();
        int rows = (int) t.size(0), cols = (int) t.size(1);
        long ld = t.strides()[1], offset = t.offset();
        int tiles = (cols + TILE - 1) / TILE;
        java.util.stream.IntStream range = java.util.stream.IntStream.range(0, tiles);
        if ((long) rows * cols >= 1 << 16) range = range.parallel();
        range.forEach(tile -> {
            double[] run = new double[TILE];
            for (int r0 = 0; r0 < rows; r0 += TILE) {
                int count = Math.min(TILE, rows - r0);
                for (int c = tile * TILE; c < Math.min(cols, (tile + 1) * TILE); c++) {
                    HostRows.load(seg, t.dtype(), offset + c * ld + r0, 1, count, run);
                    sink.take(r0, c, run, count);
                }
            }
        });
    }

    /** Visits the elements in C order, a segment at a time, on the calling thread. */
    private static void rows(Tensor t, double[] buf, Sink sink) {
        MemorySegment seg = t.storage().segment();
        long[] shape = t.shape();
        long[] strides = t.strides();
        int rank = shape.length;
        long rowLen = rank == 0 ? 1 : shape[rank - 1];
        long rowStride = rank == 0 ? 0 : strides[rank - 1];
        long rows = rowLen == 0 ? 0 : t.numel() / rowLen;
        for (long r = 0; r < rows; r++) {
            long base = t.offset(), rem = r;
            for (int d = rank - 2; d >= 0; d--) {
                base += (rem % shape[d]) * strides[d];
                rem /= shape[d];
            }
            for (long start = 0; start < rowLen; start += buf.length) {
                int n = (int) Math.min(buf.length, rowLen - start);
                HostRows.load(seg, t.dtype(), base + start * rowStride, rowStride, n, buf);
                sink.take(n);
            }
        }
    }
}
