package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * Fitted detectors are safe to call predict on from many threads at once, and CPU results do not
 * depend on how many threads compute them.
 */
class ConcurrencyTest {
    static final int THREADS = 8, BATCHES_PER_THREAD = 25, ROWS = 37;

    /** A representative set: logits, class-Gaussian, kNN, subspace and Weibull detectors. */
    private static List<AbstractDetector> fitted(Tensor logits, Tensor features, Tensor labels) {
        List<AbstractDetector> out = new ArrayList<>();
        KLMatching kl = new KLMatching(null);
        kl.fitLogits(logits, labels);
        OpenMax om = new OpenMax(null, 10, 3, 0.7);
        om.fitLogits(logits, labels);
        Mahalanobis m = new Mahalanobis(null, 0, null);
        m.fitFeatures(features, labels);
        GMM gmm = new GMM(null);
        gmm.fitFeatures(features, labels);
        KNN knn = new KNN(null, 3);
        knn.fitFeatures(features, null);
        out.addAll(List.of(kl, om, m, gmm, knn));
        return out;
    }

    private static Tensor score(AbstractDetector d, Tensor logits, Tensor features) {
        return d instanceof LogitsDetector l ? l.predictLogits(logits) : ((FeaturesDetector) d).predictFeatures(features);
    }

    record Fixture(Tensor logits, Tensor features, Tensor labels) {
        static Fixture make() {
            SplittableRandom rng = new SplittableRandom(21);
            int n = 400;
            long[] y = new long[n];
            double[] z = new double[n * 6];
            for (int i = 0; i < n; i++) {
                y[i] = i % 4;
                for (int j = 0; j < 6; j++) z[i * 6 + j] = rng.nextGaussian() + (j == y[i] ? 5 : 0);
            }
            Tensor features = Tensor.of(z, n, 6).to(DType.FLOAT32);
            return new Fixture(features.slice(1, 0, 4).contiguous(), features, Tensor.of(y));
        }
    }

    @Test
    void manyThreadsGetExactlyTheSingleThreadScores() throws Exception {
        try (Scope s = Scope.open()) {
            Fixture f = Fixture.make();
            List<AbstractDetector> detectors = fitted(f.logits(), f.features(), f.labels());
            int batches = THREADS * BATCHES_PER_THREAD;
            // batch b = rows [b*7 % 360, +ROWS)
            double[][][] expected = new double[detectors.size()][batches][];
            for (int d = 0; d < detectors.size(); d++) {
                for (int b = 0; b < batches; b++) expected[d][b] = scoreBatch(detectors.get(d), f, b);
            }
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                List<Future<Integer>> results = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int thread = t;
                    results.add(pool.submit((Callable<Integer>) () -> {
                        int checked = 0;
                        for (int k = 0; k < BATCHES_PER_THREAD; k++) {
                            int b = thread * BATCHES_PER_THREAD + k;
                            for (int d = 0; d < detectors.size(); d++) {
                                assertArrayEquals(expected[d][b], scoreBatch(detectors.get(d), f, b), detectors.get(d).name() + " batch " + b);
                                checked++;
                            }
                        }
                        return checked;
                    }));
                }
                int total = 0;
                for (Future<Integer> r : results) total += r.get();
                assertEquals(THREADS * BATCHES_PER_THREAD * detectors.size(), total);
            } finally {
                pool.shutdown();
                detectors.forEach(AbstractDetector::close);
            }
        }
    }

    private static double[] scoreBatch(AbstractDetector d, Fixture f, int b) {
        long start = (b * 7L) % 360;
        try (Scope s = Scope.open()) {
            return score(d, f.logits().slice(0, start, start + ROWS), f.features().slice(0, start, start + ROWS)).toDoubleArray();
        }
    }

    @Test
    void resultsDoNotDependOnTheNumberOfThreads() throws Exception {
        double[][] one = inPool(1), three = inPool(3);
        for (int i = 0; i < one.length; i++) assertArrayEquals(one[i], three[i], "output " + i);
    }

    /** Fits and scores inside a fork-join pool of the given size: the engine's parallel loops run there. */
    private static double[][] inPool(int threads) throws Exception {
        ForkJoinPool pool = new ForkJoinPool(threads);
        try {
            return pool.submit(() -> {
                try (Scope s = Scope.open()) {
                    Fixture f = Fixture.make();
                    Tensor big = Tensor.randn(new SplittableRandom(5), DType.FLOAT32, 3000, 50);
                    List<double[]> out = new ArrayList<>();
                    out.add(big.logsumexp(1).toDoubleArray());
                    out.add(big.matmul(big.t()).sum(1).toDoubleArray());
                    out.add(big.softmax(1).max(1).toDoubleArray());
                    out.add(big.groupSum(Tensor.rand(new SplittableRandom(6), DType.INT64, 0, 7, 3000), 7).toDoubleArray());
                    for (AbstractDetector d : fitted(f.logits(), f.features(), f.labels())) {
                        out.add(score(d, f.logits(), f.features()).toDoubleArray());
                        d.close();
                    }
                    return out.toArray(new double[0][]);
                }
            }).get();
        } finally {
            pool.shutdown();
        }
    }
}
