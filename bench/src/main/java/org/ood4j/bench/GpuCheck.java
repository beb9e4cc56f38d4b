package org.ood4j.bench;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.jar.JarFile;
import java.util.function.Supplier;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;
import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;
import org.ood4j.engine.Backends;
import org.ood4j.engine.CudaStatus;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Conv;
import org.ood4j.engine.Knn;
import org.ood4j.engine.Linalg;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Norm;
import org.ood4j.engine.autodiff.PerSample;
import org.ood4j.engine.backend.KnnOps;
import org.ood4j.engine.cuda.CudaContext;

/**
 * The GPU check, run from the bundle (bench/gpu-check.sh): the engine's CUDA tests through the
 * JUnit Platform launcher (their classes come in ood4j-engine-*-cudatests.jar), the conformance
 * cases on the CUDA backend (ConformanceTest from ood4j-detectors-*-conformancetests.jar, cases
 * read from the working tree), then a timing table of our kernels next to ceilings measured on the
 * same card (a large device-to-device copy, a large cuBLAS SGEMM), then a one-screen summary.
 * Without a GPU it prints "no GPU: reason" and exits 0. Exit 1 when a test or a case fails.
 *
 * <p>On the CUDA host emulator (kernels/src/test/emu, a dry run of this check on a machine
 * without a GPU) the tests and cases run and the timings are not taken: an emulator's times
 * are not a GPU's.
 */
public final class GpuCheck {
    private GpuCheck() {}

    public static void main(String[] args) {
        Locale.setDefault(Locale.ROOT);
        CudaStatus status = Backends.cudaStatus();
        if (!status.available()) {
            System.out.println("no GPU: " + status.description());
            return;
        }
        long start = System.nanoTime();
        boolean skipTests = List.of(args).contains("--no-tests");
        boolean emulator = status.description().contains("emulator");
        TestExecutionSummary tests = skipTests ? null : runTests(cudaTestClasses(), "CUDA tests (org.ood4j.engine.cuda)");
        TestExecutionSummary conformance = skipTests ? null : runConformance();
        List<String[]> rows;
        if (emulator) {
            // every row's code runs, at tiny sizes, so the GPU run does not meet it first; the times are dropped
            long failed = timings(Sizes.SMOKE).stream().filter(r -> r[3].startsWith("FAILED")).peek(r ->
                    System.out.println("timing row failed on the emulator: " + String.join(" | ", r))).count();
            System.out.println("== timings: every row's code ran at small sizes on the emulator, " + failed + " failed; no times taken");
            rows = List.of();
        } else {
            System.out.println("== timings (median of 5 after a warm-up)");
            rows = timings(Sizes.FULL);
            for (String[] r : rows) System.out.println(String.join(" | ", r));
        }
        printSummary(status, tests, conformance, rows, emulator, (System.nanoTime() - start) / 1e9);
        boolean failed = (tests != null && tests.getTotalFailureCount() > 0) || (conformance != null && conformance.getTotalFailureCount() > 0);
        if (failed) System.exit(1);
    }

    // ---------------------------------------------------------------- tests

    /**
     * The *Test classes next to CudaTesting (in the cudatests jar, or a test-classes folder),
     * listed by reading the jar with java.util.jar. Not selectPackage: JUnit scans packages in
     * jars through the zip file system (module jdk.zipfs), which the bundle's runtime lacks, and
     * then silently finds nothing.
     */
    private static List<DiscoverySelector> cudaTestClasses() {
        String pkg = "org/ood4j/engine/cuda/";
        List<DiscoverySelector> selectors = new ArrayList<>();
        try {
            Path where = Path.of(Class.forName("org.ood4j.engine.cuda.CudaTesting").getProtectionDomain().getCodeSource().getLocation().toURI());
            List<String> names = new ArrayList<>();
            if (Files.isDirectory(where)) {
                try (var files = Files.list(where.resolve(pkg))) {
                    files.forEach(f -> names.add(pkg + f.getFileName()));
                }
            } else {
                try (JarFile jar = new JarFile(where.toFile())) {
                    jar.stream().forEach(e -> names.add(e.getName()));
                }
            }
            for (String n : names) {
                if (n.startsWith(pkg) && n.endsWith("Test.class") && n.indexOf('/', pkg.length()) < 0) {
                    selectors.add(selectClass(n.substring(0, n.length() - ".class".length()).replace('/', '.')));
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot list the CUDA test classes (is ood4j-engine-*-cudatests.jar on the class path?): " + e, e);
        }
        if (selectors.isEmpty()) throw new IllegalStateException("no CUDA test classes found next to CudaTesting");
        return selectors;
    }

    private static TestExecutionSummary runTests(List<DiscoverySelector> selectors, String what) {
        System.out.println("== " + what + ", JUnit Platform");
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request().selectors(selectors).build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(request, listener);
        TestExecutionSummary summary = listener.getSummary();
        summary.printFailuresTo(new PrintWriter(System.out, true), 12);
        return summary;
    }

    /** The conformance cases of the working tree on Device.CUDA; null (with the reason printed) when they are not here. */
    private static TestExecutionSummary runConformance() {
        Path cases = Path.of("detectors/src/test/resources/conformance");
        if (!Files.isDirectory(cases)) {
            System.out.println("== conformance on CUDA: not run (no " + cases + " under " + Path.of("").toAbsolutePath() + ")");
            return null;
        }
        System.setProperty("conformance.dir", cases.toString());
        System.setProperty("conformance.device", "cuda");
        return runTests(List.of(selectClass("org.ood4j.detectors.ConformanceTest")), "conformance cases on CUDA (" + cases + ")");
    }

    // ---------------------------------------------------------------- timings

    /** Median seconds of {@code reps} runs of op (after one warm-up), each waited for on the device. */
    private static double seconds(int reps, Supplier<Tensor> op) {
        try (Tensor warm = op.get()) {
            sync();
        }
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            try (Tensor r = op.get()) {
                sync();
            }
            t[i] = (System.nanoTime() - t0) / 1e9;
        }
        java.util.Arrays.sort(t);
        return t[reps / 2];
    }

    private static void sync() {
        CudaContext.get();
        int rc = JCudaDriver.cuCtxSynchronize();
        if (rc != 0) throw new IllegalStateException("cuCtxSynchronize: " + jcuda.driver.CUresult.stringFor(rc));
    }

    /** A table row: what, size, median time, and a rate (amount per second) when amount > 0. */
    private static String[] row(String what, String size, double seconds, double amount, String unit) {
        String rate = amount > 0 ? String.format("%.1f %s", amount / seconds / 1e9, unit) : "-";
        return new String[] {what, size, String.format("%.3f ms", seconds * 1e3), rate};
    }

    /** The sizes of the timed ops: FULL on a GPU; SMOKE (tiny) on the emulator, to run every row's code. */
    record Sizes(int rows, int classes, int queries, int bank, int dim, int gemm, int convN, int convC, int convHw,
                 int rankB, int rankC, int rankHw, int svdN, long copyBytes) {
        static final Sizes FULL = new Sizes(100_000, 1000, 10_000, 100_000, 256, 8192, 64, 64, 32, 256, 512, 16, 1024, 1L << 30);
        static final Sizes SMOKE = new Sizes(300, 37, 20, 300, 16, 64, 2, 3, 6, 3, 9, 4, 12, 1L << 20);
    }

    /** One timed row; a failure becomes a row that names it (the other rows still run). */
    private static String[] timed(String what, String size, Supplier<String[]> row) {
        try {
            return row.get();
        } catch (RuntimeException e) {
            return new String[] {what, size, "n/a", "FAILED: " + firstLine(e)};
        }
    }

    private static List<String[]> timings(Sizes z) {
        List<String[]> rows = new ArrayList<>();
        rows.add(timed("CEILING cuMemcpyDtoD", z.copyBytes() + " B", () -> copyCeiling(z.copyBytes())));
        SplittableRandom rng = new SplittableRandom(42);
        String rc = z.rows() + "x" + z.classes();
        try (Tensor host = Tensor.randn(rng, DType.FLOAT32, z.rows(), z.classes()); Tensor x = host.to(Device.CUDA)) {
            double bytes = 4.0 * x.numel();
            rows.add(timed("softmax", rc, () -> row("softmax (f32, 1 read + 1 write)", rc, seconds(5, () -> x.softmax(1)), 2 * bytes, "GB/s")));
            rows.add(timed("logSoftmax", rc, () -> row("logSoftmax (f32, 1 read + 1 write)", rc, seconds(5, () -> x.logSoftmax(1)), 2 * bytes, "GB/s")));
            rows.add(timed("logsumexp", rc, () -> row("logsumexp (f32, 1 read)", rc, seconds(5, () -> x.logsumexp(1)), bytes, "GB/s")));
            rows.add(timed("max dim 0", rc, () -> row("max along dim 0 (f32, strided rows)", rc, seconds(5, () -> x.max(0)), bytes, "GB/s")));
            rows.add(timed("x*2", rc, () -> row("elementwise x*2 (f32, read + write)", rc, seconds(5, () -> x.mul(2)), 2 * bytes, "GB/s")));
            rows.add(timed("transposed copy", rc, () -> row("copy of a transposed view (f32)", rc,
                    seconds(5, () -> { try (Tensor t = x.t()) { return t.copy(); } }), 2 * bytes, "GB/s")));
            rows.add(timed("topk", rc, () -> row("topk k=10 (f32, 1 read)", rc,
                    seconds(5, () -> { Tensor[] r = x.topk(10, 1, true); r[1].close(); return r[0]; }), bytes, "GB/s")));
        }
        String qbd = z.queries() + " x " + z.bank() + " x " + z.dim();
        try (Tensor hq = Tensor.randn(rng, DType.FLOAT32, z.queries(), z.dim()); Tensor hb = Tensor.randn(rng, DType.FLOAT32, z.bank(), z.dim());
             Tensor q = hq.to(Device.CUDA); Tensor b = hb.to(Device.CUDA)) {
            double flops = 3.0 * q.size(0) * b.size(0) * q.size(1);
            rows.add(timed("kNN", qbd, () -> row("kNN L2 k=10 (fused tiles, f32)", qbd, seconds(5, () -> {
                Knn.Result r = Knn.search(q, b, 10, KnnOps.Metric.L2);
                r.indices().close();
                return r.values();
            }), flops, "GFLOP/s")));
        }
        String conv = z.convN() + "x" + z.convC() + "x" + z.convHw() + "x" + z.convHw() + ", 3x3";
        try (Tensor hx = Tensor.randn(rng, DType.FLOAT32, z.convN(), z.convC(), z.convHw(), z.convHw());
             Tensor hw = Tensor.randn(rng, DType.FLOAT32, z.convC(), z.convC(), 3, 3);
             Tensor x = hx.to(Device.CUDA); Tensor w = hw.to(Device.CUDA)) {
            double flops = 2.0 * z.convN() * z.convC() * z.convC() * 9 * z.convHw() * z.convHw();
            rows.add(timed("conv2d", conv, () -> row("conv2d (f32, im2col + cuBLAS)", conv,
                    seconds(5, () -> Conv.conv2d(x, w, null, 1, 1, 1)), flops, "GFLOP/s")));
            rows.add(timed("per-sample grad norms", conv, () -> row("per-sample conv weight-grad norms (f32, GradNorm)", conv,
                    seconds(5, () -> PerSample.conv2dWeightNorms(x, x, 3, 3, 1, 1, 1, Norm.L1)), flops, "GFLOP/s")));
        }
        String rank = z.rankB() + " x " + z.rankC() + " x " + z.rankHw();
        try (Tensor hm = Tensor.randn(rng, DType.FLOAT32, z.rankB(), z.rankC(), z.rankHw()); Tensor m = hm.to(Device.CUDA)) {
            rows.add(timed("rank-1 removal", rank, () -> row("RankFeat rank-1 removal (f32, linalg.cu)", rank,
                    seconds(5, () -> Linalg.removeTopSingular(m)), 2.0 * 4 * m.numel(), "GB/s")));
        }
        String svd = z.svdN() + "^2";
        try (Tensor ha = Tensor.randn(rng, DType.FLOAT64, z.svdN(), z.svdN()); Tensor a = ha.to(Device.CUDA)) {
            rows.add(timed("svd", svd, () -> row("SVD (f64, cuSOLVER gesvd)", svd, seconds(3, () -> {
                try (Linalg.Svd r = Linalg.svd(a, false)) {
                    return r.s().copy();
                }
            }), 0, "")));
        }
        rows.add(timed("CEILING cuBLAS SGEMM", z.gemm() + "^3", () -> sgemmCeiling(z.gemm())));
        return rows;
    }

    /** The copy ceiling: cuMemcpyDtoD of {@code bytes}, read + write counted. */
    private static String[] copyCeiling(long bytes) {
        CudaContext.get();
        CUdeviceptr a = new CUdeviceptr(), b = new CUdeviceptr();
        if (JCudaDriver.cuMemAlloc(a, bytes) != 0 || JCudaDriver.cuMemAlloc(b, bytes) != 0) {
            return new String[] {"CEILING cuMemcpyDtoD", bytes + " B", "n/a", "allocation failed"};
        }
        try {
            JCudaDriver.cuMemcpyDtoD(b, a, bytes);
            sync();
            double[] t = new double[5];
            for (int i = 0; i < t.length; i++) {
                long t0 = System.nanoTime();
                JCudaDriver.cuMemcpyDtoD(b, a, bytes);
                sync();
                t[i] = (System.nanoTime() - t0) / 1e9;
            }
            java.util.Arrays.sort(t);
            return row("CEILING cuMemcpyDtoD (read + write)", bytes + " B", t[2], 2.0 * bytes, "GB/s");
        } finally {
            JCudaDriver.cuMemFree(a);
            JCudaDriver.cuMemFree(b);
        }
    }

    /** The GEMM ceiling: cuBLAS SGEMM n^3 (through our matmul). */
    private static String[] sgemmCeiling(int n) {
        SplittableRandom rng = new SplittableRandom(7);
        try (Tensor ha = Tensor.rand(rng, DType.FLOAT32, -1, 1, n, n); Tensor a = ha.to(Device.CUDA)) {
            return row("CEILING cuBLAS SGEMM", n + "^3", seconds(5, () -> a.matmul(a)), 2.0 * n * n * n, "GFLOP/s");
        }
    }

    // ---------------------------------------------------------------- summary

    private static void printSummary(CudaStatus status, TestExecutionSummary tests, TestExecutionSummary conformance,
                                     List<String[]> rows, boolean emulator, double seconds) {
        System.out.println();
        System.out.println("================ ood4j GPU check ================");
        System.out.println("cuda: " + status);
        printCounts("tests", tests);
        printCounts("conformance on CUDA", conformance);
        if (emulator) System.out.println("timings: not taken (the CUDA host emulator is not a GPU)");
        int w0 = rows.stream().mapToInt(r -> r[0].length()).max().orElse(10);
        int w1 = rows.stream().mapToInt(r -> r[1].length()).max().orElse(10);
        for (String[] r : rows) {
            System.out.printf("  %-" + w0 + "s  %-" + w1 + "s  %12s  %s%n", r[0], r[1], r[2], r[3]);
        }
        System.out.printf("total %.1f s%n", seconds);
    }

    private static void printCounts(String what, TestExecutionSummary s) {
        if (s == null) {
            System.out.println(what + ": not run");
            return;
        }
        System.out.printf("%s: %d passed, %d failed, %d skipped (of %d found)%n", what, s.getTestsSucceededCount(),
                s.getTotalFailureCount(), s.getTestsSkippedCount() + s.getTestsAbortedCount(), s.getTestsFoundCount());
        s.getFailures().stream().limit(8).forEach(f -> System.out.println("  FAILED " + f.getTestIdentifier().getDisplayName()
                + ": " + firstLine(f.getException())));
    }

    private static String firstLine(Throwable t) {
        String m = String.valueOf(t);
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
