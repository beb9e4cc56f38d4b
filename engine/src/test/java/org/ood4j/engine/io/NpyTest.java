package org.ood4j.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ood4j.engine.io.IoTestSupport.ascii;
import static org.ood4j.engine.io.IoTestSupport.assertFormatError;
import static org.ood4j.engine.io.IoTestSupport.concat;
import static org.ood4j.engine.io.IoTestSupport.resource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Tensor;

class NpyTest {
    @TempDir
    Path dir;

    // ---------------------------------------------------------------- helpers

    /** A contiguous tensor whose values include NaN, infinities, -0.0 or int64 extremes. */
    static Tensor sample(DType dtype, long... shape) {
        Tensor t = Tensor.zeros(dtype, shape);
        MemorySegment seg = t.storage().segment();
        long n = t.numel();
        double[] specials = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0, 1e-300, Double.MAX_VALUE};
        long[] longs = {Long.MIN_VALUE, Long.MAX_VALUE, -1, 0, (1L << 53) + 1, -(1L << 62) - 3};
        for (long i = 0; i < n; i++) {
            int k = (int) i;
            switch (dtype) {
                case FLOAT32 -> seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i,
                        k < specials.length ? (float) specials[k] : k * 0.37f - 3);
                case FLOAT64 -> seg.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i,
                        k < specials.length ? specials[k] : k * 0.37 - 3);
                case INT64 -> seg.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i,
                        k < longs.length ? longs[k] : k * 123_456_789_011L - 5);
            }
        }
        return t;
    }

    /** Raw element bits in C order, so NaN payloads and -0.0 compare exactly. */
    static long[] bits(Tensor t) {
        return switch (t.dtype()) {
            case FLOAT32 -> {
                float[] f = t.toFloatArray();
                long[] b = new long[f.length];
                for (int i = 0; i < f.length; i++) b[i] = Float.floatToRawIntBits(f[i]);
                yield b;
            }
            case FLOAT64 -> Arrays.stream(t.toDoubleArray()).mapToLong(Double::doubleToRawLongBits).toArray();
            case INT64 -> t.toLongArray();
            case BFLOAT16, FLOAT16 -> throw new IllegalArgumentException("not sampled: " + t.dtype());
        };
    }

    /** A .npy image with a hand-written header (no padding needed by readers). */
    static byte[] npy(int major, String header, byte[] data) {
        byte[] text = (header + "\n").getBytes(major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        if (major == 1) b.putShort((short) text.length);
        else b.putInt(text.length);
        return concat(Arrays.copyOf(b.array(), b.position()), text, data);
    }

    static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    static String dict(String descr, String shape) {
        return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    }

    // ---------------------------------------------------------------- round trips

    static Stream<Arguments> dtypesAndShapes() {
        List<Arguments> out = new ArrayList<>();
        long[][] shapes = {{}, {0}, {7}, {3, 5}, {2, 3, 4}};
        for (DType d : DType.values()) {
            if (d.isStorageOnly()) continue;   // the 16-bit types: HalfFloatsTest
            for (long[] s : shapes) out.add(Arguments.of(d, s));
        }
        return out.stream();
    }

    @ParameterizedTest
    @MethodSource("dtypesAndShapes")
    void roundTripsThroughBytesAndFiles(DType dtype, long[] shape) throws IOException {
        long before = MemoryStats.liveBlocks();
        Path file = dir.resolve("t.npy");
        try (Tensor t = sample(dtype, shape)) {
            Npy.write(file, t);
            try (Tensor fromFile = Npy.read(file); Tensor fromBytes = Npy.readBytes(Npy.toBytes(t))) {
                for (Tensor r : List.of(fromFile, fromBytes)) {
                    assertEquals(dtype, r.dtype());
                    assertArrayEquals(shape, r.shape());
                    assertTrue(r.isContiguous());
                    assertArrayEquals(bits(t), bits(r));
                }
            }
            assertArrayEquals(Files.readAllBytes(file), Npy.toBytes(t));
        }
        assertEquals(before, MemoryStats.liveBlocks());
    }

    @Test
    void writesNonContiguousViewsInCOrder() throws IOException {
        try (Tensor t = sample(DType.FLOAT64, 3, 5);
             Tensor tt = t.t();
             Tensor back = Npy.readBytes(Npy.toBytes(tt));
             Tensor expected = tt.copy()) {
            assertArrayEquals(new long[] {5, 3}, back.shape());
            assertArrayEquals(bits(expected), bits(back));
        }
        try (Tensor t = sample(DType.INT64, 4, 6);
             Tensor row = t.select(0, 2);
             Tensor strided = t.slice(1, 1, 4);
             Tensor rowBack = Npy.readBytes(Npy.toBytes(row));
             Tensor stridedBack = Npy.readBytes(Npy.toBytes(strided))) {
            assertArrayEquals(row.toLongArray(), rowBack.toLongArray());
            assertArrayEquals(strided.toLongArray(), stridedBack.toLongArray());
            assertArrayEquals(new long[] {4, 3}, stridedBack.shape());
        }
    }

    @Test
    void writesNumpyHeaderLayout() throws IOException {
        try (Tensor t = sample(DType.FLOAT32, 2, 3)) {
            byte[] b = Npy.toBytes(t);
            assertArrayEquals(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}, Arrays.copyOf(b, 8));
            int headerLength = (b[8] & 0xFF) | (b[9] & 0xFF) << 8;
            assertEquals(0, (10 + headerLength) % 64);
            assertEquals(10 + headerLength + 24, b.length);
            String header = new String(b, 10, headerLength, StandardCharsets.ISO_8859_1);
            assertTrue(header.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"), header);
            assertTrue(header.endsWith(" \n"), header);
        }
        assertEquals("()", Npy.shapeText(new long[0]));
        assertEquals("(5,)", Npy.shapeText(new long[] {5}));
        assertEquals("(2, 3, 4)", Npy.shapeText(new long[] {2, 3, 4}));
        assertTrue(new String(Npy.headerBytes(DType.FLOAT64, new long[0]), StandardCharsets.ISO_8859_1)
                .contains("'descr': '<f8', 'fortran_order': False, 'shape': (), }"));
        assertTrue(new String(Npy.headerBytes(DType.INT64, new long[] {7}), StandardCharsets.ISO_8859_1)
                .contains("'descr': '<i8', 'fortran_order': False, 'shape': (7,), }"));
    }

    @Test
    void headerOver64KiBUsesVersion2() throws IOException {
        long[] shape = new long[25_000];
        Arrays.fill(shape, 1);
        byte[] header = Npy.headerBytes(DType.FLOAT32, shape);
        assertEquals(2, header[6]);
        int length = ByteBuffer.wrap(header, 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        assertEquals(header.length, 12 + length);
        assertEquals(0, header.length % 64);
        try (Tensor t = Npy.readBytes(concat(header, floats(2.5f)))) {
            assertEquals(25_000, t.rank());
            assertArrayEquals(new float[] {2.5f}, t.toFloatArray());
        }
    }

    @Test
    void writingAClosedTensorFails() {
        Tensor t = Tensor.of(new float[] {1});
        t.close();
        assertThrows(IllegalStateException.class, () -> Npy.toBytes(t));
    }

    // ---------------------------------------------------------------- files written by NumPy

    @Test
    void readsNumpyVersion1Float32() throws IOException {
        try (Tensor t = Npy.read(resource("v1_f4_2d.npy"))) {
            assertEquals(DType.FLOAT32, t.dtype());
            assertArrayEquals(new long[] {2, 3}, t.shape());
            assertArrayEquals(new float[] {1.5f, -2, 3, 4, 5, 6.25f}, t.toFloatArray());
        }
    }

    @Test
    void readsNumpyVersion2And3() throws IOException {
        try (Tensor t = Npy.read(resource("v2_f8.npy"))) {
            assertEquals(DType.FLOAT64, t.dtype());
            assertArrayEquals(new double[] {0, 0.5, 1, 1.5, 2}, t.toDoubleArray());
        }
        try (Tensor t = Npy.read(resource("v3_i8.npy"))) {
            assertEquals(DType.INT64, t.dtype());
            assertArrayEquals(new long[] {-(1L << 62) - 7, -1, 0, (1L << 62) + 3}, t.toLongArray());
        }
    }

    @Test
    void readsNumpyFortranOrderAsCOrder() throws IOException {
        try (Tensor t = Npy.read(resource("fortran_f4.npy"))) {
            assertArrayEquals(new long[] {2, 3}, t.shape());
            assertTrue(t.isContiguous());
            assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, t.toFloatArray());
        }
        try (Tensor t = Npy.read(resource("fortran_f8_3d.npy"))) {
            assertArrayEquals(new long[] {2, 3, 4}, t.shape());
            assertTrue(t.isContiguous());
            double[] expected = new double[24];
            for (int i = 0; i < 24; i++) expected[i] = i;
            assertArrayEquals(expected, t.toDoubleArray());
        }
    }

    @Test
    void widensNumpyIntegerAndBooleanTypes() throws IOException {
        try (Tensor t = Npy.read(resource("i4.npy"))) {
            assertEquals(DType.INT64, t.dtype());
            assertArrayEquals(new long[] {Integer.MIN_VALUE, -1, 0, 7, Integer.MAX_VALUE}, t.toLongArray());
        }
        try (Tensor t = Npy.read(resource("u1.npy"))) {
            assertEquals(DType.INT64, t.dtype());
            assertArrayEquals(new long[] {0, 1, 200, 255}, t.toLongArray());
        }
        try (Tensor t = Npy.read(resource("b1.npy"))) {
            assertEquals(DType.INT64, t.dtype());
            assertArrayEquals(new long[] {2, 2}, t.shape());
            assertArrayEquals(new long[] {1, 0, 0, 1}, t.toLongArray());
        }
    }

    @Test
    void readsNumpyBigEndianAndHalf() throws IOException {
        try (Tensor t = Npy.read(resource("be_f8.npy"))) {
            assertEquals(DType.FLOAT64, t.dtype());
            assertArrayEquals(new double[] {1.0, -2.5, Double.POSITIVE_INFINITY}, t.toDoubleArray());
        }
        try (Tensor t = Npy.read(resource("be_i4.npy"))) {
            assertArrayEquals(new long[] {1, -2, 70000}, t.toLongArray());
        }
        try (Tensor t = Npy.read(resource("f2.npy"))) {
            assertEquals(DType.FLOAT32, t.dtype());
            assertArrayEquals(new float[] {1.0f, -0.5f, 65504f}, t.toFloatArray());
        }
    }

    @Test
    void readsNumpyScalarAndEmpty() throws IOException {
        try (Tensor t = Npy.read(resource("scalar_f8.npy"))) {
            assertEquals(0, t.rank());
            assertEquals(3.25, t.item());
        }
        try (Tensor t = Npy.read(resource("empty_f4.npy"))) {
            assertArrayEquals(new long[] {0}, t.shape());
            assertEquals(0, t.toFloatArray().length);
        }
    }

    @Test
    void readsConformanceCaseFiles() throws IOException {
        try (Tensor t = Npy.read(resource("conformance_param_b_f4.npy"))) {
            assertEquals(DType.FLOAT32, t.dtype());
            assertArrayEquals(new long[] {10}, t.shape());
            float[] v = t.toFloatArray();
            assertEquals(0.07369929552078247f, v[0]);
            assertEquals(-0.5847669243812561f, v[9]);
        }
        try (Tensor t = Npy.read(resource("conformance_fit_y_i8.npy"))) {
            assertEquals(DType.INT64, t.dtype());
            assertArrayEquals(new long[] {220}, t.shape());
            long[] v = t.toLongArray();
            assertArrayEquals(new long[] {-1, 3, 9, 9, 7, 6, 2, 7, 1, 9}, Arrays.copyOf(v, 10));
            assertEquals(880, Arrays.stream(v).sum());
        }
        try (Tensor t = Npy.read(resource("conformance_scores_f8.npy"))) {
            assertEquals(DType.FLOAT64, t.dtype());
            assertArrayEquals(new long[] {21}, t.shape());
            double[] v = t.toDoubleArray();
            assertEquals(-10.004788811287801, v[0]);
            assertEquals(-12.165696876153655, v[20]);
            assertEquals(-286.1185193226939, Arrays.stream(v).sum(), 1e-9);
        }
    }

    // ---------------------------------------------------------------- header parsing

    @ParameterizedTest
    @ValueSource(strings = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
        "{ 'descr' : '<f4' ,\t'fortran_order' : False , 'shape' : ( 2 , 3 , ) , }",
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,3)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': None}",
    })
    void parsesHeaderVariants(String header) throws IOException {
        try (Tensor t = Npy.readBytes(npy(1, header, floats(1, 2, 3, 4, 5, 6)))) {
            assertArrayEquals(new long[] {2, 3}, t.shape());
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, t.toFloatArray());
        }
    }

    @Test
    void parsesShapeForms() throws IOException {
        try (Tensor t = Npy.readBytes(npy(1, dict("<f4", "()"), floats(9)))) {
            assertArrayEquals(new long[0], t.shape());
        }
        try (Tensor t = Npy.readBytes(npy(1, dict("<f4", "(5,)"), floats(1, 2, 3, 4, 5)))) {
            assertArrayEquals(new long[] {5}, t.shape());
        }
        try (Tensor t = Npy.readBytes(npy(1, dict("<f4", "(1, 5, 1)"), floats(1, 2, 3, 4, 5)))) {
            assertArrayEquals(new long[] {1, 5, 1}, t.shape());
        }
        try (Tensor t = Npy.readBytes(npy(3, dict("<f4", "(0, 4)"), new byte[0]))) {
            assertArrayEquals(new long[] {0, 4}, t.shape());
        }
    }

    @Test
    void ignoresBytesAfterTheData() throws IOException {
        try (Tensor t = Npy.readBytes(npy(1, dict("<f4", "(2,)"), floats(1, 2, 3)))) {
            assertArrayEquals(new float[] {1, 2}, t.toFloatArray());
        }
    }

    // ---------------------------------------------------------------- errors

    @Test
    void refusesBadMagic() {
        assertFormatError(() -> Npy.readBytes(ascii("NUMPY\1\0 not really")), "bad magic", "\\x93NUMPY");
        assertFormatError(() -> Npy.readBytes(ascii("PK\3\4 the rest of a zip file")), "bad magic", "Npz.read");
    }

    @Test
    void refusesEmptyAndTinyFiles() {
        assertFormatError(() -> Npy.readBytes(new byte[0]), "truncated header", "empty file");
        assertFormatError(() -> Npy.readBytes(new byte[] {(byte) 0x93, 'N', 'U'}), "truncated header");
        assertFormatError(() -> Npy.readBytes(ascii("hi\n")), "bad magic", "found 68 69 0A");
    }

    @Test
    void refusesUnsupportedVersions() {
        byte[] v4 = npy(1, dict("<f4", "()"), floats(1));
        v4[6] = 4;
        assertFormatError(() -> Npy.readBytes(v4), "unsupported .npy format version 4.0", "1.0, 2.0, 3.0");
        byte[] v11 = npy(1, dict("<f4", "()"), floats(1));
        v11[7] = 1;
        assertFormatError(() -> Npy.readBytes(v11), "unsupported .npy format version 1.1");
    }

    @Test
    void refusesHeaderLongerThanTheFile() {
        byte[] b = npy(1, dict("<f4", "(2,)"), floats(1, 2));
        b[8] = (byte) 0xF0; // header length 0x..F0: more than remains
        b[9] = 0x7F;
        assertFormatError(() -> Npy.readBytes(b), "truncated header", "claims 32752 bytes");
        byte[] huge = npy(2, dict("<f4", "(2,)"), floats(1, 2));
        huge[8] = huge[9] = huge[10] = huge[11] = (byte) 0xFF;
        assertFormatError(() -> Npy.readBytes(huge), "header length 4294967295 exceeds the limit");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)",
        "{'descr': '<f4', 'fortran_order': False 'shape': (2, 3)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} junk",
        "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}",
        "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 3)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 99999999999999999999)}",
    })
    void refusesMalformedHeaderDicts(String header) {
        ArrayFormatException e = assertFormatError(() -> Npy.readBytes(npy(1, header, floats(1, 2, 3, 4, 5, 6))),
                "malformed header dict");
        assertTrue(e.getMessage().contains(header.strip()), "the message should quote the header: " + e.getMessage());
    }

    @Test
    void refusesHeadersWithWrongStructure() {
        assertFormatError(() -> Npy.readBytes(npy(1, "[1, 2]", new byte[0])), "malformed header dict", "not a dict");
        assertFormatError(() -> Npy.readBytes(npy(1, "{'descr': '<f4', 'fortran_order': False}", new byte[0])),
                "missing key 'shape'");
        assertFormatError(() -> Npy.readBytes(npy(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': ()}", floats(1))),
                "'fortran_order' must be True or False");
        assertFormatError(() -> Npy.readBytes(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': 5}", floats(1))),
                "'shape' must be a tuple of integers");
        assertFormatError(() -> Npy.readBytes(npy(1, dict("<f4", "('a',)"), floats(1))),
                "'shape' must be a tuple of integers");
    }

    @Test
    void refusesNegativeDimensions() {
        assertFormatError(() -> Npy.readBytes(npy(1, dict("<f4", "(-1, 3)"), floats(1, 2, 3))),
                "negative dimension in shape (-1, 3)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"<c16", "<u8", "|f4", "<f16", "<U5", "|O", "|S3", "<M8[ns]", "f4", "<f3"})
    void refusesUnsupportedDtypes(String descr) {
        assertFormatError(() -> Npy.readBytes(npy(1, dict(descr, "(1,)"), new byte[16])),
                "unsupported dtype '" + descr + "'", "supported: f4, f8, i8");
    }

    @Test
    void refusesStructuredDtypes() {
        String header = "{'descr': [('x', '<f4'), ('y', '<i8')], 'fortran_order': False, 'shape': (1,), }";
        assertFormatError(() -> Npy.readBytes(npy(1, header, new byte[12])), "structured", "supported:");
    }

    @Test
    void refusesShortData() {
        ArrayFormatException e = assertFormatError(() -> Npy.readBytes(npy(1, dict("<f4", "(2, 3)"), floats(1, 2))),
                "expected 24 bytes of data for <f4 (2, 3), found 8");
        assertEquals(null, e.source());
        assertFormatError(() -> Npy.readBytes(npy(1, dict("|u1", "(5,)"), new byte[4])),
                "expected 5 bytes of data for |u1 (5,), found 4");
    }

    @Test
    void refusesAbsurdShapesWithoutAllocating() {
        long before = MemoryStats.totalBlocks();
        assertFormatError(() -> Npy.readBytes(npy(1, dict("<f4", "(1000000000, 1000000000)"), floats(1))),
                "expected 4000000000000000000 bytes of data for <f4 (1000000000, 1000000000), found 4");
        assertFormatError(() -> Npy.readBytes(npy(1, dict("<f8", "(10000000000, 10000000000)"), floats(1))),
                "shape (10000000000, 10000000000) is too large");
        // |u1 data widens to 8 bytes per element: the tensor size must fit in a long too
        assertFormatError(() -> Npy.readBytes(npy(1, dict("|u1", "(2000000000000000000,)"), floats(1))),
                "is too large");
        assertEquals(before, MemoryStats.totalBlocks(), "nothing may be allocated for a lying header");
    }

    @Test
    void refusesInvalidUtf8InVersion3() {
        byte[] b = npy(3, dict("<f4", "(1,)"), floats(1));
        b[13] = (byte) 0xFF; // inside 'descr'
        assertFormatError(() -> Npy.readBytes(b), "not valid UTF-8");
    }

    @Test
    void namesTheFileInErrors() throws IOException {
        Path file = dir.resolve("broken.npy");
        Files.write(file, npy(1, dict("<f8", "(4,)"), new byte[8]));
        ArrayFormatException e = assertFormatError(() -> Npy.read(file),
                "expected 32 bytes of data for <f8 (4,), found 8");
        assertEquals(file.toString(), e.source());
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
    }

    @Test
    void truncatedFilesFailCleanlyAtEveryCutPoint() throws IOException {
        byte[] whole;
        try (Tensor t = sample(DType.FLOAT64, 3, 5)) {
            whole = Npy.toBytes(t);
        }
        for (int cut = 0; cut < whole.length; cut++) {
            byte[] part = Arrays.copyOf(whole, cut);
            assertFormatError(() -> Npy.readBytes(part));
        }
        byte[] fortran = Files.readAllBytes(resource("fortran_f8_3d.npy"));
        Path file = dir.resolve("cut.npy");
        for (int cut : new int[] {0, 5, 9, 50, 127, 128, 200, fortran.length - 1}) {
            Files.write(file, Arrays.copyOf(fortran, cut));
            assertFormatError(() -> Npy.read(file), file.toString());
        }
    }

    @Test
    void successfulReadsLeaveOnlyTheResult() throws IOException {
        long before = MemoryStats.liveBlocks();
        Tensor t = Npy.read(resource("fortran_f8_3d.npy"));
        assertEquals(before + 1, MemoryStats.liveBlocks(), "the fortran intermediate must be freed");
        t.close();
        assertEquals(before, MemoryStats.liveBlocks());
    }
}
