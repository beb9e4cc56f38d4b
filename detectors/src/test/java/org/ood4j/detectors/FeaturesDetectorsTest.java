package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** Edge cases of the feature-based detectors: singular covariances, tiny classes, bad input. */
class FeaturesDetectorsTest {

    private static Tensor gaussians(long seed, int n, int dim, int classes, long[] labelsOut) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] z = new double[n * dim];
        for (int i = 0; i < n; i++) {
            labelsOut[i] = i % classes;
            for (int j = 0; j < dim; j++) z[i * dim + j] = rng.nextGaussian() + 3 * (j == labelsOut[i] % dim ? 1 : 0);
        }
        return Tensor.of(z, n, dim);
    }

    @Test
    void vimSavedWithItsResidualSpaceScoresAsTheComplementForm() {
        // detectors saved before the principal space was kept hold "residual_space": ||x R|| directly
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(12);
            Tensor w = Tensor.randn(rng, DType.FLOAT32, 3, 10), b = Tensor.randn(rng, DType.FLOAT32, 3);
            Tensor fit = Tensor.randn(rng, DType.FLOAT32, 200, 10).mul(Tensor.randn(rng, DType.FLOAT32, 10).abs().add(0.1));
            Tensor test = Tensor.randn(rng, DType.FLOAT32, 50, 10);
            ViM vim = new ViM(null, 4, w, b);
            vim.fitFeatures(fit, null);
            // the residual space as the fit sees it: eigenvectors of the uncentred covariance about u, all but the 4 largest
            Tensor u = vim.state().get("u");
            Tensor x = fit.to(DType.FLOAT64).sub(u);
            Tensor residual;
            try (org.ood4j.engine.Linalg.Eigh eig = org.ood4j.engine.Linalg.eigh(x.t().matmul(x).div(200))) {
                residual = eig.vectors().slice(1, 0, 6).copy();
            }
            ViM old = new ViM(null, 4, w, b);
            old.restore(java.util.Map.of("u", u.copy(), "residual_space", residual, "alpha", vim.state().get("alpha").copy()),
                    java.util.Map.of());
            double[] expected = old.predictFeatures(test).toDoubleArray(), actual = vim.predictFeatures(test).toDoubleArray();
            for (int i = 0; i < expected.length; i++) assertEquals(expected[i], actual[i], 1e-9 * Math.max(1, Math.abs(expected[i])));
            vim.close();
            old.close();
        }
    }

    /** ViM's one pass over the rows takes float32 rows as stored and float64 rows as float64: the same scores within float32's rounding. */
    @Test
    void vimScoresFloat32AndFloat64RowsAlike() {
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(13);
            Tensor w = Tensor.randn(rng, DType.FLOAT32, 7, 40), b = Tensor.randn(rng, DType.FLOAT32, 7);
            Tensor test = Tensor.randn(rng, DType.FLOAT32, 300, 40).add(0.5);
            try (ViM vim = new ViM(null, 8, w, b)) {
                vim.fitFeatures(Tensor.randn(rng, DType.FLOAT32, 500, 40), null);
                double[] narrow = vim.predictFeatures(test).toDoubleArray(), wide = vim.predictFeatures(test.to(DType.FLOAT64)).toDoubleArray();
                for (int i = 0; i < wide.length; i++) assertEquals(wide[i], narrow[i], 1e-5 * Math.max(1, Math.abs(wide[i])), "row " + i);
            }
        }
    }

    @Test
    void vimNamesTheFirstNonFiniteFeatureRowThroughItsScores() {
        // ViM checks its features through the scores: a NaN or an infinity anywhere in a row is still refused, by row
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(13);
            Tensor w = Tensor.randn(rng, DType.FLOAT32, 3, 10), b = Tensor.randn(rng, DType.FLOAT32, 3);
            ViM vim = new ViM(null, 4, w, b);
            vim.fitFeatures(Tensor.randn(rng, DType.FLOAT32, 200, 10), null);
            Tensor good = Tensor.randn(rng, DType.FLOAT32, 40, 10);
            double[] want = vim.predictFeatures(good).toDoubleArray();
            for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
                for (int col : new int[] {0, 9}) {
                    Tensor x = good.copy();
                    x.set(bad, 17, col);
                    x.set(bad, 30, 3);
                    var e = assertThrows(IllegalArgumentException.class, () -> vim.predictFeatures(x), bad + " at column " + col);
                    assertTrue(e.getMessage().contains("first in row 17"), e.getMessage());
                }
            }
            assertArrayEquals(want, vim.predictFeatures(good).toDoubleArray(), "finite features score as before");
        }
    }

    @Test
    void mahalanobisMatchesTheDirectFormPerClass() {
        try (Scope s = Scope.open()) {
            long[] y = new long[60];
            Tensor z = gaussians(1, 60, 5, 3, y);
            Mahalanobis m = new Mahalanobis(null, 0, null);
            m.fitFeatures(z, Tensor.of(y));
            Tensor q = Tensor.randn(new SplittableRandom(2), DType.FLOAT64, 7, 5);
            double[] got = m.predictFeatures(q).toDoubleArray();
            double[][] mu = m.state().get("mu").toDoubleMatrix(), p = m.state().get("precision").toDoubleMatrix();
            double[][] rows = q.toDoubleMatrix();
            for (int i = 0; i < rows.length; i++) {
                double best = Double.POSITIVE_INFINITY;
                for (double[] mk : mu) {
                    double d = 0;
                    for (int a = 0; a < 5; a++) for (int b = 0; b < 5; b++) d += (rows[i][a] - mk[a]) * p[a][b] * (rows[i][b] - mk[b]);
                    best = Math.min(best, d);
                }
                assertEquals(0.5 * best, got[i], 1e-9 * Math.max(1, best));
            }
            // at a class mean the score is 0
            assertEquals(0, m.predictFeatures(m.state().get("mu").slice(0, 1, 2)).item(), 1e-9);
        }
    }

    @Test
    void moreDimensionsThanSamplesAndOneSampleClassesStayFinite() {
        try (Scope s = Scope.open()) {
            Tensor z = Tensor.randn(new SplittableRandom(3), DType.FLOAT32, 4, 50);     // D = 50 > N = 4
            Tensor y = Tensor.of(new long[] {0, 1, 2, 2});                                // classes 0 and 1: one sample each
            for (FeaturesDetector d : List.<FeaturesDetector>of(new Mahalanobis(null), new RMD(null), new GMM(null))) {
                d.fitFeatures(z, y);
                for (double v : d.predictFeatures(Tensor.randn(new SplittableRandom(4), DType.FLOAT32, 3, 50)).toDoubleArray()) {
                    assertTrue(Double.isFinite(v), d.name() + " gave " + v);
                }
            }
        }
    }

    /**
     * GMM scores float32 rows in the fused float32 pass and float64 rows in float64: both agree with a
     * state saved before the factors (precision matrices P_k = W_k^T W_k, scored through the precisions).
     */
    @Test
    void gmmSavedWithPrecisionsScoresAsTheFactorForm() {
        try (Scope s = Scope.open()) {
            int n = 600, dim = 40, classes = 5;
            long[] labels = new long[n];
            Tensor fit = gaussians(21, n, dim, classes, labels).to(DType.FLOAT32);
            Tensor test = gaussians(22, 90, dim, classes, new long[90]).add(0.5).to(DType.FLOAT32);
            GMM gmm = new GMM(null);
            gmm.fitFeatures(fit, Tensor.of(labels));
            Tensor factors = gmm.state().get("factors");
            Tensor precisions = Tensor.zeros(DType.FLOAT64, classes, dim, dim);
            for (int k = 0; k < classes; k++) precisions.select(0, k).copyFrom(factors.select(0, k).t().matmul(factors.select(0, k)));
            GMM old = new GMM(null);
            old.restore(java.util.Map.of("mu", gmm.state().get("mu").copy(), "precisions", precisions,
                    "log_norm", gmm.state().get("log_norm").copy()), java.util.Map.of("dim", (long) dim));
            double[] want = old.predictFeatures(test).toDoubleArray();
            double[] exact = gmm.predictFeatures(test.to(DType.FLOAT64)).toDoubleArray(), fused = gmm.predictFeatures(test).toDoubleArray();
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], exact[i], 1e-9 * Math.abs(want[i]), "float64 rows, row " + i);
                assertEquals(want[i], fused[i], 1e-5 * Math.abs(want[i]), "float32 rows, row " + i);
            }
            gmm.close();
            old.close();
        }
    }

    @Test
    void aConstantFeatureIsRegularisedInGmm() {
        try (Scope s = Scope.open()) {
            Tensor z = Tensor.of(new double[][] {{1, 5}, {2, 5}, {3, 5}, {1, 5}});
            GMM gmm = new GMM(null, 1e-3);
            gmm.fitFeatures(z, Tensor.of(new long[] {0, 0, 1, 1}));
            assertTrue(Double.isFinite(gmm.predictFeatures(Tensor.of(new double[][] {{2, 7}})).item()));
        }
    }

    @Test
    void classWithoutSamplesIsAClearError() {
        try (Scope s = Scope.open()) {
            var e = assertThrows(IllegalArgumentException.class, () -> new Mahalanobis(null).fitFeatures(
                    Tensor.of(new double[][] {{1, 2}, {3, 4}}), Tensor.of(new long[] {0, 2})));
            assertTrue(e.getMessage().contains("[1]"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new GMM(null).fitFeatures(Tensor.of(new double[][] {{1, 2}}), null),
                    "class-conditional detectors need labels");
        }
    }

    @Test
    void knnIsZeroOnFitRowsAndUsesTheKthNeighbour() {
        try (Scope s = Scope.open()) {
            Tensor bank = Tensor.of(new float[][] {{0, 0}, {3, 4}, {0, 0}, {6, 8}});
            KNN knn = new KNN(null);
            knn.fitFeatures(bank, null);
            assertArrayEquals(new double[] {0, 0}, knn.predictFeatures(bank.slice(0, 0, 2)).toDoubleArray());
            KNN third = new KNN(null, 3);
            third.fitFeatures(bank, Tensor.of(new long[] {0, 0, 0, -1}));                 // the OOD row is not in the bank
            assertEquals(10, third.predictFeatures(Tensor.of(new float[][] {{6, 8}})).item(), 1e-6);
            var e = assertThrows(IllegalArgumentException.class, () -> knn.predictFeatures(Tensor.zeros(DType.FLOAT32, 1, 3)));
            assertTrue(e.getMessage().contains("dimension 3"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new KNN(null, 5).fitFeatures(bank, null));
            assertThrows(IllegalArgumentException.class, () -> new KNN(null, 0));
        }
    }

    @Test
    void parametersAreChecked() {
        try (Scope s = Scope.open()) {
            Tensor w = Tensor.randn(new SplittableRandom(5), DType.FLOAT32, 3, 4), b = Tensor.zeros(DType.FLOAT32, 3);
            assertThrows(IllegalArgumentException.class, () -> new ViM(null, 4, w, b), "d must be below D");
            assertThrows(IllegalArgumentException.class, () -> new DICE(null, w, b, 101, null));
            assertThrows(IllegalArgumentException.class, () -> new NNGuide(null, w, Tensor.zeros(DType.FLOAT32, 2)), "bias size");
            Tensor twin = Tensor.of(new float[][] {{1, 2}, {1, 2}});
            assertThrows(IllegalArgumentException.class, () -> new fDBD(null, new LinearHead(twin, Tensor.zeros(DType.FLOAT32, 2))));
            assertThrows(IllegalArgumentException.class, () -> new Gram(3, new int[] {0}));
            ViM vim = new ViM(null, 2, w, b);
            var e = assertThrows(IllegalArgumentException.class, () -> vim.fitFeatures(Tensor.zeros(DType.FLOAT32, 5, 3), null));
            assertTrue(e.getMessage().contains("dimension 3"), e.getMessage());
        }
    }

    @Test
    void fdbdAtTheCentreIsTheMostInDistribution() {
        try (Scope s = Scope.open()) {
            fDBD d = new fDBD(null, new LinearHead(Tensor.of(new float[][] {{1, 0}, {0, 1}}), Tensor.zeros(DType.FLOAT32, 2)));
            d.fitFeatures(Tensor.of(new float[][] {{1, 0}, {0, 2}}), null);      // mean (0.5, 1)
            double[] sc = d.predictFeatures(Tensor.of(new float[][] {{0.5f, 1}, {4, 0}})).toDoubleArray();
            assertEquals(Double.NEGATIVE_INFINITY, sc[0]);
            // |4 - 0| / (sqrt 2 * |(3.5, -1)|), negated, C - 1 = 1
            assertEquals(-4 / (Math.sqrt(2) * Math.hypot(3.5, 1)), sc[1], 1e-12);
        }
    }

    @Test
    void diceKeepsOnlyTheLargestContributions() {
        try (Scope s = Scope.open()) {
            Tensor w = Tensor.of(new float[][] {{1, 2}, {3, 4}});
            DICE dice = new DICE(null, w, Tensor.zeros(DType.FLOAT32, 2), 50, MaxLogit::score);
            dice.fitFeatures(Tensor.of(new float[][] {{1, 1}}), null);                // contributions = w: median 2.5
            assertArrayEquals(new double[] {0, 0, 3, 4}, dice.state().get("masked_weight").toDoubleArray());
            assertEquals(-7, dice.predictFeatures(Tensor.of(new float[][] {{1, 1}})).item(), 1e-12);
        }
    }

    @Test
    void structuredLayersMustAgree() {
        try (Scope s = Scope.open()) {
            MultiMahalanobis mm = new MultiMahalanobis(null);
            Tensor a = Tensor.randn(new SplittableRandom(6), DType.FLOAT32, 6, 3);
            Tensor maps = Tensor.randn(new SplittableRandom(7), DType.FLOAT32, 6, 2, 2, 2);
            Tensor y = Tensor.of(new long[] {0, 1, 0, 1, 0, 1});
            mm.fitStructured(List.of(a, maps), y);
            assertEquals(6, mm.predictStructured(List.of(a, maps), null).numel());
            assertThrows(IllegalArgumentException.class, () -> mm.predictStructured(List.of(a, maps.slice(0, 0, 5)), null));
            assertThrows(IllegalArgumentException.class, () -> mm.predictStructured(List.of(a), null));
            assertThrows(IllegalArgumentException.class, () -> new MultiMahalanobis(new double[] {1}).fitStructured(List.of(a, maps), y));
        }
    }

    @Test
    void fitAndPredictFreeEverythingOnClose() {
        long before = MemoryStats.liveBlocks();
        long[] y = new long[200];
        try (Tensor z = gaussians(8, 200, 16, 4, y); Tensor labels = Tensor.of(y)) {
            for (int round = 0; round < 3; round++) {
                try (GMM gmm = new GMM(null); RMD rmd = new RMD(null)) {
                    gmm.fitFeatures(z, labels);
                    rmd.fitFeatures(z, labels);
                    gmm.predictFeatures(z).close();
                    rmd.predictFeatures(z).close();
                }
            }
        }
        assertEquals(before, MemoryStats.liveBlocks());
    }
}
