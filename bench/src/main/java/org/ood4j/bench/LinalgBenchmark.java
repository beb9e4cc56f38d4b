package org.ood4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Linalg;
import org.ood4j.engine.Tensor;
import org.openjdk.jmh.annotations.*;

/**
 * A decomposition of an n x n symmetric positive-definite float64 matrix (the covariances of
 * Mahalanobis, RMD, GMM and ViM): cholesky, inverse (LU), inverseSpd (Cholesky by halves, the
 * precision of the class-conditional detectors), eigh (with vectors), eighLargest (the n/8
 * largest pairs: ViM's principal space), slogdet. Compute-bound; GFLOP/s from the nominal LAPACK
 * counts: cholesky n^3/3, inverse and inverseSpd 2n^3, eigh 9n^3, eighLargest 4n^3/3 (the
 * reduction; bisection and inverse iteration are O(n^2 k)), slogdet (an LU) 2n^3/3 — GFLOP/s = count / (time in s) / 1e9. numpy's inv is the reference
 * for inverseSpd (issue 17: within 2x of it at n = 4096).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class LinalgBenchmark {
    @Param({"cholesky", "inverse", "inverseSpd", "eigh", "eighLargest", "slogdet"})
    String op;

    @Param("512")
    int n;

    @Param({"cpu", "cuda"})
    String backend;

    Tensor spd;

    @Setup
    public void setup() {
        Device device = Backend.device(backend);
        try (Tensor x = Tensor.randn(new SplittableRandom(9), DType.FLOAT64, 2L * n, n); Tensor xt = x.t();
             Tensor g = xt.matmul(x)) {
            spd = g.to(device);
        }
    }

    @TearDown
    public void tearDown() {
        spd.close();
    }

    @Benchmark
    public double run() {
        switch (op) {
            case "cholesky" -> {
                try (Tensor l = Linalg.cholesky(spd)) {
                    return l.getDouble(0, 0);
                }
            }
            case "inverse" -> {
                try (Tensor inv = Linalg.inverse(spd)) {
                    return inv.getDouble(0, 0);
                }
            }
            case "inverseSpd" -> {
                try (Tensor inv = Linalg.inverseSpd(spd)) {
                    return inv.getDouble(0, 0);
                }
            }
            case "eigh" -> {
                try (Linalg.Eigh e = Linalg.eigh(spd)) {
                    return e.values().getDouble(0);
                }
            }
            case "eighLargest" -> {
                try (Linalg.Eigh e = Linalg.eighLargest(spd, Math.max(1, n / 8))) {
                    return e.values().getDouble(0);
                }
            }
            case "slogdet" -> {
                return Linalg.slogdet(spd).logAbsDet();
            }
            default -> throw new IllegalArgumentException(op);
        }
    }
}
