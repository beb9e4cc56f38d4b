package org.ood4j.engine;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Encoding and decoding of the 16-bit storage types ({@link DType#BFLOAT16}, {@link DType#FLOAT16})
 * and the CPU conversions of {@link Tensor#to(DType)} to and from them.
 *
 * <p>Both encodings round to nearest, ties to even, so a value x is stored with a relative error
 * of at most the unit roundoff u = 2^-p, p the significant bits: bfloat16 p = 8 (u = 2^-8),
 * float16 p = 11 (u = 2^-11) for |x| in its normal range [2^-14, 65504]; below it float16 is
 * subnormal (absolute error at most 2^-25), above it the value overflows to infinity. bfloat16
 * has float32's exponent range, so it never overflows a finite float32 (but for values within
 * half an ulp of float32's largest).
 */
public final class HalfFloats {
    private static final ValueLayout.OfShort BITS = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Elements per conversion run: bounded heap buffers whatever the tensor's size. */
    private static final int RUN = 1 << 14;

    private HalfFloats() {}

    /** The 16 bits of {@code v} in {@code type} (BFLOAT16 or FLOAT16), rounded to nearest even. */
    public static short encode(DType type, float v) {
        if (type == DType.FLOAT16) return Float.floatToFloat16(v);
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) return (short) ((bits >>> 16) | 0x40);   // stays a (quiet) NaN, whatever the low bits held
        // round to nearest even on the 16 bits dropped: add 0x7FFF, plus 1 when the kept part is odd
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** The float32 value of 16 bits of {@code type}: exact, every 16-bit value is a float32. */
    public static float decode(DType type, short bits) {
        return type == DType.FLOAT16 ? Float.float16ToFloat(bits) : Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** One element of a 16-bit tensor's memory, as a double. */
    public static double get(MemorySegment seg, DType type, long index) {
        return decode(type, seg.getAtIndex(BITS, index));
    }

    /** Stores one element into a 16-bit tensor's memory, rounded through float32 to nearest even. */
    public static void set(MemorySegment seg, DType type, long index, double v) {
        seg.setAtIndex(BITS, index, encode(type, (float) v));
    }

    /**
     * Decodes {@code n} elements of a 16-bit {@code type} at element offset {@code base} with the
     * given element {@code stride} into {@code dst[at..at+n)}.
     */
    public static void decode(MemorySegment seg, DType type, long base, long stride, int n, float[] dst, int at) {
        if (stride == 1) {
            short[] bits = new short[n];
            MemorySegment.copy(seg, BITS, base * 2, bits, 0, n);
            // one branch outside the loop: both bodies are plain loops the JIT vectorises
            if (type == DType.FLOAT16) for (int i = 0; i < n; i++) dst[at + i] = Float.float16ToFloat(bits[i]);
            else for (int i = 0; i < n; i++) dst[at + i] = Float.intBitsToFloat((bits[i] & 0xFFFF) << 16);
            return;
        }
        for (int i = 0; i < n; i++) dst[at + i] = decode(type, seg.getAtIndex(BITS, base + i * stride));
    }

    /** Decodes n elements as {@link #decode(MemorySegment, DType, long, long, int, float[], int)}, widened to double. */
    public static void decode(MemorySegment seg, DType type, long base, long stride, int n, double[] dst) {
        for (int i = 0; i < n; i++) dst[i] = decode(type, seg.getAtIndex(BITS, base + i * stride));
    }

    /** Encodes n doubles (rounded to float32 first, then to 16 bits) to element offset base with the given stride. */
    public static void encode(MemorySegment seg, DType type, long base, long stride, int n, double[] src) {
        for (int i = 0; i < n; i++) seg.setAtIndex(BITS, base + i * stride, encode(type, (float) src[i]));
    }

    /**
     * A CPU tensor converted to {@code target} where one side is a 16-bit type: a 16-bit source is
     * decoded (exactly) to float32 and then converted on; any other source is converted to float32
     * and encoded. The result is contiguous.
     */
    static Tensor convert(Tensor src, DType target) {
        if (src.dtype().isStorageOnly()) {
            Tensor floats = decode(src);
            if (target == DType.FLOAT32) return floats;
            try (floats) {
                return target.isStorageOnly() ? encode(floats, target) : floats.to(target);
            }
        }
        try (Tensor floats = src.to(DType.FLOAT32); Tensor c = floats.contiguous()) {
            return encode(c, target);
        }
    }

    /** A contiguous float32 copy of a 16-bit CPU tensor of any strides, decoded a row (last dimension) at a time. */
    private static Tensor decode(Tensor src) {
        long[] shape = src.shape(), strides = src.strides();
        int rank = shape.length;
        int rowLen = rank == 0 ? 1 : Math.toIntExact(shape[rank - 1]);
        long rowStride = rank == 0 ? 1 : strides[rank - 1];
        Tensor out = Tensor.zeros(DType.FLOAT32, shape);
        long rows = rowLen == 0 ? 0 : src.numel() / rowLen;
        float[] row = new float[rowLen];
        MemorySegment from = src.storage().segment(), to = out.storage().segment();
        for (long r = 0; r < rows; r++) {
            long base = src.offset(), rem = r;
            for (int d = rank - 2; d >= 0; d--) {   // the row's offset from its index over the leading dimensions
                base += (rem % shape[d]) * strides[d];
                rem /= shape[d];
            }
            decode(from, src.dtype(), base, rowStride, rowLen, row, 0);
            MemorySegment.copy(row, 0, to, F32, r * rowLen * 4L, rowLen);
        }
        return out;
    }

    /** A contiguous float32 CPU tensor encoded to the 16-bit {@code target}, a run at a time. */
    private static Tensor encode(Tensor floats, DType target) {
        Tensor out = Tensor.zeros(target, floats.shape());
        long n = floats.numel();
        float[] in = new float[(int) Math.min(RUN, n)];
        short[] bits = new short[in.length];
        MemorySegment from = floats.storage().segment(), to = out.storage().segment();
        long base = floats.offset() * 4L;
        for (long at = 0; at < n; at += in.length) {
            int len = (int) Math.min(in.length, n - at);
            MemorySegment.copy(from, F32, base + at * 4, in, 0, len);
            for (int i = 0; i < len; i++) bits[i] = encode(target, in[i]);
            MemorySegment.copy(bits, 0, to, BITS, at * 2, len);
        }
        return out;
    }
}
