package org.ood4j.engine.io;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;

class IdxTest {
    @TempDir Path dir;

    /** A 2 x 3 unsigned-byte IDX array 0, 1, ..., 5 (with 255 last), as MNIST's images are stored. */
    private static byte[] ubyteArray() {
        return new byte[] {0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 2, 3, 4, (byte) 255};
    }

    private static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        }
        return out.toByteArray();
    }

    @Test
    void readsFilesAndStreamsPlainOrGzipped() throws IOException {
        Path plain = dir.resolve("a-idx2-ubyte"), zipped = dir.resolve("a-idx2-ubyte.gz");
        Files.write(plain, ubyteArray());
        Files.write(zipped, gzip(ubyteArray()));
        long[] expected = {0, 1, 2, 3, 4, 255};
        for (Tensor t : new Tensor[] {Idx.read(plain), Idx.read(zipped), Idx.read(new ByteArrayInputStream(ubyteArray()), "a"),
                Idx.read(new ByteArrayInputStream(gzip(ubyteArray())), "a.gz")}) {
            try (t) {
                assertEquals(DType.INT64, t.dtype());
                assertArrayEquals(new long[] {2, 3}, t.shape());
                assertArrayEquals(expected, t.toLongArray());
            }
        }
    }

    @Test
    void aTruncatedStreamIsAFormatError() {
        byte[] cut = java.util.Arrays.copyOf(ubyteArray(), 15);
        ArrayFormatException e = assertThrows(ArrayFormatException.class, () -> Idx.read(new ByteArrayInputStream(cut), "cut"));
        assertTrue(e.getMessage().contains("cut"), e.getMessage());
    }
}
