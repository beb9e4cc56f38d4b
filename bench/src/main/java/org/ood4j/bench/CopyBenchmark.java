package org.ood4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;
import org.openjdk.jmh.annotations.*;

/**
 * A contiguous float32 copy through the engine (read n*4 + write n*4 bytes; GB/s = 8n / time):
 * the memory-bandwidth ceiling that memory-bound ops are compared with.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class CopyBenchmark {
    @Param("100000000")
    long n;

    Tensor x;

    @Setup
    public void setup() {
        x = Tensor.rand(new SplittableRandom(3), DType.FLOAT32, 0, 1, n);
    }

    @TearDown
    public void tearDown() {
        x.close();
    }

    @Benchmark
    public double copy() {
        try (Tensor c = x.copy()) {
            return c.getDouble(0);
        }
    }
}
