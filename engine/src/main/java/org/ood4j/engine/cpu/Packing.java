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
        double[] buf = new double[CpuElementwise.SEGMENT];
        int[] pos = {0};
        rows(t, buf, (n) -> {
            System.arraycopy(buf, 0, out, pos[0], n);
            pos[0] += n;
        });
        return out;
    }

    private interface Sink { void take(int n); }

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
