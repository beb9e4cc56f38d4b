package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Json;
import org.ood4j.engine.io.Npy;

class OodMetricsTest {

    static Path metricsDir() throws Exception {
        return Path.of(OodMetricsTest.class.getResource("/conformance/metrics/manifest.json").toURI()).getParent();
    }

    @SuppressWarnings("unchecked")
    static Stream<String> cases() throws Exception {
        Map<String, Object> manifest = (Map<String, Object>) Json.parse(Files.readString(metricsDir().resolve("manifest.json")));
        return ((List<String>) manifest.get("cases")).stream();
    }

    /** The independent values of the conformance set (computed with scikit-learn's curves). */
    @SuppressWarnings("unchecked")
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesTheReferenceValues(String id) throws Exception {
        Path dir = metricsDir().resolve(id);
        Map<String, Object> spec = (Map<String, Object>) Json.parse(Files.readString(dir.resolve("case.json")));
        Map<String, Object> expected = (Map<String, Object>) spec.get("expected");
        double atol = ((Number) ((Map<String, Object>) spec.get("tolerance")).get("atol")).doubleValue();
        try (Scope s = Scope.open()) {
            Tensor scores = Npy.read(dir.resolve((String) spec.get("scores"))), labels = Npy.read(dir.resolve((String) spec.get("labels")));
            // fed in two batches: streaming gives the same answer
            long half = scores.size(0) / 2;
            OodMetrics m = new OodMetrics().update(scores.slice(0, 0, half), labels.slice(0, 0, half))
                    .update(scores.slice(0, half, scores.size(0)), labels.slice(0, half, labels.size(0)));
            OodMetrics.Result r = m.compute();
            assertEquals(((Number) expected.get("AUROC")).doubleValue(), r.auroc(), atol, "AUROC");
            assertEquals(((Number) expected.get("AUPR-IN")).doubleValue(), r.auprIn(), atol, "AUPR-IN");
            assertEquals(((Number) expected.get("AUPR-OUT")).doubleValue(), r.auprOut(), atol, "AUPR-OUT");
            assertEquals(((Number) expected.get("FPR95TPR")).doubleValue(), r.fpr95tpr(), atol, "FPR95TPR");
        }
    }

    @Test
    void rocCurveOfTheHandWorkedExample() {
        // thresholds 0.8 (OOD), 0.4 (ID), 0.35 (OOD), 0.1 (ID): the curve the AUROC 0.75 is the area under
        OodMetrics.Roc roc = new OodMetrics().update(new double[] {0.1, 0.4}, new double[] {0.35, 0.8}).roc();
        assertArrayEquals(new double[] {0, 0, 0.5, 0.5, 1}, roc.fpr(), 1e-15);
        assertArrayEquals(new double[] {0, 0.5, 0.5, 1, 1}, roc.tpr(), 1e-15);
        // ties are one point
        OodMetrics.Roc tied = new OodMetrics().update(new double[] {1, 1}, new double[] {1, 2}).roc();
        assertArrayEquals(new double[] {0, 0, 1}, tied.fpr(), 1e-15);
        assertArrayEquals(new double[] {0, 0.5, 1}, tied.tpr(), 1e-15);
        assertThrows(IllegalStateException.class, () -> new OodMetrics().update(new double[] {1}, new double[0]).roc());
    }

    @Test
    void handWorkedExample() {
        // ID scores {0.1, 0.4}, OOD {0.35, 0.8}: of the 4 ID/OOD pairs, 3 rank the OOD sample higher.
        OodMetrics.Result r = new OodMetrics().update(new double[] {0.1, 0.4}, new double[] {0.35, 0.8}).compute();
        assertEquals(0.75, r.auroc(), 1e-15);
        // OOD positive, thresholds 0.8, 0.4, 0.35, 0.1: (recall, precision) = (.5, 1), (.5, .5), (1, 2/3), stop.
        assertEquals(0.5 * 1 + 0.5 * (0.5 + 2.0 / 3) / 2, r.auprOut(), 1e-15);
        // TPR reaches 0.95 first at threshold 0.35, where 1 of 2 ID samples is above: FPR 0.5.
        assertEquals(0.5, r.fpr95tpr(), 1e-15);
        // ID positive on negated scores: -0.1 first (recall .5, precision 1), then -0.35 (.5, .5), -0.4 (1, 2/3).
        assertEquals(0.5 * 1 + 0.5 * (0.5 + 2.0 / 3) / 2, r.auprIn(), 1e-15);
    }

    @Test
    void tiesAreOneThreshold() {
        OodMetrics.Result r = new OodMetrics().update(new double[] {1, 1}, new double[] {1, 1}).compute();
        assertEquals(0.5, r.auroc(), 1e-15);
        assertEquals(1, r.fpr95tpr(), 1e-15);
        // one threshold: (recall 1, precision .5), closed at (0, 1) as scikit-learn does: area .75
        assertEquals(0.75, r.auprOut(), 1e-15);
    }

    @Test
    void needsBothClassesAndNoNaN() {
        assertThrows(IllegalStateException.class, () -> new OodMetrics().update(new double[] {1, 2}, new double[0]).compute());
        assertThrows(IllegalArgumentException.class, () -> new OodMetrics().update(new double[] {Double.NaN}, new double[] {1}));
    }
}
