package org.ood4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.engine.DType;
import org.ood4j.engine.Linalg;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.WhitenedDistances;
import org.openjdk.jmh.annotations.*;

/**
 * GMM's scoring kernel: squared whitened distances ||W_k (z - mu_k)||^2 of (rows x dim) rows to
 * {@code classes} Gaussians ({@link WhitenedDistances}, W_k the inverse Cholesky factors), at the
 * quick workload's size (2000 x 512, 10 classes). {@code float32}: float32 rows through the fused
 * CPU pass (triangular float32 block products, float64 sums of squares); {@code float64}: the
 * same rows as float64 through the tensor ops (a full float64 GEMM per class), the form the fused
 * pass replaces. Work: 2 rows classes dim (dim + 1) / 2 flops of the triangles (5.3 GFLOP here) —
 * GFLOP/s = that / time, against the float32 GEMM rate of {@link MatmulBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class WhitenedDistancesBenchmark {
    @Param({"float32", "float64"})
    String rowsType;

    @Param("2000")
    int rows;

    @Param("512")
    int dim;

    @Param("10")
    int classes;

    Tensor z, means, factors;
    WhitenedDistances distances;

    @Setup
    public void setup() {
        SplittableRandom rng = new SplittableRandom(4);
        z = Tensor.randn(rng, DType.FLOAT32, rows, dim).to(rowsType.equals("float32") ? DType.FLOAT32 : DType.FLOAT64);
        means = Tensor.randn(rng, DType.FLOAT64, classes, dim);
        factors = Tensor.zeros(DType.FLOAT64, classes, dim, dim);
        for (int k = 0; k < classes; k++) {
            try (Tensor x = Tensor.randn(rng, DType.FLOAT64, 2 * dim, dim); Tensor cov = x.t().matmul(x);
                 Tensor w = Linalg.inverseCholesky(cov); Tensor slot = factors.select(0, k)) {
                slot.copyFrom(w);
            }
        }
        distances = new WhitenedDistances(means, factors);
    }

    @TearDown
    public void tearDown() {
        z.close();
        means.close();
        factors.close();
    }

    @Benchmark
    public double run() {
        try (Tensor d = distances.distances(z)) {
            return d.getDouble(0, 0);
        }
    }
}
