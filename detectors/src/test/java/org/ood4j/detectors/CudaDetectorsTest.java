package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.engine.Backends;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.junit.jupiter.api.Assumptions;

/**
 * Detectors on CUDA inputs beyond the conformance cases: scores come back on the input's device
 * and equal the CPU's; bad input on the device is refused with the CPU's message (not a
 * complaint about where the tensor lives); a detector fitted on CUDA saves, loads back (on the
 * host) and, moved with to(Device.CUDA), scores as before; unmoved, it says so.
 * Runs where CUDA is available — in the build, on the CUDA host emulator (cuda-emulator execution).
 */
class CudaDetectorsTest {
    @TempDir Path dir;

    @BeforeEach
    void cuda() {
        Assumptions.assumeTrue(Backends.cudaStatus().available(), "CUDA " + Backends.cudaStatus());
    }

    private static Tensor normal(long seed, long... shape) {
        return Tensor.randn(new SplittableRandom(seed), DType.FLOAT32, shape);
    }

    /** Mahalanobis fitted on CUDA to n random features of dimension dim in 3 classes (call inside a scope). */
    private static Mahalanobis mahalanobisOnCuda(long seed, int n, int dim) {
        Tensor features = normal(seed, n, dim).to(Device.CUDA);
        Tensor labels = Tensor.rand(new SplittableRandom(seed + 1), DType.INT64, 0, 3, n).to(Device.CUDA);
        Mahalanobis d = (Mahalanobis) DetectorRegistry.create("Mahalanobis", Map.of(), null);
        d.fitFeatures(features, labels);
        return d;
    }

    @Test
    void logitsAndFeatureScoresStayOnTheDeviceAndEqualTheCpus() {
        try (Scope s = Scope.open()) {
            Tensor logits = normal(1, 50, 7), features = normal(2, 80, 5), labels = Tensor.rand(new SplittableRandom(3), DType.INT64, 0, 4, 80);
            for (String name : new String[] {"MaxSoftmax", "EnergyBased", "Entropy", "MaxLogit"}) {
                Detector cpu = DetectorRegistry.create(name, Map.of(), null), gpu = DetectorRegistry.create(name, Map.of(), null);
                Tensor expected = ((LogitsDetector) cpu).predictLogits(logits);
                Tensor actual = ((LogitsDetector) gpu).predictLogits(logits.to(Device.CUDA));
                assertEquals(Device.CUDA, actual.device(), name);
                assertArrayEquals(expected.toDoubleArray(), actual.toDoubleArray(), 1e-5, name);
            }
            for (String name : new String[] {"Mahalanobis", "KNN", "RMD"}) {
                FeaturesDetector cpu = (FeaturesDetector) DetectorRegistry.create(name, Map.of(), null);
                FeaturesDetector gpu = (FeaturesDetector) DetectorRegistry.create(name, Map.of(), null);
                cpu.fitFeatures(features, labels);
                gpu.fitFeatures(features.to(Device.CUDA), labels.to(Device.CUDA));
                Tensor expected = cpu.predictFeatures(features), actual = gpu.predictFeatures(features.to(Device.CUDA));
                assertEquals(Device.CUDA, actual.device(), name);
                double[] e = expected.toDoubleArray(), a = actual.toDoubleArray();
                for (int i = 0; i < e.length; i++) assertEquals(e[i], a[i], 1e-4 * Math.max(1, Math.abs(e[i])), name + " [" + i + "]");
            }
        }
    }

    @Test
    void badInputOnTheDeviceGetsTheCpusMessage() {
        try (Scope s = Scope.open()) {
            Tensor logits = normal(4, 6, 3);
            logits.set(Double.NaN, 2, 1);
            LogitsDetector d = (LogitsDetector) DetectorRegistry.create("MaxSoftmax", Map.of(), null);
            String onCpu = assertThrows(IllegalArgumentException.class, () -> d.predictLogits(logits)).getMessage();
            String onGpu = assertThrows(IllegalArgumentException.class, () -> d.predictLogits(logits.to(Device.CUDA))).getMessage();
            assertEquals(onCpu, onGpu);
            assertTrue(onGpu.contains("row 2"), onGpu);

            FeaturesDetector m = (FeaturesDetector) DetectorRegistry.create("Mahalanobis", Map.of(), null);
            Tensor labels = Tensor.of(new long[] {0, 1, 7, 1, 0, 1}).to(Device.CUDA);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> m.fitFeatures(normal(5, 6, 3).to(Device.CUDA), labels.to(DType.FLOAT64)));
            assertTrue(e.getMessage().contains("int64"), e.getMessage());
            RequiresFitException unfitted = assertThrows(RequiresFitException.class, () -> m.predictFeatures(normal(6, 2, 3).to(Device.CUDA)));
            assertNotNull(unfitted.getMessage());
        }
    }

    /** Four threads, each with its own stream, share one fitted detector: every thread gets the single-thread scores. */
    @Test
    void threadsSharingADetectorOnCudaGetTheSingleThreadScores() throws Exception {
        try (Scope s = Scope.open()) {
            Mahalanobis d = mahalanobisOnCuda(10, 90, 6);
            Tensor[] queries = new Tensor[4];
            double[][] expected = new double[4][];
            for (int t = 0; t < 4; t++) {
                queries[t] = normal(20 + t, 33, 6).to(Device.CUDA);
                expected[t] = d.predictFeatures(queries[t]).toDoubleArray();
            }
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
            try {
                java.util.List<java.util.concurrent.Future<double[]>> results = new java.util.ArrayList<>();
                for (int round = 0; round < 5; round++) {
                    for (int t = 0; t < 4; t++) {
                        Tensor q = queries[t];
                        results.add(pool.submit(() -> {
                            try (Tensor scores = d.predictFeatures(q)) {
                                return scores.toDoubleArray();
                            }
                        }));
                    }
                }
                for (int i = 0; i < results.size(); i++) assertArrayEquals(expected[i % 4], results.get(i).get(), 0, "task " + i);
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void aDetectorFittedOnCudaSavesAndLoadsToTheSameScores() throws Exception {
        try (Scope s = Scope.open()) {
            Mahalanobis fitted = mahalanobisOnCuda(7, 60, 4);
            Path file = dir.resolve("mahalanobis.safetensors");
            DetectorFiles.save(fitted, file);
            Mahalanobis loaded = DetectorFiles.load(file, null, Mahalanobis.class);   // state on the host
            Tensor queries = normal(9, 10, 4).to(Device.CUDA);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> loaded.predictFeatures(queries));
            assertTrue(e.getMessage().contains("is on CPU and the input on CUDA") && e.getMessage().contains("to(Device.CUDA)"),
                    e.getMessage());
            loaded.to(Device.CUDA);
            assertArrayEquals(fitted.predictFeatures(queries).toDoubleArray(), loaded.predictFeatures(queries).toDoubleArray(), 1e-9);
        }
    }
}
