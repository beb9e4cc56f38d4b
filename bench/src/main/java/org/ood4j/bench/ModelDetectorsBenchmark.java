package org.ood4j.bench;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.detectors.Batch;
import org.ood4j.detectors.Detector;
import org.ood4j.detectors.DetectorRegistry;
import org.ood4j.detectors.Network;
import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;
import org.ood4j.models.Linear;
import org.ood4j.models.ResNets;
import org.ood4j.models.Sequential;
import org.openjdk.jmh.annotations.*;

/**
 * predict(x) of each detector on a batch of 32x32 RGB images through ResNet-18 (CIFAR variant,
 * seeded random weights, eval mode): the network's forward (and backward, for the gradient
 * detectors) plus the detector's own work. Detectors that need fitting are fitted once, in setup,
 * on another batch of the same size.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class ModelDetectorsBenchmark {
    @Param({"MaxSoftmax", "EnergyBased", "Entropy", "GEN", "MaxLogit", "KLMatching", "TemperatureScaling", "OpenMax", "WeightedEBO",
            "Mahalanobis", "RMD", "GMM", "KNN", "ViM", "NNGuide", "SHE", "NCI", "fDBD", "DICE", "MultiMahalanobis", "Gram",
            "ASH", "ReAct", "RankFeat", "VRA", "ODIN", "GradNorm", "GradNormKL", "MCD", "NACUE"})
    String detector;

    @Param("256")
    int batch;

    Sequential model;
    Tensor x, fitX, fitY;
    Detector d;

    @Setup
    public void setup() {
        if (!DetectorRegistry.has(detector)) throw new IllegalStateException(detector + " is not in this build");
        SplittableRandom rng = new SplittableRandom(8);
        model = ResNets.resnet18(10, rng);
        x = Tensor.randn(rng, DType.FLOAT32, batch, 3, 32, 32);
        fitX = Tensor.randn(rng, DType.FLOAT32, batch, 3, 32, 32);
        fitY = Tensor.of(java.util.stream.LongStream.range(0, batch).map(i -> i % 10).toArray());   // every class present
        Network network = new Network(model, ResNets.FEATURES_AT, ResNets.FEATURE_MAPS_AT);
        d = DetectorRegistry.create(detector, params(), network);
        if (d instanceof org.ood4j.detectors.OpenMax om) {
            // A network with random weights classifies almost nothing correctly, and OpenMax needs a correct
            // sample per class: fit it on logits with a clear winner per row (only predict is timed).
            try (Tensor noise = Tensor.randn(rng, DType.FLOAT32, batch, 10); Tensor logits = noise.add(oneHot(fitY).mul(5))) {
                om.fitLogits(logits, fitY);
            }
        } else if (d.requiresFit()) {
            d.fit(List.of(new Batch(fitX, fitY)));
        }
    }

    private static Tensor oneHot(Tensor labels) {
        long[] y = labels.toLongArray();
        float[] h = new float[y.length * 10];
        for (int i = 0; i < y.length; i++) h[i * 10 + (int) y[i]] = 1;
        return Tensor.of(h, y.length, 10);
    }

    private Map<String, Object> params() {
        Linear head = (Linear) model.get(model.size() - 1);
        Tensor w = head.weight().value(), b = head.bias().value();
        return switch (detector) {
            case "WeightedEBO" -> Map.of("weights", Tensor.ones(DType.FLOAT32, 10));
            case "ViM" -> Map.of("d", 64, "w", w, "b", b);
            case "NNGuide" -> Map.of("w", w, "b", b, "k", 10);
            case "DICE" -> Map.of("w", w, "b", b, "p", 70);
            case "MultiMahalanobis" -> Map.of("model", List.of(4, 6));
            case "Gram" -> Map.of("feature_layers", List.of(4, 6), "num_classes", 10, "num_poles_list", List.of(1, 2));
            case "NACUE" -> Map.of("layers", List.of(ResNets.FEATURES_AT));
            case "MCD" -> Map.of("samples", 5, "mode", "mean");
            case "OpenMax" -> Map.of("tailsize", 10);
            default -> Map.of();
        };
    }

    @TearDown
    public void tearDown() {
        d.close();
        model.close();
        x.close();
        fitX.close();
        fitY.close();
    }

    @Benchmark
    public double predict() {
        try (Tensor scores = d.predict(x)) {
            return scores.getDouble(0);
        }
    }
}
