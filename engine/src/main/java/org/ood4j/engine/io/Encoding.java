package org.ood4j.engine.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/**
 * How one element is stored in a file (kind, width, byte order), and the streaming copies
 * between such bytes and a tensor. Files may hold narrower types than the engine computes in;
 * they are widened on reading: small integers and booleans to INT64, half floats to FLOAT32.
 * Data moves in fixed-size chunks, so no array of the whole file is ever made.
 */
record Encoding(Kind kind, int size, ByteOrder order) {
    /** What the bits mean. HALF is IEEE binary16, BFLOAT is bfloat16. */
    enum Kind { FLOAT, SIGNED, UNSIGNED, BOOL, HALF, BFLOAT }

    /** Bytes per chunk: a multiple of every element size. */
    static final int CHUNK = 1 << 16;

    /** The dtype a tensor read from this encoding gets. */
    DType dtype() {
        return switch (kind) {
            case FLOAT -> size == 4 ? DType.FLOAT32 : DType.FLOAT64;
            case HALF, BFLOAT -> DType.FLOAT32;
            case SIGNED, UNSIGNED, BOOL -> DType.INT64;
        };
    }

    /** The dtype that keeps these elements as they are: the 16-bit storage types for half floats, else {@link #dtype()}. */
    DType kept() {
        return switch (kind) {
            case HALF -> DType.FLOAT16;
            case BFLOAT -> DType.BFLOAT16;
            default -> dtype();
        };
    }

    /** The little-endian encoding a dtype is written in. */
    static Encoding of(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> new Encoding(Kind.FLOAT, 4, ByteOrder.LITTLE_ENDIAN);
            case FLOAT64 -> new Encoding(Kind.FLOAT, 8, ByteOrder.LITTLE_ENDIAN);
            case INT64 -> new Encoding(Kind.SIGNED, 8, ByteOrder.LITTLE_ENDIAN);
            case BFLOAT16 -> new Encoding(Kind.BFLOAT, 2, ByteOrder.LITTLE_ENDIAN);
            case FLOAT16 -> new Encoding(Kind.HALF, 2, ByteOrder.LITTLE_ENDIAN);
        };
    }

    /** True when elements are copied into {@code target} as they are, only byte-swapped if needed. */
    private boolean isDirect(DType target) {
        return size == target.byteSize() && (kind == Kind.FLOAT || kind == Kind.SIGNED || target == kept());
    }

    // ---------------------------------------------------------------- reading

    /**
     * Fills the contiguous CPU tensor {@code dst} (of {@link #dtype()}, or {@link #kept()}) with
     * {@code dst.numel()} elements read from {@code in}. Throws {@link ArrayFormatException} naming {@code source} if the stream ends
     * early (the caller closes {@code dst}).
     */
    void fill(InputStream in, Tensor dst, String source) throws IOException {
        long count = dst.numel();
        long total = count * size;
        MemorySegment out = dst.storage().segment();
        byte[] buffer = new byte[(int) Math.min(CHUNK, Math.max(total, 1))];
        MemorySegment chunk = MemorySegment.ofArray(buffer);
        long done = 0;
        while (done < count) {
            int n = (int) Math.min(count - done, buffer.length / size);
            int got = in.readNBytes(buffer, 0, n * size);
            if (got < n * size) {
                throw new ArrayFormatException(source, "data ends after " + (done * size + got) + " of " + total + " bytes");
            }
            decode(chunk, n, out, done, dst.dtype());
            done += n;
        }
    }

    /** Decodes {@code count} elements at the start of {@code src} into {@code dst} from element {@code at}. */
    private void decode(MemorySegment src, int count, MemorySegment dst, long at, DType target) {
        if (isDirect(target)) {
            MemorySegment.copy(src, target.layout().withOrder(order), 0, dst, target.layout(), at * size, count);
            return;
        }
        for (int i = 0; i < count; i++) {
            long off = (long) i * size;
            switch (kind) {
                case HALF -> dst.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, at + i, Float.float16ToFloat((short) bits(src, off)));
                case BFLOAT -> dst.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, at + i,
                        Float.intBitsToFloat((int) (bits(src, off) & 0xFFFF) << 16));
                case BOOL -> dst.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, at + i, bits(src, off) != 0 ? 1 : 0);
                case UNSIGNED -> dst.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, at + i, bits(src, off) & unsignedMask());
                default -> dst.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, at + i, bits(src, off));
            }
        }
    }

    /** The element at byte offset {@code off}, sign-extended to a long. */
    private long bits(MemorySegment src, long off) {
        return switch (size) {
            case 1 -> src.get(ValueLayout.JAVA_BYTE, off);
            case 2 -> src.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(order), off);
            case 4 -> src.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(order), off);
            default -> src.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(order), off);
        };
    }

    private long unsignedMask() {
        return size == 8 ? -1L : (1L << (8 * size)) - 1;
    }

    // ---------------------------------------------------------------- writing

    /**
     * Writes the elements of {@code t} in C order as little-endian bytes of its own dtype.
     * Works for any strides and device: a contiguous host copy is made only when needed.
     */
    static void write(Tensor t, OutputStream out) throws IOException {
        try (Tensor host = t.to(Device.CPU); Tensor c = host.contiguous()) {
            DType dtype = c.dtype();
            int size = dtype.byteSize();
            long count = c.numel();
            MemorySegment src = c.storage().segment();
            long base = c.offset() * size;
            byte[] buffer = new byte[(int) Math.min(CHUNK, Math.max(count * size, 1))];
            MemorySegment chunk = MemorySegment.ofArray(buffer);
            ValueLayout little = dtype.layout().withOrder(ByteOrder.LITTLE_ENDIAN);
            for (long done = 0; done < count; ) {
                int n = (int) Math.min(count - done, buffer.length / size);
                MemorySegment.copy(src, dtype.layout(), base + done * size, chunk, little, 0, n);
                out.write(buffer, 0, n * size);
                done += n;
            }
        }
    }

    /** Bytes of data a tensor of this dtype and shape takes in a file. */
    static long dataBytes(Tensor t) {
        return Math.multiplyExact(Shape.numel(t.shape()), (long) t.dtype().byteSize());
    }
}
