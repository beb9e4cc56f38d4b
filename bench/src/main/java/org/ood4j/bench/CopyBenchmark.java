package org.ood4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;
import org.openjdk.jmh.annotations.*;

/**
 * A contiguous float32 copy of n elements through the engine: {@code copyInto} writes into a
 * preallocated tensor (the memory-bandwidth ceiling that memory-bound ops are compared with),
 * {@code copy} into a new one (allocation and first-touch page faults included, as every op that
 * returns a new tensor pays). Traffic 8n bytes (n*4 read + n*4 written): GB/s = 8n / (time in s)
 * / 1e9 (bench/rates.py prints it). {@code transposedInto} copies the transpose of an n-element
 * square matrix (a view, {@code x.t()}) into a preallocated one: the same traffic, read in 64 x 64
 * tiles ({@code Packing.transpose}) where a row walk of the view misses the cache on every element.
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

    @Param({"cpu", "cuda"})
    String backend;

    Tensor x, into, square, squareInto;
    Device device;

    @Setup
    public void setup() {
        device = Backend.device(backend);
        try (Tensor host = Tensor.rand(new SplittableRandom(3), DType.FLOAT32, 0, 1, n)) {
            x = host.to(device);
        }
        into = Tensor.zeros(DType.FLOAT32, device, n);
        long side = (long) Math.sqrt((double) n);
        square = x.slice(0, 0, side * side).reshape(side, side);
        squareInto = Tensor.zeros(DType.FLOAT32, device, side, side);
    }

    @TearDown
    public void tearDown() {
        square.close();
        squareInto.close();
        x.close();
        into.close();
    }

    @Benchmark
    public double copyInto() {
        into.copyFrom(x);
        return into.getDouble(0);
    }

    @Benchmark
    public double transposedInto() {
        try (Tensor view = square.t()) {
            squareInto.copyFrom(view);
        }
        return squareInto.getDouble(0, 1);
    }

    @Benchmark
    public double copy() {
        try (Tensor c = x.copy()) {
            return c.getDouble(0);
        }
    }
}
