package org.ood4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.engine.Conv;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Linalg;
import org.ood4j.engine.Tensor;
import org.openjdk.jmh.annotations.*;

/**
 * The fused kernels of the feature-map detectors on float32 maps (N, C, H, W), non-negative (as
 * after a ReLU): the global average pool ({@code Conv.adaptiveAvgPool2d} to 1 x 1), the clamped
 * pool of ReAct (one upper bound, {@code Conv.clampedGlobalAvgPool}) and of VRA (per-element
 * lower and upper (C, H, W) bounds), and RankFeat's pooled rank-1 removal
 * ({@code Linalg.removeTopSingularRowMeans} on the (N, C, H W) matrices) next to the removal
 * itself ({@code Linalg.removeTopSingular}, the unfused form's first step). The pools read
 * 4 N C H W bytes once: GB/s = that / time / 1e9 (the read bound is {@link CopyBenchmark}'s
 * rate); RankFeat's time is per-matrix work (a Gram matrix and its top eigenvector per sample).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class FeatureMapKernelsBenchmark {
    @Param({"pool", "clampedpool-react", "clampedpool-vra", "rankfeat-rowmeans", "rankfeat-remove"})
    String kernel;

    @Param("400")
    int maps;

    @Param("512")
    int channels;

    @Param({"4", "7"})
    int size;

    @Param({"cpu", "cuda"})
    String backend;

    Tensor x, flat, threshold, lower, upper;

    @Setup
    public void setup() {
        Device device = Backend.device(backend);
        SplittableRandom rng = new SplittableRandom(17);
        try (Tensor host = Tensor.randn(rng, DType.FLOAT32, maps, channels, size, size);
             Tensor relu = host.relu();
             Tensor low = Tensor.rand(rng, DType.FLOAT32, 0, 0.1, channels, size, size);
             Tensor high = low.add(1.0)) {
            x = relu.to(device);
            lower = low.to(device);
            upper = high.to(device);
        }
        flat = x.reshape(maps, channels, (long) size * size);
        threshold = Tensor.scalar(1.0, DType.FLOAT32).to(device);
    }

    @TearDown
    public void tearDown() {
        for (Tensor t : new Tensor[] {flat, x, threshold, lower, upper}) t.close();
    }

    @Benchmark
    public double run() {
        try (Tensor r = switch (kernel) {
            case "pool" -> Conv.adaptiveAvgPool2d(x, 1, 1);
            case "clampedpool-react" -> Conv.clampedGlobalAvgPool(x, null, threshold);
            case "clampedpool-vra" -> Conv.clampedGlobalAvgPool(x, lower, upper);
            case "rankfeat-rowmeans" -> Linalg.removeTopSingularRowMeans(flat);
            case "rankfeat-remove" -> Linalg.removeTopSingular(flat);
            default -> throw new IllegalArgumentException(kernel);
        }) {
            return r.rank() == 2 ? r.getDouble(0, 0) : r.rank() == 3 ? r.getDouble(0, 0, 0) : r.getDouble(0, 0, 0, 0);
        }
    }
}
