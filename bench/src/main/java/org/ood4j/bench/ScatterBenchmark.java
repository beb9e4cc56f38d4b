package org.ood4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.detectors.FitAccumulator;
import org.ood4j.detectors.Mahalanobis;
import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.cpu.Syrk;
import org.openjdk.jmh.annotations.*;

/**
 * The scatter of a streaming fit (issue 18) against the engine's own float32 GEMM, on one block
 * of {@code rows} centred rows of dimension {@code dim} (CPU):
 * <ul>
 *   <li>{@code gemmFloat32}: the engine's float32 matmul (dim x rows)(rows x dim) of contiguous
 *       operands (A^T copied once at setup: the GEMM's own rate, no packing of a strided view),
 *       the full product: 2 rows dim^2 FLOP, GFLOP/s = 2 rows dim^2 / t;</li>
 *   <li>{@code syrkFloat32}, {@code syrkFloat64}: {@link Syrk#accumulate}, the SYRK-shaped rank-k
 *       update of the upper triangle into a float64 accumulator (float32 or float64 products):
 *       rows dim (dim + 1) FLOP of useful work, GFLOP/s = rows dim (dim + 1) / t;</li>
 *   <li>{@code mahalanobisChunk}: a whole streaming-fit step of Mahalanobis' accumulator on a
 *       float32 chunk with {@code classes} classes (read, class means, centring, scatter, Chan
 *       merge with the running statistics), products as {@code -Dood4j.fit.products}
 *       ({@code products} parameter); same FLOP count as the SYRK.</li>
 * </ul>
 * The goal: the scatter at >= 50% of the float32 GEMM rate (SYRK GFLOP/s over GEMM GFLOP/s).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class ScatterBenchmark {
    @Param("2048")
    int dim;

    @Param("4096")
    int rows;

    @Param("1000")
    int classes;

    @Param({"float32", "float64"})
    String products;

    float[] a32;
    double[] a64, acc;
    Tensor at, a, chunk, labels;
    FitAccumulator fit;
    Mahalanobis detector;

    @Setup
    public void setup() {
        SplittableRandom rng = new SplittableRandom(1);
        a32 = new float[rows * dim];
        a64 = new double[rows * dim];
        for (int i = 0; i < a32.length; i++) a64[i] = a32[i] = (float) (rng.nextDouble() * 2 - 1);
        acc = new double[dim * dim];
        a = Tensor.of(a32, rows, dim);
        at = a.t().contiguous();
        chunk = a;
        long[] y = new long[rows];
        for (int i = 0; i < rows; i++) y[i] = i % classes;
        labels = Tensor.of(y);
        System.setProperty("ood4j.fit.products", products);
        detector = new Mahalanobis(null);
        fit = detector.fitAccumulator(0);
        fit.add(chunk, labels);   // the running statistics exist: later chunks take the Chan merge path
    }

    @TearDown
    public void tearDown() {
        a.close();
        at.close();
        labels.close();
        detector.close();
    }

    @Benchmark
    public double gemmFloat32() {
        try (Tensor c = at.matmul(a)) {
            return c.getDouble(0, 0);
        }
    }

    @Benchmark
    public double syrkFloat32() {
        Syrk.accumulate(a32, rows, dim, acc);
        return acc[0];
    }

    @Benchmark
    public double syrkFloat64() {
        Syrk.accumulate(a64, rows, dim, acc);
        return acc[0];
    }

    @Benchmark
    public FitAccumulator mahalanobisChunk() {
        fit.add(chunk, labels);
        return fit;
    }
}
