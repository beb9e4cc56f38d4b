package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

/**
 * The 16-bit kNN bank ({@code bank_dtype} bfloat16 / float16) against the float32 bank, on the
 * conformance cases' data and on random data: every score within the bound the rounding allows
 * (u = 2^-8 for bfloat16, 2^-11 for float16; see {@link BankDetector}), half the bank's bytes,
 * and a save/load round trip that keeps the 16 bits.
 */
class HalfBankTest {
    @TempDir Path dir;

    /** The rounding's unit roundoff: 2^-(significant bits). */
    private static double unitRoundoff(String bankDtype) {
        return bankDtype.equals("bfloat16") ? Math.scalb(1.0, -8) : Math.scalb(1.0, -11);
    }

    /** Room for the float32 values the search returns (both banks' scores are rounded to float32). */
    private static final double FLOAT32_SLACK = Math.scalb(1.0, -21);

    private static Tensor conformance(String id, String file) throws IOException {
        try {
            Path cases = Path.of(HalfBankTest.class.getResource("/conformance/manifest.json").toURI()).getParent().resolve("cases");
            return Npy.read(cases.resolve(id).resolve(file));
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The largest row norm of a bank (N, D). */
    private static double maxRowNorm(Tensor rows) {
        try (Tensor n = rows.to(DType.FLOAT64).normL2(1, false); Tensor m = n.max()) {
            return m.item();
        }
    }

    /**
     * KNN's score is the k-th nearest distance; rounding moves bank row b_i by at most u ||b_i||,
     * hence every distance, and so the k-th smallest, by at most u max_i ||b_i||.
     */
    private static void assertKnnWithinBound(Tensor fit, Tensor queries, int k, String bankDtype) {
        try (Scope s = Scope.open(); KNN exact = new KNN(null, k, "float32"); KNN half = new KNN(null, k, bankDtype)) {
            exact.fitFeatures(fit, null);
            half.fitFeatures(fit, null);
            assertEquals(DType.valueOf(bankDtype.toUpperCase()), half.state().get("bank").dtype());
            double[] e = exact.predictFeatures(queries).toDoubleArray(), h = half.predictFeatures(queries).toDoubleArray();
            double bound = unitRoundoff(bankDtype) * maxRowNorm(exact.state().get("bank"));
            double worst = 0;
            for (int i = 0; i < e.length; i++) {
                double diff = Math.abs(h[i] - e[i]);
                worst = Math.max(worst, diff);
                assertTrue(diff <= bound + FLOAT32_SLACK * Math.abs(e[i]), bankDtype + " query " + i + ": |" + h[i] + " - " + e[i] + "| > " + bound);
            }
            assertTrue(worst > 0, "the 16-bit bank is rounded, so some score moves");
        }
    }

    /**
     * NNGuide's score is -mean of the k largest <z, b_i> times E(z); each inner product moves by
     * at most u ||z|| ||b_i|| (Cauchy-Schwarz on the rounding error), so the mean of the k largest
     * by at most u ||z|| max_i ||b_i||, and the score by |E(z)| times that.
     */
    private static void assertNnGuideWithinBound(Tensor fit, Tensor queries, Tensor w, Tensor b, int k, String bankDtype) {
        try (Scope s = Scope.open(); NNGuide exact = new NNGuide(null, w, b, k, "float32"); NNGuide half = new NNGuide(null, w, b, k, bankDtype)) {
            exact.fitFeatures(fit, null);
            half.fitFeatures(fit, null);
            double[] e = exact.predictFeatures(queries).toDoubleArray(), h = half.predictFeatures(queries).toDoubleArray();
            double[] energy = queries.to(DType.FLOAT64).matmul(w.to(DType.FLOAT64).t()).add(b.to(DType.FLOAT64)).logsumexp(1).toDoubleArray();
            double[] norms = queries.to(DType.FLOAT64).normL2(1, false).toDoubleArray();
            double banks = maxRowNorm(exact.state().get("bank"));
            for (int i = 0; i < e.length; i++) {
                double bound = unitRoundoff(bankDtype) * Math.abs(energy[i]) * norms[i] * banks;
                assertTrue(Math.abs(h[i] - e[i]) <= bound + FLOAT32_SLACK * Math.abs(e[i]),
                        bankDtype + " query " + i + ": |" + h[i] + " - " + e[i] + "| > " + bound);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bfloat16", "float16"})
    void conformanceDataScoresWithinTheRoundingBound(String bankDtype) throws IOException {
        try (Scope s = Scope.open()) {
            assertKnnWithinBound(conformance("knn-features-01", "fit_x.npy"), conformance("knn-features-01", "predict_x.npy"), 1, bankDtype);
            String g = "nnguide-features-01";
            assertNnGuideWithinBound(conformance(g, "fit_x.npy"), conformance(g, "predict_x.npy"), conformance(g, "param_w.npy"),
                    conformance(g, "param_b.npy"), 10, bankDtype);
        }
    }

    /** Random data across several bank tiles (5000 rows), ReLU'd as penultimate features are, and L2-normalised rows. */
    @ParameterizedTest
    @ValueSource(strings = {"bfloat16", "float16"})
    void randomDataScoresWithinTheRoundingBound(String bankDtype) {
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(21);
            Tensor fit = Tensor.randn(rng, DType.FLOAT32, 5000, 64).relu(), queries = Tensor.randn(rng, DType.FLOAT32, 200, 64).relu();
            assertKnnWithinBound(fit, queries, 5, bankDtype);
            Tensor unitFit = fit.div(fit.normL2(1, true).clampMin(1e-12)), unitQueries = queries.div(queries.normL2(1, true).clampMin(1e-12));
            assertKnnWithinBound(unitFit, unitQueries, 1, bankDtype);   // unit rows: every distance within u = 2^-8 / 2^-11
            Tensor w = Tensor.randn(rng, DType.FLOAT32, 10, 64).mul(0.1), b = Tensor.randn(rng, DType.FLOAT32, 10);
            assertNnGuideWithinBound(fit, queries, w, b, 10, bankDtype);
        }
    }

    /** Half the bank's bytes, in memory and in the state file; the file keeps BF16 and maps it back (1.28 MB: over DetectorFiles.MAP_FROM); scores bit-identical. */
    @Test
    void bankIsHalfTheBytesAndRoundTripsIn16Bits() throws IOException {
        Path f32 = dir.resolve("knn32.safetensors"), f16 = dir.resolve("knn16.safetensors");
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(8);
            Tensor fit = Tensor.randn(rng, DType.FLOAT32, 5000, 128), queries = Tensor.randn(rng, DType.FLOAT32, 30, 128);
            try (KNN full = new KNN(null, 2, "float32"); KNN half = new KNN(null, 2, "bfloat16")) {
                full.fitFeatures(fit, null);
                half.bankMemory(0).fitFeatures(fit, null);   // spilled (a small bank is otherwise held in memory)
                Tensor bank = half.state().get("bank");
                assertTrue(bank.storage().readOnly(), "the 16-bit bank is the mapped spill file too");
                assertEquals(full.state().get("bank").storage().byteSize() / 2, bank.storage().byteSize(), "half the bytes");
                DetectorFiles.save(full, f32);
                DetectorFiles.save(half, f16);
                long header = 4096;
                assertTrue(Files.size(f16) < Files.size(f32) / 2 + header, Files.size(f16) + " vs " + Files.size(f32));
                double[] scores = half.predictFeatures(queries).toDoubleArray();
                try (KNN loaded = DetectorFiles.load(f16, null, KNN.class)) {
                    Tensor back = loaded.state().get("bank");
                    assertEquals(DType.BFLOAT16, back.dtype(), "the state file says and keeps bfloat16");
                    assertTrue(back.storage().readOnly(), "mapped from the state file");
                    assertEquals("bfloat16", loaded.bankDtype());
                    assertEquals("bfloat16", loaded.params().get("bank_dtype"));
                    assertArrayEquals(scores, loaded.predictFeatures(queries).toDoubleArray(), "bit-identical after the round trip");
                }
            }
        }
    }

    @Test
    void badValuesAreRefusedNamingTheProblem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new KNN(null, 1, "half"));
        assertTrue(e.getMessage().contains("bank_dtype") && e.getMessage().contains("'half'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DetectorRegistry.create("NNGuide",
                Map.of("w", Tensor.zeros(DType.FLOAT32, 2, 3), "b", Tensor.zeros(DType.FLOAT32, 2), "bank_dtype", "int8"), null));
        assertTrue(e.getMessage().contains("bank_dtype"), e.getMessage());
        try (Scope s = Scope.open(); KNN knn = new KNN(null, 1, "float16")) {
            Tensor big = Tensor.full(70000, DType.FLOAT32, 4, 3);
            e = assertThrows(IllegalArgumentException.class, () -> knn.fitFeatures(big, null));
            assertTrue(e.getMessage().contains("float16") && e.getMessage().contains("65504"), e.getMessage());
        }
    }
}
