package org.ood4j.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.ood4j.detectors.BankDetector;
import org.ood4j.detectors.KNN;
import org.ood4j.detectors.NNGuide;
import org.ood4j.engine.DType;
import org.ood4j.engine.Knn;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.KnnOps;
import org.ood4j.engine.io.Npy;

/**
 * The 16-bit kNN bank (issue 18) against the float32 bank on real files: for each bank dtype
 * (float32, bfloat16, float16) the fit (wall and process CPU time), the bank's bytes, the
 * scoring search (the detector's exact search of the queries in the bank, whose values give the
 * scores through the detector's own {@link BankDetector#scoreNeighbours}), and against float32:
 * max and mean absolute and relative score differences, the worst difference over the rounding
 * bound (u max_i ||b_i||, times ||z|| |E(z)| for NNGuide), and how often the k-th neighbour's
 * index changes. Every input is memory-mapped; ROWS takes the leading rows, QUERIES a count of
 * leading rows or a row range FROM:TO.
 *
 * <pre>  java -cp bench/target/benchmarks.jar org.ood4j.bench.HalfBankCheck FIT.npy QUERIES.npy ROWS QUERIES [HEAD_W.npy HEAD_B.npy]</pre>
 * Prints markdown table rows; with a head (W (C, D), b (C,)) NNGuide (k = 10) runs after KNN (k = 1).
 * {@code -Drepeats=N} (default 1) fits and searches each bank N times and reports the fastest
 * (the first runs include the JIT's warm-up: use 3 or more on small data).
 */
public final class HalfBankCheck {
    private static final String[] DTYPES = {"float32", "bfloat16", "float16"};

    private HalfBankCheck() {}

    /** One bank dtype's run: times, bank bytes, scores and the k-th neighbour of each query. */
    private record Run(String dtype, double fitWall, double fitCpu, long bankBytes, double searchWall, double searchCpu,
                       double smallWall, double[] scores, long[] kth, double maxRowNorm) {}

    /** Queries of the small search: one pass over the bank for few queries, where reading the bank is most of the work. */
    private static final int SMALL = 16;

    public static void main(String[] args) throws Exception {
        if (args.length != 4 && args.length != 6) {
            System.err.println("usage: HalfBankCheck FIT.npy QUERIES.npy ROWS QUERIES [HEAD_W.npy HEAD_B.npy]");
            System.exit(2);
        }
        try (Scope s = Scope.open()) {
            Tensor fitAll = Npy.map(Path.of(args[0])), queryAll = Npy.map(Path.of(args[1]));
            Tensor fit = fitAll.slice(0, 0, Math.min(Long.parseLong(args[2]), fitAll.size(0)));
            String[] range = args[3].contains(":") ? args[3].split(":") : new String[] {"0", args[3]};   // FROM:TO or a count
            Tensor queries = queryAll.slice(0, Long.parseLong(range[0]), Math.min(Long.parseLong(range[1]), queryAll.size(0)));
            Tensor w = args.length == 6 ? Npy.read(Path.of(args[4])) : null, b = args.length == 6 ? Npy.read(Path.of(args[5])) : null;
            System.out.printf("fit %s rows of %d, %d queries; %d cores, load %.1f%n", fit.size(0), fit.size(1), queries.size(0),
                    Runtime.getRuntime().availableProcessors(), java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
            System.out.println("| detector | bank | bank MB | fit s (CPU s) | search s (CPU s) | " + SMALL + "-query search s | max abs | mean abs | max rel | mean rel | max / bound | k-th neighbour changed |");
            System.out.println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            report("KNN k=1", fit, queries, dtype -> new KNN(null, 1, dtype), null);
            if (w != null) {
                double[] scale = energyTimesNorm(queries, w, b);
                report("NNGuide k=10", fit, queries, dtype -> new NNGuide(null, w, b, 10, dtype), scale);
            }
        }
    }

    /** |E(z)| ||z|| of each query: NNGuide's score moves by at most u max_i ||b_i|| times this. */
    private static double[] energyTimesNorm(Tensor queries, Tensor w, Tensor b) {
        try (Scope s = Scope.open()) {
            Tensor q = queries.to(DType.FLOAT64);
            Tensor energy = q.matmul(w.to(DType.FLOAT64).t()).add(b.to(DType.FLOAT64)).logsumexp(1).abs();
            return energy.mul(q.normL2(1, false)).toDoubleArray();
        }
    }

    private static void report(String name, Tensor fit, Tensor queries, java.util.function.Function<String, BankDetector> make, double[] scale) {
        List<Run> runs = new ArrayList<>();
        int repeats = Integer.getInteger("repeats", 1);
        for (String dtype : DTYPES) {
            Run best = null;
            for (int i = 0; i < repeats; i++) {
                Run r;
                try {
                    r = run(make.apply(dtype), dtype, fit, queries);
                } catch (IllegalArgumentException e) {   // e.g. float16 refusing a bank value over 65504: a row saying so
                    System.out.printf("| %s | %s | failed: %s |%n", name, dtype, e.getMessage());
                    break;
                }
                best = best == null ? r : new Run(dtype, Math.min(best.fitWall, r.fitWall), Math.min(best.fitCpu, r.fitCpu), r.bankBytes,
                        Math.min(best.searchWall, r.searchWall), Math.min(best.searchCpu, r.searchCpu), Math.min(best.smallWall, r.smallWall),
                        r.scores, r.kth, r.maxRowNorm);
            }
            if (best != null) runs.add(best);
        }
        Run base = runs.get(0);
        for (Run r : runs) {
            double maxAbs = 0, sumAbs = 0, maxRel = 0, sumRel = 0, worstOverBound = 0;
            int changed = 0;
            double u = r.dtype.equals("bfloat16") ? Math.scalb(1.0, -8) : Math.scalb(1.0, -11);
            for (int i = 0; i < base.scores.length; i++) {
                double diff = Math.abs(r.scores[i] - base.scores[i]), rel = diff / Math.max(Math.abs(base.scores[i]), 1e-30);
                maxAbs = Math.max(maxAbs, diff);
                sumAbs += diff;
                maxRel = Math.max(maxRel, rel);
                sumRel += rel;
                double bound = u * base.maxRowNorm * (scale == null ? 1 : scale[i]);
                worstOverBound = Math.max(worstOverBound, diff / bound);
                if (r.kth[i] != base.kth[i]) changed++;
            }
            int n = base.scores.length;
            boolean reference = r == base;
            System.out.printf("| %s | %s | %.1f | %.2f (%.2f) | %.2f (%.2f) | %.3f | %s | %s | %s | %s | %s | %s |%n", name, r.dtype, r.bankBytes / 1e6,
                    r.fitWall, r.fitCpu, r.searchWall, r.searchCpu, r.smallWall,
                    reference ? "—" : String.format("%.3g", maxAbs), reference ? "—" : String.format("%.3g", sumAbs / n),
                    reference ? "—" : String.format("%.3g", maxRel), reference ? "—" : String.format("%.3g", sumRel / n),
                    reference ? "—" : String.format("%.3f", worstOverBound),
                    reference ? "—" : String.format("%d / %d (%.2f%%)", changed, n, 100.0 * changed / n));
        }
    }

    /** Fits one detector, then runs its scoring search once (timed) and checks the scores against predictFeatures on a few rows. */
    private static Run run(BankDetector detector, String dtype, Tensor fit, Tensor queries) {
        try (detector; Scope s = Scope.open()) {
            long cpu0 = ScaleMahalanobisCheck.cpuNanos(), t0 = System.nanoTime();
            detector.fitFeatures(fit, null);
            double fitWall = (System.nanoTime() - t0) / 1e9, fitCpu = (ScaleMahalanobisCheck.cpuNanos() - cpu0) / 1e9;
            Tensor bank = detector.state().get("bank");
            KnnOps.Metric metric = detector.smallerIsNearer() ? KnnOps.Metric.L2 : KnnOps.Metric.INNER_PRODUCT;
            int k = detector.k();
            cpu0 = ScaleMahalanobisCheck.cpuNanos();
            t0 = System.nanoTime();
            Knn.Result r = Knn.search(queries.to(bank.dtype().computeType()), bank, k, metric);
            double searchWall = (System.nanoTime() - t0) / 1e9, searchCpu = (ScaleMahalanobisCheck.cpuNanos() - cpu0) / 1e9;
            Tensor small = queries.slice(0, 0, Math.min(SMALL, queries.size(0))).to(bank.dtype().computeType());
            t0 = System.nanoTime();
            Knn.search(small, bank, k, metric);
            double smallWall = (System.nanoTime() - t0) / 1e9;
            double[] scores = detector.scoreNeighbours(queries, r.values()).toDoubleArray();
            Tensor few = queries.slice(0, 0, Math.min(8, queries.size(0)));
            double[] direct = detector.predictFeatures(few).toDoubleArray();
            for (int i = 0; i < direct.length; i++) {
                if (direct[i] != scores[i]) throw new IllegalStateException(dtype + ": search-derived score " + scores[i] + " != predictFeatures " + direct[i]);
            }
            // the bound's max_i ||b_i||, from the float32 bank (read in place; the 16-bit runs use that one)
            double maxNorm = bank.dtype().isStorageOnly() ? Double.NaN : bank.normL2(1, false).max().item();
            return new Run(dtype, fitWall, fitCpu, bank.numel() * bank.dtype().byteSize(), searchWall, searchCpu, smallWall, scores,
                    r.indices().select(1, k - 1).toLongArray(), maxNorm);
        }
    }
}
