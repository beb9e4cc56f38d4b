package org.ood4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.detectors.EnergyBased;
import org.ood4j.detectors.Entropy;
import org.ood4j.detectors.GEN;
import org.ood4j.detectors.KLMatching;
import org.ood4j.detectors.LogitsDetector;
import org.ood4j.detectors.MaxLogit;
import org.ood4j.detectors.MaxSoftmax;
import org.ood4j.detectors.OpenMax;
import org.ood4j.detectors.TemperatureScaling;
import org.ood4j.detectors.WeightedEBO;
import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;
import org.openjdk.jmh.annotations.*;

/**
 * predictLogits of each logits detector over rows x classes float32 logits (400 MB for the
 * default 100000 x 1000): the time to score the whole array, fitted beforehand on 10000 rows.
 * Reading the logits once is 4 rows classes bytes: GB/s = that / (time in s) / 1e9 puts a
 * detector next to {@link CopyBenchmark}'s bandwidth.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector", "-Xmx6g"})
public class LogitsDetectorsBenchmark {
    @Param({"MaxSoftmax", "EnergyBased", "Entropy", "GEN", "MaxLogit", "KLMatching", "TemperatureScaling", "OpenMax", "WeightedEBO"})
    String detector;

    @Param("100000")
    int rows;

    @Param("1000")
    int classes;

    @Param({"cpu", "cuda"})
    String backend;

    Tensor logits;
    LogitsDetector d;

    @Setup
    public void setup() {
        org.ood4j.engine.Device device = Backend.device(backend);
        SplittableRandom rng = new SplittableRandom(6);
        try (Tensor host = Tensor.randn(rng, DType.FLOAT32, rows, classes)) {
            logits = host.to(device);
        }
        d = switch (detector) {
            case "MaxSoftmax" -> new MaxSoftmax(null);
            case "EnergyBased" -> new EnergyBased(null);
            case "Entropy" -> new Entropy(null);
            case "GEN" -> new GEN(null);
            case "MaxLogit" -> new MaxLogit(null);
            case "KLMatching" -> new KLMatching(null);
            case "TemperatureScaling" -> new TemperatureScaling(null);
            case "OpenMax" -> new OpenMax(null, 25, 10, 1.0);
            case "WeightedEBO" -> {
                try (Tensor w = Tensor.rand(rng, DType.FLOAT32, 0.5, 1.5, classes)) {
                    yield new WeightedEBO(null, w);
                }
            }
            default -> throw new IllegalArgumentException(detector);
        };
        if (d.requiresFit()) {
            int fitRows = Math.min(rows, 10000);
            try (Tensor fit = logits.slice(0, 0, fitRows); Tensor labels = fit.argmax(1)) {
                d.fitLogits(fit, labels);
            }
        }
        d.to(device);
    }

    @TearDown
    public void tearDown() {
        d.close();
        logits.close();
    }

    @Benchmark
    public double predict() {
        try (Tensor scores = d.predictLogits(logits)) {
            return scores.getDouble(0);
        }
    }
}
