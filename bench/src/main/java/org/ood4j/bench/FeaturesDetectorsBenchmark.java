package org.ood4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.detectors.DICE;
import org.ood4j.detectors.FeaturesDetector;
import org.ood4j.detectors.GMM;
import org.ood4j.detectors.KNN;
import org.ood4j.detectors.LinearHead;
import org.ood4j.detectors.Mahalanobis;
import org.ood4j.detectors.NCI;
import org.ood4j.detectors.NNGuide;
import org.ood4j.detectors.RMD;
import org.ood4j.detectors.SHE;
import org.ood4j.detectors.ViM;
import org.ood4j.detectors.fDBD;
import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;
import org.openjdk.jmh.annotations.*;

/**
 * Fit on fitRows x dim float32 features of 10 classes (class-centred Gaussians, ReLU'd), then
 * score rows: one fit + one predict per invocation, reported as the sum (time only: the work is a
 * mix of GEMMs, decompositions and row passes; `ood4j bench` times fit and predict separately).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class FeaturesDetectorsBenchmark {
    @Param({"Mahalanobis", "RMD", "GMM", "KNN", "NNGuide", "ViM", "SHE", "DICE", "NCI", "fDBD"})
    String detector;

    @Param("50000")
    int fitRows;

    @Param("10000")
    int rows;

    @Param("512")
    int dim;

    @Param({"cpu", "cuda"})
    String backend;

    static final int CLASSES = 10;

    Tensor fit, labels, x, w, b;
    org.ood4j.engine.Device device;

    @Setup
    public void setup() {
        device = Backend.device(backend);
        SplittableRandom rng = new SplittableRandom(7);
        try (Tensor centres = Tensor.randn(rng, DType.FLOAT32, CLASSES, dim)) {
            labels = Tensor.rand(rng, DType.INT64, 0, CLASSES, fitRows);
            try (Tensor noise = Tensor.randn(rng, DType.FLOAT32, fitRows, dim); Tensor c = centres.mul(2).indexSelect(0, labels);
                 Tensor sum = noise.add(c)) {
                fit = sum.relu();
            }
            try (Tensor l = Tensor.rand(rng, DType.INT64, 0, CLASSES, rows); Tensor noise = Tensor.randn(rng, DType.FLOAT32, rows, dim);
                 Tensor c = centres.mul(2).indexSelect(0, l); Tensor sum = noise.add(c)) {
                x = sum.relu();
            }
            w = centres.mul(0.1);
        }
        b = Tensor.zeros(DType.FLOAT32, CLASSES);
        if (device != org.ood4j.engine.Device.CPU) {
            Tensor[] moved = {fit.to(device), labels.to(device), x.to(device)};
            fit.close();
            labels.close();
            x.close();
            fit = moved[0];
            labels = moved[1];
            x = moved[2];
        }
    }

    private FeaturesDetector create() {
        return switch (detector) {
            case "Mahalanobis" -> new Mahalanobis(null, 0, null);
            case "RMD" -> new RMD(null);
            case "GMM" -> new GMM(null, 1e-6);
            case "KNN" -> new KNN(null, 1);
            case "NNGuide" -> new NNGuide(null, w, b, 10);
            case "ViM" -> new ViM(null, 64, w, b);
            case "SHE" -> new SHE(null, new LinearHead(w, b));
            case "DICE" -> new DICE(null, w, b, 70, null);
            case "NCI" -> new NCI(null, new LinearHead(w, b), 0);
            case "fDBD" -> new fDBD(null, new LinearHead(w, b));
            default -> throw new IllegalArgumentException(detector);
        };
    }

    @TearDown
    public void tearDown() {
        fit.close();
        labels.close();
        x.close();
        w.close();
        b.close();
    }

    @Benchmark
    public double fitAndPredict() {
        try (FeaturesDetector d = create()) {
            d.fitFeatures(fit, labels);
            try (Tensor scores = d.predictFeatures(x)) {
                return scores.getDouble(0);
            }
        }
    }
}
