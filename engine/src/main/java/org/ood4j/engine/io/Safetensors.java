package org.ood4j.engine.io;

import java.io.BufferedInputStream;
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
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.ood4j.engine.DType;
import org.ood4j.engine.Storage;
import org.ood4j.engine.Tensor;

/**
 * The safetensors format: an unsigned 64-bit little-endian header length N, N bytes of UTF-8
 * JSON, then the data buffer. The JSON maps each tensor name to
 * {@code {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}} (offsets relative to
 * the buffer), plus an optional {@code "__metadata__"} map of strings.
 *
 * <p>Reading keeps F32, F64 and I64; widens I32, I16, I8, U32, U16, U8 and BOOL to INT64 and
 * F16, BF16 to FLOAT32 (or, when asked, keeps them as the storage-only FLOAT16, BFLOAT16 — a
 * saved 16-bit kNN bank); refuses the rest (U64, F8 variants, ...) naming the supported ones.
 * The whole header is validated before anything is allocated: header length against the file
 * size, well-formed JSON, every entry's dtype and shape, offsets inside the buffer, {@code
 * end - begin == numel * itemsize}, and no two tensors overlapping.
 *
 * <p>Writing stores tensors contiguously in the map's order, after a header padded with spaces
 * to a multiple of 8 bytes (so the data is 8-byte aligned), with {@code __metadata__} first.
 */
public final class Safetensors {
    /** The name reserved for the metadata map. */
    public static final String METADATA = "__metadata__";
    /** The reference implementation refuses headers over 100 MB; so do we. */
    static final long MAX_HEADER = 100L * 1000 * 1000;
    private static final String SUPPORTED = "F32, F64, I64, I32, I16, I8, U32, U16, U8, BOOL, F16, BF16";

    private Safetensors() {}

    /** One validated tensor entry of the header. */
    private record Entry(String name, Encoding encoding, long[] shape, long begin, long end) {}

    /** The parsed header: entries in header order, the metadata, and where the data buffer starts in the file. */
    private record Header(List<Entry> entries, Map<String, String> metadata, long dataStart) {}

    // ---------------------------------------------------------------- reading

    /** Reads all tensors, in header order. */
    public static Map<String, Tensor> read(Path path) throws IOException {
        return read(path, Long.MAX_VALUE);
    }

    /**
     * Reads all tensors, in header order, memory-mapping ({@link Storage.Mapped}: read-only, page
     * cache instead of heap or malloc) each one of at least {@code mapFrom} bytes that is stored as
     * the engine computes (F32, F64, I64) at an offset aligned to its element size — every tensor of
     * a file this class wrote; the others are read and converted as {@link #read(Path)} does. A mapped
     * tensor sees the file's bytes as long as it lives: the file must not be truncated or written in
     * place meanwhile (replacing it by a rename, as {@link AtomicFile} does, is safe).
     */
    public static Map<String, Tensor> read(Path path, long mapFrom) throws IOException {
        return read(path, mapFrom, false);
    }

    /**
     * As {@link #read(Path, long)}; with {@code keepHalf}, F16 and BF16 tensors keep their 16 bits
     * as {@link DType#FLOAT16} and {@link DType#BFLOAT16} (storage-only: mapped as they are), not
     * widened to FLOAT32.
     */
    public static Map<String, Tensor> read(Path path, long mapFrom, boolean keepHalf) throws IOException {
        InputFile.check(path);
        String file = path.toString();
        long fileSize = Files.size(path);
        try (InputStream in = new BufferedInputStream(Files.newInputStream(path), Encoding.CHUNK)) {
            Header h = readHeader(in, fileSize, file);
            return readData(in, h, path, mapFrom, keepHalf);
        }
    }

    /** The {@code __metadata__} map, empty when the file has none; tensor data is not read. */
    public static Map<String, String> readMetadata(Path path) throws IOException {
        InputFile.check(path);
        long fileSize = Files.size(path);
        try (InputStream in = Files.newInputStream(path)) {
            return readHeader(in, fileSize, path.toString()).metadata();
        }
    }

    /**
     * Reads the tensors in buffer order (so the stream only moves forward), skipping any gaps,
     * and returns them in header order. On failure every tensor made so far is closed.
     */
    private static Map<String, Tensor> readData(InputStream in, Header h, Path path, long mapFrom, boolean keepHalf) throws IOException {
        String file = path.toString();
        List<Entry> byOffset = new ArrayList<>(h.entries());
        byOffset.sort(Comparator.comparingLong(Entry::begin));
        Map<String, Tensor> loaded = new LinkedHashMap<>();
        try {
            long position = 0;
            for (Entry e : byOffset) {
                if (e.begin() > position) in.skipNBytes(e.begin() - position);
                position = Math.max(position, e.begin());
                DType type = keepHalf ? e.encoding().kept() : e.encoding().dtype();
                if (mappable(e, type, h.dataStart(), mapFrom)) {
                    loaded.put(e.name(), Tensor.wrap(Storage.Mapped.map(path, h.dataStart() + e.begin(), e.end() - e.begin()),
                            type, e.shape()));
                    in.skipNBytes(e.end() - position);
                } else {
                    loaded.put(e.name(), readTensor(in, e, type, file));
                }
                position = Math.max(position, e.end()); // an empty tensor may sit inside another's range
            }
        } catch (Throwable ex) {
            for (Tensor t : loaded.values()) t.close();
            throw ex;
        }
        Map<String, Tensor> inOrder = new LinkedHashMap<>();
        for (Entry e : h.entries()) inOrder.put(e.name(), loaded.get(e.name()));
        return inOrder;
    }

    /**
     * Big enough, non-empty, stored as the engine computes, and aligned: a mapping's address has the
     * file offset's alignment, and the CPU backend reads elements with aligned layouts.
     */
    private static boolean mappable(Entry e, DType type, long dataStart, long mapFrom) {
        long bytes = e.end() - e.begin();
        return bytes > 0 && bytes >= mapFrom && e.encoding().equals(Encoding.of(type))
                && (dataStart + e.begin()) % e.encoding().size() == 0;
    }

    private static Tensor readTensor(InputStream in, Entry e, DType type, String file) throws IOException {
        Tensor t = Tensor.zeros(type, e.shape());
        try {
            e.encoding().fill(in, t, file + " tensor '" + e.name() + "'");
            return t;
        } catch (Throwable ex) {
            t.close();
            throw ex;
        }
    }

    private static Header readHeader(InputStream in, long fileSize, String file) throws IOException {
        if (fileSize < 8) {
            throw new ArrayFormatException(file, "truncated: the file has " + fileSize
                    + " bytes, too few for the 8-byte header length");
        }
        long n = ByteBuffer.wrap(in.readNBytes(8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (n < 0 || n > fileSize - 8) {
            throw new ArrayFormatException(file, "header length " + Long.toUnsignedString(n)
                    + " exceeds the file size (" + fileSize + " bytes)");
        }
        if (n > MAX_HEADER) {
            throw new ArrayFormatException(file, "header length " + n + " exceeds the limit of " + MAX_HEADER + " bytes");
        }
        byte[] raw = in.readNBytes((int) n);
        if (raw.length < n) throw new ArrayFormatException(file, "truncated header");
        Object json = parseJson(raw, file);
        if (!(json instanceof Map<?, ?> map)) throw new ArrayFormatException(file, "header JSON is not an object");
        return parseEntries(map, fileSize - 8 - n, 8 + n, file);
    }

    private static Object parseJson(byte[] raw, String file) throws ArrayFormatException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            throw new ArrayFormatException(file, "header is not valid UTF-8", e);
        }
        try {
            return Json.parse(text);
        } catch (Json.ParseException e) {
            throw new ArrayFormatException(file, "malformed header JSON: " + e.getMessage(), e);
        }
    }

    private static Header parseEntries(Map<?, ?> json, long bufferSize, long dataStart, String file) throws ArrayFormatException {
        List<Entry> entries = new ArrayList<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : json.entrySet()) {
            String name = (String) e.getKey();
            if (name.equals(METADATA)) {
                metadata = parseMetadata(e.getValue(), file);
            } else {
                entries.add(parseEntry(name, e.getValue(), bufferSize, file));
            }
        }
        checkNoOverlap(entries, file);
        return new Header(entries, metadata, dataStart);
    }

    private static Map<String, String> parseMetadata(Object value, String file) throws ArrayFormatException {
        if (!(value instanceof Map<?, ?> map)) {
            throw new ArrayFormatException(file, METADATA + " must be an object of strings");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (!(e.getValue() instanceof String s)) {
                throw new ArrayFormatException(file, METADATA + " value of '" + e.getKey() + "' is not a string: "
                        + Json.write(e.getValue()));
            }
            metadata.put((String) e.getKey(), s);
        }
        return metadata;
    }

    private static Entry parseEntry(String name, Object value, long bufferSize, String file) throws ArrayFormatException {
        String where = "tensor '" + name + "'";
        if (!(value instanceof Map<?, ?> info)) throw new ArrayFormatException(file, where + ": entry is not an object");
        if (!(info.get("dtype") instanceof String dtypeName)) {
            throw new ArrayFormatException(file, where + ": missing or non-string \"dtype\"");
        }
        Encoding encoding = encoding(dtypeName, where, file);
        long[] shape = longs(info.get("shape"), -1, "shape", where, file);
        long[] offsets = longs(info.get("data_offsets"), 2, "data_offsets", where, file);
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end || end > bufferSize) {
            throw new ArrayFormatException(file, where + ": data_offsets [" + begin + ", " + end
                    + "] lie outside the data buffer of " + bufferSize + " bytes");
        }
        long need = byteCount(shape, encoding, where, file);
        if (end - begin != need) {
            throw new ArrayFormatException(file, where + ": data_offsets [" + begin + ", " + end + "] span "
                    + (end - begin) + " bytes, but " + dtypeName + " " + Json.write(shape) + " needs " + need);
        }
        return new Entry(name, encoding, shape, begin, end);
    }

    /** A JSON array of non-negative integers (of a given length, unless {@code length} is -1). */
    private static long[] longs(Object value, int length, String key, String where, String file)
            throws ArrayFormatException {
        String expected = where + ": \"" + key + "\" must be an array of "
                + (length < 0 ? "" : length + " ") + "non-negative integers, got " + Json.write(value);
        if (!(value instanceof List<?> list) || (length >= 0 && list.size() != length)) {
            throw new ArrayFormatException(file, expected);
        }
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(list.get(i) instanceof Long v) || v < 0) throw new ArrayFormatException(file, expected);
            out[i] = v;
        }
        return out;
    }

    private static long byteCount(long[] shape, Encoding encoding, String where, String file) throws ArrayFormatException {
        try {
            long numel = 1;
            for (long d : shape) numel = Math.multiplyExact(numel, d);
            Math.multiplyExact(numel, (long) encoding.dtype().byteSize()); // the tensor must be addressable too
            return Math.multiplyExact(numel, (long) encoding.size());
        } catch (ArithmeticException e) {
            throw new ArrayFormatException(file, where + ": shape " + Json.write(shape) + " is too large");
        }
    }

    /** Sorted by begin, each tensor must end before the next begins (empty tensors take no room). */
    private static void checkNoOverlap(List<Entry> entries, String file) throws ArrayFormatException {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        Entry previous = null;
        for (Entry e : sorted) {
            if (e.begin() == e.end()) continue;
            if (previous != null && e.begin() < previous.end()) {
                throw new ArrayFormatException(file, "tensors '" + previous.name() + "' [" + previous.begin() + ", "
                        + previous.end() + "] and '" + e.name() + "' [" + e.begin() + ", " + e.end() + "] overlap");
            }
            previous = e;
        }
    }

    private static Encoding encoding(String name, String where, String file) throws ArrayFormatException {
        ByteOrder le = ByteOrder.LITTLE_ENDIAN;
        return switch (name) {
            case "F32" -> new Encoding(Encoding.Kind.FLOAT, 4, le);
            case "F64" -> new Encoding(Encoding.Kind.FLOAT, 8, le);
            case "F16" -> new Encoding(Encoding.Kind.HALF, 2, le);
            case "BF16" -> new Encoding(Encoding.Kind.BFLOAT, 2, le);
            case "I64" -> new Encoding(Encoding.Kind.SIGNED, 8, le);
            case "I32" -> new Encoding(Encoding.Kind.SIGNED, 4, le);
            case "I16" -> new Encoding(Encoding.Kind.SIGNED, 2, le);
            case "I8" -> new Encoding(Encoding.Kind.SIGNED, 1, le);
            case "U32" -> new Encoding(Encoding.Kind.UNSIGNED, 4, le);
            case "U16" -> new Encoding(Encoding.Kind.UNSIGNED, 2, le);
            case "U8" -> new Encoding(Encoding.Kind.UNSIGNED, 1, le);
            case "BOOL" -> new Encoding(Encoding.Kind.BOOL, 1, le);
            default -> throw new ArrayFormatException(file, where + ": unsupported dtype \"" + name
                    + "\" (supported: " + SUPPORTED + ")");
        };
    }

    // ---------------------------------------------------------------- writing

    /**
     * Writes tensors (F32, F64, I64, BF16 or F16) with optional string metadata (null for none), atomically:
     * see {@link AtomicFile}.
     */
    public static void write(Path path, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        byte[] header = headerBytes(tensors, metadata);
        AtomicFile.write(path, out -> {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
            out.write(header);
            for (Tensor t : tensors.values()) Encoding.write(t, out);
        });
    }

    /** The data bytes a safetensors file holds for {@code t} (C order, little-endian, its own dtype), to a stream left open. */
    public static void writeData(OutputStream out, Tensor t) throws IOException {
        t.checkOpen();
        Encoding.write(t, out);
    }

    /** Writes tensors without metadata. */
    public static void write(Path path, Map<String, Tensor> tensors) throws IOException {
        write(path, tensors, null);
    }

    /** The JSON header, space-padded to a multiple of 8 bytes. */
    private static byte[] headerBytes(Map<String, Tensor> tensors, Map<String, String> metadata) {
        Map<String, Object> json = new LinkedHashMap<>();
        if (metadata != null && !metadata.isEmpty()) {
            for (Map.Entry<String, String> m : metadata.entrySet()) {
                if (m.getKey() == null || m.getValue() == null) {
                    throw new IllegalArgumentException("metadata keys and values must not be null");
                }
            }
            json.put(METADATA, metadata);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String name = e.getKey();
            if (name == null || name.equals(METADATA)) {
                throw new IllegalArgumentException("invalid tensor name: " + name);
            }
            Tensor t = e.getValue();
            t.checkOpen();
            long bytes = Encoding.dataBytes(t);
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("dtype", dtypeName(t.dtype()));
            info.put("shape", t.shape());
            info.put("data_offsets", new long[] {offset, offset + bytes});
            json.put(name, info);
            offset += bytes;
        }
        byte[] text = Json.write(json).getBytes(StandardCharsets.UTF_8);
        int padded = (text.length + 7) / 8 * 8;
        byte[] header = new byte[padded];
        System.arraycopy(text, 0, header, 0, text.length);
        for (int i = text.length; i < padded; i++) header[i] = ' ';
        return header;
    }

    private static String dtypeName(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> "F32";
            case FLOAT64 -> "F64";
            case INT64 -> "I64";
            case BFLOAT16 -> "BF16";
            case FLOAT16 -> "F16";
        };
    }
}
