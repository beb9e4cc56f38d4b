package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * The kNN bank in memory and on disk: KNN and NNGuide keep a small bank in memory and spill a large
 * one while fitting and map it back (the same bits either way, also when a fit crosses the limit),
 * save it into the state file and map it from there, and score exactly as a brute-force search does.
 */
class BankDetectorTest {
    @TempDir Path dir;

    /** 3000 x 128 float32 = 1.5 MB: above DetectorFiles.MAP_FROM, so the saved bank is mapped on loading. */
    private static final int N = 3000, D = 128;

    private long filesIn(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.count();
        }
    }

    /** The k-th smallest Euclidean distance from each query to the bank, by brute force in float64. */
    private static double[] bruteForceKnn(Tensor queries, Tensor bank, int k) {
        double[][] q = queries.to(DType.FLOAT64).toDoubleMatrix(), b = bank.to(DType.FLOAT64).toDoubleMatrix();
        double[] out = new double[q.length];
        for (int i = 0; i < q.length; i++) {
            double[] dist = new double[b.length];
            for (int j = 0; j < b.length; j++) {
                double s = 0;
                for (int p = 0; p < q[i].length; p++) s += (q[i][p] - b[j][p]) * (q[i][p] - b[j][p]);
                dist[j] = Math.sqrt(s);
            }
            java.util.Arrays.sort(dist);
            out[i] = dist[k - 1];
        }
        return out;
    }

    @Test
    void knnBankIsSpilledMappedSavedAndMappedBackWithExactScores() throws IOException {
        Path spill = Files.createDirectories(dir.resolve("spill")), state = dir.resolve("knn.safetensors");
        long blocks = MemoryStats.liveBlocks();
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(7);
            Tensor fit = Tensor.randn(rng, DType.FLOAT32, N, D).relu();
            Tensor labels = Tensor.zeros(DType.INT64, N);
            labels.slice(0, 0, 10).copyFrom(Tensor.full(-1, DType.INT64, 10));     // 10 OOD rows: not in the bank
            Tensor queries = Tensor.randn(rng, DType.FLOAT32, 50, D).relu();
            double[] expected = bruteForceKnn(queries, fit.slice(0, 10, N), 3);
            try (KNN knn = new KNN(null, 3)) {
                knn.spillFolder(spill).bankMemory(0).fitFeatures(fit, labels);   // 0: spilled however small
                assertEquals(0, filesIn(spill), "the spill file is unlinked once mapped");
                Tensor bank = knn.state().get("bank");
                assertTrue(bank.storage().readOnly(), "the bank is the mapped spill, not a heap or malloc copy");
                assertArrayEquals(new long[] {N - 10, D}, bank.shape());
                assertEquals(DType.FLOAT32, bank.dtype(), "float32 features, a float32 bank");
                double[] scores = knn.predictFeatures(queries).toDoubleArray();
                for (int i = 0; i < expected.length; i++) assertEquals(expected[i], scores[i], 1e-7 * expected[i], "query " + i);   // the float32 search returns float32 distances
                DetectorFiles.save(knn, state);
                try (KNN loaded = DetectorFiles.load(state, null, KNN.class)) {
                    assertTrue(loaded.state().get("bank").storage().readOnly(), "loading maps the bank from the state file");
                    assertArrayEquals(scores, loaded.predictFeatures(queries).toDoubleArray(), "bit-identical after a round trip");
                }
            }
        }
        assertEquals(blocks, MemoryStats.liveBlocks(), "the mappings end with the detectors");
    }

    @Test
    void nnGuideBankIsTheEnergyScaledRowsAndRoundTrips() throws IOException {
        Path state = dir.resolve("nng.safetensors");
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(11);
            Tensor fit = Tensor.randn(rng, DType.FLOAT32, N, D).relu(), queries = Tensor.randn(rng, DType.FLOAT32, 40, D).relu();
            Tensor w = Tensor.randn(rng, DType.FLOAT64, 5, D).mul(0.1), b = Tensor.randn(rng, DType.FLOAT64, 5);
            try (NNGuide nng = new NNGuide(null, w, b, 4)) {
                nng.spillFolder(dir).bankMemory(0).fitFeatures(fit, null);
                Tensor bank = nng.state().get("bank");
                assertTrue(bank.storage().readOnly());
                // row i of the bank is E(z_i) z_i, E = logsumexp of the head's logits computed in float64, then
                // rounded to float32, and the product taken in float32: within one float32 rounding of the exact row
                Tensor z = fit.slice(0, 100, 101).to(DType.FLOAT64);
                double energy = z.matmul(w.t()).add(b).logsumexp(1).item();
                double[] exact = z.mul(energy).toDoubleArray(), stored = bank.slice(0, 100, 101).toDoubleArray();
                for (int j = 0; j < D; j++) assertEquals(exact[j], stored[j], 1.2e-7 * Math.abs(exact[j]), "bank column " + j);
                double[] scores = nng.predictFeatures(queries).toDoubleArray();
                DetectorFiles.save(nng, state);
                try (NNGuide loaded = DetectorFiles.load(state, null, NNGuide.class)) {
                    assertArrayEquals(scores, loaded.predictFeatures(queries).toDoubleArray());
                }
            }
        }
    }

    @Test
    void nnGuideWritesItsBankRowsInPlaceWithTheBitsOfTheProduct() throws IOException {
        // in memory NNGuide writes E(z) z straight into the held bank (Tensor.mul with a destination); spilled,
        // the product goes through a tensor of its own: the same bits, in float32 and in bfloat16, over 3 chunks
        long blocks = MemoryStats.liveBlocks();
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(15);
            Tensor x = Tensor.randn(rng, DType.FLOAT32, 9000, 24).relu(), y = Tensor.zeros(DType.INT64, 9000);
            Tensor w = Tensor.randn(rng, DType.FLOAT32, 5, 24).mul(0.1), b = Tensor.randn(rng, DType.FLOAT32, 5);
            for (String dtype : new String[] {"features", "bfloat16"}) {
                double[] want = null;
                for (long limit : LIMITS) {
                    try (NNGuide nng = new NNGuide(null, w, b, 3, dtype)) {
                        nng.spillFolder(dir).bankMemory(limit).fitFeatures(x, y);
                        Tensor bank = nng.state().get("bank");
                        if (want == null) {
                            try (LinearHead head = new LinearHead(w, b); Tensor e = head.logSumExps(x); Tensor e32 = e.to(DType.FLOAT32);
                                 Tensor product = x.mul(e32.reshape(-1, 1)); Tensor typed = product.to(nng.bankType(DType.FLOAT32))) {
                                want = typed.toDoubleArray();
                            }
                        }
                        assertArrayEquals(want, bank.toDoubleArray(), dtype + ", limit " + limit);
                    }
                }
            }
            assertEquals(0, filesIn(dir), "no spill file is left");
        }
        assertEquals(blocks, MemoryStats.liveBlocks(), "every bank freed with its detector");
    }

    /** A head whose logits overflow gives no bank of infinities: the fit refuses it, float32 rows (one fused pass) and float64 alike. */
    @Test
    void nnGuideRefusesAnEnergyThatOverflows() {
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(16);
            Tensor x = Tensor.randn(rng, DType.FLOAT32, 50, 8).abs().add(10);
            Tensor w = Tensor.full(1e307, DType.FLOAT64, 3, 8), b = Tensor.zeros(DType.FLOAT64, 3);   // logits past float32 and float64
            for (Tensor rows : new Tensor[] {x, x.to(DType.FLOAT64)}) {
                try (NNGuide nng = new NNGuide(null, w, b, 3)) {
                    var e = assertThrows(IllegalArgumentException.class, () -> nng.fitFeatures(rows, null));
                    assertTrue(e.getMessage().contains("energy") && e.getMessage().contains("not finite"), e.getMessage());
                }
            }
        }
    }

    @Test
    void aRefitSearchesTheNewBankNotTheOnePreparedBefore() {
        // the first predict prepares the bank for searches (packed once); a refit replaces the bank state
        try (Scope s = Scope.open(); KNN knn = new KNN(null, 2)) {
            SplittableRandom rng = new SplittableRandom(8);
            Tensor first = Tensor.randn(rng, DType.FLOAT32, 700, 24), second = Tensor.randn(rng, DType.FLOAT32, 500, 24).mul(3.0);
            Tensor queries = Tensor.randn(rng, DType.FLOAT32, 60, 24);
            Tensor labels = Tensor.zeros(DType.INT64, 700);
            knn.fitFeatures(first, labels);
            assertArrayEquals(bruteForceKnn(queries, first, 2), knn.predictFeatures(queries).toDoubleArray(), 1e-5);
            assertArrayEquals(knn.predictFeatures(queries).toDoubleArray(), knn.predictFeatures(queries).toDoubleArray(), "the prepared bank again");
            knn.fitFeatures(second, labels.slice(0, 0, 500));
            assertArrayEquals(bruteForceKnn(queries, second, 2), knn.predictFeatures(queries).toDoubleArray(), 1e-5);
        }
    }

    @Test
    void accumulatorsMergeInOrderAndSkipOodRows() throws IOException {
        try (Scope s = Scope.open(); KNN knn = new KNN(null, 1)) {
            knn.spillFolder(dir);
            Tensor x = Tensor.randn(new SplittableRandom(3), DType.FLOAT64, 500, 6);
            Tensor y = Tensor.zeros(DType.INT64, 500);
            y.slice(0, 300, 310).copyFrom(Tensor.full(-1, DType.INT64, 10));
            FitAccumulator first = knn.fitAccumulator(0), second = knn.fitAccumulator(0);
            first.add(x.slice(0, 0, 200), y.slice(0, 0, 200));
            second.add(x.slice(0, 200, 500), y.slice(0, 200, 500));
            first.merge(second);
            first.finish();
            assertEquals(0, filesIn(dir), "spills are never visible in the folder");
            Tensor expected = Tensor.cat(java.util.List.of(x.slice(0, 0, 300), x.slice(0, 310, 500)), 0);
            assertArrayEquals(expected.toDoubleArray(), knn.state().get("bank").toDoubleArray(), "the ID rows in order, merged after");
            // the same rows streamed as batches through the model interface give the same bank
            try (KNN viaBatches = new KNN(t -> t.mul(1.0), 1)) {
                java.util.List<Batch> batches = new java.util.ArrayList<>();
                for (int i = 0; i < 500; i += 70) batches.add(new Batch(x.slice(0, i, Math.min(500, i + 70)), y.slice(0, i, Math.min(500, i + 70))));
                viaBatches.spillFolder(dir).fit(batches);
                assertArrayEquals(expected.toDoubleArray(), viaBatches.state().get("bank").toDoubleArray());
            }
        }
    }

    /** Bank limits in bytes: always spilled, spilled from the third 4096-row chunk on, kept in memory. */
    private static final long[] LIMITS = {0, 2 * 4096 * 16 * 4 + 100, 256L << 20};

    @Test
    void theBankIsTheSameBitsInMemorySpilledAndSpilledMidFit() throws IOException {
        long blocks = MemoryStats.liveBlocks();
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(5);
            Tensor x = Tensor.randn(rng, DType.FLOAT32, 10_000, 16), y = Tensor.zeros(DType.INT64, 10_000);
            y.slice(0, 5000, 5003).copyFrom(Tensor.full(-1, DType.INT64, 3));
            Tensor expected = Tensor.cat(java.util.List.of(x.slice(0, 0, 5000), x.slice(0, 5003, 10_000)), 0);
            Tensor queries = Tensor.randn(rng, DType.FLOAT32, 30, 16);
            double[] scores = null;
            for (long limit : LIMITS) {
                // one array; batches of 700 rows (the held rows grow, then may spill); two accumulators merged
                try (KNN whole = new KNN(null, 4); KNN batched = new KNN(t -> t, 4); KNN merged = new KNN(null, 4)) {
                    whole.spillFolder(dir).bankMemory(limit).fitFeatures(x, y);
                    java.util.List<Batch> batches = new java.util.ArrayList<>();
                    for (int i = 0; i < 10_000; i += 700) batches.add(new Batch(x.slice(0, i, Math.min(10_000, i + 700)), y.slice(0, i, Math.min(10_000, i + 700))));
                    batched.spillFolder(dir).bankMemory(limit).fit(batches);
                    merged.spillFolder(dir).bankMemory(limit);
                    try (FitAccumulator first = merged.fitAccumulator(0); FitAccumulator second = merged.fitAccumulator(0)) {
                        first.add(x.slice(0, 0, 6000), y.slice(0, 0, 6000));
                        second.add(x.slice(0, 6000, 10_000), y.slice(0, 6000, 10_000));
                        first.merge(second);
                        first.finish();
                    }
                    for (KNN knn : java.util.List.of(whole, batched, merged)) {
                        Tensor bank = knn.state().get("bank");
                        assertEquals(limit < 9997 * 16 * 4, bank.storage().readOnly(), "limit " + limit + ": spilled (mapped) exactly when over the limit");
                        assertArrayEquals(expected.toDoubleArray(), bank.toDoubleArray(), "limit " + limit + ": the ID rows in fit order");
                        double[] now = knn.predictFeatures(queries).toDoubleArray();
                        if (scores == null) scores = now;
                        assertArrayEquals(scores, now, "limit " + limit);
                    }
                }
            }
            assertEquals(0, filesIn(dir), "no spill file is left");
        }
        assertEquals(blocks, MemoryStats.liveBlocks(), "every bank freed with its detector");
    }

    @Test
    void aFailedFitFreesTheRowsItHeld() {
        long blocks = MemoryStats.liveBlocks();
        try (Scope s = Scope.open()) {
            Tensor good = Tensor.randn(new SplittableRandom(2), DType.FLOAT32, 5000, 8), bad = Tensor.full(Double.NaN, DType.FLOAT32, 10, 8);
            for (long limit : LIMITS) {
                try (KNN knn = new KNN(t -> t, 2)) {
                    knn.spillFolder(dir).bankMemory(limit);
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                            () -> knn.fit(java.util.List.of(new Batch(good, null), new Batch(bad, null))));
                    assertTrue(e.getMessage().contains("NaN"), e.getMessage());
                    assertFalse(knn.isFitted());
                }
            }
        }
        assertEquals(blocks, MemoryStats.liveBlocks(), "the held rows and the spill's mapping are gone with the failed fit");
    }

    @Test
    void errorsNameTheProblem() {
        try (Scope s = Scope.open(); KNN knn = new KNN(null, 5)) {
            Tensor x = Tensor.randn(new SplittableRandom(1), DType.FLOAT32, 4, 3);
            IllegalArgumentException few = assertThrows(IllegalArgumentException.class, () -> knn.spillFolder(dir).fitFeatures(x, null));
            assertEquals("KNN: k = 5 but only 4 ID fit samples", few.getMessage());
            UncheckedIOException nowhere = assertThrows(UncheckedIOException.class, () -> knn.spillFolder(dir.resolve("missing")).bankMemory(0).fitFeatures(x, null));
            assertTrue(nowhere.getMessage().startsWith("KNN: cannot spill rows to ") && nowhere.getMessage().contains("missing"), nowhere.getMessage());
        }
    }
}
