package org.ood4j.engine.io;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;

/**
 * NumPy's {@code .npy} format (versions 1.0, 2.0 and 3.0).
 *
 * <p>Reading accepts the dtypes {@code f4 f8} (kept), {@code i8} (kept), {@code i1 i2 i4 u1 u2 u4
 * b1} (widened to INT64; booleans become 0/1) and {@code f2} (widened to FLOAT32). Both byte
 * orders are read: big-endian data ({@code >f4}) is byte-swapped while it is copied, which costs
 * nothing extra. {@code u8} is refused because its values may not fit in INT64. Fortran-order
 * arrays are read as the transposed C-order layout and copied back to C order, so every tensor
 * returned is C-contiguous. Bytes after the data are ignored, as NumPy does.
 *
 * <p>Every check that can fail (magic, version, header, dtype, shape, data length against the
 * file length) happens before the tensor is allocated, so a lying header cannot cause a huge
 * allocation, and nothing is left allocated when a read fails.
 *
 * <p>Writing uses {@code <f4}, {@code <f8} or {@code <i8}, version 1.0 (2.0 when the header
 * exceeds 65535 bytes), a header padded with spaces so the data starts at a multiple of 64, and
 * C order whatever the tensor's strides.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int ALIGN = 64;
    /** Real headers are a few hundred bytes; a bigger claim is a corrupt length field. */
    static final int MAX_HEADER = 1 << 20;
    private static final String SUPPORTED =
            "f4, f8, i8, i4, i2, i1, u4, u2, u1, b1, f2 (little- or big-endian, e.g. <f4 or >f4)";

    private Npy() {}

    /** What the header says: the element encoding, the shape, the layout, and where the data starts. */
    record Header(String descr, Encoding encoding, long[] shape, boolean fortranOrder, long dataOffset) {
        long numel() {
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            return n;
        }
    }

    /**
     * What a .npy file stores, from its header alone: the NumPy dtype string ({@code <f4},
     * {@code |b1}, ...) and the shape. A reader can refuse a file by what it holds (booleans
     * where integers are meant) before the widening of {@link #read} hides it.
     */
    public record Info(String descr, long[] shape, boolean floating, boolean integer, boolean bool, boolean mappable) {
        /** The stored type as a person names it, e.g. {@code bool (|b1)} or {@code float16 (<f2)}. */
        public String typeName() {
            String base = bool ? "bool" : (floating ? "float" : integer && descr.charAt(1) == 'u' ? "uint" : "int")
                    + 8 * Integer.parseInt(descr.substring(2));
            return base + " (" + descr + ")";
        }
    }

    /** Reads only the header of a .npy file. */
    public static Info info(Path path) throws IOException {
        Header h = header(path);
        Encoding.Kind kind = h.encoding().kind();
        boolean floating = kind == Encoding.Kind.FLOAT || kind == Encoding.Kind.HALF;
        boolean integer = kind == Encoding.Kind.SIGNED || kind == Encoding.Kind.UNSIGNED;
        return new Info(h.descr(), h.shape().clone(), floating, integer, kind == Encoding.Kind.BOOL, mappable(h));
    }

    /** The checked header of a file, read without its data. */
    private static Header header(Path path) throws IOException {
        InputFile.check(path);
        try (InputStream in = new BufferedInputStream(Files.newInputStream(path), 4096)) {
            return readHeader(in, Files.size(path), path.toString());
        }
    }

    // ---------------------------------------------------------------- reading

    /** Reads a .npy file. */
    public static Tensor read(Path path) throws IOException {
        InputFile.check(path);
        long length = Files.size(path);
        try (InputStream in = new BufferedInputStream(Files.newInputStream(path), Encoding.CHUNK)) {
            return read(in, length, path.toString());
        }
    }

    /**
     * A read-only CPU tensor over the file's data, memory-mapped ({@link org.ood4j.engine.Storage.Mapped}):
     * nothing is copied, so an array larger than the memory costs page cache as it is read, and
     * views and row slices of it are free. The file must hold what the engine computes in, as it
     * is stored: little-endian {@code <f4}, {@code <f8} or {@code <i8} in C order (anything else
     * is refused with the reason; {@link #read} converts it). The tensor keeps the mapping alive
     * until it and its views are closed; writing into it is refused.
     */
    public static Tensor map(Path path) throws IOException {
        String source = path.toString();
        Header h = header(path);
        Encoding e = h.encoding();
        if (h.fortranOrder()) throw new ArrayFormatException(source, "cannot map a Fortran-order array: read it (Npy.read copies it to C order)");
        if (!mappable(h)) {
            throw new ArrayFormatException(source, "cannot map " + h.descr() + " data: only little-endian <f4, <f8 and <i8 are mapped as "
                    + "they are stored (Npy.read converts the others)");
        }
        long need = requireData(h, Files.size(path), source);
        if (need == 0) return Tensor.zeros(e.dtype(), h.shape());
        return Tensor.wrap(org.ood4j.engine.Storage.Mapped.map(path, h.dataOffset(), need), e.dtype(), h.shape());
    }

    /** C order and stored as the engine computes (little-endian f4, f8 or i8): usable without a copy. */
    private static boolean mappable(Header h) {
        Encoding e = h.encoding();
        return !h.fortranOrder() && e.equals(Encoding.of(e.dtype()));
    }

    /** Reads a .npy image held in memory. */
    public static Tensor readBytes(byte[] bytes) throws IOException {
        return readBytes(bytes, null);
    }

    /** Reads a .npy image held in memory; {@code source} names it in error messages (may be null). */
    public static Tensor readBytes(byte[] bytes, String source) throws IOException {
        return read(new ByteArrayInputStream(bytes), bytes.length, source);
    }

    /**
     * Reads one array from a stream that holds {@code length} bytes from its current position.
     * The length lets a lying header be refused before anything is allocated.
     */
    static Tensor read(InputStream in, long length, String source) throws IOException {
        Header h = readHeader(in, length, source);
        requireData(h, length, source);
        return h.fortranOrder() ? readFortran(in, h, source) : readC(in, h, h.shape(), source);
    }

    /** The data bytes the header promises, refused when the {@code length} bytes of the source hold fewer. */
    private static long requireData(Header h, long length, String source) throws ArrayFormatException {
        long have = length - h.dataOffset();
        long need = dataBytes(h, source);
        if (have < need) {
            throw new ArrayFormatException(source, "expected " + need + " bytes of data for " + h.descr() + " "
                    + shapeText(h.shape()) + ", found " + have);
        }
        return need;
    }

    /** Allocates and fills a C-order tensor of {@code shape}; closes it if filling fails. */
    private static Tensor readC(InputStream in, Header h, long[] shape, String source) throws IOException {
        Tensor t = Tensor.zeros(h.encoding().dtype(), shape);
        try {
            h.encoding().fill(in, t, source);
            return t;
        } catch (Throwable e) {
            t.close();
            throw e;
        }
    }

    /**
     * Fortran order is C order of the reversed shape: read that, then reverse the dimensions
     * back and copy to C order.
     */
    private static Tensor readFortran(InputStream in, Header h, String source) throws IOException {
        int rank = h.shape().length;
        if (rank < 2) return readC(in, h, h.shape(), source);
        long[] reversed = new long[rank];
        int[] order = new int[rank];
        for (int i = 0; i < rank; i++) {
            reversed[i] = h.shape()[rank - 1 - i];
            order[i] = rank - 1 - i;
        }
        try (Tensor raw = readC(in, h, reversed, source); Tensor view = raw.permute(order)) {
            return view.copy();
        }
    }

    /** Reads and checks magic, version and header dict; allocates nothing but the header text. */
    static Header readHeader(InputStream in, long length, String source) throws IOException {
        byte[] start = in.readNBytes(8);
        for (int i = 0; i < Math.min(start.length, MAGIC.length); i++) {
            if (start[i] != MAGIC[i]) throw badMagic(start, source);
        }
        if (start.length < 8) {
            throw new ArrayFormatException(source, "truncated header: file ends inside the magic string and version"
                    + (start.length == 0 ? " (empty file)" : ""));
        }
        int major = start[6] & 0xFF;
        int minor = start[7] & 0xFF;
        if (minor != 0 || major < 1 || major > 3) {
            throw new ArrayFormatException(source, "unsupported .npy format version " + major + "." + minor
                    + " (supported: 1.0, 2.0, 3.0)");
        }
        int lengthBytes = major == 1 ? 2 : 4;
        byte[] lenField = readPrefix(in, lengthBytes, "the header length", source);
        ByteBuffer lb = ByteBuffer.wrap(lenField).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = major == 1 ? lb.getShort() & 0xFFFF : lb.getInt() & 0xFFFFFFFFL;
        long dataOffset = 8 + lengthBytes + headerLength;
        if (headerLength > MAX_HEADER) {
            throw new ArrayFormatException(source, "header length " + headerLength + " exceeds the limit of "
                    + MAX_HEADER + " bytes");
        }
        if (dataOffset > length) {
            throw new ArrayFormatException(source, "truncated header: it claims " + headerLength + " bytes but only "
                    + Math.max(0, length - 8 - lengthBytes) + " follow");
        }
        byte[] raw = readPrefix(in, (int) headerLength, "the header", source);
        String text = decodeHeader(raw, major, source);
        return parseHeader(text, dataOffset, source);
    }

    private static byte[] readPrefix(InputStream in, int n, String what, String source) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length < n) throw new ArrayFormatException(source, "truncated header: file ends inside " + what);
        return b;
    }

    private static ArrayFormatException badMagic(byte[] start, String source) {
        StringBuilder found = new StringBuilder();
        for (int i = 0; i < Math.min(start.length, MAGIC.length); i++) found.append(String.format("%02X ", start[i] & 0xFF));
        String hint = start.length >= 2 && start[0] == 'P' && start[1] == 'K' ? "; it looks like a zip archive (.npz): use Npz.read" : "";
        return new ArrayFormatException(source, "not a .npy file: bad magic string (expected 93 4E 55 4D 50 59 "
                + "= \\x93NUMPY, found " + found.toString().trim() + ")" + hint);
    }

    /** Versions 1 and 2 store the header in latin-1, version 3 in UTF-8. */
    private static String decodeHeader(byte[] raw, int major, String source) throws ArrayFormatException {
        if (major < 3) return new String(raw, StandardCharsets.ISO_8859_1);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            throw new ArrayFormatException(source, "version 3.0 header is not valid UTF-8", e);
        }
    }

    /** Parses the header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }. */
    static Header parseHeader(String text, long dataOffset, String source) throws ArrayFormatException {
        Object parsed;
        try {
            parsed = PyLiteral.parse(text);
        } catch (IllegalArgumentException e) {
            throw malformed(e.getMessage(), text, source);
        }
        if (!(parsed instanceof Map<?, ?> dict)) throw malformed("the header is not a dict", text, source);
        for (String key : List.of("descr", "fortran_order", "shape")) {
            if (!dict.containsKey(key)) throw malformed("missing key '" + key + "'", text, source);
        }
        if (!(dict.get("descr") instanceof String descr)) {
            throw new ArrayFormatException(source, "unsupported dtype " + dict.get("descr")
                    + ": structured and object arrays are not supported (supported: " + SUPPORTED + ")");
        }
        if (!(dict.get("fortran_order") instanceof Boolean fortran)) {
            throw malformed("'fortran_order' must be True or False", text, source);
        }
        long[] shape = parseShape(dict.get("shape"), text, source);
        return new Header(descr, encoding(descr, source), shape, fortran, dataOffset);
    }

    private static long[] parseShape(Object value, String text, String source) throws ArrayFormatException {
        if (!(value instanceof List<?> dims)) throw malformed("'shape' must be a tuple of integers", text, source);
        long[] shape = new long[dims.size()];
        for (int i = 0; i < shape.length; i++) {
            if (!(dims.get(i) instanceof Long d)) throw malformed("'shape' must be a tuple of integers", text, source);
            if (d < 0) throw new ArrayFormatException(source, "negative dimension in shape " + shapeText(dims));
            shape[i] = d;
        }
        return shape;
    }

    /** Bytes the data of this header takes; refuses shapes whose size does not fit in a long. */
    private static long dataBytes(Header h, String source) throws ArrayFormatException {
        try {
            long numel = h.numel();
            Math.multiplyExact(numel, (long) h.encoding().dtype().byteSize()); // the tensor must be addressable too
            return Math.multiplyExact(numel, (long) h.encoding().size());
        } catch (ArithmeticException e) {
            throw new ArrayFormatException(source, "shape " + shapeText(h.shape()) + " is too large");
        }
    }

    /** Maps a descr such as {@code <f4} or {@code |b1} to an encoding, or refuses it naming the supported ones. */
    static Encoding encoding(String descr, String source) throws ArrayFormatException {
        if (descr.length() >= 3) {
            char orderChar = descr.charAt(0);
            char kindChar = descr.charAt(1);
            String width = descr.substring(2);
            Encoding.Kind kind = switch (kindChar) {
                case 'f' -> width.equals("2") ? Encoding.Kind.HALF : Encoding.Kind.FLOAT;
                case 'i' -> Encoding.Kind.SIGNED;
                case 'u' -> Encoding.Kind.UNSIGNED;
                case 'b' -> Encoding.Kind.BOOL;
                default -> null;
            };
            int size = switch (width) {
                case "1" -> 1;
                case "2" -> 2;
                case "4" -> 4;
                case "8" -> 8;
                default -> 0;
            };
            ByteOrder order = switch (orderChar) {
                case '<' -> ByteOrder.LITTLE_ENDIAN;
                case '>' -> ByteOrder.BIG_ENDIAN;
                case '=' -> ByteOrder.nativeOrder();
                case '|' -> size == 1 ? ByteOrder.LITTLE_ENDIAN : null; // '|' means "no byte order"
                default -> null;
            };
            if (kind != null && order != null && supported(kind, size)) return new Encoding(kind, size, order);
        }
        throw new ArrayFormatException(source, "unsupported dtype '" + descr + "' (supported: " + SUPPORTED + ")");
    }

    private static boolean supported(Encoding.Kind kind, int size) {
        return switch (kind) {
            case FLOAT -> size == 4 || size == 8;
            case HALF -> size == 2;
            case SIGNED -> size > 0;
            case UNSIGNED -> size > 0 && size < 8;
            case BOOL -> size == 1;
            case BFLOAT -> false;
        };
    }

    private static ArrayFormatException malformed(String problem, String header, String source) {
        return new ArrayFormatException(source, "malformed header dict (" + problem + "): " + header.strip());
    }

    // ---------------------------------------------------------------- writing

    /** Writes a tensor as a .npy file (C order, little-endian), atomically: see {@link AtomicFile}. */
    public static void write(Path path, Tensor t) throws IOException {
        t.checkOpen();
        AtomicFile.write(path, out -> write(out, t));
    }

    /** Writes a .npy image of a tensor to a stream, which is left open. */
    public static void write(OutputStream out, Tensor t) throws IOException {
        t.checkOpen();
        out.write(headerBytes(t.dtype(), t.shape()));
        Encoding.write(t, out);
    }

    /** Receives the parts of an array written by {@link #write(Path, DType, long[], Producer)}. */
    @FunctionalInterface
    public interface Sink {
        /** Appends the elements of {@code part} (any shape, strides or device), in C order, converted to the file's dtype. */
        void write(Tensor part) throws IOException;
    }

    /** Produces an array's elements in parts, C order, into a {@link Sink}. */
    @FunctionalInterface
    public interface Producer {
        void produce(Sink sink) throws IOException;
    }

    /**
     * Writes a .npy file of {@code dtype} and {@code shape} whose data arrive in parts, so an array
     * larger than the memory is written with one part's memory; atomically (see {@link AtomicFile}):
     * when the producer fails, or gives more or fewer elements than the shape holds (refused,
     * naming both counts), the previous file stays as it was.
     */
    public static void write(Path path, DType dtype, long[] shape, Producer producer) throws IOException {
        stream(path, headerBytes(dtype, shape), shape, producer, (part, out) -> {
            try (Tensor typed = part.to(dtype)) {
                Encoding.write(typed, out);
            }
        });
    }

    /** As {@link #write(Path, DType, long[], Producer)} for NumPy's bool ({@code |b1}): a part's nonzero elements are True. */
    public static void writeBool(Path path, long[] shape, Producer producer) throws IOException {
        stream(path, headerBytes("|b1", shape), shape, producer, (part, out) -> {
            for (double v : part.toDoubleArray()) out.write(v != 0 ? 1 : 0);
        });
    }

    /** How one part's elements become bytes. */
    private interface PartEncoder {
        void write(Tensor part, OutputStream out) throws IOException;
    }

    /** The header, then the producer's parts through {@code encoder}, counted against the shape; atomically. */
    private static void stream(Path path, byte[] header, long[] shape, Producer producer, PartEncoder encoder) throws IOException {
        long expected = org.ood4j.engine.Shape.numel(org.ood4j.engine.Shape.check(shape));
        AtomicFile.write(path, out -> {
            out.write(header);
            long[] written = {0};
            producer.produce(part -> {
                written[0] += part.numel();
                if (written[0] > expected) throw new IOException("more than the " + expected + " elements of shape " + shapeText(shape));
                encoder.write(part, out);
            });
            if (written[0] != expected) {
                throw new IOException("got " + written[0] + " of the " + expected + " elements of shape " + shapeText(shape));
            }
        });
    }

    /** Writes booleans as a 1-D {@code |b1} .npy file (NumPy's bool; the engine has no bool dtype), atomically. */
    public static void write(Path path, boolean[] values) throws IOException {
        byte[] data = new byte[values.length];
        for (int i = 0; i < values.length; i++) data[i] = (byte) (values[i] ? 1 : 0);
        AtomicFile.write(path, out -> {
            out.write(headerBytes("|b1", new long[] {values.length}));
            out.write(data);
        });
    }

    /** The whole .npy image of a tensor in memory (limited to 2 GiB). */
    public static byte[] toBytes(Tensor t) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        write(out, t);
        return out.toByteArray();
    }

    /** Magic, version, length and the space-padded header dict, so the data starts at a multiple of 64. */
    static byte[] headerBytes(DType dtype, long[] shape) {
        return headerBytes(descr(dtype), shape);
    }

    private static byte[] headerBytes(String descr, long[] shape) {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shapeText(shape) + ", }";
        int major = 1;
        int prefix = 10;
        int padded = paddedLength(dict, prefix);
        if (padded > 0xFFFF) {
            major = 2;
            prefix = 12;
            padded = paddedLength(dict, prefix);
        }
        String header = dict + " ".repeat(padded - dict.length() - 1) + "\n";
        ByteBuffer b = ByteBuffer.allocate(prefix + padded).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) major).put((byte) 0);
        if (major == 1) b.putShort((short) padded);
        else b.putInt(padded);
        b.put(header.getBytes(StandardCharsets.ISO_8859_1));
        return b.array();
    }

    /** Header length (dict, padding and the final newline) that ends on a multiple of 64. */
    private static int paddedLength(String dict, int prefix) {
        int minimum = prefix + dict.length() + 1;
        int total = (minimum + ALIGN - 1) / ALIGN * ALIGN;
        return total - prefix;
    }

    private static String descr(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> "<f4";
            case FLOAT64 -> "<f8";
            case INT64 -> "<i8";
            case FLOAT16 -> "<f2";
            case BFLOAT16 -> throw new IllegalArgumentException(
                    ".npy has no bfloat16 type; convert with to(DType.FLOAT32), or save as safetensors (BF16)");
        };
    }

    /** A shape as Python writes a tuple: (), (5,), (2, 3). */
    static String shapeText(long[] shape) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(shape[i]);
        }
        if (shape.length == 1) sb.append(',');
        return sb.append(')').toString();
    }

    private static String shapeText(List<?> dims) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < dims.size(); i++) {
            if (i > 0) sb.append(", ");
            sb.append(dims.get(i));
        }
        if (dims.size() == 1) sb.append(',');
        return sb.append(')').toString();
    }
}
