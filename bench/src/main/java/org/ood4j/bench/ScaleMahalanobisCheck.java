package org.ood4j.bench;

import java.nio.file.Path;

import org.ood4j.detectors.Mahalanobis;
import org.ood4j.engine.DType;
import org.ood4j.engine.Linalg;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

/**
 * The streamed Mahalanobis fit at scale against the two-pass float64 reference computed in
 * chunks (issue 18): pass 1 the class means (float64 sums of float64 rows), pass 2 the pooled
 * scatter sum (z - mu_y)(z - mu_y)^T of float64 rows (float64 products), then both fits score the
 * same queries and the largest relative score difference is printed. The reference scores from
 * the Cholesky factor of its precision, P = L L^T: d_k(q) = |L^T (q - mu_k)|^2 with the
 * differences taken in the transformed space, so nothing cancels. Every file is memory-mapped;
 * memory is the D x D matrices, the transformed queries and means, and one chunk.
 *
 * <p>Also the fit's speed, against the engine's float32 GEMM rate measured in the same run on the
 * scatter's own product shape ((D x chunk)(chunk x D), contiguous): rows/s, and the scatter's
 * useful work N D (D + 1) FLOP (the symmetric half of N x D x D multiply-adds) per second of the
 * fit, wall-clock and per CPU-second of the process (the machine is shared: the CPU-time rate
 * times the cores is what an idle machine would give, bounded by the wall-clock one).
 *
 * <pre>  java -cp bench/target/benchmarks.jar org.ood4j.bench.ScaleMahalanobisCheck FEATURES.npy LABELS.npy QUERIES.npy [CHUNK [--fit-only]]</pre>
 * {@code -Dood4j.fit.products} chooses the streamed fit's products (default: by width, float32
 * from D = 256). Exit status 1 when the scores differ by more than 1e-4 relative.
 */
public final class ScaleMahalanobisCheck {
    private ScaleMahalanobisCheck() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: ScaleMahalanobisCheck FEATURES.npy LABELS.npy QUERIES.npy [CHUNK_ROWS [--fit-only]]");
            System.exit(2);
        }
        int chunk = args.length > 3 ? Integer.parseInt(args[3]) : 8192;
        boolean fitOnly = args.length > 4 && args[4].equals("--fit-only");   // the speed alone: no reference pass
        try (Tensor x = Npy.map(Path.of(args[0])); Tensor y = Npy.map(Path.of(args[1])); Tensor q = Npy.map(Path.of(args[2]))) {
            long n = x.size(0), d = x.size(1);
            double gemm = gemmRate((int) d, 4096, 3);
            System.out.printf("float32 GEMM (%d x 4096)(4096 x %d): %.1f GFLOP/s (best of 3, all cores)%n", d, d, gemm / 1e9);
            long cpu0 = cpuNanos(), t0 = System.nanoTime();
            Mahalanobis streamed = new Mahalanobis(null, 0, null);
            streamed.fitFeatures(x, y);
            double wall = (System.nanoTime() - t0) / 1e9, cpu = (cpuNanos() - cpu0) / 1e9;
            double useful = (double) n * d * (d + 1);
            int cores = Runtime.getRuntime().availableProcessors();
            System.out.printf("streamed fit (products: %s): %d rows x %d in %.1f s wall, %.1f CPU-s (%.0f rows/s)%n",
                    System.getProperty("ood4j.fit.products", "auto"), n, d, wall, cpu, n / wall);
            System.out.printf("scatter: %.1f GFLOP/s wall = %.0f%% of the GEMM rate; per CPU-second x %d cores: %.1f GFLOP/s = %.0f%%%n",
                    useful / wall / 1e9, 100 * useful / wall / gemm, cores, useful / cpu * cores / 1e9, 100 * useful / cpu * cores / gemm);
            if (fitOnly) {
                streamed.close();
                return;
            }
            long t1 = System.nanoTime();
            Tensor[] reference = twoPass(x, y, chunk);
            System.out.printf("two-pass float64 reference: %.1f s%n", (System.nanoTime() - t1) / 1e9);
            double worst = 0;
            try (Tensor got = streamed.predictFeatures(q); Tensor want = score(q, reference[0], reference[1])) {
                double[] a = got.toDoubleArray(), b = want.toDoubleArray();
                for (int i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-300));
            }
            System.out.printf("largest relative score difference over %d queries: %.3e (goal 1e-4)%n", q.size(0), worst);
            streamed.close();
            reference[0].close();
            reference[1].close();
            if (!(worst <= 1e-4)) System.exit(1);
        }
    }

    /** The process's CPU time (all threads), ns. */
    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** The engine's float32 GEMM rate, 2 d^2 rows FLOP per (d x rows)(rows x d) product, best of {@code runs} after one warm-up. */
    static double gemmRate(int d, int rows, int runs) {
        double best = 0;
        try (Scope s = Scope.open()) {
            java.util.SplittableRandom rng = new java.util.SplittableRandom(2);
            Tensor at = Tensor.randn(rng, DType.FLOAT32, d, rows), a = Tensor.randn(rng, DType.FLOAT32, rows, d);
            for (int run = 0; run <= runs; run++) {
                long t = System.nanoTime();
                try (Tensor c = at.matmul(a)) {
                    if (run > 0) best = Math.max(best, 2.0 * d * d * rows / ((System.nanoTime() - t) / 1e9));
                }
            }
        }
        return best;
    }

    /** {class means (K, D), precision (D, D)} by two chunked float64 passes. */
    static Tensor[] twoPass(Tensor x, Tensor y, int chunk) {
        long n = x.size(0), d = x.size(1);
        int classes = (int) (y.max().item() + 1);
        Tensor sums = Tensor.zeros(DType.FLOAT64, classes, d), counts = Tensor.zeros(DType.FLOAT64, classes);
        for (long s = 0; s < n; s += chunk) {
            try (Scope sc = Scope.open()) {
                Tensor z = x.slice(0, s, Math.min(n, s + chunk)).to(DType.FLOAT64), l = y.slice(0, s, Math.min(n, s + chunk));
                sums.copyFrom(sums.add(z.groupSum(l, classes)));
                counts.copyFrom(counts.add(Tensor.groupCount(l, classes).to(DType.FLOAT64)));
            }
        }
        Tensor mu = sums.div(counts.unsqueeze(1));
        Tensor scatter = Tensor.zeros(DType.FLOAT64, d, d);
        for (long s = 0; s < n; s += chunk) {
            try (Scope sc = Scope.open()) {
                Tensor z = x.slice(0, s, Math.min(n, s + chunk)).to(DType.FLOAT64), l = y.slice(0, s, Math.min(n, s + chunk));
                Tensor c = z.sub(mu.indexSelect(0, l));
                scatter.copyFrom(scatter.add(c.t().matmul(c)));
            }
        }
        Tensor precision;
        try (Scope sc = Scope.open()) {
            Tensor eye = Tensor.zeros(DType.FLOAT64, d, d);
            for (long i = 0; i < d; i++) eye.set(1e-6, i, i);
            Tensor inv = Linalg.inverseSpd(scatter.add(eye));
            precision = sc.keep(inv.add(inv.t()).mul(0.5));
        }
        sums.close();
        counts.close();
        scatter.close();
        return new Tensor[] {mu, precision};
    }

    /** 1/2 min_k |L^T (q - mu_k)|^2 with P = L L^T: queries and means transformed once, then the differences in float64. */
    static Tensor score(Tensor q, Tensor mu, Tensor precision) {
        int n = (int) q.size(0), k = (int) mu.size(0), d = (int) mu.size(1);
        double[] z, m;
        try (Scope sc = Scope.open()) {
            Tensor l = Linalg.cholesky(precision);
            z = q.to(DType.FLOAT64).matmul(l).toDoubleArray();
            m = mu.matmul(l).toDoubleArray();
        }
        double[] out = new double[n];
        java.util.stream.IntStream.range(0, n).parallel().forEach(i -> {
            double best = Double.POSITIVE_INFINITY;
            for (int c = 0; c < k; c++) {
                double sum = 0;
                for (int j = 0, zi = i * d, mc = c * d; j < d; j++) {
                    double t = z[zi + j] - m[mc + j];
                    sum += t * t;
                }
                best = Math.min(best, sum);
            }
            out[i] = 0.5 * best;
        });
        return Tensor.of(out);
    }
}
