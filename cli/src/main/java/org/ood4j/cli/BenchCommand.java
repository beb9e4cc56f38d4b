package org.ood4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ForkJoinPool;

import org.ood4j.detectors.AbstractDetector;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.AtomicFile;
import org.ood4j.engine.io.Json;
import org.ood4j.engine.io.Npy;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Times fit and predict of every row of the benchmark workload ({@code shared/bench/WORKLOADS.md}),
 * in this process: per row, {@code --warmup} untimed runs (and more until {@code --warmup-time}
 * seconds have passed: C2 compiles a hot loop in the background, after thousands of its
 * iterations, and until it has, Vector API code runs boxed, tens of times slower; on two cores a
 * DICE predict still took 37 ms after 1 s of warm-up, 4 ms after 3 s, 2.5 ms after 8 s), then
 * the median of {@code --repeats} timed ones (a fresh detector each run; fit and predict timed
 * separately, predict over the whole scoring array).
 */
@Command(name = "bench", description = {"Time every detector on the benchmark workload (WORKLOADS.md).",
        "--generate DIR writes a workload folder (with --quick: the first dimension / 5); --data DIR --out FILE times it.",
        "--generate-scale DIR writes ImageNet-size features (features.npy, labels.npy, queries.npy, query_labels.npy; "
                + "--rows, --dim, --classes, --queries, --seed) for checking fits at scale (bench/scale-run.sh)."})
final class BenchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR", description = "a workload folder of WORKLOADS.md's layout (default: the --generate folder)")
    Path data;

    @Option(names = "--generate", paramLabel = "DIR", description = "write a generated workload folder (class-structured random data)")
    Path generate;

    @Option(names = "--generate-scale", paramLabel = "DIR", description = "write ImageNet-size class-structured features "
            + "(ReLU'd class-centred Gaussians, float32) and queries as .npy files, in bounded memory")
    Path generateScale;

    @Option(names = "--rows", defaultValue = "1281167", description = "with --generate-scale: fit rows (default: ${DEFAULT-VALUE}, ImageNet-1k's training set)")
    long rows;

    @Option(names = "--dim", defaultValue = "2048", description = "with --generate-scale: feature dimension (default: ${DEFAULT-VALUE}, a ResNet-50's)")
    int dim;

    @Option(names = "--classes", defaultValue = "1000", description = "with --generate-scale: classes (default: ${DEFAULT-VALUE})")
    int classes;

    @Option(names = "--queries", defaultValue = "10000", description = "with --generate-scale: query rows, half in-distribution, "
            + "half around unseen centres (default: ${DEFAULT-VALUE})")
    int queries;

    @Option(names = "--quiet", description = "no progress line on stderr")
    boolean quiet;

    @Option(names = "--quick", description = "with --generate: the quick sizes (first dimension / 5)")
    boolean quick;

    /** For tests: every first dimension divided by this (floors keep every class present). */
    @Option(names = "--divisor", hidden = true, defaultValue = "0")
    int divisor;

    /** For tests: the machine's rates from a 16 MB read and a 256^3 product (seconds less, numbers rougher). */
    @Option(names = "--small-rates", hidden = true)
    boolean smallRates;

    @Option(names = "--seed", defaultValue = "1", description = "seed of --generate (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE.json", description = "where to write the JSON rows; without it nothing is timed")
    Path out;

    @Option(names = "--repeats", defaultValue = "3", description = "timed runs per row; the median is reported (default: ${DEFAULT-VALUE})")
    int repeats;

    @Option(names = "--warmup", defaultValue = "1", description = "untimed runs per row first (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--warmup-time", defaultValue = "5", paramLabel = "SECONDS",
            description = "and more untimed runs until this many seconds of them per row (steady state, as JMH's warm-up; 0: the count only; default: ${DEFAULT-VALUE})")
    double warmupTime;

    @Option(names = "--only", split = ",", paramLabel = "ROW", description = "time only these rows (comma-separated names)")
    List<String> only;

    @Option(names = "--save-scores", paramLabel = "DIR", description = "write each row's scores (of the last run) as DIR/ROW.npy, "
            + "for checking against another implementation")
    Path saveScores;

    @Option(names = "--device", defaultValue = "cpu",
            description = "cpu, cuda or auto: the arrays and the fitted state on that device (default: ${DEFAULT-VALUE})")
    String device;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        if (generateScale != null) {
            ScaleData.Spec scale = new ScaleData.Spec(rows, dim, classes, queries, seed);
            long t0 = System.nanoTime();
            try (Progress progress = new Progress(spec.commandLine().getErr(), "generating", rows, quiet)) {
                ScaleData.generate(generateScale, scale, progress::update);
            }
            double s = (System.nanoTime() - t0) / 1e9;
            o.printf(java.util.Locale.ROOT, "wrote %d x %d float32 features in %d classes and %d queries to %s in %.1f s (%.0f rows/s)%n",
                    rows, dim, classes, queries, generateScale, s, rows / s);
            if (generate == null && out == null) return 0;
        }
        if (generate == null && out == null) throw new IllegalArgumentException("give --generate DIR, or --data DIR --out FILE.json, or both");
        if (repeats < 1 || warmup < 0) throw new IllegalArgumentException("--repeats must be >= 1 and --warmup >= 0");
        if (!(warmupTime >= 0)) throw new IllegalArgumentException("--warmup-time must be a number of seconds >= 0, got " + warmupTime);
        if (out != null) {   // the results' folder is made (and the name checked) before minutes of timing
            Path folder = out.toAbsolutePath().getParent();
            if (folder != null) Files.createDirectories(folder);
            Outputs.checkFile(out, "--out", List.of());
        }
        if (generate != null) {
            int div = divisor > 0 ? divisor : quick ? 5 : 1;
            long t0 = System.nanoTime();
            Workload.generate(generate, Workload.Sizes.divided(div), seed);
            o.printf("wrote a workload (first dimension / %d) to %s in %.1f s%n", div, generate, (System.nanoTime() - t0) / 1e9);
        }
        if (out == null) return 0;
        Path dir = data != null ? data : generate;
        if (dir == null) throw new IllegalArgumentException("--out needs --data DIR (or --generate DIR)");
        Device target = Devices.parse(device, "--device");
        Set<String> selected = selection();
        int threads = ForkJoinPool.getCommonPoolParallelism() + 1;   // the pool's workers and the calling thread
        List<Map<String, Object>> results = new ArrayList<>();
        try (Workload w = Workload.load(dir, target)) {
            Bounds.Rates rates = smallRates ? Bounds.Rates.measure(16L << 20, 256) : Bounds.Rates.measure();
            o.printf(java.util.Locale.ROOT, "machine: streaming read %.1f GB/s, float32 GEMM %.1f GFLOP/s (the bounds below: "
                    + "bound_s = max(bytes / read rate, flops / GEMM rate))%n", rates.readBytesPerSecond() / 1e9, rates.gemmFlopsPerSecond() / 1e9);
            o.println("workload " + dir + ": " + w.describe());
            o.printf(java.util.Locale.ROOT, "%d warm-up runs (at least %.1f s of them) + %d timed runs per row, median; device %s, %d threads%n",
                    warmup, warmupTime, repeats, device, threads);
            o.printf("%-20s %10s %10s %14s %14s%n", "row", "fit_s", "predict_s", "fit/bound", "predict/bound");
            for (Workload.Row row : w.rows()) {
                if (selected != null && !selected.contains(row.name())) continue;
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("name", row.name());
                try {
                    double[] times = time(w, row, target);
                    r.put("fit_s", Double.isNaN(times[0]) ? null : times[0]);
                    r.put("predict_s", times[1]);
                    r.put("warmup_runs", (int) times[2]);
                } catch (RuntimeException e) {
                    r.put("fit_s", null);
                    r.put("predict_s", null);
                    r.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
                }
                r.put("backend", device);
                r.put("threads", threads);
                putBound(r, "fit", Bounds.fit(w, row), rates);
                putBound(r, "predict", Bounds.predict(w, row), rates);
                r.put("read_gb_s", rates.readBytesPerSecond() / 1e9);
                r.put("gemm_gflop_s", rates.gemmFlopsPerSecond() / 1e9);
                results.add(r);
                o.printf("%-20s %10s %10s %14s %14s%s%n", row.name(), format(r.get("fit_s")), format(r.get("predict_s")),
                        ratio(r.get("fit_over_bound")), ratio(r.get("predict_over_bound")), r.containsKey("error") ? "  " + r.get("error") : "");
                o.flush();
            }
        }
        AtomicFile.writeString(out, Json.writePretty(results) + "\n");
        o.println("wrote " + results.size() + " rows to " + out);
        return 0;
    }

    /** {step}_bytes, {step}_flops, {step}_bound_s and {step}_over_bound (time / bound; absent without a time). */
    private static void putBound(Map<String, Object> r, String step, Bounds.Cost cost, Bounds.Rates rates) {
        r.put(step + "_bytes", cost.bytes());
        r.put(step + "_flops", cost.flops());
        double bound = cost.seconds(rates);
        r.put(step + "_bound_s", bound);
        if (r.get(step + "_s") instanceof Double t && bound > 0) r.put(step + "_over_bound", t / bound);
    }

    private static String ratio(Object r) {
        return r instanceof Double d ? String.format(java.util.Locale.ROOT, "%.1fx", d) : "-";
    }

    private Set<String> selection() {
        if (only == null || only.isEmpty()) return null;
        Set<String> names = new LinkedHashSet<>(only);
        for (String n : names) {
            if (!Workload.ROWS.contains(n)) throw new IllegalArgumentException("unknown row '" + n + "'; rows: " + Workload.ROWS);
        }
        return names;
    }

    /** {median fit seconds (NaN when the detector needs no fitting), median predict seconds, warm-up runs}. */
    private double[] time(Workload w, Workload.Row row, Device target) {
        double[] fit = new double[repeats], predict = new double[repeats];
        boolean fits = false;
        long warmupEnd = System.nanoTime() + (long) (warmupTime * 1e9);
        int warmups = 0, timed = 0;
        while (timed < repeats) {
            boolean warming = warmups < warmup || System.nanoTime() < warmupEnd;
            try (AbstractDetector d = row.factory().get()) {
                if (target != Device.CPU) d.to(target);
                fits = d.requiresFit();
                long t0 = System.nanoTime();
                if (fits) w.fit(row, d);
                long t1 = System.nanoTime();
                long t2;
                try (Tensor scores = w.predict(row, d)) {
                    scores.getDouble(0);   // the scores exist (a device's queue has finished)
                    t2 = System.nanoTime();
                    if (!warming && timed == repeats - 1 && saveScores != null) save(row.name(), scores);
                }
                if (warming) {
                    warmups++;
                } else {
                    fit[timed] = (t1 - t0) / 1e9;
                    predict[timed] = (t2 - t1) / 1e9;
                    timed++;
                }
            }
        }
        return new double[] {fits ? median(fit) : Double.NaN, median(predict), warmups};
    }

    private void save(String name, Tensor scores) {
        try {
            Files.createDirectories(saveScores);
            try (Tensor cpu = scores.to(Device.CPU)) {
                Npy.write(saveScores.resolve(name + ".npy"), cpu);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    }

    private static String format(Object seconds) {
        return seconds instanceof Double d ? String.format("%.4f", d) : "-";
    }
}
