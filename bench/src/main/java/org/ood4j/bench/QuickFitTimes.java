package org.ood4j.bench;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

import org.ood4j.detectors.FeaturesDetector;
import org.ood4j.detectors.GMM;
import org.ood4j.detectors.Mahalanobis;
import org.ood4j.detectors.RMD;
import org.ood4j.detectors.ViM;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

/**
 * The fits and predicts of the class-Gaussian detectors on the quick workload (issue 17: Mahalanobis, RMD, GMM,
 * ViM on feat_fit_x, 10000 x 512, 10 classes; predicts of feat_x), timed in wall-clock and in the process's CPU time
 * (all threads): on a machine shared with other jobs the CPU time is the steadier measure of the
 * work, and on an idle 2-core machine the wall time lies between CPU/2 and CPU. Runs as a source
 * file against any build's jar, so two builds are compared in the same minutes:
 *
 * <pre>  java --add-modules jdk.incubator.vector -cp ood4j.jar bench/src/main/java/org/ood4j/bench/QuickFitTimes.java WORKLOAD_DIR [REPEATS [NAMES]]</pre>
 * Prints per detector the median wall and CPU seconds of REPEATS fits (default 7) after 2 warm-up fits,
 * and of the predicts of feat_x (2000 x 512) each fit is followed by; NAMES (comma-separated) picks detectors.
 */
public final class QuickFitTimes {
    private QuickFitTimes() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        java.util.List<String> only = args.length > 2 ? java.util.List.of(args[2].split(",")) : null;
        try (Tensor x = Npy.read(dir.resolve("feat_fit_x.npy")); Tensor y = Npy.read(dir.resolve("feat_fit_y.npy"));
             Tensor q = Npy.read(dir.resolve("feat_x.npy"));
             Tensor w = Npy.read(dir.resolve("head_w.npy")); Tensor b = Npy.read(dir.resolve("head_b.npy"))) {
            Map<String, Supplier<FeaturesDetector>> rows = new LinkedHashMap<>();
            rows.put("Mahalanobis", () -> new Mahalanobis(null, 0, null));
            rows.put("RMD", () -> new RMD(null));
            rows.put("GMM", () -> new GMM(null));
            rows.put("ViM", () -> new ViM(null, 64, w.copy(), b.copy()));   // its close() closes its head
            for (Map.Entry<String, Supplier<FeaturesDetector>> row : rows.entrySet()) {
                if (only != null && !only.contains(row.getKey())) continue;
                double[][] t = new double[4][repeats];   // fit wall, fit CPU, predict wall, predict CPU
                for (int run = -2; run < repeats; run++) {
                    long c0 = cpuNanos(), t0 = System.nanoTime();
                    try (FeaturesDetector d = row.getValue().get()) {
                        d.fitFeatures(x, y);
                        long c1 = cpuNanos(), t1 = System.nanoTime();
                        d.predictFeatures(q).close();
                        if (run >= 0) {
                            t[0][run] = (t1 - t0) / 1e9;
                            t[1][run] = (c1 - c0) / 1e9;
                            t[2][run] = (System.nanoTime() - t1) / 1e9;
                            t[3][run] = (cpuNanos() - c1) / 1e9;
                        }
                    }
                }
                System.out.printf("%-12s fit wall %.4f s  cpu %.4f s  predict wall %.4f s  cpu %.4f s  (median of %d)%n", row.getKey(),
                        median(t[0]), median(t[1]), median(t[2]), median(t[3]), repeats);
            }
        }
    }

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
