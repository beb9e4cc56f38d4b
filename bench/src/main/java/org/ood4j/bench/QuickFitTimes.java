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
 * The fits of the class-Gaussian detectors on the quick workload (issue 17: Mahalanobis, RMD, GMM,
 * ViM on feat_fit_x, 10000 x 512, 10 classes), timed in wall-clock and in the process's CPU time
 * (all threads): on a machine shared with other jobs the CPU time is the steadier measure of the
 * work, and on an idle 2-core machine the wall time lies between CPU/2 and CPU. Runs as a source
 * file against any build's jar, so two builds are compared in the same minutes:
 *
 * <pre>  java --add-modules jdk.incubator.vector -cp ood4j.jar bench/src/main/java/org/ood4j/bench/QuickFitTimes.java WORKLOAD_DIR [REPEATS]</pre>
 * Prints per detector the median wall and CPU seconds of REPEATS fits (default 7) after 2 warm-up fits.
 */
public final class QuickFitTimes {
    private QuickFitTimes() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        try (Tensor x = Npy.read(dir.resolve("feat_fit_x.npy")); Tensor y = Npy.read(dir.resolve("feat_fit_y.npy"));
             Tensor w = Npy.read(dir.resolve("head_w.npy")); Tensor b = Npy.read(dir.resolve("head_b.npy"))) {
            Map<String, Supplier<FeaturesDetector>> rows = new LinkedHashMap<>();
            rows.put("Mahalanobis", () -> new Mahalanobis(null, 0, null));
            rows.put("RMD", () -> new RMD(null));
            rows.put("GMM", () -> new GMM(null));
            rows.put("ViM", () -> new ViM(null, 64, w.copy(), b.copy()));   // its close() closes its head
            for (Map.Entry<String, Supplier<FeaturesDetector>> row : rows.entrySet()) {
                double[] wall = new double[repeats], cpu = new double[repeats];
                for (int run = -2; run < repeats; run++) {
                    long c0 = cpuNanos(), t0 = System.nanoTime();
                    try (FeaturesDetector d = row.getValue().get()) {
                        d.fitFeatures(x, y);
                    }
                    if (run >= 0) {
                        wall[run] = (System.nanoTime() - t0) / 1e9;
                        cpu[run] = (cpuNanos() - c0) / 1e9;
                    }
                }
                System.out.printf("%-12s fit wall %.4f s  cpu %.4f s  (median of %d)%n", row.getKey(), median(wall), median(cpu), repeats);
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
