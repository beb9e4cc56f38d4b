package org.ood4j.bench;

import org.ood4j.engine.cpu.Syrk;

/**
 * One float32 {@code Syrk.accumulate} of a 4096 x 2048 block (a streaming fit's chunk at ImageNet's
 * width), five times, in wall and process CPU time (all threads), with the useful GFLOP per
 * CPU-second (rows n (n + 1) per call). A source-file program, so two builds' jars can be compared
 * back to back on a shared machine, where the CPU time is the steadier measure of the work:
 * <pre>  java --add-modules jdk.incubator.vector -cp ood4j.jar bench/src/main/java/org/ood4j/bench/SyrkCpuTime.java LABEL</pre>
 */
public final class SyrkCpuTime {
    private SyrkCpuTime() {}

    public static void main(String[] args) {
        int rows = 4096, n = 2048;
        float[] a = new float[rows * n];
        java.util.SplittableRandom rng = new java.util.SplittableRandom(1);
        for (int i = 0; i < a.length; i++) a[i] = (float) rng.nextGaussian();
        double[] c = new double[n * n];
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        for (int it = 0; it < 5; it++) {
            long c0 = os.getProcessCpuTime(), t0 = System.nanoTime();
            Syrk.accumulate(a, rows, n, c);
            double cpu = (os.getProcessCpuTime() - c0) / 1e9, wall = (System.nanoTime() - t0) / 1e9;
            System.out.printf("%s wall %.2f s, cpu %.2f s, %.1f useful GFLOP per CPU-s%n", args.length > 0 ? args[0] : "",
                    wall, cpu, (double) rows * n * (n + 1) / cpu / 1e9);
        }
    }
}
