package org.ood4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;
import org.openjdk.jmh.annotations.*;

/**
 * One elementwise op over n contiguous float32 elements into a new tensor: add (x + y), exp,
 * relu, mul (x * 2), clamp (to [-0.5, 0.5], ReAct's and VRA's shape). On the CPU all but exp run
 * straight on the tensors' memory in float32 vectors (the engine's FloatElementwise kernels; exp
 * keeps the float64 path). Memory-bound: traffic 12n bytes for add (two reads, one write), 8n for
 * the unary ops; GB/s = bytes / (time in s) / 1e9, to compare with {@link CopyBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class ElementwiseBenchmark {
    @Param({"add", "exp", "relu", "mul", "clamp"})
    String op;

    @Param("20000000")
    long n;

    @Param({"cpu", "cuda"})
    String backend;

    Tensor x, y;

    @Setup
    public void setup() {
        Device device = Backend.device(backend);
        SplittableRandom rng = new SplittableRandom(5);
        try (Tensor a = Tensor.randn(rng, DType.FLOAT32, n); Tensor b = Tensor.randn(rng, DType.FLOAT32, n)) {
            x = a.to(device);
            y = b.to(device);
        }
    }

    @TearDown
    public void tearDown() {
        x.close();
        y.close();
    }

    @Benchmark
    public double run() {
        try (Tensor r = switch (op) {
            case "add" -> x.add(y);
            case "exp" -> x.exp();
            case "relu" -> x.relu();
            case "mul" -> x.mul(2);
            case "clamp" -> x.clamp(-0.5, 0.5);
            default -> throw new IllegalArgumentException(op);
        }) {
            return r.getDouble(0);
        }
    }
}
