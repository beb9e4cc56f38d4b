package org.ood4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;
import org.openjdk.jmh.annotations.*;

/** C = A B for square float32 matrices: 2 n^3 FLOP per op (report as GFLOP/s = 2n^3 / time). */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class MatmulBenchmark {
    @Param("1024")
    int n;

    Tensor a, b;

    @Setup
    public void setup() {
        SplittableRandom rng = new SplittableRandom(1);
        a = Tensor.randn(rng, DType.FLOAT32, n, n);
        b = Tensor.randn(rng, DType.FLOAT32, n, n);
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
