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
 * in memory. Rows "gaussian" are spread evenly (no tile of the bank can be skipped); "clustered"
 * are ten Gaussian clusters, as the features of a classifier's ten classes (the bench workload's
 * shape): a prepared bank in cells skips the tiles far from a block of queries, so its GFLOP/s
 * (counted as above) exceed the GEMM's.
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

    @Param({"gaussian", "clustered"})
    String rows;

    Tensor q, bank;
    /** The bank prepared once, as a detector keeps it between predicts (on the CPU: its packed tiles). */
    Knn.Bank prepared;

    @Setup
    public void setup() {
        org.ood4j.engine.Device device = Backend.device(backend);
        SplittableRandom rng = new SplittableRandom(4);
        try (Tensor hq = rows(rng, queries); Tensor hb = rows(rng, bankRows)) {
            q = hq.to(device);
            bank = hb.to(device);
        }
        prepared = Knn.prepare(bank, KnnOps.Metric.L2);
    }

    /** n rows: standard normal, or a centre of ten (normal, sd 3) plus standard normal noise. */
    private Tensor rows(SplittableRandom rng, int n) {
        if (rows.equals("gaussian")) return Tensor.randn(rng, DType.FLOAT32, n, dim);
        SplittableRandom centres = new SplittableRandom(5);   // the same centres for bank and queries
        float[][] c = new float[10][dim];
        for (float[] row : c) for (int p = 0; p < dim; p++) row[p] = (float) (3 * centres.nextGaussian());
        float[] values = new float[n * dim];
        for (int i = 0; i < n; i++) for (int p = 0; p < dim; p++) values[i * dim + p] = c[i % 10][p] + (float) rng.nextGaussian();
        return Tensor.of(values, n, dim);
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

    /** Preparing the bank: its tiles packed, and on the CPU its cells and their balls. */
    @Benchmark
    public Knn.Bank prepareBank() {
        return Knn.prepare(bank, KnnOps.Metric.L2);
    }

    /** The search against the prepared bank: a detector's predict (the bank's packing and checks done once, at the first). */
    @Benchmark
    public double knnPreparedBank() {
        try (Knn.Result r = prepared.search(q, k, KnnOps.Metric.L2)) {
            return r.values().getDouble(0, 0);
        }
    }
}
