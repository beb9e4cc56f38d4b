package org.ood4j.engine.io;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** Npy.write(path, dtype, shape, producer) and writeBool: an array written in parts is the array; a wrong count keeps the old file. */
class NpyStreamTest {
    @TempDir Path dir;

    @Test
    void partsMakeTheSameFileAsTheWholeArray() throws IOException {
        Path parts = dir.resolve("parts.npy"), whole = dir.resolve("whole.npy"), bools = dir.resolve("b.npy");
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(new SplittableRandom(4), DType.FLOAT64, 100, 3);
            Npy.write(whole, x.to(DType.FLOAT32));
            Npy.write(parts, DType.FLOAT32, new long[] {100, 3}, sink -> {
                sink.write(x.slice(0, 0, 37));               // float64 parts, converted
                sink.write(x.slice(0, 37, 100).t().t());
            });
            assertArrayEquals(Files.readAllBytes(whole), Files.readAllBytes(parts));
            Npy.writeBool(bools, new long[] {4}, sink -> {
                sink.write(Tensor.of(new long[] {0, 3}));
                sink.write(Tensor.of(new double[] {-1, 0}));
            });
            Npy.write(dir.resolve("ref.npy"), new boolean[] {false, true, true, false});
            assertArrayEquals(Files.readAllBytes(dir.resolve("ref.npy")), Files.readAllBytes(bools));
        }
    }

    @Test
    void tooFewOrTooManyElementsLeaveThePreviousFile() throws IOException {
        Path f = dir.resolve("x.npy");
        try (Scope s = Scope.open()) {
            Npy.write(f, Tensor.ones(DType.FLOAT64, 2));
            byte[] before = Files.readAllBytes(f);
            IOException few = assertThrows(IOException.class,
                    () -> Npy.write(f, DType.FLOAT64, new long[] {5}, sink -> sink.write(Tensor.zeros(DType.FLOAT64, 4))));
            assertTrue(few.getMessage().contains("got 4 of the 5 elements of shape (5,)"), few.getMessage());
            IOException many = assertThrows(IOException.class,
                    () -> Npy.write(f, DType.FLOAT64, new long[] {5}, sink -> sink.write(Tensor.zeros(DType.FLOAT64, 6))));
            assertTrue(many.getMessage().contains("more than the 5 elements"), many.getMessage());
            assertArrayEquals(before, Files.readAllBytes(f));
            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(1, files.count(), "no temporary left");
            }
        }
    }
}
