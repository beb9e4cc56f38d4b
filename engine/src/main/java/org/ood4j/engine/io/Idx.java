package org.ood4j.engine.io;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/**
 * The IDX format of MNIST and Fashion-MNIST: two zero bytes, a type code, the number of
 * dimensions d, d big-endian 32-bit sizes, then the values big-endian in C order. Type codes:
 * 0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32 (read as int64), 0x0D float32,
 * 0x0E float64. A file ending in {@code .gz} is decompressed on the fly.
 */
public final class Idx {
    private Idx() {}

    /** Reads an IDX file: integer types as INT64, floats as FLOAT32 / FLOAT64. */
    public static Tensor read(Path path) throws IOException {
        InputFile.check(path);
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(path));
             DataInputStream in = new DataInputStream(path.toString().endsWith(".gz")
                     ? new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16) : raw)) {
            return read(in, path.toString());
        }
    }

    /**
     * Reads an IDX array from a stream (e.g. a class-path resource) and closes it, gunzipping it
     * when {@code name} ends in {@code .gz}; {@code name} also labels errors.
     */
    public static Tensor read(InputStream stream, String name) throws IOException {
        try (InputStream raw = new BufferedInputStream(stream);
             DataInputStream in = new DataInputStream(name.endsWith(".gz")
                     ? new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16) : raw)) {
            return read(in, name);
        }
    }

    private static Tensor read(DataInputStream in, String file) throws IOException {
        if (in.readUnsignedShort() != 0) throw new ArrayFormatException(file, "not an IDX file (the first two bytes are not zero)");
        int type = in.readUnsignedByte(), rank = in.readUnsignedByte();
        long[] shape = new long[rank];
        for (int i = 0; i < rank; i++) shape[i] = Integer.toUnsignedLong(in.readInt());
        long n = Shape.numel(shape);
        if (n > Integer.MAX_VALUE - 8) throw new ArrayFormatException(file, "IDX array " + Shape.toString(shape) + " is too large");
        try {
            return switch (type) {
                case 0x08 -> {                                                  // images: one bulk read
                    byte[] bytes = new byte[(int) n];
                    in.readFully(bytes);
                    long[] v = new long[bytes.length];
                    for (int i = 0; i < v.length; i++) v[i] = bytes[i] & 0xFF;
                    yield Tensor.of(v, shape);
                }
                case 0x09, 0x0B, 0x0C -> {
                    long[] v = new long[(int) n];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = switch (type) {
                            case 0x09 -> in.readByte();
                            case 0x0B -> in.readShort();
                            default -> in.readInt();
                        };
                    }
                    yield Tensor.of(v, shape);
                }
                case 0x0D -> {
                    float[] v = new float[(int) n];
                    for (int i = 0; i < v.length; i++) v[i] = in.readFloat();
                    yield Tensor.of(v, shape);
                }
                case 0x0E -> {
                    double[] v = new double[(int) n];
                    for (int i = 0; i < v.length; i++) v[i] = in.readDouble();
                    yield Tensor.of(v, shape);
                }
                default -> throw new ArrayFormatException(file, String.format("unknown IDX type code 0x%02X", type));
            };
        } catch (EOFException e) {
            throw new ArrayFormatException(file, "IDX data ends before the " + n + " values of shape " + Shape.toString(shape));
        }
    }
}
