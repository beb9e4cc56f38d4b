package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;
import org.ood4j.engine.io.Npz;
import org.ood4j.engine.io.Safetensors;

/**
 * Mutation fuzzing of the file readers: valid files with flipped bits, overwritten bytes (0, 0xff,
 * digits, quotes), cut or extended ends and spliced ranges. Whatever the bytes, a reader returns
 * or throws an IOException (the documented {@code ArrayFormatException}, or a zip error for .npz);
 * nothing else escapes, nothing runs out of memory (sizes are checked against the file before
 * allocating), and a failed read leaves no native memory behind. {@code -Dfuzz.seconds=N}
 * (default 2 per reader) runs longer.
 */
class ReaderFuzzTest {
    static final double SECONDS = Double.parseDouble(System.getProperty("fuzz.seconds", "2"));

    @TempDir Path dir;

    interface Reader { void read(Path file) throws IOException; }

    static Stream<Arguments> readers() {
        return Stream.of(
                Arguments.of("npy", (Reader) f -> Npy.read(f).close()),
                Arguments.of("npz", (Reader) f -> Npz.read(f).values().forEach(Tensor::close)),
                Arguments.of("safetensors", (Reader) f -> Safetensors.read(f).values().forEach(Tensor::close)),
                Arguments.of("detector", (Reader) f -> DetectorFiles.load(f, null).close()));
    }

    private byte[] seed(String kind) throws IOException {
        Path f = dir.resolve("seed." + kind);
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.randn(new SplittableRandom(1), DType.FLOAT32, 3, 4);
            Tensor b = Tensor.of(new long[] {1, -2, 3});
            switch (kind) {
                case "npy" -> Npy.write(f, a);
                case "npz" -> Npz.write(f, Map.of("a", a, "b", b), true);
                case "safetensors" -> Safetensors.write(f, Map.of("a", a, "b", b), Map.of("k", "v"));
                default -> {
                    try (OpenMax om = new OpenMax(null, 3, 2, 0.5)) {
                        om.fitLogits(Tensor.of(new float[][] {{3, 0}, {0, 3}, {2, 0}, {0, 2}}), Tensor.of(new long[] {0, 1, 0, 1}));
                        DetectorFiles.save(om, f);
                    }
                }
            }
        }
        return Files.readAllBytes(f);
    }

    private static byte[] mutate(byte[] seed, SplittableRandom rng) {
        byte[] b = seed.clone();
        int edits = 1 + rng.nextInt(4);
        for (int e = 0; e < edits; e++) {
            switch (rng.nextInt(6)) {
                case 0 -> { int i = rng.nextInt(b.length); b[i] ^= (byte) (1 << rng.nextInt(8)); }
                case 1 -> b[rng.nextInt(b.length)] = (byte) new int[] {0, 0xff, 0x7f, '9', '\'', '"', '(', ',', '-'}[rng.nextInt(9)];
                case 2 -> b = java.util.Arrays.copyOf(b, rng.nextInt(b.length + 1));
                case 3 -> b = java.util.Arrays.copyOf(b, b.length + rng.nextInt(64));
                case 4 -> {
                    if (b.length > 2) {
                        int from = rng.nextInt(b.length), to = rng.nextInt(b.length), len = rng.nextInt(Math.min(16, b.length - Math.max(from, to)) + 1);
                        System.arraycopy(b, from, b, to, len);
                    }
                }
                default -> { // a digit run in the header region: lying sizes and shapes
                    int i = rng.nextInt(Math.min(b.length, 128) + 1);
                    for (int k = i; k < Math.min(b.length, i + 1 + rng.nextInt(6)); k++) b[k] = (byte) ('0' + rng.nextInt(10));
                }
            }
            if (b.length == 0) break;
        }
        return b;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("readers")
    void onlyDocumentedExceptionsEscape(String kind, Reader reader) throws IOException {
        byte[] seed = seed(kind);
        SplittableRandom rng = new SplittableRandom(kind.hashCode());
        Path target = dir.resolve("case." + kind);
        long blocks = MemoryStats.liveBlocks();
        long deadline = System.nanoTime() + (long) (SECONDS * 1e9);
        int runs = 0, rejected = 0;
        while (System.nanoTime() < deadline) {
            byte[] bytes = mutate(seed, rng);
            Files.write(target, bytes);
            try {
                reader.read(target);
            } catch (IOException expected) {
                rejected++;
            } catch (Throwable other) {
                fail(kind + ": " + other + " escaped on input " + java.util.HexFormat.of().formatHex(bytes, 0, Math.min(bytes.length, 200)), other);
            }
            runs++;
        }
        assertEquals(blocks, MemoryStats.liveBlocks(), kind + ": native memory after " + runs + " fuzzed reads");
        System.out.println("fuzz " + kind + ": " + runs + " executions, " + rejected + " rejected with an IOException");
        assertTrue(runs > 50, "too few executions: " + runs);
    }
}
