package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** Edge cases of the logits detectors: one class, one sample, ties, extreme logits, bad input. */
class LogitsDetectorsTest {

    /**
     * The tolerance of a score on logits of the dtype: float64 logits are scored in float64
     * ({@code f64}); float32 logits in float32 with float64 sums, within 1e-6 relative (the
     * contract of the float32 row path; the conformance cases allow 1e-4).
     */
    private static double tolerance(DType dtype, double f64, double expected) {
        return dtype == DType.FLOAT64 ? f64 : Math.max(f64, 1e-6 * Math.max(1, Math.abs(expected)));
    }

    private static double[] scores(LogitsDetector d, Tensor logits) {
        try (Tensor s = d.predictLogits(logits)) {
            return s.toDoubleArray();
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void maxSoftmaxEnergyMaxLogitOnHandWorkedRows(DType dtype) {
        try (Scope s = Scope.open()) {
            Tensor logits = Tensor.of(new float[][] {{0, 0}, {Float.MAX_VALUE / 1e30f, 0}, {1, 2}}).to(dtype);
            double[] msp = scores(new MaxSoftmax(null), logits);
            assertEquals(-0.5, msp[0], 1e-15);
            assertEquals(-1, msp[1], 1e-15);
            double want = -Math.exp(2) / (Math.exp(1) + Math.exp(2));
            assertEquals(want, msp[2], tolerance(dtype, 1e-15, want));
            double[] energy = scores(new EnergyBased(null, 2.0), logits);
            assertEquals(-2 * Math.log(2), energy[0], tolerance(dtype, 1e-15, 2 * Math.log(2)));
            want = -2 * Math.log(Math.exp(0.5) + Math.exp(1));
            assertEquals(want, energy[2], tolerance(dtype, 1e-14, want));
            assertArrayEquals(new double[] {0, -(double) (Float.MAX_VALUE / 1e30f), -2}, scores(new MaxLogit(null), logits));
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void oneClassGivesTheCertainScores(DType dtype) {
        try (Scope s = Scope.open()) {
            Tensor logits = Tensor.of(new float[] {3, -7}, 2, 1).to(dtype);
            assertArrayEquals(new double[] {-1, -1}, scores(new MaxSoftmax(null), logits));
            assertArrayEquals(new double[] {-3, 7}, scores(new EnergyBased(null), logits), 1e-15);
            // p = 1 exactly: entropy -1*log 1 = 0; GEN clamps p to 1 - 1e-7 and 1 - p to 1e-7.
            assertArrayEquals(new double[] {0, 0}, scores(new Entropy(null), logits), 1e-15);
            double gen = Math.pow(1 - 1e-7, 0.1) * Math.pow(1e-7, 0.1);
            assertArrayEquals(new double[] {gen, gen}, scores(new GEN(null), logits), tolerance(dtype, 1e-15, gen));
        }
    }

    @Test
    void extremeLogitsStayFinite() {
        try (Scope s = Scope.open()) {
            Tensor logits = Tensor.of(new float[][] {{1e4f, -1e4f, 0}, {-1e4f, -1e4f, -1e4f}});
            for (LogitsDetector d : List.<LogitsDetector>of(new MaxSoftmax(null), new EnergyBased(null), new Entropy(null),
                    new GEN(null), new MaxLogit(null))) {
                for (double v : scores(d, logits)) assertTrue(Double.isFinite(v), d.name() + " gave " + v);
            }
            assertArrayEquals(new double[] {-1, -1.0 / 3}, scores(new MaxSoftmax(null), logits), 1e-12); // lse - max cancels at 1e4
            assertEquals(1e4 - Math.log(3), scores(new EnergyBased(null), logits)[1], 1e-9);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void tiesGiveTheUniformValues(DType dtype) {
        try (Scope s = Scope.open()) {
            Tensor logits = Tensor.full(5, dtype, 1, 4);
            assertEquals(-0.25, scores(new MaxSoftmax(null), logits)[0], 1e-15);
            assertEquals(Math.log(4), scores(new Entropy(null), logits)[0], tolerance(dtype, 1e-15, Math.log(4)));
            double gen = 4 * Math.pow(0.25 * 0.75, 0.1);
            assertEquals(gen, scores(new GEN(null), logits)[0], tolerance(dtype, 1e-14, gen));
        }
    }

    @Test
    void temperatureScalingFindsTheNllMinimum() {
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(5);
            int n = 400, c = 5;
            float[] z = new float[n * c];
            long[] y = new long[n];
            for (int i = 0; i < n; i++) {
                y[i] = rng.nextInt(c);
                for (int j = 0; j < c; j++) z[i * c + j] = (float) (3 * rng.nextGaussian() + (j == y[i] ? 2 : 0));
            }
            y[0] = -1; // an OOD row: ignored
            TemperatureScaling ts = new TemperatureScaling(null);
            ts.fitLogits(Tensor.of(z, n, c), Tensor.of(y));
            double t = ts.temperature();
            // The loss at T is lower than at T*(1 +- 1e-3): T is the minimiser.
            double at = nll(z, y, c, t), below = nll(z, y, c, t * 0.999), above = nll(z, y, c, t * 1.001);
            assertTrue(at < below && at < above, "T=" + t + " nll " + at + " vs " + below + ", " + above);
            double want = -MaxSoftmaxRef.msp(z, 1, c, t);
            assertEquals(want, scores(ts, Tensor.of(z, n, c))[1], tolerance(DType.FLOAT32, 1e-12, want));
            assertEquals(want, scores(ts, Tensor.of(z, n, c).to(DType.FLOAT64))[1], 1e-12);
        }
    }

    /** Mean NLL of softmax(z / t) over rows with label >= 0. */
    private static double nll(float[] z, long[] y, int c, double t) {
        double sum = 0;
        int count = 0;
        for (int i = 0; i < y.length; i++) {
            if (y[i] < 0) continue;
            double max = Double.NEGATIVE_INFINITY, lse = 0;
            for (int j = 0; j < c; j++) max = Math.max(max, z[i * c + j] / t);
            for (int j = 0; j < c; j++) lse += Math.exp(z[i * c + j] / t - max);
            sum += Math.log(lse) + max - z[i * c + (int) y[i]] / t;
            count++;
        }
        return sum / count;
    }

    private static final class MaxSoftmaxRef {
        static double msp(float[] z, int row, int c, double t) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < c; j++) max = Math.max(max, z[row * c + j] / t);
            for (int j = 0; j < c; j++) sum += Math.exp(z[row * c + j] / t - max);
            return 1 / sum;
        }
    }

    @Test
    void temperatureOfSeparableDataIsClamped() {
        try (Scope s = Scope.open()) {
            TemperatureScaling ts = new TemperatureScaling(null);
            ts.fitLogits(Tensor.of(new float[][] {{5, 0}, {0, 5}}), Tensor.of(new long[] {0, 1}));
            assertEquals(1 / TemperatureScaling.MAX_BETA, ts.temperature(), 1e-18);
        }
    }

    @Test
    void klMatchingIsZeroForTheTypicalPosteriorAndInfiniteForUnseenClasses() {
        try (Scope s = Scope.open()) {
            Tensor fit = Tensor.of(new float[][] {{2, 0, 0}, {2, 0, 0}, {0, 3, 1}});
            KLMatching kl = new KLMatching(null);
            kl.fitLogits(fit, Tensor.of(new long[] {0, 0, -1}));  // the class-1 row is OOD: never fitted
            double[] sc = scores(kl, Tensor.of(new float[][] {{2, 0, 0}, {0, 3, 1}}));
            // zero to float32 resolution: the typical posterior is a mean of float32 softmax rows (as pytorch-ood's)
            assertEquals(0, sc[0], 1e-7);
            assertEquals(Double.POSITIVE_INFINITY, sc[1]);
        }
    }

    @Test
    void klMatchingsFusedFitOfFloat32RowsIsTheSoftmaxMeansByPredictedClass() {
        try (Scope s = Scope.open()) {
            java.util.SplittableRandom rng = new java.util.SplittableRandom(21);
            int n = 3000, classes = 40;
            Tensor logits = Tensor.randn(rng, DType.FLOAT32, n, classes).mul(3);
            long[] labels = new long[n];
            for (int i = 0; i < n; i++) labels[i] = i % 7 == 0 ? -1 : i % classes;   // OOD rows skipped
            KLMatching fused = new KLMatching(null);
            fused.fitLogits(logits, Tensor.of(labels));                      // float32 CPU rows: the fused sums
            KLMatching twoPass = new KLMatching(null);
            twoPass.fitLogits(logits.t().contiguous().t(), Tensor.of(labels)); // strided rows: softmax, then group sums
            double[][] logitsRows = logits.toDoubleMatrix();
            double[] want = new double[classes * classes];
            long[] counts = new long[classes];
            for (int i = 0; i < n; i++) {
                if (labels[i] < 0) continue;
                double[] z = logitsRows[i];
                int arg = 0;
                for (int j = 1; j < classes; j++) if (z[j] > z[arg]) arg = j;
                double sum = 0;
                for (double v : z) sum += Math.exp(v - z[arg]);
                for (int j = 0; j < classes; j++) want[arg * classes + j] += Math.exp(z[j] - z[arg]) / sum;
                counts[arg]++;
            }
            double[] got = fused.state().get("dists").toDoubleArray(), other = twoPass.state().get("dists").toDoubleArray();
            for (int c = 0; c < classes; c++) {
                for (int j = 0; j < classes; j++) {
                    int at = c * classes + j;
                    double mean = counts[c] > 0 ? want[at] / counts[c] : 1;
                    assertEquals(mean, got[at], 1e-6 * Math.max(mean, 1e-3), "dists[" + c + "][" + j + "]");
                    assertEquals(other[at], got[at], 1e-6 * Math.max(mean, 1e-3));
                }
            }
            assertArrayEquals(twoPass.state().get("counts").toLongArray(), fused.state().get("counts").toLongArray());
        }
    }

    @Test
    void openMaxWithOneSamplePerClassIsAStep() {
        try (Scope s = Scope.open()) {
            OpenMax om = new OpenMax(null, 5, 2, 1.0);
            om.fitLogits(Tensor.of(new float[][] {{4, 0}, {0, 4}}), Tensor.of(new long[] {0, 1}));
            // At the class centre the distance is 0, the translated value equals lambda: w = 1 - 1/e for the top class.
            double[] v0 = om.pseudoActivation(Tensor.of(new float[][] {{4, 0}})).toDoubleArray();
            assertEquals(4 * (1 - Math.exp(-1)), v0[0], 1e-12);
            double[] sc = scores(om, Tensor.of(new float[][] {{4, 0}, {40, 0}}));
            assertTrue(sc[1] > sc[0], "far from the centre is more OOD: " + sc[0] + " vs " + sc[1]);
        }
    }

    @Test
    void openMaxGivesAClassWithoutCorrectSamplesWeightOne() {
        try (Scope s = Scope.open()) {
            // class 1's only fit sample is classified as 0: no Weibull model, w_1 = 1 (pytorch-ood's ws = 1)
            OpenMax om = new OpenMax(null);
            om.fitLogits(Tensor.of(new float[][] {{4, 0}, {5, 0}, {3, 1}, {3, 0}}), Tensor.of(new long[] {0, 0, 0, 1}));
            // top class 1 at rank 0 (weight 1) gives all of l_1 = 5 to v0; class 0 at rank 1 has l_0 = 0
            assertEquals(5, om.pseudoActivation(Tensor.of(new float[][] {{0, 5}})).toDoubleArray()[0], 0);
            assertEquals(Math.exp(5) / (Math.exp(5) + 2), scores(om, Tensor.of(new float[][] {{0, 5}}))[0], 1e-15);
            // near class 0's centre: v0 = l_0 w_0 (rank 0, its model, w_0 < 1) + l_1 * 1 * 1/2 (rank 1, no model)
            double v0 = om.pseudoActivation(Tensor.of(new float[][] {{4, 0.3f}})).toDoubleArray()[0];
            assertTrue(v0 >= 0.15 && v0 < 0.15 + 4, "v0 = 4 w_0 + 0.15: " + v0);

            var e = assertThrows(IllegalArgumentException.class,
                    () -> new OpenMax(null).fitLogits(Tensor.of(new float[][] {{0, 4}, {3, 0}}), Tensor.of(new long[] {0, 1})));
            assertTrue(e.getMessage().contains("no fit sample is correctly classified"), e.getMessage());
        }
    }

    @Test
    void theFusedInputCheckNamesTheFirstBadRowOfEveryKind() {
        // the softmax-family scores check their logits in the scoring pass; -inf is invisible to a max, NaN to nothing
        try (Scope s = Scope.open()) {
            for (LogitsDetector d : List.of(new MaxLogit(null), new MaxSoftmax(null), new EnergyBased(null), new Entropy(null), new GEN(null))) {
                for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
                    Tensor logits = Tensor.zeros(DType.FLOAT32, 5000, 3);   // two chunks of rows: the bad one in the second
                    logits.set(bad, 4700, 1);
                    logits.set(bad, 4900, 0);
                    var e = assertThrows(IllegalArgumentException.class, () -> d.predictLogits(logits), d.name() + " " + bad);
                    assertEquals("logits contain NaN or infinite values (first in row 4700)", e.getMessage(), d.name() + " " + bad);
                }
            }
            // finite logits whose score overflows are named as such, not returned as NaN
            var overflow = assertThrows(IllegalArgumentException.class,
                    () -> new MaxSoftmax(null, 1e-10).predictLogits(Tensor.of(new double[][] {{0, 1}, {1e300, 1e300}})));
            assertTrue(overflow.getMessage().contains("MaxSoftmax: the score of row 1 is NaN although its logits are finite"),
                    overflow.getMessage());
        }
    }

    @Test
    void weibullFitRecoversKnownParameters() {
        // Quantiles of a Weibull(k=2, lambda=3): the MLE of a large symmetric sample lands near them.
        int n = 20000;
        double[] t = new double[n];
        for (int i = 0; i < n; i++) t[i] = 3 * Math.pow(-Math.log(1 - (i + 0.5) / n), 1 / 2.0);
        double[] kl = Weibull.fit(t);
        assertEquals(2, kl[0], 0.01);
        assertEquals(3, kl[1], 0.01);
        assertEquals(1 - Math.exp(-1), Weibull.cdf(3, kl[0], kl[1]), 0.01);
    }

    @Test
    void theSoftmaxScoresOfARowWithNaNAreNaNWithoutTheInputCheck() {
        // the public score functions do not check their input: a NaN anywhere in a float32 row (beside an
        // infinity or not, in a whole vector's lanes or in the tail) must still score NaN, never a number
        try (Scope s = Scope.open()) {
            for (int col : new int[] {0, 17, 999}) {
                for (double other : new double[] {0, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
                    Tensor z = Tensor.randn(new java.util.SplittableRandom(col), DType.FLOAT32, 3, 1000);
                    z.set(Double.NaN, 1, col);
                    z.set(other, 1, (col + 500) % 1000);
                    for (Tensor scores : new Tensor[] {MaxSoftmax.score(z), Entropy.score(z), GEN.score(z, 0.1), EnergyBased.score(z)}) {
                        double[] v = scores.toDoubleArray();
                        assertTrue(Double.isNaN(v[1]), "NaN at column " + col + " beside " + other + ": " + v[1]);
                        assertTrue(Double.isFinite(v[0]) && Double.isFinite(v[2]), "the other rows");
                    }
                }
            }
        }
    }

    @Test
    void badInputIsRefusedWithTheProblemNamed() {
        try (Scope s = Scope.open()) {
            MaxSoftmax msp = new MaxSoftmax(null);
            assertMessage(IllegalArgumentException.class, "2-D", () -> msp.predictLogits(Tensor.zeros(DType.FLOAT32, 3)));
            assertMessage(IllegalArgumentException.class, "empty", () -> msp.predictLogits(Tensor.zeros(DType.FLOAT32, 0, 3)));
            assertMessage(IllegalArgumentException.class, "float", () -> msp.predictLogits(Tensor.zeros(DType.INT64, 2, 3)));
            Tensor nan = Tensor.zeros(DType.FLOAT32, 3, 2);
            nan.set(Double.NaN, 2, 1);
            assertMessage(IllegalArgumentException.class, "row 2", () -> msp.predictLogits(nan));
            assertMessage(ModelNotSetException.class, "without a model", () -> msp.predict(Tensor.zeros(DType.FLOAT32, 1, 2)));
            assertMessage(IllegalArgumentException.class, "t must be", () -> new MaxSoftmax(null, 0));
            assertMessage(IllegalArgumentException.class, "gamma", () -> new GEN(null, -1));
            assertMessage(IllegalArgumentException.class, "euclid_weight", () -> new OpenMax(null, 25, 10, 1.5));

            KLMatching kl = new KLMatching(null);
            assertMessage(RequiresFitException.class, "fitted", () -> kl.predictLogits(Tensor.zeros(DType.FLOAT32, 1, 2)));
            Tensor fit = Tensor.of(new float[][] {{1, 0}, {0, 1}});
            assertMessage(IllegalArgumentException.class, "int64", () -> kl.fitLogits(fit, Tensor.of(new float[] {0, 1})));
            assertMessage(IllegalArgumentException.class, "label 5", () -> kl.fitLogits(fit, Tensor.of(new long[] {0, 5})));
            assertMessage(IllegalArgumentException.class, "shape [2]", () -> kl.fitLogits(fit, Tensor.of(new long[] {0})));
            assertMessage(IllegalArgumentException.class, "OOD", () -> kl.fitLogits(fit, Tensor.of(new long[] {-1, -1})));
            kl.fitLogits(fit, Tensor.of(new long[] {0, 1}));
            assertMessage(IllegalArgumentException.class, "3 classes", () -> kl.predictLogits(Tensor.zeros(DType.FLOAT32, 1, 3)));

            WeightedEBO webo = new WeightedEBO(null, Tensor.of(new double[] {1, 2}));
            assertMessage(IllegalArgumentException.class, "weights have 2", () -> webo.predictLogits(Tensor.zeros(DType.FLOAT32, 1, 3)));
            assertMessage(IllegalArgumentException.class, "positive", () -> new WeightedEBO(null, Tensor.of(new double[] {1, 0})));
        }
    }

    private static void assertMessage(Class<? extends Throwable> type, String part, org.junit.jupiter.api.function.Executable call) {
        Throwable e = assertThrows(type, call);
        assertTrue(e.getMessage().contains(part), "message '" + e.getMessage() + "' should mention '" + part + "'");
    }

    @Test
    void modelPathRunsTheModelAndFitsOnBatches() {
        try (Scope s = Scope.open()) {
            Tensor w = Tensor.of(new float[][] {{1, 0}, {0, 1}, {1, 1}});      // 2 inputs -> 3 classes
            Function<Tensor, Tensor> model = x -> x.matmul(w.t());
            Tensor x = Tensor.of(new float[][] {{3, 0}, {0, 2}, {1, 1}});
            MaxSoftmax msp = new MaxSoftmax(model);
            assertArrayEquals(scores(new MaxSoftmax(null), model.apply(x)), msp.predict(x).toDoubleArray());

            KLMatching kl = new KLMatching(model);
            kl.fit(List.of(new Batch(x.slice(0, 0, 2), Tensor.of(new long[] {0, 1})), new Batch(x.slice(0, 2, 3), Tensor.of(new long[] {2}))));
            assertTrue(kl.isFitted());
            assertEquals(3, kl.predict(x).numel());
        }
    }

    @Test
    void registryBuildsWithDefaultsAndRefusesUnknownParameters() {
        try (Detector d = DetectorRegistry.create("GEN", Map.of("gamma", 0.5), null)) {
            assertFalse(d.requiresFit());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> DetectorRegistry.create("MaxSoftmax", Map.of("temp", 2), null));
        assertTrue(e.getMessage().contains("'temp'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DetectorRegistry.create("NoSuch", Map.of(), null));
    }

    @Test
    void scoringManyRowsStreamsAndFreesItsIntermediates() {
        long before = MemoryStats.liveBlocks();
        try (Tensor logits = Tensor.randn(new SplittableRandom(9), DType.FLOAT32, 3 * Inputs.CHUNK_ROWS + 17, 7);
             KLMatching kl = new KLMatching(null)) {
            try (Tensor labels = Tensor.zeros(DType.INT64, logits.size(0))) {
                kl.fitLogits(logits, labels);
            }
            try (Tensor sc = kl.predictLogits(logits)) {
                assertEquals(logits.size(0), sc.numel());
            }
        }
        assertEquals(before, MemoryStats.liveBlocks(), "no storage outlives the detector");
    }

    /**
     * The float32 row path against the float64 one on the same values: every softmax-family score
     * within 1e-6 relative or 1e-8 absolute (z - max(z) rounds in float32: for |z - max| ~ 16 that
     * is 1e-6 of exp, felt in a tiny entropy), for row lengths around the vector width and the float64 flush of the
     * sums, with confident rows (p near 1, where 1 - p in float32 would keep one digit: GEN) and
     * large negative logits (p far below the clamp: Entropy, GEN); GEN's gamma = 1 / root (one exp a
 * value), another gamma <= 1 (two) and one above 1 (float64 rows).
     */
    @Test
    void float32RowsAgreeWithFloat64Rows() {
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(11);
            for (int c : new int[] {1, 3, 7, 8, 9, 31, 129, 1000, 1001}) {
                int n = 64;
                float[] z = new float[n * c];
                for (int i = 0; i < n; i++) {
                    double spread = i % 4 == 0 ? 30 : 3;                       // every 4th row confident
                    for (int j = 0; j < c; j++) z[i * c + j] = (float) (spread * rng.nextGaussian());
                }
                Tensor f32 = Tensor.of(z, n, c), f64 = f32.to(DType.FLOAT64);
                for (LogitsDetector d : List.<LogitsDetector>of(new MaxSoftmax(null, 0.7), new EnergyBased(null, 1.5),
                        new Entropy(null), new GEN(null), new GEN(null, 0.5), new GEN(null, 0.37), new GEN(null, 3), new MaxLogit(null))) {
                    double[] a = scores(d, f32), b = scores(d, f64);
                    for (int i = 0; i < n; i++) {
                        assertEquals(b[i], a[i], Math.max(1e-6 * Math.abs(b[i]), 1e-8), d.name() + " c=" + c + " row " + i);
                    }
                }
            }
        }
    }
}
