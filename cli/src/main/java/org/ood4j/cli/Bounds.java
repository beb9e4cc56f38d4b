package org.ood4j.cli;

import java.util.SplittableRandom;
import java.util.stream.IntStream;

import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * What a bench row must at least cost on this machine, so that a time is judged against its
 * limit: the bytes the step has to move (its inputs read once, its outputs written once) and the
 * matrix-product flops it has to do, and
 * <pre>  bound_s = max(bytes / read bandwidth, flops / GEMM rate)</pre>
 * with both rates measured at the start of the run. Only the dominant terms count (elementwise
 * arithmetic is free next to the memory traffic; a decomposition counts as D^3), so bound_s is a
 * lower bound and time / bound_s says how far a row is from the machine, not from a rival.
 */
final class Bounds {
    private Bounds() {}

    /** Bytes moved and matrix-product flops of one fit or predict. */
    record Cost(double bytes, double flops) {
        double seconds(Rates rates) {
            return Math.max(bytes / rates.readBytesPerSecond(), flops / rates.gemmFlopsPerSecond());
        }
    }

    /** The machine's streaming read bandwidth and the engine's float32 GEMM rate, both on all cores. */
    record Rates(double readBytesPerSecond, double gemmFlopsPerSecond) {
        /** Best of a few runs: a streaming read of a 256 MB array, a 2048^3 float32 product of our engine. */
        static Rates measure() {
            return measure(256L << 20, 2048);
        }

        static Rates measure(long readBytes, int gemmSize) {
            return new Rates(readBandwidth(readBytes, 7), gemmRate(gemmSize, 3));
        }
    }

    private static double readBandwidth(long bytes, int runs) {
        long[] data = new long[(int) (bytes / Long.BYTES)];
        java.util.Arrays.setAll(data, i -> i);
        int parts = Runtime.getRuntime().availableProcessors();
        double best = 0;
        long checksum = 0;
        for (int run = 0; run < runs; run++) {
            long t0 = System.nanoTime();
            checksum += IntStream.range(0, parts).parallel().mapToLong(p -> sum(data, p, parts)).sum();
            best = Math.max(best, bytes / ((System.nanoTime() - t0) / 1e9));
        }
        if (checksum == 42) System.out.print(""); // keeps the sums observable
        return best;
    }

    /** A plain loop the JIT turns into vector adds: one read pass over part p of {@code parts}. */
    private static long sum(long[] data, int p, int parts) {
        int from = (int) ((long) data.length * p / parts), to = (int) ((long) data.length * (p + 1) / parts);
        long acc = 0;
        for (int i = from; i < to; i++) acc += data[i];
        return acc;
    }

    private static double gemmRate(int n, int runs) {
        double best = 0;
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(1);
            Tensor a = Tensor.randn(rng, DType.FLOAT32, n, n), b = Tensor.randn(rng, DType.FLOAT32, n, n);
            for (int run = 0; run < runs; run++) {
                long t0 = System.nanoTime();
                try (Tensor c = a.matmul(b)) {
                    best = Math.max(best, 2.0 * n * n * n / ((System.nanoTime() - t0) / 1e9));
                }
            }
        }
        return best;
    }

    // ---------------------------------------------------------------- the rows' costs

    /** The sizes a row's cost depends on, from the workload's arrays. */
    private record Sizes(double logitsFit, double logits, double classes, double featFit, double feat, double dim, double featClasses,
                         double headClasses, double maps, double mapPixels) {
        static Sizes of(Workload w) {
            Tensor maps = w.get("fmaps.npy");
            double featClasses;
            try (Tensor max = w.get("feat_fit_y.npy").max()) {
                featClasses = max.item() + 1;
            }
            return new Sizes(w.get("logits_fit.npy").size(0), w.get("logits.npy").size(0), w.get("logits.npy").size(1),
                    w.get("feat_fit_x.npy").size(0), w.get("feat_x.npy").size(0), w.get("feat_x.npy").size(1),
                    featClasses, w.get("head_w.npy").size(0), maps.size(0), maps.size(2) * maps.size(3));
        }
    }

    private static final double F32 = 4, F64 = 8;

    /** The least a predict of {@code row} over the workload's scoring array costs. */
    static Cost predict(Workload w, Workload.Row row) {
        Sizes s = Sizes.of(w);
        double n = s.feat(), d = s.dim(), heads = s.headClasses(), k = s.featClasses();
        double featuresIn = n * d * F32 + n * F64;
        return switch (row.name()) {
            case "Mahalanobis" -> new Cost(featuresIn, 2 * n * d * d + 2 * n * d * k);          // z P, (z P) mu^T
            case "RMD" -> new Cost(featuresIn, 4 * n * d * d + 2 * n * d * k);                  // and the background's
            case "GMM" -> new Cost(featuresIn, n * k * d * (d + 1));                            // one triangular factor per class
            case "KNN" -> new Cost(featuresIn, 2 * n * s.featFit() * d);                        // every pair of rows
            case "NNGuide" -> new Cost(featuresIn, 2 * n * s.featFit() * d + 2 * n * heads * d);
            case "ViM" -> new Cost(featuresIn, 2 * n * d * residual(d) + 2 * n * heads * d);    // residual space, head
            case "SHE", "DICE", "NCI", "fDBD" -> new Cost(featuresIn, 2 * n * heads * d);       // the linear head
            case "ASH", "ReAct", "VRA" -> new Cost(s.maps() * d * s.mapPixels() * F32 + s.maps() * F64, 2 * s.maps() * heads * d);
            case "RankFeat" -> new Cost(s.maps() * d * s.mapPixels() * F32 + s.maps() * F64,   // Gram of each map, head
                    2 * s.maps() * d * s.mapPixels() * s.mapPixels() + 2 * s.maps() * heads * d);
            default -> new Cost(s.logits() * s.classes() * F32 + s.logits() * F64, 0);         // the logits rows: one pass
        };
    }

    /** ViM's residual dimensions: D minus the principal ones (the workload's d: 64, or D / 2 below 64 dimensions). */
    private static double residual(double dim) {
        return dim - (dim > 64 ? 64 : Math.max(1, Math.floor(dim / 2)));
    }

    /** The least a fit of {@code row} on the workload's fit arrays costs (zero for rows without a fit). */
    static Cost fit(Workload w, Workload.Row row) {
        Sizes s = Sizes.of(w);
        double m = s.featFit(), d = s.dim(), heads = s.headClasses(), k = s.featClasses();
        double featuresIn = m * d * F32 + m * F64;
        return switch (row.name()) {
            case "Mahalanobis" -> new Cost(featuresIn, m * d * d + d * d * d);                  // scatter (one half), inverse
            case "RMD" -> new Cost(featuresIn, 2 * m * d * d + 2 * d * d * d);
            case "GMM" -> new Cost(featuresIn, m * d * d + k * d * d * d);                      // class scatters, k factors L and L^-1
            case "ViM" -> new Cost(featuresIn, m * d * d + d * d * d + 2 * heads * d * d);      // covariance, eigh, pinv(W)
            case "NNGuide", "SHE" -> new Cost(featuresIn, 2 * m * heads * d);                   // the head over the fit rows
            case "KNN", "DICE", "NCI", "fDBD" -> new Cost(featuresIn, 0);                       // one pass: norms or a mean
            case "VRA" -> new Cost(s.maps() / 2 * d * s.mapPixels() * F32, 0);                   // quantiles of half the maps
            case "KLMatching", "TemperatureScaling", "OpenMax" -> new Cost(s.logitsFit() * s.classes() * F32, 0);
            default -> new Cost(0, 0);
        };
    }
}
