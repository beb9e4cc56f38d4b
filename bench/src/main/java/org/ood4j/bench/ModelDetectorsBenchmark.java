package org.ood4j.bench;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.detectors.Batch;
import org.ood4j.detectors.Detector;
import org.ood4j.detectors.DetectorRegistry;
import org.ood4j.detectors.Network;
import org.ood4j.detectors.OpenMax;
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
 * on another batch of the same size (labels 0..9 in turn; OpenMax on that batch's logits with the
 * label's logit raised, since a random network classifies nothing correctly). Time only; the
 * forward pass is {@link ConvBenchmark}'s work (GFLOP/s there). CPU only: the models run on the host.
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
        long[] cyclic = new long[batch];                 // every class present once batch >= 10
        for (int i = 0; i < batch; i++) cyclic[i] = i % 10;
        fitY = Tensor.of(cyclic);
        Network network = new Network(model, ResNets.FEATURES_AT, ResNets.FEATURE_MAPS_AT);
        d = DetectorRegistry.create(detector, params(), network);
        if (d instanceof OpenMax openMax) {
            // a random network classifies (almost) nothing correctly, and OpenMax fits on correctly
            // classified samples only: fit it on the network's logits with each label's logit raised
            try (org.ood4j.engine.Scope s = org.ood4j.engine.Scope.open()) {
                Tensor logits = model.apply(fitX);
                Tensor boost = Tensor.zeros(DType.FLOAT32, 10, 10);
                for (int c = 0; c < 10; c++) boost.set(1000, c, c);
                openMax.fitLogits(logits.add(boost.indexSelect(0, fitY)), fitY);
            }
        } else if (d.requiresFit()) {
            d.fit(List.of(new Batch(fitX, fitY)));
        }
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
