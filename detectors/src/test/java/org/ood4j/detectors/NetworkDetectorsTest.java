package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Tape;
import org.ood4j.engine.autodiff.Var;
import org.ood4j.models.Dropout;
import org.ood4j.models.Sequential;
import org.ood4j.models.Zoo;

/**
 * Edge cases of the detectors that run the network (ODIN, GradNorm, GradNormKL, NACUE, MCD,
 * Mahalanobis with input preprocessing): independent reference computations, mode and state
 * restoration, bins, parameter checks, concurrency.
 */
class NetworkDetectorsTest {
    private static final int CLASSES = 5;

    /** A small CNN (3, 8, 8) → 5 classes with non-trivial batch-norm statistics, in evaluation mode. */
    private static Sequential cnn(double dropout) {
        SplittableRandom rng = new SplittableRandom(11);
        Sequential net = Zoo.smallCnn(3, 8, 8, CLASSES, 2, dropout, rng);
        try (Scope s = Scope.open()) {
            net.train();
            for (int i = 0; i < 3; i++) net.apply(Tensor.randn(rng, DType.FLOAT32, 6, 3, 8, 8).mul(2).add(0.5));
            net.eval();
        }
        return net;
    }

    private static Tensor images(long seed, int n) {
        return Tensor.randn(new SplittableRandom(seed), DType.FLOAT32, n, 3, 8, 8);
    }

    // ---------------------------------------------------------------- ODIN

    @Test
    void odinWithEpsZeroIsMaxSoftmaxOfTheNetwork() {
        try (Sequential net = cnn(0); Scope s = Scope.open()) {
            Tensor x = images(1, 9);
            double[] odin = new ODIN(net, 0, 1000, null).predict(x).toDoubleArray();
            // the network runs in float64: exactly MaxSoftmax of the float64 logits
            assertArrayEquals(MaxSoftmax.score(net.apply(x.to(DType.FLOAT64))).toDoubleArray(), odin);
            assertArrayEquals(new MaxSoftmax(net).predict(x).toDoubleArray(), odin, 1e-6);
            assertEquals(0, ODIN.preprocess(net, x, null, 0, 1, null).sub(x.to(DType.FLOAT64)).abs().max().item());
        }
    }

    @Test
    void odinStepsEverySignedGradientComponentByEpsOverNormStd() {
        try (Sequential net = cnn(0); Scope s = Scope.open()) {
            Tensor x = images(2, 4).to(DType.FLOAT64);
            double eps = 0.01;
            double[] std = {0.5, 1, 2};
            Tensor labels = Tensor.of(new long[] {0, 3, 1, 4});
            Tensor xHat = ODIN.preprocess(net, x, labels, eps, 7, std);
            // reference: d/dx of -(1/N) sum_i f(x_i)_{y_i} / T on a tape of our own
            Tensor grad;
            try (Tape tape = new Tape()) {
                Var xv = tape.watch(x);
                Var logits = net.forward(xv);
                Var picked = null;
                for (int i = 0; i < 4; i++) {
                    Var v = logits.select(0, i).select(0, labels.getLong(i));
                    picked = picked == null ? v : picked.add(v);
                }
                grad = tape.grad(picked.div(7).div(-4), List.of(xv)).get(0);
            }
            double[] g = grad.toDoubleArray(), moved = xHat.sub(x).toDoubleArray();
            for (int i = 0; i < g.length; i++) {
                int channel = (i / 64) % 3;
                assertEquals(-eps * Math.signum(g[i]) / std[channel], moved[i], 1e-15, "element " + i);
            }
            // labels: the step of the predicted class differs from that of another class
            Tensor predicted = ODIN.preprocess(net, x, null, eps, 7, std);
            Tensor yhat = net.apply(x).argmax(1);
            assertArrayEquals(predicted.toDoubleArray(), ODIN.preprocess(net, x, yhat, eps, 7, std).toDoubleArray());
        }
    }

    @Test
    void odinScoresInChunksAsSampleBySample() {
        try (Sequential net = Zoo.mlp(6, new int[] {8}, 3, 0, new SplittableRandom(3)); Scope s = Scope.open()) {
            Tensor x = Tensor.randn(new SplittableRandom(4), DType.FLOAT32, NetworkDetector.CHUNK_ROWS + 5, 6);
            ODIN odin = new ODIN(net, 0.02, 5, null);
            double[] all = odin.predict(x).toDoubleArray();
            for (int i : new int[] {0, 17, NetworkDetector.CHUNK_ROWS - 1, NetworkDetector.CHUNK_ROWS + 4}) {
                assertEquals(odin.predict(x.slice(0, i, i + 1)).item(), all[i], 1e-12, "row " + i);
            }
        }
    }

    @Test
    void odinChecksItsParametersAndInputs() {
        try (Sequential net = cnn(0); Scope s = Scope.open()) {
            assertMessage(() -> new ODIN(net, -0.1, 1000, null), "eps must be >= 0");
            assertMessage(() -> new ODIN(net, 0.1, 0, null), "temperature must be a positive");
            assertMessage(() -> new ODIN(net, 0.1, 1, new double[] {1, 0, 1}), "norm_std must be a positive");
            assertMessage(() -> new ODIN(net, 0.1, 1, new double[] {1, 2}).predict(images(1, 2)), "norm_std has 2 values, the input has 3");
            assertMessage(() -> new ODIN(net).predict(images(1, 2).reshape(2, 192)), "needs input");
            Tensor nan = images(1, 2);
            nan.set(Double.NaN, 1, 0, 0, 0);
            assertMessage(() -> new ODIN(net).predict(nan), "row 1");
            assertMessage(() -> ODIN.preprocess(net, images(1, 2), Tensor.of(new long[] {0, CLASSES}), 0.1, 1, null), "out of range");
            assertMessage(() -> ODIN.preprocess(net, images(1, 2), Tensor.of(new long[] {0, -1}), 0.1, 1, null), ">= 0");
            assertMessage(() -> DetectorRegistry.apply("odin_preprocessing", Map.of("epsilon", 0.1), Network.of(net), images(1, 2), null),
                    "no parameter 'epsilon'");
            assertThrows(ModelNotSetException.class, () -> DetectorRegistry.apply("odin_preprocessing", Map.of(), null, images(1, 2), null));
        }
    }

    @Test
    void everyNetworkDetectorNeedsItsNetwork() {
        try (Scope s = Scope.open()) {
            Map<String, Object> nacue = Map.of("layers", List.of(1));
            for (String name : List.of("ODIN", "GradNorm", "GradNormKL", "MCD", "NACUE")) {
                try (Detector d = DetectorRegistry.create(name, name.equals("NACUE") ? nacue : Map.of(), null)) {
                    assertThrows(ModelNotSetException.class, () -> d.predict(images(1, 2)), name);
                    assertThrows(ModelNotSetException.class, () -> d.fit(List.of(new Batch(images(1, 2), null))), name);
                }
            }
        }
    }

    // ---------------------------------------------------------------- GradNorm, GradNormKL

    /**
     * GradNorm and GradNormKL against the squared L2 / L1 norms of full parameter gradients of the
     * BCE loss written out with autodiff, one single-sample backward pass per sample.
     */
    @Test
    void gradNormsEqualSingleSampleBackwardPassesOfTheBceLoss() {
        try (Sequential net = cnn(0); Scope s = Scope.open()) {
            net.to(DType.FLOAT64);
            Tensor x = images(5, 6);
            long before = MemoryStats.liveBlocks();
            double[] gn, gnkl, gnHead;
            try (Scope inner = Scope.open()) {
                gn = new GradNorm(net).predict(x).toDoubleArray();
                gnkl = new GradNormKL(net).predict(x).toDoubleArray();
                gnHead = new GradNorm(net, List.of("12.weight", "12.bias")).predict(x).toDoubleArray();
            }
            assertEquals(before, MemoryStats.liveBlocks(), "leak");
            List<String> all = List.copyOf(net.namedParameters().keySet());
            for (int i = 0; i < 6; i++) {
                Tensor xi = x.slice(0, i, i + 1).to(DType.FLOAT64);
                assertEquals(singleSample(net, xi, 1.0, all, false), gn[i], 1e-9 * gn[i], "GradNorm " + i);
                assertEquals(-singleSample(net, xi, 1.0 / CLASSES, all, true), gnkl[i], 1e-9 * Math.abs(gnkl[i]), "GradNormKL " + i);
                assertEquals(singleSample(net, xi, 1.0, List.of("12.weight", "12.bias"), false), gnHead[i], 1e-9 * gnHead[i]);
            }
        }
    }

    /** sum over the named parameters of ||d BCE(softmax(f(x)), t) / d param|| (L1 or squared L2), by autodiff. */
    private static double singleSample(Sequential net, Tensor x, double t, List<String> names, boolean l1) {
        try (Scope s = Scope.open(); Tape tape = new Tape()) {
            Map<String, Var> params = net.watchParameters(tape);
            Var p = net.forward(tape.constant(x)).softmax(1);
            Var loss = p.log().mul(t).add(p.neg().add(1).log().mul(1 - t)).sum().neg();
            List<Var> wanted = names.stream().map(params::get).toList();
            double total = 0;
            for (Tensor g : tape.grad(loss, wanted)) for (double v : g.toDoubleArray()) total += l1 ? Math.abs(v) : v * v;
            return total;
        }
    }

    @Test
    void bceLogitGradientKeepsTorchsClampAndHasNoCancellation() {
        try (Scope s = Scope.open()) {
            // moderate logits, t = 1: C p_k - 1
            double[] z = {0.3, -1.2, 2.0, 0.0};
            double[] g = GradientNorms.bceSoftmaxLogitGrad(Tensor.of(new double[][] {z}), 1.0).toDoubleArray();
            double[] p = softmax(z);
            for (int k = 0; k < 4; k++) assertEquals(4 * p[k] - 1, g[k], 1e-14);
            // a confident row: probabilities of ~1e-22 hit the clamp; compare with the O(C^2) definition
            double[][] rows = {{50, 0, 0, 1}, {0, 30, -5, 2}, {-3, 1, 0.5, 40}};
            for (double t : new double[] {1.0, 0.25}) {
                double[][] got = GradientNorms.bceSoftmaxLogitGrad(Tensor.of(rows), t).toDoubleMatrix();
                for (int i = 0; i < rows.length; i++) {
                    double[] want = definition(rows[i], t);
                    for (int k = 0; k < 4; k++) assertEquals(want[k], got[i][k], 1e-12 * Math.max(1, Math.abs(want[k])), "t " + t + " row " + i);
                }
            }
        }
    }

    private static double[] softmax(double[] z) {
        double max = Arrays.stream(z).max().orElseThrow(), sum = 0;
        double[] p = new double[z.length];
        for (int j = 0; j < z.length; j++) sum += p[j] = Math.exp(z[j] - max);
        for (int j = 0; j < z.length; j++) p[j] /= sum;
        return p;
    }

    /** The README's definition, term by term: b_j = (p_j - t) / max(p_j q_j, 1e-12), g_k = b_k p_k q_k - p_k sum_{j != k} b_j p_j. */
    private static double[] definition(double[] z, double t) {
        int c = z.length;
        double[] p = softmax(z), q = new double[c], b = new double[c], g = new double[c];
        for (int j = 0; j < c; j++) {
            for (int k = 0; k < c; k++) if (k != j) q[j] += p[k];
            b[j] = (p[j] - t) / Math.max(p[j] * q[j], 1e-12);
        }
        for (int k = 0; k < c; k++) {
            double others = 0;
            for (int j = 0; j < c; j++) if (j != k) others += b[j] * p[j];
            g[k] = (p[k] - t) * p[k] * q[k] / Math.max(p[k] * q[k], 1e-12) - p[k] * others;
        }
        return g;
    }

    @Test
    void gradNormChecksItsParameterFilterAndTheModelMode() {
        try (Sequential net = cnn(0); Scope s = Scope.open()) {
            assertMessage(() -> new GradNorm(net, List.of("12.weight", "12.wieght")), "[12.wieght]");
            assertMessage(() -> new GradNormKL(net, List.of()), "param_filter is empty");
            assertMessage(() -> DetectorRegistry.create("GradNorm", Map.of("param_filter", List.of(3)), Network.of(net)), "list of names");
            GradNorm custom = new GradNorm(net, name -> name.startsWith("12."));
            assertArrayEquals(new GradNorm(net, List.of("12.weight", "12.bias")).predict(images(1, 3)).toDoubleArray(),
                    custom.predict(images(1, 3)).toDoubleArray());
            assertMessage(custom::params, "cannot be saved");
            net.train();
            try {
                assertMessage(() -> new GradNorm(net).predict(images(1, 3)), "eval()");
            } finally {
                net.eval();
            }
        }
    }

    // ---------------------------------------------------------------- MCD

    private record ModelState(Map<String, Boolean> training, Map<String, Boolean> dropout, Map<String, double[]> buffers) {
        static ModelState of(Sequential net) {
            Map<String, Boolean> training = new LinkedHashMap<>(), dropout = new LinkedHashMap<>();
            net.namedModules().forEach((n, m) -> {
                training.put(n, m.isTraining());
                if (m instanceof Dropout d) dropout.put(n, d.isActiveAtInference());
            });
            Map<String, double[]> buffers = new LinkedHashMap<>();
            net.stateDict().forEach((n, p) -> buffers.put(n, p.value().toDoubleArray()));
            return new ModelState(training, dropout, buffers);
        }

        void assertSame(ModelState other) {
            assertEquals(training, other.training, "training flags");
            assertEquals(dropout, other.dropout, "dropout flags");
            assertEquals(buffers.keySet(), other.buffers.keySet());
            buffers.forEach((n, v) -> assertArrayEquals(v, other.buffers.get(n), n + " changed"));
        }
    }

    @Test
    void mcdRestoresModesAndRunningStatisticsEvenWhenThePassFails() {
        try (Sequential net = cnn(0.5); Scope s = Scope.open()) {
            // an unusual starting state: one batch norm in training mode, the dropout not forced
            net.get(5).train(true);
            ((Dropout) net.get(11)).setActiveAtInference(false);
            ModelState before = ModelState.of(net);
            for (boolean bn : new boolean[] {true, false}) {
                for (String mode : List.of("mean", "var")) {
                    MCD mcd = new MCD(net, 4, mode, bn);
                    Tensor scores = mcd.predict(images(3, 10));
                    assertTrue(Arrays.stream(scores.toDoubleArray()).allMatch(Double::isFinite));
                    before.assertSame(ModelState.of(net));
                    assertThrows(IllegalArgumentException.class, () -> mcd.predict(Tensor.randn(new SplittableRandom(1), DType.FLOAT32, 2, 4, 8, 8)));
                    before.assertSame(ModelState.of(net));
                }
            }
        }
    }

    @Test
    void mcdWithActiveDropoutVariesAndWithoutItIsTheDeterministicPass() {
        try (Sequential noisy = cnn(0.5); Sequential plain = cnn(0); Scope s = Scope.open()) {
            Tensor x = images(4, 8);
            double[] var = new MCD(noisy, 6, "var", true).predict(x).toDoubleArray();
            assertTrue(Arrays.stream(var).allMatch(v -> v > 0), "dropout makes the passes differ: " + Arrays.toString(var));
            assertTrue(Arrays.stream(new MCD(plain, 3, "var", true).predict(x).toDoubleArray()).allMatch(v -> v == 0));
            // MCD averages float64 softmaxes: against MaxSoftmax's float64 path (float32 logits take the float32 rows)
            assertArrayEquals(MaxSoftmax.score(plain.apply(x).to(DType.FLOAT64)).toDoubleArray(),
                    new MCD(plain, 3, "mean", true).predict(x).toDoubleArray(), 1e-15);
            // batch statistics: the scores of a sample depend on the rest of the batch, which is run whole
            double[] whole = new MCD(plain, 2, "mean", false).predict(x).toDoubleArray();
            double[] half = new MCD(plain, 2, "mean", false).predict(x.slice(0, 0, 4)).toDoubleArray();
            assertNotEquals(whole[0], half[0]);
        }
    }

    @Test
    void mcdChecksItsParameters() {
        assertMessage(() -> new MCD(null, 30, "max", true), "mode must be 'var' or 'mean'");
        assertMessage(() -> new MCD(null, 0, "mean", true), "samples must be at least 1");
        assertMessage(() -> new MCD(null, 1, "var", true), "needs samples >= 2");
        assertMessage(() -> DetectorRegistry.create("MCD", Map.of("batch_norm", "yes"), null), "true or false");
        new MCD(null, 1, "mean", true).close();
    }

    // ---------------------------------------------------------------- NACUE

    @Test
    void nacueBinEdgesAreGeometricAndSymmetric() {
        double[] e = NACUE.binEdges(50);
        assertEquals(51, e.length);
        assertEquals(1e-6, e[0], 1e-21);
        assertEquals(0.5, e[25], 1e-15);
        assertEquals(1 - 1e-6, e[50], 1e-16);
        for (int k = 0; k < 50; k++) assertTrue(e[k] < e[k + 1], "increasing at " + k);
        for (int k = 0; k < 25; k++) {
            assertEquals(1, e[k] + e[50 - k], 1e-15, "symmetric at " + k);
            assertEquals(Math.pow(10, -6 + k * (Math.log10(0.5) + 6) / 25), e[k], 1e-18);
        }
        // e_k < s <= e_(k+1) is bin k; exactly 0.5 is bin m1; clamped at both ends
        for (int k = 0; k < 50; k++) {
            assertEquals(k, NACUE.bin(e[k + 1], e, 50), "upper edge of bin " + k);
            if (k > 0) assertEquals(k, NACUE.bin(Math.nextUp(e[k]), e, 50), "just above the lower edge of bin " + k);
        }
        assertEquals(25, NACUE.bin(0.5, e, 50));
        double[] e90 = NACUE.binEdges(90);          // here the float64 middle edge rounds above 0.5: the rule still puts 0.5 in bin m1
        assertTrue(e90[45] > 0.5);
        assertEquals(45, NACUE.bin(0.5, e90, 90));
        assertEquals(24, NACUE.bin(Math.nextDown(0.5), e, 50));
        assertEquals(0, NACUE.bin(0, e, 50));
        assertEquals(0, NACUE.bin(1e-6, e, 50));
        assertEquals(49, NACUE.bin(1, e, 50));
        // an odd number of bins: 2 floor(M/2) + 1 edges, the last bin never reached
        double[] odd = NACUE.binEdges(5);
        assertEquals(5, odd.length);
        assertEquals(2, NACUE.bin(0.5, odd, 5));
        assertEquals(3, NACUE.bin(1, odd, 5));
    }

    @Test
    void nacueCoversItsOwnFitSamplesFullyWhenOneSampleFillsABin() {
        try (Sequential net = cnn(0); Scope s = Scope.open()) {
            Tensor x = images(6, 12);
            NACUE nacue = new NACUE(net, new int[] {2, 6, 10}, new int[] {20}, new double[] {3}, new double[] {1}, null);
            assertThrows(RequiresFitException.class, () -> nacue.predict(x));
            nacue.fit(List.of(new Batch(x.slice(0, 0, 7), null), new Batch(x.slice(0, 7, 12), null)));
            for (double v : nacue.predict(x).toDoubleArray()) assertEquals(-3, v, 1e-12);
            double total = nacue.counts(0).sum().item();
            assertEquals(12.0 * nacue.counts(0).size(0), total, "every sample counted once per neuron");
            assertEquals(2, nacue.counts(0).size(0), "layer 2: 2 channels (spatial mean)");
            assertEquals(64, nacue.counts(2).size(0), "layer 10: 64 features");
            // OOD rows (label < 0) are not counted
            Tensor y = Tensor.of(new long[] {0, -1, 1, 2, -1, 0, 1, 2, 0, 1, 2, -1});
            NACUE withOod = new NACUE(net, new int[] {2, 6, 10}, new int[] {20}, new double[] {3}, new double[] {1}, null);
            withOod.fit(List.of(new Batch(x, y)));
            assertEquals(9.0 * withOod.counts(0).size(0), withOod.counts(0).sum().item());
            assertMessage(() -> new NACUE(net, new int[] {2}, new int[] {20}, new double[] {3}, new double[] {1}, null)
                    .fit(List.of(new Batch(x.slice(0, 0, 2), Tensor.of(new long[] {-1, -1})))), "label < 0");
        }
    }

    @Test
    void nacueChecksItsParameters() {
        try (Sequential net = cnn(0)) {
            assertMessage(() -> new NACUE(net, new int[] {}), "at least one layer");
            assertMessage(() -> new NACUE(net, new int[] {13}), "out of range");
            assertMessage(() -> new NACUE(net, new int[] {2, 2}), "given twice");
            assertMessage(() -> new NACUE(net, new int[] {2}, new int[] {1}, new double[] {1}, new double[] {1}, null), "m_bins must be at least 2");
            assertMessage(() -> new NACUE(net, new int[] {2, 6}, new int[] {10, 10, 10}, new double[] {1}, new double[] {1}, null),
                    "one value or one per layer (2)");
            assertMessage(() -> new NACUE(net, new int[] {2}, new int[] {10}, new double[] {-1}, new double[] {1}, null), "alpha must be");
            assertMessage(() -> new NACUE(net, new int[] {2}, new int[] {10}, new double[] {1}, new double[] {0}, null), "o_star must be");
            assertMessage(() -> new NACUE(net, new int[] {2}, new int[] {10}, new double[] {1}, new double[] {1}, "median"), "feature_reduce");
            assertMessage(() -> DetectorRegistry.create("NACUE", Map.of(), null), "'layers'");
            assertMessage(() -> DetectorRegistry.create("NACUE", Map.of("layers", List.of(1, 2), "alpha", List.of(1.0)), null),
                    "one per layer (2), got 1 values");
        }
    }

    // ---------------------------------------------------------------- Mahalanobis

    @Test
    void mahalanobisPreprocessingNeedsADifferentiableEncoder() {
        try (Sequential net = cnn(0); Scope s = Scope.open()) {
            Sequential encoder = new Network(net, Zoo.SMALL_CNN_FEATURES_AT, -1).encoder();
            Mahalanobis lambda = new Mahalanobis(x -> encoder.apply(x), 0.01, null);
            lambda.fit(List.of(new Batch(images(7, 20), Tensor.of(new long[20]))));
            assertMessage(() -> lambda.predict(images(7, 2)), "pass it as an org.ood4j.models.Module");
            Mahalanobis module = new Mahalanobis(encoder, 0.01, null);
            module.fit(List.of(new Batch(images(7, 20), Tensor.of(new long[20]))));
            // the step moves towards the closest mean: the distance of the moved input is smaller here
            double[] moved = module.predict(images(8, 6)).toDoubleArray();
            double[] plain = new Mahalanobis(encoder, 0, null).fitFeatures(encoder.apply(images(7, 20)), Tensor.of(new long[20]))
                    .predictFeatures(encoder.apply(images(8, 6))).toDoubleArray();
            for (int i = 0; i < 6; i++) assertTrue(moved[i] < plain[i], moved[i] + " vs " + plain[i]);
        }
    }

    @Test
    void predictAndFitLeaveNothingBehind() {
        try (Sequential net = cnn(0.5); Scope s = Scope.open()) {
            Tensor x = images(12, 10);
            Tensor y = Tensor.of(new long[] {0, 1, 2, 3, 4, 0, 1, 2, 3, -1});
            Sequential encoder = new Network(net, Zoo.SMALL_CNN_FEATURES_AT, -1).encoder();
            List<Detector> detectors = List.of(new ODIN(net, 0.01, 10, new double[] {1, 2, 3}), new GradNorm(net), new GradNormKL(net),
                    new MCD(net, 3, "var", false), new MCD(net, 2, "mean", true), new NACUE(net, new int[] {2, 10}),
                    new Mahalanobis(encoder, 0.01, null));
            for (Detector d : detectors) {
                long before = MemoryStats.liveBlocks();
                try (Scope inner = Scope.open()) {
                    d.fit(List.of(new Batch(x, y)));
                    d.predict(x);
                }
                long fitted = d.requiresFit() ? ((AbstractDetector) d).state().size() : 0;
                assertEquals(before + fitted, MemoryStats.liveBlocks(), d + ": only the fitted state stays");
                d.close();
                assertEquals(before, MemoryStats.liveBlocks(), d + ": closing frees the fitted state");
            }
        }
    }

    // ---------------------------------------------------------------- threads

    @Test
    void fittedDetectorsPredictFromSeveralThreadsAtOnce() throws Exception {
        try (Sequential net = cnn(0); Scope s = Scope.open()) {
            Tensor x = images(9, 16);
            Tensor fitX = images(10, 24);
            NACUE nacue = new NACUE(net, new int[] {2, 10});
            nacue.fit(List.of(new Batch(fitX, null)));
            Mahalanobis maha = new Mahalanobis(new Network(net, Zoo.SMALL_CNN_FEATURES_AT, -1).encoder(), 0.01, null);
            maha.fit(List.of(new Batch(fitX, Tensor.of(new long[24]))));
            List<Detector> detectors = List.of(new ODIN(net, 0.01, 10, null), new GradNorm(net), new GradNormKL(net),
                    new MCD(net, 3, "mean", false), new MCD(net, 3, "var", true), nacue, maha);
            List<double[]> serial = new ArrayList<>();
            for (Detector d : detectors) serial.add(d.predict(x).toDoubleArray());
            ModelState before = ModelState.of(net);
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Boolean>> results = new ArrayList<>();
                for (int rep = 0; rep < 3; rep++) {
                    for (int k = 0; k < detectors.size(); k++) {
                        Detector d = detectors.get(k);
                        double[] want = serial.get(k);
                        results.add(pool.submit(() -> {
                            try (Scope inner = Scope.open()) {
                                return Arrays.equals(want, d.predict(x).toDoubleArray());
                            }
                        }));
                    }
                }
                for (Future<Boolean> f : results) assertTrue(f.get(), "a concurrent predict differs from the serial one");
            } finally {
                pool.shutdown();
            }
            before.assertSame(ModelState.of(net));
        }
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable call, String part) {
        Throwable e = assertThrows(RuntimeException.class, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(part), "message '" + e.getMessage() + "' lacks '" + part + "'");
    }
}
