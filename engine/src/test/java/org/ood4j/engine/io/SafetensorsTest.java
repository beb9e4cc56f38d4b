package org.ood4j.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ood4j.engine.io.IoTestSupport.assertFormatError;
import static org.ood4j.engine.io.IoTestSupport.concat;
import static org.ood4j.engine.io.IoTestSupport.resource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Tensor;

class SafetensorsTest {
    @TempDir
    Path dir;

    private static void closeAll(Map<String, Tensor> m) {
        m.values().forEach(Tensor::close);
    }

    private static byte[] u64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    /** A file with a hand-written JSON header followed by {@code data}. */
    private Path craft(String json, byte[] data) throws IOException {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        Path file = dir.resolve("crafted.safetensors");
        Files.write(file, concat(u64(header.length), header, data));
        return file;
    }

    private static String entry(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\": {\"dtype\": \"" + dtype + "\", \"shape\": " + shape + ", \"data_offsets\": [" + begin + ", " + end + "]}";
    }

    // ---------------------------------------------------------------- round trips

    @Test
    void roundTripsEveryDtypeShapeAndMetadata() throws IOException {
        long before = MemoryStats.liveBlocks();
        Path file = dir.resolve("m.safetensors");
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt");
        metadata.put("note", "ünïcode \"quoted\"\n");
        List<Tensor> made = new ArrayList<>();
        try {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            long[][] shapes = {{}, {0}, {7}, {3, 5}, {2, 3, 4}};
            for (DType d : DType.values()) {
                if (d.isStorageOnly()) continue;   // the 16-bit types: HalfFloatsTest
                for (long[] s : shapes) {
                    Tensor t = NpyTest.sample(d, s);
                    made.add(t);
                    tensors.put(d + Arrays.toString(s), t);
                }
            }
            Tensor base = NpyTest.sample(DType.FLOAT32, 3, 5);
            made.add(base);
            Tensor transposed = base.t();
            made.add(transposed);
            tensors.put("transposed", transposed);

            Safetensors.write(file, tensors, metadata);
            Map<String, Tensor> back = Safetensors.read(file);
            try {
                assertEquals(new ArrayList<>(tensors.keySet()), new ArrayList<>(back.keySet()));
                for (String k : tensors.keySet()) {
                    assertEquals(tensors.get(k).dtype(), back.get(k).dtype(), k);
                    assertArrayEquals(tensors.get(k).shape(), back.get(k).shape(), k);
                    assertArrayEquals(NpyTest.bits(tensors.get(k)), NpyTest.bits(back.get(k)), k);
                }
            } finally {
                closeAll(back);
            }
            assertEquals(metadata, Safetensors.readMetadata(file));
        } finally {
            made.forEach(Tensor::close);
        }
        assertEquals(before, MemoryStats.liveBlocks());
    }

    @Test
    void writesAPaddedHeaderAndContiguousOffsets() throws IOException {
        Path file = dir.resolve("h.safetensors");
        try (Tensor a = Tensor.of(new float[] {1, 2, 3}); Tensor b = Tensor.of(new long[] {4, 5})) {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("a", a);
            m.put("b", b);
            Safetensors.write(file, m, Map.of("k", "v"));
        }
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8);
        assertEquals(8 + n + 12 + 16, bytes.length);
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertEquals("{\"__metadata__\":{\"k\":\"v\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                + "\"b\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[12,28]}}", header.stripTrailing());
        assertTrue(header.endsWith(" ") || header.endsWith("}"));
    }

    @Test
    void writesWithoutMetadata() throws IOException {
        Path file = dir.resolve("n.safetensors");
        try (Tensor a = Tensor.of(new double[] {1.5})) {
            Safetensors.write(file, Map.of("a", a));
        }
        assertEquals(Map.of(), Safetensors.readMetadata(file));
        Map<String, Tensor> m = Safetensors.read(file);
        assertArrayEquals(new double[] {1.5}, m.get("a").toDoubleArray());
        closeAll(m);
    }

    @Test
    void writeRefusesReservedNamesAndClosedTensors() {
        try (Tensor t = Tensor.of(new float[] {1})) {
            assertThrows(IllegalArgumentException.class,
                    () -> Safetensors.write(dir.resolve("x"), Map.of(Safetensors.METADATA, t), null));
        }
        Tensor closed = Tensor.of(new float[] {1});
        closed.close();
        assertThrows(IllegalStateException.class, () -> Safetensors.write(dir.resolve("y"), Map.of("c", closed), null));
    }

    // ---------------------------------------------------------------- files written by the safetensors library

    @Test
    void readsFileWrittenByTheReferenceLibrary() throws IOException {
        Path file = resource("mixed.safetensors");
        Map<String, Tensor> m = Safetensors.read(file);
        try {
            assertEquals(List.of("n", "d", "w", "i", "h", "u", "m"), new ArrayList<>(m.keySet()));
            assertEquals(DType.FLOAT32, m.get("w").dtype());
            assertArrayEquals(new long[] {2, 2}, m.get("w").shape());
            assertArrayEquals(new float[] {1, 2, 3, -4.5f}, m.get("w").toFloatArray());
            assertArrayEquals(new long[] {-5, 0, 1L << 40}, m.get("n").toLongArray());
            assertArrayEquals(new double[] {0.1, 1e300}, m.get("d").toDoubleArray());
            assertEquals(DType.INT64, m.get("i").dtype());
            assertArrayEquals(new long[] {-7, 8, Integer.MAX_VALUE}, m.get("i").toLongArray());
            assertArrayEquals(new long[] {0, 255}, m.get("u").toLongArray());
            assertArrayEquals(new long[] {1, 0, 1}, m.get("m").toLongArray());
            assertEquals(DType.FLOAT32, m.get("h").dtype());
            assertArrayEquals(new float[] {1, -0.5f, 65504}, m.get("h").toFloatArray());
        } finally {
            closeAll(m);
        }
        assertEquals(Map.of("format", "np", "note", "fixture"), Safetensors.readMetadata(file));
    }

    @Test
    void readsBfloat16AndNarrowIntegers() throws IOException {
        ByteBuffer data = ByteBuffer.allocate(4 + 2 + 1 + 4).order(ByteOrder.LITTLE_ENDIAN);
        data.putShort((short) 0x3FC0).putShort((short) 0xC000); // bf16 1.5, -2.0
        data.putShort((short) -300);                              // i16
        data.put((byte) -3);                                      // i8
        data.putShort((short) 0xFFFF).putShort((short) 7);        // u16 65535, 7
        String json = "{" + entry("bf", "BF16", "[2]", 0, 4) + ", " + entry("s", "I16", "[]", 4, 6) + ", "
                + entry("b", "I8", "[1]", 6, 7) + ", " + entry("u", "U16", "[2]", 7, 11) + "}";
        Map<String, Tensor> m = Safetensors.read(craft(json, data.array()));
        try {
            assertArrayEquals(new float[] {1.5f, -2f}, m.get("bf").toFloatArray());
            assertEquals(-300, m.get("s").getLong());
            assertArrayEquals(new long[] {-3}, m.get("b").toLongArray());
            assertArrayEquals(new long[] {65535, 7}, m.get("u").toLongArray());
        } finally {
            closeAll(m);
        }
    }

    @Test
    void readsTensorsStoredOutOfHeaderOrderAndWithGaps() throws IOException {
        byte[] data = NpyTest.floats(9, 9, 1, 2, 9, 3);
        String json = "{" + entry("late", "F32", "[1]", 20, 24) + ", " + entry("early", "F32", "[2]", 8, 16) + ", "
                + entry("empty", "F32", "[0]", 12, 12) + "}";
        Map<String, Tensor> m = Safetensors.read(craft(json, data));
        try {
            assertEquals(List.of("late", "early", "empty"), new ArrayList<>(m.keySet()));
            assertArrayEquals(new float[] {3}, m.get("late").toFloatArray());
            assertArrayEquals(new float[] {1, 2}, m.get("early").toFloatArray());
            assertEquals(0, m.get("empty").numel());
        } finally {
            closeAll(m);
        }
    }

    // ---------------------------------------------------------------- errors

    @Test
    void refusesFilesTooShortForTheLength() throws IOException {
        Path file = dir.resolve("short.safetensors");
        Files.write(file, new byte[] {1, 2, 3});
        assertFormatError(() -> Safetensors.read(file), file.toString(), "too few for the 8-byte header length");
    }

    @Test
    void refusesHeaderLengthBeyondTheFile() throws IOException {
        Path file = dir.resolve("len.safetensors");
        Files.write(file, concat(u64(1000), "{}".getBytes(StandardCharsets.UTF_8)));
        assertFormatError(() -> Safetensors.read(file), "header length 1000 exceeds the file size (10 bytes)");
        Files.write(file, concat(u64(-1), "{}".getBytes(StandardCharsets.UTF_8)));
        assertFormatError(() -> Safetensors.readMetadata(file), "header length 18446744073709551615 exceeds the file size");
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"a\": ", "{\"a\": {\"dtype\": \"F32\",}}", "not json", "", "{\"a\": 1} {}"})
    void refusesMalformedJson(String json) throws IOException {
        Path file = craft(json, new byte[0]);
        assertFormatError(() -> Safetensors.read(file), file.toString(), "malformed header JSON", "offset");
    }

    @Test
    void refusesHeadersThatAreNotObjects() throws IOException {
        assertFormatError(() -> Safetensors.read(craft("[1, 2]", new byte[0])), "header JSON is not an object");
        assertFormatError(() -> Safetensors.read(craft("{\"a\": 5}", new byte[0])), "tensor 'a': entry is not an object");
    }

    @Test
    void refusesInvalidUtf8() throws IOException {
        Path file = dir.resolve("utf.safetensors");
        Files.write(file, concat(u64(4), new byte[] {'{', (byte) 0xC3, (byte) 0x28, '}'}));
        assertFormatError(() -> Safetensors.read(file), "not valid UTF-8");
    }

    @ParameterizedTest
    @ValueSource(strings = {"U64", "F8_E4M3", "F8_E5M2", "C64", "f32", "STRING"})
    void refusesUnsupportedDtypes(String dtype) throws IOException {
        Path file = craft("{" + entry("x", dtype, "[1]", 0, 8) + "}", new byte[8]);
        assertFormatError(() -> Safetensors.read(file), "tensor 'x'", "unsupported dtype \"" + dtype + "\"",
                "supported: F32, F64, I64");
    }

    @Test
    void refusesBadEntryFields() throws IOException {
        byte[] data = new byte[16];
        assertFormatError(() -> Safetensors.read(craft("{\"x\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", data)),
                "tensor 'x'", "\"dtype\"");
        assertFormatError(() -> Safetensors.read(craft("{" + entry("x", "F32", "[-1]", 0, 4) + "}", data)),
                "\"shape\" must be an array of non-negative integers, got [-1]");
        assertFormatError(() -> Safetensors.read(craft("{" + entry("x", "F32", "[1.5]", 0, 4) + "}", data)),
                "\"shape\" must be an array of non-negative integers");
        assertFormatError(() -> Safetensors.read(craft("{" + entry("x", "F32", "\"2\"", 0, 4) + "}", data)),
                "\"shape\" must be an array");
        assertFormatError(() -> Safetensors.read(craft(
                        "{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", data)),
                "\"data_offsets\" must be an array of 2 non-negative integers");
        assertFormatError(() -> Safetensors.read(craft(
                        "{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, -4]}}", data)),
                "\"data_offsets\" must be an array of 2 non-negative integers");
    }

    @Test
    void refusesOffsetsOutsideTheBuffer() throws IOException {
        assertFormatError(() -> Safetensors.read(craft("{" + entry("x", "F32", "[2]", 8, 16) + "}", new byte[12])),
                "tensor 'x': data_offsets [8, 16] lie outside the data buffer of 12 bytes");
        assertFormatError(() -> Safetensors.read(craft("{" + entry("x", "F32", "[0]", 8, 4) + "}", new byte[12])),
                "data_offsets [8, 4] lie outside");
    }

    @Test
    void refusesOffsetsThatDoNotMatchTheShape() throws IOException {
        assertFormatError(() -> Safetensors.read(craft("{" + entry("x", "F32", "[2, 3]", 0, 16) + "}", new byte[24])),
                "tensor 'x': data_offsets [0, 16] span 16 bytes, but F32 [2,3] needs 24");
    }

    @Test
    void refusesOverlappingTensors() throws IOException {
        String json = "{" + entry("a", "F32", "[3]", 0, 12) + ", " + entry("b", "F32", "[2]", 8, 16) + "}";
        assertFormatError(() -> Safetensors.read(craft(json, new byte[16])), "tensors 'a' [0, 12] and 'b' [8, 16] overlap");
    }

    @Test
    void refusesAbsurdShapesWithoutAllocating() throws IOException {
        long before = MemoryStats.totalBlocks();
        assertFormatError(() -> Safetensors.read(craft("{" + entry("x", "F32", "[1000000000, 1000000000]", 0, 4) + "}",
                new byte[4])), "span 4 bytes, but F32 [1000000000,1000000000] needs 4000000000000000000");
        assertFormatError(() -> Safetensors.read(craft("{" + entry("x", "F64", "[10000000000, 10000000000]", 0, 4) + "}",
                new byte[4])), "is too large");
        assertEquals(before, MemoryStats.totalBlocks(), "nothing may be allocated for a lying header");
    }

    @Test
    void refusesNonStringMetadata() throws IOException {
        assertFormatError(() -> Safetensors.readMetadata(craft("{\"__metadata__\": {\"epochs\": 3}}", new byte[0])),
                "__metadata__ value of 'epochs' is not a string: 3");
        assertFormatError(() -> Safetensors.readMetadata(craft("{\"__metadata__\": [1]}", new byte[0])),
                "__metadata__ must be an object of strings");
    }

    @Test
    void truncatedFilesFailCleanlyAtEveryCutPoint() throws IOException {
        Path whole = dir.resolve("whole.safetensors");
        try (Tensor a = NpyTest.sample(DType.FLOAT32, 3, 4); Tensor b = NpyTest.sample(DType.INT64, 5)) {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("a", a);
            m.put("b", b);
            Safetensors.write(whole, m, Map.of("k", "v"));
        }
        byte[] bytes = Files.readAllBytes(whole);
        Path cut = dir.resolve("cut.safetensors");
        for (int n = 0; n < bytes.length; n++) {
            Files.write(cut, Arrays.copyOf(bytes, n));
            assertFormatError(() -> Safetensors.read(cut), cut.toString());
        }
    }
}
