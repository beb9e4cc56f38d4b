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
 * scatter sum (z - mu_y)(z - mu_y)^T of float64 rows, then both fits score the same queries and
 * the largest relative score difference is printed. Every file is memory-mapped; memory is the
 * D x D matrices and one chunk.
 *
 * <pre>  java -cp bench/target/benchmarks.jar org.ood4j.bench.ScaleMahalanobisCheck FEATURES.npy LABELS.npy QUERIES.npy [CHUNK]</pre>
 * Exit status 1 when the scores differ by more than 1e-4 relative.
 */
public final class ScaleMahalanobisCheck {
    private ScaleMahalanobisCheck() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: ScaleMahalanobisCheck FEATURES.npy LABELS.npy QUERIES.npy [CHUNK_ROWS]");
            System.exit(2);
        }
        int chunk = args.length > 3 ? Integer.parseInt(args[3]) : 8192;
        try (Tensor x = Npy.map(Path.of(args[0])); Tensor y = Npy.map(Path.of(args[1])); Tensor q = Npy.map(Path.of(args[2]))) {
            long t0 = System.nanoTime();
            Mahalanobis streamed = new Mahalanobis(null, 0, null);
            streamed.fitFeatures(x, y);
            long t1 = System.nanoTime();
            System.out.printf("streamed fit: %d rows x %d in %.1f s (%.0f rows/s)%n", x.size(0), x.size(1), (t1 - t0) / 1e9,
                    x.size(0) / ((t1 - t0) / 1e9));
            Tensor[] reference = twoPass(x, y, chunk);
            long t2 = System.nanoTime();
            System.out.printf("two-pass float64 reference: %.1f s%n", (t2 - t1) / 1e9);
            double worst = 0;
            try (Tensor got = streamed.predictFeatures(q); Tensor want = score(q, reference[0], reference[1], chunk)) {
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

    /** 1/2 min_k (q - mu_k)^T P (q - mu_k), chunk by chunk, from the centred rows (no cancellation). */
    static Tensor score(Tensor q, Tensor mu, Tensor precision, int chunk) {
        long n = q.size(0);
        double[] out = new double[(int) n];
        for (long s = 0; s < n; s += chunk) {
            try (Scope sc = Scope.open()) {
                Tensor z = q.slice(0, s, Math.min(n, s + chunk)).to(DType.FLOAT64);
                Tensor best = null;
                for (long k = 0; k < mu.size(0); k++) {
                    Tensor c = z.sub(mu.select(0, k));
                    Tensor dk = c.matmul(precision).mul(c).sum(1);
                    best = best == null ? dk : best.minimum(dk);
                }
                double[] b = best.mul(0.5).toDoubleArray();
                System.arraycopy(b, 0, out, (int) s, b.length);
            }
        }
        return Tensor.of(out);
    }
}
