package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** The decision rule: exact thresholds (ties, tpr 0 and 1), conformal p-values, persistence, OodMetrics' threshold. */
class CalibrationTest {
    @TempDir Path dir;

    @Test
    void thresholdKeepsAtLeastTheFractionOfIdScores() {
        Calibration c = Calibration.of(new double[] {4, 1, 3, 2}, 0.5);
        assertEquals(2, c.threshold(), "the ceil(0.5 * 4) = 2nd smallest");
        assertArrayEquals(new boolean[] {false, false, true, true}, c.isOod(new double[] {1, 2, 2.5, 4}));

        Calibration ties = Calibration.of(new double[] {1, 2, 2, 2, 3}, 0.5);
        assertEquals(2, ties.threshold(), "ceil(2.5) = 3rd smallest; the ties keep 4 of 5");
        assertEquals(0.8, fractionKept(ties, new double[] {1, 2, 2, 2, 3}));

        assertEquals(3, Calibration.of(new double[] {1, 2, 3}, 1).threshold(), "tpr 1 keeps every ID sample");
        assertArrayEquals(new boolean[] {false, false, false}, Calibration.of(new double[] {1, 2, 3}, 1).isOod(new double[] {1, 2, 3}));
        Calibration none = Calibration.of(new double[] {1, 2, 3}, 0);
        assertEquals(Double.NEGATIVE_INFINITY, none.threshold(), "tpr 0 keeps nothing");
        assertArrayEquals(new boolean[] {true, true}, none.isOod(new double[] {-1e300, 1}));
        assertEquals(2, Calibration.of(new double[] {1, 2, 3}, 0.34).threshold(), "ceil(0.34 * 3) = ceil(1.02): the 2nd smallest");
    }

    private static double fractionKept(Calibration c, double[] id) {
        int kept = 0;
        for (boolean ood : c.isOod(id)) if (!ood) kept++;
        return kept / (double) id.length;
    }

    @Test
    void pValuesAreConformal() {
        Calibration c = Calibration.of(new double[] {1, 2, 3, 4}, 0.95);
        assertArrayEquals(new double[] {1.0, 3.0 / 5, 2.0 / 5, 1.0 / 5, 2.0 / 5}, c.pValues(new double[] {0, 2.5, 4, 5, 3.5}), 0);
        // for ID-like scores the p-value is (super-)uniform: P(p <= a) <= a
        SplittableRandom rng = new SplittableRandom(2);
        double[] id = new double[2000], test = new double[20000];
        for (int i = 0; i < id.length; i++) id[i] = rng.nextGaussian();
        for (int i = 0; i < test.length; i++) test[i] = rng.nextGaussian();
        double[] p = Calibration.of(id, 0.95).pValues(test);
        long small = java.util.Arrays.stream(p).filter(v -> v <= 0.05).count();
        assertEquals(0.05, small / (double) test.length, 0.01);
    }

    @Test
    void badInputIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Calibration.of(new double[] {1, Double.NaN}, 0.9), "NaN ID score");
        assertThrows(IllegalArgumentException.class, () -> Calibration.of(new double[0], 0.9), "no ID score");
        var tpr = assertThrows(IllegalArgumentException.class, () -> Calibration.of(new double[] {1}, 1.5));
        assertTrue(tpr.getMessage().contains("tpr must be in [0, 1], got 1.5"), tpr.getMessage());
        var nan = assertThrows(IllegalArgumentException.class, () -> Calibration.of(new double[] {1}, 0.5).isOod(new double[] {0, Double.NaN}));
        assertTrue(nan.getMessage().contains("score 1 is NaN"), nan.getMessage());
        try (Scope s = Scope.open()) {
            assertThrows(RequiresFitException.class, () -> new KLMatching(null).calibrate(Tensor.of(new double[] {1}), 0.9));
            assertThrows(IllegalArgumentException.class, () -> new MaxLogit(null).calibrate(Tensor.zeros(DType.FLOAT64, 2, 2), 0.9));
        }
    }

    @Test
    void aLargeIdSetKeepsABoundedReproducibleSample() {
        double[] id = new double[250_000];
        SplittableRandom rng = new SplittableRandom(5);
        for (int i = 0; i < id.length; i++) id[i] = rng.nextDouble();
        Calibration c = Calibration.of(id, 0.95);
        double[] sorted = id.clone();
        java.util.Arrays.sort(sorted);
        assertEquals(sorted[(int) Math.ceil(0.95 * id.length) - 1], c.threshold(), "the threshold over all of them");
        assertEquals(Calibration.MAX_SAMPLE, c.idSample().length);
        assertEquals(250_000, c.idCount());
        assertEquals(c, Calibration.of(id, 0.95), "the same sample every time");
        double[] sample = c.idSample();
        for (int i = 1; i < sample.length; i++) assertTrue(sample[i - 1] <= sample[i]);
    }

    @Test
    void aCalibratedDetectorSavesAndLoadsItsRuleAndARefitDropsIt() throws Exception {
        Path file = dir.resolve("kl.safetensors");
        try (Scope s = Scope.open()) {
            Tensor logits = Tensor.randn(new SplittableRandom(1), DType.FLOAT32, 60, 3);
            long[] y = new long[60];
            for (int i = 0; i < 60; i++) y[i] = i % 3;
            KLMatching kl = new KLMatching(null);
            kl.fitLogits(logits, Tensor.of(y));
            Calibration c = kl.calibrate(kl.predictLogits(logits), 0.9);
            DetectorFiles.save(kl, file);
            try (AbstractDetector loaded = DetectorFiles.load(file, null)) {
                assertEquals(c, loaded.calibration());
            }
            kl.fitLogits(logits, Tensor.of(y));
            assertNull(kl.calibration(), "a refit forgets the rule");
            kl.close();
        }
        // the rule is covered by the checksum
        byte[] bytes = Files.readAllBytes(file);
        String text = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1);
        int at = text.indexOf("\\\"tpr\\\":0.9");
        assertTrue(at > 0, "the rule is in the metadata");
        bytes[at + 8] = '8';
        Files.write(file, bytes);
        var e = assertThrows(org.ood4j.engine.io.ArrayFormatException.class, () -> DetectorFiles.load(file, null));
        assertTrue(e.getMessage().contains("checksum"), e.getMessage());
    }

    @Test
    void metricsGiveTheThresholdOfTheirFpr95Point() {
        // ROC from high to low: 0.7, 0.6, 0.5 (OOD), 0.3 (ID), 0.25 (OOD: TPR reaches 1), ...
        OodMetrics.Result r = new OodMetrics().update(new double[] {0.1, 0.2, 0.3}, new double[] {0.25, 0.5, 0.6, 0.7}).compute();
        assertEquals(0.25, r.threshold95());
        assertEquals(1.0 / 3, r.fpr95tpr(), 1e-15);
    }
}
