package org.ood4j.engine.io;

import static org.junit.jupiter.api.Assertions.*;
import static org.ood4j.engine.io.IoTestSupport.assertFormatError;
import static org.ood4j.engine.io.IoTestSupport.resource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** Npy.map: the file's bytes as a read-only tensor, no copy. */
class NpyMapTest {
    @TempDir Path dir;

    @Test
    void aMappedArrayEqualsTheReadOneAndComputesLikeIt() throws IOException {
        Path f = dir.resolve("x.npy");
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(new SplittableRandom(3), DType.FLOAT32, 300, 7);
            Npy.write(f, x);
            Tensor mapped = Npy.map(f);
            assertTrue(mapped.storage().readOnly(), "mapped, not copied");
            assertArrayEquals(x.shape(), mapped.shape());
            assertEquals(DType.FLOAT32, mapped.dtype());
            assertArrayEquals(x.toDoubleArray(), mapped.toDoubleArray());
            // views and ops read it as any host tensor
            assertArrayEquals(x.slice(0, 100, 200).sum(0, false).toDoubleArray(), mapped.slice(0, 100, 200).sum(0, false).toDoubleArray());
            assertArrayEquals(x.matmul(x.t()).toDoubleArray(), mapped.matmul(mapped.t()).toDoubleArray());
        }
        for (String name : new String[] {"v2_f8.npy", "v3_i8.npy", "conformance_fit_y_i8.npy"}) {
            try (Tensor read = Npy.read(resource(name)); Tensor mapped = Npy.map(resource(name))) {
                assertEquals(read.dtype(), mapped.dtype(), name);
                assertArrayEquals(read.toDoubleArray(), mapped.toDoubleArray(), name);
            }
        }
    }

    @Test
    void writesAreRefusedAndTheMappingEndsWithTheLastView() throws IOException {
        Path f = dir.resolve("y.npy");
        try (Tensor x = Tensor.of(new double[] {1, 2, 3, 4}, 2, 2)) {
            Npy.write(f, x);
        }
        long before = MemoryStats.liveBlocks();
        Tensor mapped = Npy.map(f);
        Tensor row = mapped.select(0, 1);
        IllegalStateException set = assertThrows(IllegalStateException.class, () -> row.set(9, 0));
        assertTrue(set.getMessage().contains("read-only") && set.getMessage().contains("y.npy"), set.getMessage());
        try (Tensor zeros = Tensor.zeros(DType.FLOAT64, 2, 2)) {
            assertThrows(IllegalStateException.class, () -> mapped.copyFrom(zeros));
        }
        try (Tensor copy = mapped.copy()) {
            copy.set(9, 0, 0);                                      // a copy is ordinary memory
            assertEquals(9, copy.getDouble(0, 0));
        }
        // an atomic rewrite of the file gives it a new inode: the mapping keeps the old bytes
        try (Tensor other = Tensor.of(new double[] {5, 6, 7, 8}, 2, 2)) {
            Npy.write(f, other);
        }
        assertArrayEquals(new double[] {3, 4}, row.toDoubleArray());
        mapped.close();
        assertEquals(before + 1, MemoryStats.liveBlocks(), "the view keeps the mapping");
        row.close();
        assertEquals(before, MemoryStats.liveBlocks());
    }

    @Test
    void whatCannotBeMappedAsStoredIsRefusedWithTheReason() throws IOException {
        assertFormatError(() -> Npy.map(resource("fortran_f4.npy")), "Fortran");
        assertFormatError(() -> Npy.map(resource("be_f8.npy")), ">f8", "little-endian");
        assertFormatError(() -> Npy.map(resource("f2.npy")), "<f2");
        assertFormatError(() -> Npy.map(resource("b1.npy")), "|b1");
        byte[] full = Files.readAllBytes(resource("v2_f8.npy"));
        Path truncated = Files.write(dir.resolve("t.npy"), java.util.Arrays.copyOf(full, full.length - 3));
        assertFormatError(() -> Npy.map(truncated), "expected");
        try (Tensor empty = Npy.map(resource("empty_f4.npy"))) {
            assertEquals(0, empty.numel());
        }
    }
}
