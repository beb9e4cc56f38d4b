package org.ood4j.engine;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.ood4j.engine.backend.KnnOps.Metric;
import org.ood4j.engine.io.Npy;
import org.ood4j.engine.io.Safetensors;

/** The 16-bit storage types: rounding, conversions, the refusal of other ops, IO, and the kNN search over a 16-bit bank. */
class HalfFloatsTest {
    @TempDir Path dir;
    private Scope scope;
    private final SplittableRandom rng = new SplittableRandom(5);

    @BeforeEach void open() { scope = Scope.open(); }
    @AfterEach void close() { scope.close(); }

    /** bfloat16 keeps the top 16 bits, rounding the dropped 16 to nearest with ties to the even neighbour. */
    @Test
    void bfloat16RoundsToNearestEven() {
        float halfUlp = (float) Math.scalb(1.0, -8);               // bfloat16's ulp at 1 is 2^-7
        assertEquals(1.0f, decodeBf(1.0f + halfUlp), "a tie at 1 + 2^-8 goes to the even 1");
        assertEquals(1.0f + 4 * halfUlp, decodeBf(1.0f + 3 * halfUlp), "a tie at 1 + 3 * 2^-8 goes to the even 1 + 2^-6");
        assertEquals(1.0f + 2 * halfUlp, decodeBf(Math.nextUp(1.0f + halfUlp)), "above the tie rounds up");
        assertEquals((short) 0x3F80, HalfFloats.encode(DType.BFLOAT16, 1.0f));
        assertTrue(Float.isNaN(decodeBf(Float.intBitsToFloat(0x7F800001))), "a NaN whose payload sits in the dropped bits stays NaN");
        assertEquals(Float.NEGATIVE_INFINITY, decodeBf(Float.NEGATIVE_INFINITY));
        assertEquals(-0.0f, decodeBf(-0.0f));
    }

    /**
     * Against the definition over many random floats of every magnitude: the result is the nearer
     * of the two bfloat16 neighbours of x (the even one on a tie), so |error| <= 2^-8 |x| for a
     * normal x.
     */
    @Test
    void bfloat16IsTheNearestNeighbourWithinTheUnitRoundoff() {
        for (int i = 0; i < 200_000; i++) {
            float x = Float.intBitsToFloat(rng.nextInt() & 0x7EFFFFFF | (rng.nextBoolean() ? 0x80000000 : 0));   // finite, below the top binade
            int bits = Float.floatToRawIntBits(x);
            float down = Float.intBitsToFloat(bits & 0xFFFF0000), up = Float.intBitsToFloat((bits & 0xFFFF0000) + 0x10000);
            double dd = Math.abs((double) x - down), du = Math.abs((double) up - x);
            float nearest = dd < du ? down : du < dd ? up : ((bits >>> 16) & 1) == 0 ? down : up;
            float got = decodeBf(x);
            assertEquals(nearest, got, "x = " + x);
            // relative in the normal range; below it (subnormal) half of bfloat16's smallest ulp, 2^-133
            assertTrue(Math.abs((double) got - x) <= Math.max(Math.scalb(Math.abs((double) x), -8), Math.scalb(1.0, -134)), "x = " + x);
        }
    }

    @Test
    void float16IsJavasBinary16WithItsRange() {
        assertEquals(Float.float16ToFloat(Float.floatToFloat16(0.1f)), HalfFloats.decode(DType.FLOAT16, HalfFloats.encode(DType.FLOAT16, 0.1f)));
        assertEquals(65504f, HalfFloats.decode(DType.FLOAT16, HalfFloats.encode(DType.FLOAT16, 65504f)));
        assertEquals(Float.POSITIVE_INFINITY, HalfFloats.decode(DType.FLOAT16, HalfFloats.encode(DType.FLOAT16, 70000f)), "beyond 65504: infinity");
        for (int i = 0; i < 100_000; i++) {
            float x = (float) rng.nextDouble(-1000, 1000);
            float got = HalfFloats.decode(DType.FLOAT16, HalfFloats.encode(DType.FLOAT16, x));
            assertTrue(Math.abs((double) got - x) <= Math.max(Math.scalb(Math.abs((double) x), -11), Math.scalb(1.0, -25)), "x = " + x);
        }
    }

    /** to(DType) both ways, from a strided view, and element access; the 16-bit tensor has half float32's bytes. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BFLOAT16", "FLOAT16"})
    void convertsBothWaysFromAnyStrides(DType half) {
        Tensor x = Tensor.randn(rng, DType.FLOAT32, 5, 7);
        Tensor xt = x.t();                                          // (7, 5), strided
        Tensor h = xt.to(half);
        assertEquals(half, h.dtype());
        assertArrayEquals(new long[] {7, 5}, h.shape());
        assertEquals(7 * 5 * 2, h.storage().byteSize(), "2 bytes an element");
        float[] expected = xt.contiguous().toFloatArray(), back = h.to(DType.FLOAT32).toFloatArray();
        for (int i = 0; i < expected.length; i++) assertEquals(HalfFloats.decode(half, HalfFloats.encode(half, expected[i])), back[i]);
        assertEquals(back[3 * 5 + 2], h.getDouble(3, 2), "element access decodes");
        Tensor ht = h.t();                                          // a strided 16-bit view, decoded in place
        assertArrayEquals(x.to(half).to(DType.FLOAT64).toDoubleArray(), ht.to(DType.FLOAT64).toDoubleArray());
        assertArrayEquals(back, h.copy().to(DType.FLOAT32).toFloatArray(), "a copy keeps the bits");
        Tensor into = Tensor.zeros(half, 7, 5);
        into.copyFrom(xt);                                          // encoded into 16-bit storage (a bank's rows held in memory)
        assertArrayEquals(back, into.to(DType.FLOAT32).toFloatArray());
        assertArrayEquals(back, Tensor.cat(java.util.List.of(h.slice(0, 0, 3), h.slice(0, 3, 7)), 0).toFloatArray(), "cat decodes into float32");
    }

    @Test
    void opsOtherThanConversionRefuseNamingTheDtype() {
        Tensor h = Tensor.randn(rng, DType.FLOAT32, 4, 3).to(DType.BFLOAT16);
        Tensor f = Tensor.randn(rng, DType.FLOAT32, 4, 3);
        for (Runnable op : new Runnable[] {() -> h.add(f), () -> f.mul(h), () -> h.sum(), () -> h.exp(), () -> h.matmul(f.t()),
                () -> Knn.search(h, f, 1, Metric.L2)}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, op::run);
            assertTrue(e.getMessage().contains("BFLOAT16"), e.getMessage());
        }
        assertFalse(DType.BFLOAT16.isFloating(), "not a type the ops compute in");
        assertEquals(DType.FLOAT32, DType.promote(DType.FLOAT16, DType.INT64));
    }

    /**
     * The search over a 16-bit bank is the float32 search over its decoded rows, bit for bit:
     * the tiles decode exactly, so the GEMM, the candidates and the float64 re-ranking all see the
     * same numbers. Two bank tiles, both metrics.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BFLOAT16", "FLOAT16"})
    void searchOverA16BitBankIsTheSearchOverItsDecodedRows(DType half) {
        Tensor queries = Tensor.randn(rng, DType.FLOAT32, 300, 24);
        Tensor bank = Tensor.randn(rng, DType.FLOAT32, 4100, 24).to(half);
        Tensor decoded = bank.to(DType.FLOAT32);
        for (Metric metric : Metric.values()) {
            try (Knn.Result r = Knn.search(queries, bank, 5, metric); Knn.Result e = Knn.search(queries, decoded, 5, metric)) {
                assertEquals(DType.FLOAT32, r.values().dtype());
                assertArrayEquals(e.indices().toLongArray(), r.indices().toLongArray(), metric.toString());
                assertArrayEquals(e.values().toFloatArray(), r.values().toFloatArray(), metric.toString());
            }
        }
    }

    /** Saved as BF16 / F16; read back widened to float32 by default, or kept (and mapped) on request; .npy has float16 only. */
    @Test
    void safetensorsKeepsOrWidensAndNpyRefusesBfloat16() throws IOException {
        Tensor x = Tensor.randn(rng, DType.FLOAT32, 300, 9);
        Tensor bf = x.to(DType.BFLOAT16), f16 = x.to(DType.FLOAT16);
        Path file = dir.resolve("halves.safetensors");
        Safetensors.write(file, Map.of("bf", bf, "f16", f16));
        assertEquals(8 + 2L * 300 * 9 * 2, Files.size(file), 1024, "two bytes an element (plus the header)");
        Map<String, Tensor> widened = Safetensors.read(file), kept = Safetensors.read(file, 1, true);
        try {
            assertEquals(DType.FLOAT32, widened.get("bf").dtype());
            assertArrayEquals(bf.to(DType.FLOAT32).toFloatArray(), widened.get("bf").toFloatArray());
            assertEquals(DType.BFLOAT16, kept.get("bf").dtype());
            assertEquals(DType.FLOAT16, kept.get("f16").dtype());
            assertTrue(kept.get("bf").storage().readOnly(), "kept 16-bit tensors are mapped");
            assertArrayEquals(f16.to(DType.FLOAT32).toFloatArray(), kept.get("f16").to(DType.FLOAT32).toFloatArray());
        } finally {
            widened.values().forEach(Tensor::close);
            kept.values().forEach(Tensor::close);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Npy.write(dir.resolve("bf.npy"), bf));
        assertTrue(e.getMessage().contains("bfloat16"), e.getMessage());
        Npy.write(dir.resolve("f16.npy"), f16);
        try (Tensor back = Npy.read(dir.resolve("f16.npy"))) {
            assertArrayEquals(f16.to(DType.FLOAT32).toFloatArray(), back.toFloatArray(), "<f2 reads back widened");
        }
    }

    private static float decodeBf(float x) {
        return HalfFloats.decode(DType.BFLOAT16, HalfFloats.encode(DType.BFLOAT16, x));
    }
}
