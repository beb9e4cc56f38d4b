package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

/**
 * Streaming fits (issue 18): the whole-array fit, many small batches, merged partial
 * accumulators and a memory-mapped file give the same fit to float64 round-off, and that fit is
 * the two-pass float64 statistic.
 */
class StreamingFitTest {
    /** More rows than two chunks, so every fit crosses chunk boundaries; some OOD rows (label -1). */
    static final int N = 9000, D = 12, C = 4;
    /** Float64 round-off of sums over N rows, relative to the largest entry compared. */
    static final double ROUND_OFF = 1e-11;

    record Data(Tensor x, Tensor y, Tensor w, Tensor b, Tensor logits) {}

    /** Class-structured float32 features with a large common offset (where one-pass sums lose digits). */
    static Data data(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] x = new float[N * D];
        long[] y = new long[N];
        for (int i = 0; i < N; i++) {
            y[i] = i % 97 == 5 ? -1 : rng.nextInt(C);
            for (int j = 0; j < D; j++) x[i * D + j] = (float) (50 + 2 * (j % C == Math.max(0, y[i]) ? 1 : 0) + rng.nextGaussian() * (1 + 0.1 * j));
        }
        Tensor features = Tensor.of(x, N, D);
        Tensor w = Tensor.randn(rng, DType.FLOAT32, C, D), b = Tensor.randn(rng, DType.FLOAT32, C);
        Tensor logits = features.matmul(w.t()).add(b).sub(features.matmul(w.t()).mean(1, true));   // logits near 0, some classes right
        return new Data(features, Tensor.of(y), w, b, logits.to(DType.FLOAT32));
    }

    /** The features detectors with a streaming fit, fresh each call, on the given encoder (or null). */
    static List<java.util.function.Function<java.util.function.Function<Tensor, Tensor>, FeaturesDetector>> featuresDetectors(Data d) {
        return List.of(
                e -> new Mahalanobis(e, 0, null),
                RMD::new,
                GMM::new,
                e -> new ViM(e, 5, d.w(), d.b()),
                e -> new NCI(e, new LinearHead(d.w(), d.b()), 0.01),
                e -> new fDBD(e, new LinearHead(d.w(), d.b())),
                e -> new DICE(e, d.w(), d.b(), 60, null),
                e -> new SHE(e, new LinearHead(d.w(), d.b())));
    }

    static List<Supplier<LogitsDetector>> logitsDetectors() {
        return List.of(() -> new KLMatching(null), () -> new OpenMax(null, 20, 3, 0.7));
    }

    static List<Batch> batches(Tensor x, Tensor y, int size) {
        List<Batch> out = new ArrayList<>();
        for (long s = 0; s < x.size(0); s += size) {
            long e = Math.min(x.size(0), s + size);
            out.add(new Batch(x.slice(0, s, e), y == null ? null : y.slice(0, s, e)));
        }
        return out;
    }

    static void assertSame(double[] want, double[] got, String what) {
        assertEquals(want.length, got.length, what);
        double scale = 0;
        for (double v : want) if (Double.isFinite(v)) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < want.length; i++) {
            if (want[i] == got[i]) continue;
            assertEquals(want[i], got[i], ROUND_OFF * Math.max(1, scale), what + "[" + i + "]");
        }
    }

    /** Every state tensor and the scores of two fits agree to round-off. */
    static void assertSameFit(AbstractDetector want, AbstractDetector got, java.util.function.Function<AbstractDetector, Tensor> score, String what) {
        assertEquals(want.state().keySet(), got.state().keySet(), what);
        for (String k : want.state().keySet()) {
            assertSame(want.state().get(k).toDoubleArray(), got.state().get(k).toDoubleArray(), what + " state " + k);
        }
        assertSame(score.apply(want).toDoubleArray(), score.apply(got).toDoubleArray(), what + " scores");
    }

    @Test
    void wholeArraySmallBatchesAndMergedPartsFitAlike() {
        try (Scope s = Scope.open()) {
            Data d = data(1);
            Tensor query = d.x().slice(0, 0, 300);
            for (var make : featuresDetectors(d)) {
                FeaturesDetector whole = make.apply(null).fitFeatures(d.x(), d.y());
                String name = whole.name();
                java.util.function.Function<AbstractDetector, Tensor> score = det -> ((FeaturesDetector) det).predictFeatures(query);
                // many small batches through fit(Iterable<Batch>) with an identity encoder
                FeaturesDetector viaModel = make.apply(t -> t);
                viaModel.fit(batches(d.x(), d.y(), 37));
                assertSameFit(whole, viaModel, score, name + " batches of 37");
                // three partial accumulators per pass, merged in order
                FeaturesDetector merged = make.apply(null);
                StreamingFit sf = (StreamingFit) merged;
                for (int pass = 0; pass < sf.fitPasses(); pass++) {
                    FitAccumulator total = sf.fitAccumulator(pass);
                    for (long[] part : new long[][] {{0, 1000}, {1000, 5555}, {5555, N}}) {
                        FitAccumulator a = sf.fitAccumulator(pass);
                        a.add(d.x().slice(0, part[0], part[1]), d.y().slice(0, part[0], part[1]));
                        total.merge(roundTrip(a));   // as shipped between machines: plain arrays
                    }
                    total.finish();
                }
                assertTrue(merged.isFitted(), name);
                assertSameFit(whole, merged, score, name + " merged parts");
            }
            for (Supplier<LogitsDetector> make : logitsDetectors()) {
                LogitsDetector whole = make.get().fitLogits(d.logits(), d.y());
                LogitsDetector batched = make.get();
                batched.fitStreamed(acc -> batches(d.logits(), d.y(), 29).forEach(b -> acc.add(b.x(), b.y())));
                assertSameFit(whole, batched, det -> ((LogitsDetector) det).predictLogits(d.logits().slice(0, 0, 300)), whole.name() + " batches");
            }
        }
    }

    /** MultiMahalanobis streams its layers side by side; each layer's block is that layer's own Mahalanobis fit. */
    @Test
    void multiMahalanobisLayersAreEachTheirOwnMahalanobisFit() {
        try (Scope s = Scope.open()) {
            Data d = data(6);
            Tensor maps = d.x().reshape(N, 3, 2, 2).mul(Tensor.of(new float[] {1, 2, 3, 4}, 2, 2));   // pooled: 2.5 x the row's channel means
            MultiMahalanobis multi = new MultiMahalanobis(null);
            multi.fitStructured(List.of(d.x(), maps), d.y());
            Tensor pooledMaps = MultiMahalanobis.pooled(maps);
            for (int l = 0; l < 2; l++) {
                Mahalanobis single = new Mahalanobis(null, 0, null);
                single.fitFeatures(l == 0 ? d.x() : pooledMaps, d.y());
                assertSame(single.state().get("mu").toDoubleArray(), multi.state().get("mu" + l).toDoubleArray(), "mu" + l);
                assertSame(single.state().get("precision").toDoubleArray(), multi.state().get("precision" + l).toDoubleArray(), "precision" + l);
                single.close();
            }
            // and from many small batches of layers, through the accumulator
            MultiMahalanobis batched = new MultiMahalanobis(null);
            batched.fitStreamed(acc -> {
                for (long b = 0; b < N; b += 41) {
                    long e = Math.min(N, b + 41);
                    ((StructuredDetector.LayersAccumulator) acc).addLayers(List.of(d.x().slice(0, b, e), maps.slice(0, b, e)), d.y().slice(0, b, e));
                }
            });
            assertSameFit(multi, batched, det -> ((MultiMahalanobis) det).predictStructured(List.of(d.x().slice(0, 0, 100), maps.slice(0, 0, 100)), null),
                    "MultiMahalanobis batches");
            multi.close();
            batched.close();
        }
    }

    /** An accumulator through Java serialisation. */
    static FitAccumulator roundTrip(FitAccumulator a) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject(a);
            }
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
                return (FitAccumulator) in.readObject();
            }
        } catch (java.io.IOException | ClassNotFoundException e) {
            throw new AssertionError(a.getClass().getName() + " does not serialise", e);
        }
    }

    /** VRA's percentiles: exact while the maps fit the reservoir, whichever way the maps arrive. */
    @Test
    void vraBoundsFromBatchesAndMergedPartsAreTheWholeArrayPercentiles() {
        try (Scope s = Scope.open()) {
            Data d = data(7);
            Tensor maps = d.x().reshape(N, 3, 2, 2);
            java.util.function.Function<Tensor, Tensor> head = m -> m.reshape(m.size(0), D).to(DType.FLOAT32).matmul(d.w().t());
            VRA whole = new VRA(null, head, 10, 90, null);
            whole.fitFeatureMaps(maps, d.y());
            Tensor[] id = Inputs.idRows(maps, d.y());
            Tensor m64 = id[0].to(DType.FLOAT64);
            // the exact float64 percentiles, kept in the maps' dtype (as torch.quantile of the maps gives them)
            assertEquals(maps.dtype(), whole.state().get("lower").dtype());
            assertSame(m64.quantile(0.1, 0, false).to(maps.dtype()).toDoubleArray(), whole.state().get("lower").toDoubleArray(), "lower");
            assertSame(m64.quantile(0.9, 0, false).to(maps.dtype()).toDoubleArray(), whole.state().get("upper").toDoubleArray(), "upper");
            VRA merged = new VRA(null, head, 10, 90, null);
            FitAccumulator total = merged.fitAccumulator(0);
            for (long[] part : new long[][] {{0, 3000}, {3000, N}}) {
                FitAccumulator a = merged.fitAccumulator(0);
                batches(maps.slice(0, part[0], part[1]), d.y().slice(0, part[0], part[1]), 33).forEach(b -> a.add(b.x(), b.y()));
                total.merge(roundTrip(a));
            }
            total.finish();
            assertSameFit(whole, merged, det -> ((VRA) det).predictFeatureMaps(maps.slice(0, 0, 200)), "VRA merged");
        }
    }

    /** Beyond its capacity the reservoir is a uniform sample: its quantiles within the DKW bound, the same each run. */
    @Test
    void reservoirBeyondCapacityIsAReproducibleUniformSample() {
        int n = 100_000, capacity = 2000;
        double[] values = new double[n];
        for (int i = 0; i < n; i++) values[i] = (i * 7919L) % n;   // 0..n-1 in a scrambled order
        Reservoir a = new Reservoir(capacity, 1), b = new Reservoir(capacity, 1);
        for (int s = 0; s < n; s += 1000) {
            a.add(java.util.Arrays.copyOfRange(values, s, s + 1000), 1000);
            b.add(java.util.Arrays.copyOfRange(values, s, s + 1000), 1000);
        }
        assertArrayEquals(a.rows(), b.rows());
        double[] sample = a.rows();
        java.util.Arrays.sort(sample);
        double eps = Math.sqrt(Math.log(2 / 1e-6) / (2 * capacity));   // DKW at delta = 1e-6
        for (double q : new double[] {0.1, 0.5, 0.9}) {
            double rank = sample[(int) (q * (capacity - 1))] / n;
            assertEquals(q, rank, eps, "quantile " + q);
        }
        // two halves merged: still capacity rows of the union, spread over both halves
        Reservoir low = new Reservoir(capacity, 1), high = new Reservoir(capacity, 1);
        double[] ramp = new double[n];
        for (int i = 0; i < n; i++) ramp[i] = i;
        low.add(java.util.Arrays.copyOfRange(ramp, 0, n / 2), n / 2);
        high.add(java.util.Arrays.copyOfRange(ramp, n / 2, n), n / 2);
        low.merge(high);
        assertEquals(capacity, low.size());
        long fromHigh = java.util.Arrays.stream(low.rows()).filter(v -> v >= n / 2).count();
        assertEquals(capacity / 2.0, fromHigh, 5 * Math.sqrt(capacity / 4.0));
    }

    /** The two-pass float64 reference of the class Gaussians: means, then the centred rows' products. */
    @Test
    void classGaussiansAreTheTwoPassFloat64Statistics() {
        try (Scope s = Scope.open()) {
            Data d = data(2);
            Tensor[] id = Inputs.idRows(d.x(), d.y());
            Tensor z = id[0].to(DType.FLOAT64), y = id[1];
            Tensor mu = z.groupMean(y, C);
            Tensor centred = z.sub(mu.indexSelect(0, y));
            Tensor cov = centred.t().matmul(centred).add(ClassGaussians.identity(D, z.device()).mul(ClassGaussians.SCATTER_EPS));
            Tensor mu0 = z.mean(0, true);
            Tensor cov0 = z.sub(mu0).t().matmul(z.sub(mu0)).add(ClassGaussians.identity(D, z.device()).mul(ClassGaussians.SCATTER_EPS));
            RMD rmd = new RMD(null);
            rmd.fitFeatures(d.x(), d.y());
            assertSame(mu.toDoubleArray(), rmd.state().get("mu").toDoubleArray(), "mu");
            assertSame(cov.toDoubleArray(), rmd.state().get("cov").toDoubleArray(), "cov");
            assertSame(mu0.toDoubleArray(), rmd.state().get("background_mu").toDoubleArray(), "background mu");
            assertSame(cov0.toDoubleArray(), rmd.state().get("background_cov").toDoubleArray(), "background cov");
            // GMM: one scatter per class, divided by its count
            GMM gmm = new GMM(null);
            gmm.fitFeatures(d.x(), d.y());
            long[] labels = y.toLongArray();
            for (int k = 0; k < C; k++) {
                final int kk = k;
                long[] rows = java.util.stream.IntStream.range(0, labels.length).filter(i -> labels[i] == kk).asLongStream().toArray();
                Tensor ck = centred.indexSelect(0, Tensor.of(rows));
                Tensor covK = ck.t().matmul(ck).div(rows.length).add(ClassGaussians.identity(D, z.device()).mul(1e-6));
                Tensor factor = org.ood4j.engine.Linalg.inverseCholesky(covK);
                assertSame(factor.toDoubleArray(), gmm.state().get("factors").select(0, k).toDoubleArray(), "GMM factor " + k);
            }
            rmd.close();
            gmm.close();
        }
    }

    /** A fit from one memory-mapped file (streamed in place, two passes for ViM) equals the fit from many small batches. */
    @Test
    void mappedFileFitsAsSmallBatches(@TempDir Path dir) throws Exception {
        try (Scope s = Scope.open()) {
            Data d = data(3);
            Path file = dir.resolve("features.npy");
            Npy.write(file, d.x());
            Tensor mapped = Npy.map(file);
            var all = featuresDetectors(d);
            for (var make : List.of(all.get(0), all.get(3), all.get(2))) {
                FeaturesDetector fromFile = make.apply(null).fitFeatures(mapped, d.y());
                FeaturesDetector fromBatches = make.apply(null);
                fromBatches.fitStreamed(acc -> batches(d.x(), d.y(), 50).forEach(b -> acc.add(b.x(), b.y())));
                assertSameFit(fromFile, fromBatches, det -> ((FeaturesDetector) det).predictFeatures(mapped.slice(0, 0, 500)),
                        fromFile.name() + " mapped");
            }
        }
    }

    /**
     * 4M rows near 1 (width 2): a float32 running sum stalls once its ulp outgrows the addends
     * (visibly wrong mean), the float64 chunked accumulation with Chan's merge is exact to
     * round-off; the variance too, where the one-pass E[x^2] - E[x]^2 in float32 is garbage.
     */
    @Test
    void float64AccumulationWhereAFloat32SumIsVisiblyWrong(@TempDir Path dir) throws Exception {
        int n = 4_000_000;
        float[] x = new float[n * 2];
        for (int i = 0; i < n; i++) {
            x[2 * i] = 1 + (i % 2 == 0 ? 1e-3f : -1e-3f);
            x[2 * i + 1] = 1e4f + (i % 2 == 0 ? 1 : -1);
        }
        float sum = 0, sumSq = 0;
        for (int i = 0; i < n; i++) {
            sum += x[2 * i + 1];
            sumSq += x[2 * i + 1] * x[2 * i + 1];
        }
        double naiveMean = sum / n, naiveVar = sumSq / n - (double) (sum / n) * (sum / n);
        assertTrue(Math.abs(naiveMean - 1e4) > 1e-2 * 1e4, "the float32 sum is visibly wrong: " + naiveMean);
        assertTrue(Math.abs(naiveVar - 1) > 0.5, "the float32 one-pass variance is garbage: " + naiveVar);

        Path file = dir.resolve("big.npy");
        try (Tensor t = Tensor.of(x, n, 2)) {
            Npy.write(file, t);
        }
        try (Tensor mapped = Npy.map(file)) {
            // through a detector: NCI's mean of a mapped file
            NCI nci = new NCI(null, new LinearHead(Tensor.of(new float[] {1, 0, 0, 1}, 2, 2), Tensor.of(new float[] {0, 0})), 0);
            nci.fitFeatures(mapped, null);
            double up = 1 + 1e-3f, down = 1 - 1e-3f, mid = (up + down) / 2;   // the float32 values, exactly
            double[] mean = nci.state().get("mean").toDoubleArray();
            assertEquals(mid, mean[0], 1e-15);
            assertEquals(1e4, mean[1], 1e-12 * 1e4);
            nci.close();
            // and the scatter: the variance of the second column is exactly 1 (n / n)
            Moments m = new Moments(Moments.Scatter.POOLED, Moments.Products.FLOAT64);
            for (long s = 0; s < n; s += Inputs.CHUNK_ROWS) {
                try (Tensor chunk = mapped.slice(0, s, Math.min(n, s + Inputs.CHUNK_ROWS))) {
                    m.add(chunk.toDoubleArray(), (int) chunk.size(0), null);
                }
            }
            assertEquals(1.0, m.pooledScatter()[3] / n, 1e-12);
            double var = ((up - mid) * (up - mid) + (down - mid) * (down - mid)) / 2;
            assertEquals(var, m.pooledScatter()[0] / n, 1e-12 * var);
        }
    }

    /** Accumulators serialise (plain arrays) without their detector; merged into one the detector makes, they finish the fit. */
    @Test
    void serialisedAccumulatorsMergeIntoTheDetectorsOwn() throws Exception {
        try (Scope s = Scope.open()) {
            Data d = data(4);
            Mahalanobis direct = new Mahalanobis(null, 0, null);
            direct.fitFeatures(d.x(), d.y());
            Mahalanobis remote = new Mahalanobis(null, 0, null);
            List<byte[]> shipped = new ArrayList<>();
            for (long[] part : new long[][] {{0, 4000}, {4000, N}}) {
                FitAccumulator a = new Mahalanobis(null, 0, null).fitAccumulator(0);
                a.add(d.x().slice(0, part[0], part[1]), d.y().slice(0, part[0], part[1]));
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                    out.writeObject(a);
                }
                shipped.add(bytes.toByteArray());
            }
            FitAccumulator driver = remote.fitAccumulator(0);
            for (byte[] b : shipped) {
                try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(b))) {
                    FitAccumulator received = (FitAccumulator) in.readObject();
                    IllegalStateException e = assertThrows(IllegalStateException.class, received::finish);
                    assertTrue(e.getMessage().contains("merge it into one made by the detector"), e.getMessage());
                    driver.merge(received);
                }
            }
            driver.finish();
            assertSameFit(direct, remote, det -> ((Mahalanobis) det).predictFeatures(d.x().slice(0, 0, 200)), "serialised");
            // merging a different kind of accumulator is refused in one line
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> remote.fitAccumulator(0).merge(new RMD(null).fitAccumulator(0)));
            assertTrue(e.getMessage().contains("cannot merge"), e.getMessage());
        }
    }

    /** Bad chunks are named as the array fit names them, rows numbered across chunks. */
    @Test
    void chunksAreValidatedWithRowsNumberedAcrossChunks() {
        try (Scope s = Scope.open()) {
            Data d = data(5);
            FitAccumulator a = new Mahalanobis(null, 0, null).fitAccumulator(0);
            a.add(d.x().slice(0, 0, 100), d.y().slice(0, 0, 100));
            Tensor bad = d.x().slice(0, 100, 200).copy();
            bad.set(Double.NaN, 7, 3);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.add(bad, d.y().slice(0, 100, 200)));
            assertEquals("features contain NaN or infinite values (first in row 107)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> a.add(d.x().slice(1, 0, 5).slice(0, 0, 10), d.y().slice(0, 0, 10)));
            assertTrue(e.getMessage().contains("fit rows of shape [5] after rows of shape [12]"), e.getMessage());
            FitAccumulator empty = new Mahalanobis(null, 0, null).fitAccumulator(0);
            e = assertThrows(IllegalArgumentException.class, empty::finish);
            assertEquals("Mahalanobis: fit got no rows", e.getMessage());
        }
    }
}
