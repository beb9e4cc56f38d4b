package org.ood4j.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ood4j.engine.io.IoTestSupport.ascii;
import static org.ood4j.engine.io.IoTestSupport.assertFormatError;
import static org.ood4j.engine.io.IoTestSupport.resource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Tensor;

class NpzTest {
    @TempDir
    Path dir;

    private static void closeAll(Map<String, Tensor> m) {
        m.values().forEach(Tensor::close);
    }

    /** A zip archive with the given entries, each stored or deflated by the JDK's defaults. */
    private Path zip(String name, Map<String, byte[]> entries) throws IOException {
        Path file = dir.resolve(name);
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(file))) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return file;
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void roundTripsInOrder(boolean compress) throws IOException {
        long before = MemoryStats.liveBlocks();
        Path file = dir.resolve("a.npz");
        try (Tensor w = NpyTest.sample(DType.FLOAT32, 3, 5);
             Tensor wt = w.t();
             Tensor d = NpyTest.sample(DType.FLOAT64);
             Tensor n = NpyTest.sample(DType.INT64, 9);
             Tensor e = NpyTest.sample(DType.FLOAT32, 0, 2)) {
            Map<String, Tensor> arrays = new LinkedHashMap<>();
            arrays.put("zeta", wt);
            arrays.put("alpha", d);
            arrays.put("labels", n);
            arrays.put("nested/empty", e);
            Npz.write(file, arrays, compress);
            Map<String, Tensor> back = Npz.read(file);
            try {
                assertEquals(List.of("zeta", "alpha", "labels", "nested/empty"), new ArrayList<>(back.keySet()));
                for (String k : arrays.keySet()) {
                    assertEquals(arrays.get(k).dtype(), back.get(k).dtype(), k);
                    assertArrayEquals(arrays.get(k).shape(), back.get(k).shape(), k);
                    assertArrayEquals(NpyTest.bits(arrays.get(k)), NpyTest.bits(back.get(k)), k);
                }
            } finally {
                closeAll(back);
            }
        }
        try (ZipFile z = new ZipFile(file.toFile())) {
            int method = compress ? ZipEntry.DEFLATED : ZipEntry.STORED;
            z.stream().forEach(en -> assertEquals(method, en.getMethod(), en.getName()));
            assertEquals(List.of("zeta.npy", "alpha.npy", "labels.npy", "nested/empty.npy"),
                    z.stream().map(ZipEntry::getName).toList());
        }
        assertEquals(before, MemoryStats.liveBlocks());
    }

    @Test
    void writeAndWriteCompressedShortcuts() throws IOException {
        try (Tensor t = Tensor.of(new long[] {1, 2, 3})) {
            Path stored = dir.resolve("s.npz");
            Path deflated = dir.resolve("d.npz");
            Npz.write(stored, Map.of("x", t));
            Npz.writeCompressed(deflated, Map.of("x", t));
            for (Path p : List.of(stored, deflated)) {
                Map<String, Tensor> m = Npz.read(p);
                assertArrayEquals(new long[] {1, 2, 3}, m.get("x").toLongArray());
                closeAll(m);
            }
        }
    }

    @Test
    void readsNumpySavez() throws IOException {
        Map<String, Tensor> m = Npz.read(resource("stored.npz"));
        try {
            assertEquals(List.of("a", "b"), new ArrayList<>(m.keySet()));
            assertArrayEquals(new float[] {1, 2}, m.get("a").toFloatArray());
            assertEquals(DType.INT64, m.get("b").dtype());
            assertArrayEquals(new long[] {2, 3}, m.get("b").shape());
            assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5}, m.get("b").toLongArray());
        } finally {
            closeAll(m);
        }
    }

    @Test
    void readsNumpySavezCompressed() throws IOException {
        Map<String, Tensor> m = Npz.read(resource("deflated.npz"));
        try {
            assertEquals(List.of("weights", "labels", "flag"), new ArrayList<>(m.keySet()));
            assertArrayEquals(new long[] {2, 3}, m.get("weights").shape());
            assertArrayEquals(new float[] {0.25f, -1, 8, 1e-3f, 2, -0.0f}, m.get("weights").toFloatArray());
            assertArrayEquals(new long[] {3, 1, 4, 1}, m.get("labels").toLongArray());
            assertEquals(DType.INT64, m.get("flag").dtype());
            assertArrayEquals(new long[] {1, 0, 1}, m.get("flag").toLongArray());
        } finally {
            closeAll(m);
        }
    }

    @Test
    void refusesFilesThatAreNotZipArchives() throws IOException {
        Path file = dir.resolve("plain.npz");
        Files.write(file, ascii("this is not a zip archive at all"));
        assertFormatError(() -> Npz.read(file), file.toString(), "not a zip archive");
        Path npy = dir.resolve("array.npz");
        try (Tensor t = Tensor.of(new float[] {1})) {
            Npy.write(npy, t);
        }
        assertFormatError(() -> Npz.read(npy), "not a zip archive");
    }

    @Test
    void refusesEntriesThatAreNotArrays() throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (Tensor t = Tensor.of(new float[] {1, 2})) {
            entries.put("ok.npy", Npy.toBytes(t));
        }
        entries.put("readme.txt", ascii("hello"));
        Path file = zip("mixed.npz", entries);
        assertFormatError(() -> Npz.read(file), "entry 'readme.txt' is not a .npy array");
    }

    @Test
    void refusesDuplicateNames() throws IOException {
        // ZipOutputStream refuses duplicate names, so build the archive by renaming an entry's bytes.
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (Tensor t = Tensor.of(new float[] {1, 2})) {
            entries.put("aa.npy", Npy.toBytes(t));
            entries.put("ab.npy", Npy.toBytes(t));
        }
        Path file = zip("dup.npz", entries);
        byte[] b = Files.readAllBytes(file);
        String s = new String(b, StandardCharsets.ISO_8859_1).replace("ab.npy", "aa.npy");
        Files.write(file, ascii(s));
        assertFormatError(() -> Npz.read(file), "duplicate entry 'aa.npy'");
    }

    @Test
    void closesArraysAlreadyReadWhenALaterEntryFails() throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (Tensor a = NpyTest.sample(DType.FLOAT64, 4, 4); Tensor b = NpyTest.sample(DType.INT64, 3)) {
            entries.put("a.npy", Npy.toBytes(a));
            entries.put("b.npy", Npy.toBytes(b));
        }
        byte[] lying = NpyTest.npy(1, NpyTest.dict("<f4", "(1000000000, 1000000000)"), NpyTest.floats(1));
        entries.put("c.npy", lying);
        Path file = zip("bad.npz", entries);
        ArrayFormatException e = assertFormatError(() -> Npz.read(file),
                "entry 'c.npy'", "expected 4000000000000000000 bytes of data for <f4 (1000000000, 1000000000), found 4");
        assertTrue(e.source().startsWith(file.toString()), e.source());

        entries.put("c.npy", Arrays.copyOf(entries.get("a.npy"), 100));
        Path truncated = zip("truncated-entry.npz", entries);
        assertFormatError(() -> Npz.read(truncated), "entry 'c.npy'", "truncated header");
    }

    @Test
    void truncatedArchivesFailCleanly() throws IOException {
        Path whole = dir.resolve("whole.npz");
        try (Tensor a = NpyTest.sample(DType.FLOAT32, 20, 20); Tensor b = NpyTest.sample(DType.INT64, 50)) {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("a", a);
            m.put("b", b);
            Npz.writeCompressed(whole, m);
        }
        byte[] bytes = Files.readAllBytes(whole);
        Path cut = dir.resolve("cut.npz");
        for (int n : new int[] {0, 10, 100, bytes.length / 2, bytes.length - 30, bytes.length - 1}) {
            Files.write(cut, Arrays.copyOf(bytes, n));
            assertFormatError(() -> Npz.read(cut), cut.toString());
        }
    }

    @Test
    void corruptDeflatedDataFailsCleanly() throws IOException {
        Path file = dir.resolve("corrupt.npz");
        try (Tensor a = NpyTest.sample(DType.FLOAT64, 64, 64)) {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("a", a);
            Npz.writeCompressed(file, m);
        }
        byte[] b = Files.readAllBytes(file);
        for (int i = 200; i < 400; i++) b[i] = (byte) 0xAA; // inside the compressed stream
        Files.write(file, b);
        assertFormatError(() -> Npz.read(file), "entry 'a.npy'");
    }

    @Test
    void damagedStoredDataFailsTheCrcCheck() throws IOException {
        Path file = dir.resolve("flipped.npz");
        try (Tensor a = Tensor.of(new double[] {1.25, 2.5, 3.75})) {
            Npz.write(file, Map.of("a", a));
        }
        byte[] b = Files.readAllBytes(file);
        // a stored entry: local header (30 bytes + name), then the .npy image with its 128-byte header
        int data = 30 + "a.npy".length() + 128;
        assertEquals(1.25, java.nio.ByteBuffer.wrap(b, data, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getDouble());
        b[data + 3] ^= 0x10;
        Files.write(file, b);
        assertFormatError(() -> Npz.read(file), "entry 'a.npy'", "CRC mismatch");
    }

    @Test
    void writeRefusesEmptyNamesAndClosedTensors() throws IOException {
        Tensor closed = Tensor.of(new float[] {1});
        closed.close();
        Path file = dir.resolve("x.npz");
        assertThrows(IllegalStateException.class, () -> Npz.write(file, Map.of("x", closed)));
        try (Tensor t = Tensor.of(new float[] {1})) {
            assertThrows(IllegalArgumentException.class, () -> Npz.write(file, Map.of("", t)));
        }
    }
}
