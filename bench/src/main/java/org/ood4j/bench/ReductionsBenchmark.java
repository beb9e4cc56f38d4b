package org.ood4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;
import org.openjdk.jmh.annotations.*;

/**
 * A reduction along the rows of a float32 (rows x cols) matrix: logsumexp, sum, max (read
 * 4 rows cols bytes, write one value per row) and softmax (read and write 4 rows cols bytes).
 * GB/s = bytes / (time in s) / 1e9; the goal is within 2x of {@link CopyBenchmark}'s rate.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class ReductionsBenchmark {
    @Param({"logsumexp", "softmax", "sum", "max", "argmax"})
    String op;

    @Param("100000")
    int rows;

    @Param("1000")
    int cols;

    @Param({"cpu", "cuda"})
    String backend;

    Tensor logits;

    @Setup
    public void setup() {
        Device device = Backend.device(backend);
        try (Tensor host = Tensor.randn(new SplittableRandom(2), DType.FLOAT32, rows, cols)) {
            logits = host.to(device);
        }
    }

    @TearDown
    public void tearDown() {
        logits.close();
    }

    @Benchmark
    public double run() {
        try (Tensor r = switch (op) {
            case "logsumexp" -> logits.logsumexp(1);
            case "softmax" -> logits.softmax(1);
            case "sum" -> logits.sum(1);
            case "max" -> logits.max(1);
            case "argmax" -> logits.argmax(1);
            default -> throw new IllegalArgumentException(op);
        }) {
            return r.rank() == 2 ? r.getDouble(0, 0) : r.getDouble(0);
        }
    }
}
