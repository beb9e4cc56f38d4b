package org.ood4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;
import org.openjdk.jmh.annotations.*;

/**
 * logsumexp over the rows of a float32 (rows x cols) matrix: reads rows*cols*4 bytes once
 * (GB/s = bytes / time); compare with {@link CopyBenchmark}, the memory-bandwidth ceiling.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class LogsumexpBenchmark {
    @Param("100000")
    int rows;

    @Param("1000")
    int cols;

    Tensor logits;

    @Setup
    public void setup() {
        logits = Tensor.randn(new SplittableRandom(2), DType.FLOAT32, rows, cols);
    }

    @TearDown
    public void tearDown() {
        logits.close();
    }

    @Benchmark
    public double logsumexp() {
        try (Tensor r = logits.logsumexp(1)) {
            return r.getDouble(0);
        }
    }
}
