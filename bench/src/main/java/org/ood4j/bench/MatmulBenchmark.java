package org.ood4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;
import org.openjdk.jmh.annotations.*;

/** C = A B for square n x n matrices of {@code dtype}: 2 n^3 FLOP per op, GFLOP/s = 2n^3 / (time in s) / 1e9. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class MatmulBenchmark {
    @Param("1024")
    int n;

    @Param({"float32", "float64"})
    String dtype;

    @Param({"cpu", "cuda"})
    String backend;

    Tensor a, b;

    @Setup
    public void setup() {
        Device device = Backend.device(backend);
        DType type = dtype.equals("float64") ? DType.FLOAT64 : DType.FLOAT32;
        SplittableRandom rng = new SplittableRandom(1);
        try (Tensor ha = Tensor.randn(rng, type, n, n); Tensor hb = Tensor.randn(rng, type, n, n)) {
            a = ha.to(device);
            b = hb.to(device);
        }
    }

    @TearDown
    public void tearDown() {
        a.close();
        b.close();
    }

    @Benchmark
    public double matmul() {
        try (Tensor c = a.matmul(b)) {
            return c.getDouble(0, 0);
        }
    }
}
