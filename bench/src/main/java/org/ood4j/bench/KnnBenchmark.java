package org.ood4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.engine.DType;
import org.ood4j.engine.Knn;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.KnnOps;
import org.openjdk.jmh.annotations.*;

/**
 * Exact k-NN (L2) of Q queries in an N x D float32 bank: 2 Q N D FLOP in the distance products,
 * GFLOP/s = 2QND / (time in s) / 1e9 (compare with {@link MatmulBenchmark}); never a Q x N matrix
 * in memory.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class KnnBenchmark {
    @Param("10000")
    int queries;

    @Param("50000")
    int bankRows;

    @Param("512")
    int dim;

    @Param("1")
    int k;

    @Param({"cpu", "cuda"})
    String backend;

    Tensor q, bank;
    /** The bank prepared once, as a detector keeps it between predicts (on the CPU: its packed tiles). */
    Knn.Bank prepared;

    @Setup
    public void setup() {
        org.ood4j.engine.Device device = Backend.device(backend);
        SplittableRandom rng = new SplittableRandom(4);
        try (Tensor hq = Tensor.randn(rng, DType.FLOAT32, queries, dim); Tensor hb = Tensor.randn(rng, DType.FLOAT32, bankRows, dim)) {
            q = hq.to(device);
            bank = hb.to(device);
        }
        prepared = Knn.prepare(bank);
    }

    @TearDown
    public void tearDown() {
        q.close();
        bank.close();
    }

    @Benchmark
    public double knn() {
        try (Knn.Result r = Knn.search(q, bank, k, KnnOps.Metric.L2)) {
            return r.values().getDouble(0, 0);
        }
    }

    /** The search against the prepared bank: a detector's predict (the bank's packing and checks done once, at the first). */
    @Benchmark
    public double knnPreparedBank() {
        try (Knn.Result r = prepared.search(q, k, KnnOps.Metric.L2)) {
            return r.values().getDouble(0, 0);
        }
    }
}
