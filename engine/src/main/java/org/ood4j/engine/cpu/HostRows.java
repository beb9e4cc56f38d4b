package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.ood4j.engine.DType;
import org.ood4j.engine.HalfFloats;

/**
 * Moves strided runs of elements between a tensor's memory and a double[] buffer. CPU ops load
 * a run, compute in float64 on plain arrays (loops the JIT vectorises), and store the result
 * back in the output dtype. The dtype switch sits outside the element loop.
 */
final class HostRows {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;

    private HostRows() {}

    private static final ThreadLocal<float[][]> FLOATS = ThreadLocal.withInitial(() -> new float[1][4096]);

    /** A per-thread float[] of at least n elements. */
    private static float[] floats(int n) {
        float[][] holder = FLOATS.get();
        if (holder[0].length < n) holder[0] = new float[Math.max(n, 2 * holder[0].length)];
        return holder[0];
    }

    static void load(MemorySegment seg, DType dtype, long base, long stride, int n, double[] dst) {
        if (dtype.isStorageOnly()) {   // a 16-bit kNN bank's rows, decoded exactly
            HalfFloats.decode(seg, dtype, base, stride, n, dst);
            return;
        }
        if (stride == 1) {
            loadContiguous(seg, dtype, base, n, dst);
            return;
        }
        switch (dtype) {
            case FLOAT32 -> {
                for (int i = 0; i < n; i++) dst[i] = seg.getAtIndex(F32, base + i * stride);
            }
            case FLOAT64 -> {
                for (int i = 0; i < n; i++) dst[i] = seg.getAtIndex(F64, base + i * stride);
            }
            case INT64 -> {
                for (int i = 0; i < n; i++) dst[i] = seg.getAtIndex(I64, base + i * stride);
            }
        }
    }

    /** n float32 elements from element offset base with the given stride, as stored (no widening). */
    static void loadFloats(MemorySegment seg, long base, long stride, int n, float[] dst) {
        loadFloats(seg, base, stride, n, dst, 0);
    }

    /** As {@link #loadFloats(MemorySegment, long, long, int, float[])}, into dst from index {@code at}. */
    static void loadFloats(MemorySegment seg, long base, long stride, int n, float[] dst, int at) {
        if (stride == 1) {
            MemorySegment.copy(seg, F32, base * Float.BYTES, dst, at, n);
            return;
        }
        for (int i = 0; i < n; i++) dst[at + i] = seg.getAtIndex(F32, base + i * stride);
    }

    /** n float32 elements to element offset base with the given stride, as they are (no rounding). */
    static void storeFloats(MemorySegment seg, long base, long stride, int n, float[] src) {
        if (stride == 1) {
            MemorySegment.copy(src, 0, seg, F32, base * Float.BYTES, n);
            return;
        }
        for (int i = 0; i < n; i++) seg.setAtIndex(F32, base + i * stride, src[i]);
    }

    static void store(MemorySegment seg, DType dtype, long base, long stride, int n, double[] src) {
        if (dtype.isStorageOnly()) {
            HalfFloats.encode(seg, dtype, base, stride, n, src);
            return;
        }
        if (stride == 1) {
            storeContiguous(seg, dtype, base, n, src);
            return;
        }
        switch (dtype) {
            case FLOAT32 -> {
                for (int i = 0; i < n; i++) seg.setAtIndex(F32, base + i * stride, (float) src[i]);
            }
            case FLOAT64 -> {
                for (int i = 0; i < n; i++) seg.setAtIndex(F64, base + i * stride, src[i]);
            }
            case INT64 -> {
                for (int i = 0; i < n; i++) seg.setAtIndex(I64, base + i * stride, (long) src[i]);
            }
        }
    }

    /**
     * Stride-1 runs: a slice of the segment indexed from 0 with an int counter is the loop shape
     * C2 vectorises (no long multiply in the address).
     */
    /**
     * dst[at..at + n) = the n contiguous float32 elements from element offset base, widened: a bulk
     * copy into a per-thread float[] and a widening loop, both vectorised (per-element segment reads are not).
     */
    static void widenFloats(MemorySegment seg, long base, int n, double[] dst, int at) {
        float[] f = floats(n);
        MemorySegment.copy(seg, F32, base * Float.BYTES, f, 0, n);
        for (int i = 0; i < n; i++) dst[at + i] = f[i];
    }

    private static void loadContiguous(MemorySegment seg, DType dtype, long base, int n, double[] dst) {
        MemorySegment run = seg.asSlice(base * dtype.byteSize(), (long) n * dtype.byteSize());
        switch (dtype) {
            case FLOAT32 -> widenFloats(seg, base, n, dst, 0);
            case FLOAT64 -> MemorySegment.copy(run, F64, 0, dst, 0, n);
            case INT64 -> {
                for (int i = 0; i < n; i++) dst[i] = run.getAtIndex(I64, i);
            }
        }
    }

    private static void storeContiguous(MemorySegment seg, DType dtype, long base, int n, double[] src) {
        MemorySegment run = seg.asSlice(base * dtype.byteSize(), (long) n * dtype.byteSize());
        switch (dtype) {
            case FLOAT32 -> {
                float[] f = floats(n);
                for (int i = 0; i < n; i++) f[i] = (float) src[i];
                MemorySegment.copy(f, 0, run, F32, 0, n);
            }
            case FLOAT64 -> MemorySegment.copy(src, 0, run, F64, 0, n);
            case INT64 -> {
                for (int i = 0; i < n; i++) run.setAtIndex(I64, i, (long) src[i]);
            }
        }
    }

    /** Exact int64 copy (doubles hold only 53 bits). */
    static void copyLongs(MemorySegment from, long fromBase, long fromStride,
                          MemorySegment to, long toBase, long toStride, int n) {
        for (int i = 0; i < n; i++) to.setAtIndex(I64, toBase + i * toStride, from.getAtIndex(I64, fromBase + i * fromStride));
    }

    /** One element as double. */
    static double get(MemorySegment seg, DType dtype, long at) {
        return switch (dtype) {
            case FLOAT32 -> seg.getAtIndex(F32, at);
            case FLOAT64 -> seg.getAtIndex(F64, at);
            case INT64 -> seg.getAtIndex(I64, at);
            case BFLOAT16, FLOAT16 -> HalfFloats.get(seg, dtype, at);
        };
    }

    /** Stores one element, converted to the dtype. */
    static void set(MemorySegment seg, DType dtype, long at, double v) {
        switch (dtype) {
            case FLOAT32 -> seg.setAtIndex(F32, at, (float) v);
            case FLOAT64 -> seg.setAtIndex(F64, at, v);
            case INT64 -> seg.setAtIndex(I64, at, (long) v);
            case BFLOAT16, FLOAT16 -> HalfFloats.set(seg, dtype, at, v);
        }
    }

    /** Copies one element between tensors of the same dtype bit for bit, so int64 stays exact. */
    static void copyElement(DType dtype, MemorySegment from, long fromAt, MemorySegment to, long toAt) {
        if (dtype.byteSize() == 2) {
            to.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, toAt, from.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, fromAt));
        } else if (dtype.byteSize() == 4) {
            to.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, toAt, from.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, fromAt));
        } else {
            to.setAtIndex(I64, toAt, from.getAtIndex(I64, fromAt));
        }
    }
}
