package org.ood4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.cpu.RowMath;
import org.openjdk.jmh.annotations.*;

/**
 * The fused row kernels of the CPU backend on a (rows x cols) matrix: {@code Tensor.reduceRows}
 * with a max-softmax body (one max pass and one exp pass per row, in L1) on float32 rows (the
 * float32 path: FloatRowReducer, float32 exp, float64 sums) and on float64 rows (the float64
 * path), and {@code Tensor.mapRows} summing each float32 row, as stored (FloatRowMapper), into 16
 * column groups (the shape of ASH's per-channel kept sums; ViM's distance and energy per row),
 * {@code Tensor.reduceFiniteRowsInto} (a row's value and the row scaled by it, written to a target:
 * NNGuide's bank rows; bytes read and written); and the single-pass helpers of the fused detectors: {@code allFinite}
 * (the input check, straight from memory), {@code groupSum} into float64 sums of float32 rows (16
 * groups: class means without a float64 copy; one group: a mean, in blocks of whole rows on all
 * cores), and a 10-class linear head's argmax per row by
 * {@code RowMath.dots} (four FMA chains; SHE, NCI, fDBD). All read 4 (float32) or 8 (float64) rows
 * cols bytes once from memory: GB/s = bytes / (time in s) / 1e9; the read bound is
 * {@link CopyBenchmark}'s rate.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class RowsBenchmark {
    @Param({"softmax-float32", "softmax-float64", "maprows-float32", "allfinite-float32", "groupsum-float32", "mean-float32",
            "headargmax-float32", "scaleinto-float32"})
    String kernel;

    @Param("20000")
    int rows;

    @Param("1000")
    int cols;

    Tensor x, groups, oneGroup, into;
    double[][] head;

    @Setup
    public void setup() {
        DType dtype = kernel.endsWith("float64") ? DType.FLOAT64 : DType.FLOAT32;
        SplittableRandom rng = new SplittableRandom(2);
        try (Tensor host = Tensor.randn(rng, DType.FLOAT32, rows, cols)) {
            x = host.to(dtype);
        }
        into = Tensor.empty(dtype, rows, cols);
        groups = Tensor.rand(rng, DType.INT64, 0, 16, rows);
        oneGroup = Tensor.zeros(DType.INT64, rows);
        head = new double[10][cols];
        for (double[] w : head) for (int j = 0; j < cols; j++) w[j] = rng.nextGaussian();
    }

    @TearDown
    public void tearDown() {
        x.close();
        into.close();
        groups.close();
        oneGroup.close();
    }

    @Benchmark
    public double run() {
        if (kernel.startsWith("allfinite")) return x.allFinite() ? 1 : 0;
        int group = Math.max(1, cols / 16);
        try (Tensor r = switch (kernel) {
            case "softmax-float32", "softmax-float64" -> x.reduceRows(
                    (z, scratch, n) -> -1 / RowMath.expShiftedSum(z, n, RowMath.max(z, n), false),
                    (z, scratch, n) -> -1 / RowMath.expShiftedSum(z, n, RowMath.max(z, n), 1, z));
            case "maprows-float32" -> x.mapRows(16, (z, scratch, n, out) -> {
                for (int j = 0; j < n; j++) out[Math.min(15, j / group)] += z[j];
            }, (z, scratch, n, out) -> {   // the float32 form: the row as stored, not widened
                for (int j = 0; j < n; j++) out[Math.min(15, j / group)] += z[j];
            });
            case "scaleinto-float32" -> x.reduceFiniteRowsInto(into, (z, scratch, n) -> {   // NNGuide's bank rows: a value, the row scaled by it
                double t = RowMath.sum(z, n);
                RowMath.scale(z, n, (float) t);
                return t;
            });
            case "groupsum-float32" -> x.groupSum(groups, 16, DType.FLOAT64);
            case "mean-float32" -> x.groupSum(oneGroup, 1, DType.FLOAT64);
            case "headargmax-float32" -> x.reduceRows((z, scratch, n) -> {
                RowMath.dots(z, head, n, scratch);
                return RowMath.argmax(scratch, head.length);
            });
            default -> throw new IllegalArgumentException(kernel);
        }) {
            return r.rank() == 2 ? r.getDouble(0, 0) : r.getDouble(0);
        }
    }
}
