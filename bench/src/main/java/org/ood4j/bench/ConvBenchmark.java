package org.ood4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.engine.Conv;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;
import org.openjdk.jmh.annotations.*;

/**
 * conv2d of a float32 (batch, channels, size, size) input with a (channels, channels, 3, 3)
 * kernel, stride 1, padding 1 (a ResNet block's convolution): 2 batch channels^2 size^2 9 FLOP,
 * GFLOP/s = that / (time in s) / 1e9.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class ConvBenchmark {
    @Param("32")
    int batch;

    @Param("64")
    int channels;

    @Param("32")
    int size;

    @Param({"cpu", "cuda"})
    String backend;

    Tensor x, w, b;

    @Setup
    public void setup() {
        Device device = Backend.device(backend);
        SplittableRandom rng = new SplittableRandom(10);
        try (Tensor hx = Tensor.randn(rng, DType.FLOAT32, batch, channels, size, size);
             Tensor hw = Tensor.randn(rng, DType.FLOAT32, channels, channels, 3, 3);
             Tensor hb = Tensor.randn(rng, DType.FLOAT32, channels)) {
            x = hx.to(device);
            w = hw.to(device);
            b = hb.to(device);
        }
    }

    @TearDown
    public void tearDown() {
        x.close();
        w.close();
        b.close();
    }

    @Benchmark
    public double conv2d() {
        try (Tensor y = Conv.conv2d(x, w, b, 1, 1, 1)) {
            return y.getDouble(0, 0, 0, 0);
        }
    }
}
