package org.ood4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.detectors.ASH;
import org.ood4j.detectors.FeatureMapsDetector;
import org.ood4j.detectors.LinearHead;
import org.ood4j.detectors.RankFeat;
import org.ood4j.detectors.ReAct;
import org.ood4j.detectors.VRA;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;
import org.ood4j.models.AdaptiveAvgPool2d;
import org.ood4j.models.Flatten;
import org.ood4j.models.Linear;
import org.ood4j.models.Sequential;
import org.openjdk.jmh.annotations.*;

/**
 * predictFeatureMaps of ASH (ash-s, 0.65), ReAct (1.0), VRA (1, 99; fitted on the first half in
 * setup) and RankFeat over maps float32 (N, C, H, W), non-negative, with WORKLOADS.md's head:
 * global average pooling then a linear head (10 classes), as a Sequential (AdaptiveAvgPool2d,
 * Flatten, Linear), which the detectors recognise: each pools while it shapes (the fused path). Time per scoring of all N maps; reading
 * the maps once is 4 N C H W bytes (GB/s = that / time / 1e9, for ReAct and VRA, which are
 * memory-bound; ASH selects per sample, RankFeat decomposes per sample).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector", "-Xmx6g"})
public class FeatureMapsDetectorsBenchmark {
    @Param({"ASH", "ReAct", "VRA", "RankFeat"})
    String detector;

    @Param("2000")
    int maps;

    @Param("512")
    int channels;

    @Param("4")
    int size;

    @Param({"cpu", "cuda"})
    String backend;

    Tensor x;
    LinearHead head;
    Sequential poolLinear;
    FeatureMapsDetector d;

    @Setup
    public void setup() {
        Device device = Backend.device(backend);
        SplittableRandom rng = new SplittableRandom(11);
        try (org.ood4j.engine.Scope s = org.ood4j.engine.Scope.open()) {
            Tensor centres = Tensor.randn(rng, DType.FLOAT32, 10, channels).mul(2);
            Tensor y = Tensor.rand(rng, DType.INT64, 0, 10, maps);
            Tensor noise = Tensor.randn(rng, DType.FLOAT32, maps, channels, size, size);
            x = org.ood4j.engine.Scope.release(noise.add(centres.indexSelect(0, y).reshape(maps, channels, 1, 1)).relu().to(device));
            head = new LinearHead(centres.mul(0.1), Tensor.zeros(DType.FLOAT32, 10));
        }
        // a ResNet's head as the model zoo builds it: global pooling, flatten, linear; the detectors
        // recognise the leading pool and pool while they shape (the fused path)
        Linear linear = new Linear(channels, 10, true);
        linear.weight().value().copyFrom(head.weight());
        linear.bias().value().copyFrom(head.bias());
        poolLinear = new Sequential(new AdaptiveAvgPool2d(), new Flatten(), linear);
        poolLinear.to(device);
        d = switch (detector) {
            case "ASH" -> new ASH(null, poolLinear, "ash-s", 0.65, null);
            case "ReAct" -> new ReAct(null, poolLinear, 1.0, null);
            case "VRA" -> new VRA(null, poolLinear, 1, 99, null);
            case "RankFeat" -> new RankFeat(null, poolLinear, null);
            default -> throw new IllegalArgumentException(detector);
        };
        if (d.requiresFit()) {
            try (Tensor half = x.slice(0, 0, Math.max(1, maps / 2))) {
                d.fitFeatureMaps(half, null);
            }
        }
    }

    @TearDown
    public void tearDown() {
        d.close();
        poolLinear.close();
        head.close();
        x.close();
    }

    @Benchmark
    public double predict() {
        try (Tensor scores = d.predictFeatureMaps(x)) {
            return scores.getDouble(0);
        }
    }
}
