package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.detectors.DetectorFilesTest.Data;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.models.Sequential;

/**
 * A detector's scores are a function of its inputs alone: the same bits whichever JIT tier ran
 * the kernels, however the rows are batched and however many threads compute them. Each run is
 * a fresh JVM (the JIT's state is per process) that fits every registered detector on
 * {@link DetectorFilesTest}'s data and scores {@link #ROWS} rows; the runs differ in compiler
 * (C1 only, C2 only, tiered), batch size and fork-join parallelism, and must print the same
 * digest of every detector's score bits.
 */
class ReproducibleScoresTest {
    /** Enough rows that a kernel runs long in every tier (the interpreter, C1, C2 after warm-up). */
    static final int ROWS = 20_000;
    /** The detectors fit on the first rows only: a kNN bank of all of them would dominate the time. */
    static final int FIT_ROWS = 2_000;
    private static final List<String> JVM_FLAGS = List.of("--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector");

    @TempDir Path dir;

    /** One child JVM: what it varies, the rows per predict call, and its extra JVM flags. */
    record Run(String label, int batch, List<String> flags) {}

    @Test
    void everyDetectorScoresTheSameBitsUnderEveryCompilerBatchSizeAndThreadCount() throws Exception {
        List<Run> runs = List.of(
                new Run("C1 only, one batch", ROWS, List.of("-XX:TieredStopAtLevel=1")),
                new Run("C2 only, 1 thread, batches of 1000", 1000,
                        List.of("-XX:-TieredCompilation", "-Djava.util.concurrent.ForkJoinPool.common.parallelism=1")),
                new Run("tiered, batches of 2999", 2999, List.of()));
        List<Process> children = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) children.add(start(runs.get(i), dir.resolve("run" + i)));   // at once: the C1 run is the long one
        List<Map<String, String>> digests = new ArrayList<>();
        try {
            for (int i = 0; i < runs.size(); i++) digests.add(digests(runs.get(i), children.get(i), dir.resolve("run" + i)));
        } finally {
            children.forEach(Process::destroy);     // a failed run leaves no child behind
        }
        for (int i = 0; i < runs.size(); i++) {
            assertEquals(new TreeSet<>(DetectorRegistry.names()), digests.get(i).keySet(), runs.get(i).label() + ": a digest per registered detector");
        }
        List<String> differing = new ArrayList<>();
        for (String name : digests.get(0).keySet()) {
            for (int i = 1; i < runs.size(); i++) {
                if (!digests.get(0).get(name).equals(digests.get(i).get(name))) {
                    differing.add(name + " (" + runs.get(0).label() + " vs " + runs.get(i).label() + ": "
                            + rowsThatDiffer(dir.resolve("run0"), dir.resolve("run" + i), name) + ")");
                }
            }
        }
        assertTrue(differing.isEmpty(), "scores differ between runs:\n  " + String.join("\n  ", differing));
    }

    /** Starts the child JVM; its output goes to {@code out/output.txt}, its scores to {@code out}. */
    private static Process start(Run run, Path out) throws IOException {
        Files.createDirectories(out);
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElseThrow());
        command.addAll(JVM_FLAGS);
        command.addAll(run.flags());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), ReproducibleScoresTest.class.getName(),
                Integer.toString(ROWS), Integer.toString(run.batch()), out.toString()));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.resolve("output.txt").toFile()).start();
    }

    /** Waits for the child and returns its digest per detector. */
    private static Map<String, String> digests(Run run, Process child, Path out) throws IOException, InterruptedException {
        int exit = child.waitFor();
        List<String> output = Files.readAllLines(out.resolve("output.txt"));
        assertEquals(0, exit, run.label() + " failed:\n" + String.join("\n", output));
        Map<String, String> digests = new TreeMap<>();
        output.stream().filter(l -> l.startsWith("digest ")).map(l -> l.split(" ")).forEach(f -> digests.put(f[1], f[2]));
        return digests;
    }

    /** How many rows of a detector's scores two runs disagree on, and the largest relative difference. */
    private static String rowsThatDiffer(Path a, Path b, String name) throws IOException {
        double[] x = readDoubles(a.resolve(name + ".bin")), y = readDoubles(b.resolve(name + ".bin"));
        int rows = 0;
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            if (Double.doubleToLongBits(x[i]) == Double.doubleToLongBits(y[i])) continue;
            rows++;
            worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(Math.abs(x[i]), Math.abs(y[i])));
        }
        return rows + " of " + x.length + " rows, up to " + String.format("%.1e", worst) + " relative";
    }

    private static double[] readDoubles(Path file) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file));
        double[] v = new double[bytes.remaining() / Double.BYTES];
        bytes.asDoubleBuffer().get(v);
        return v;
    }

    /**
     * The child: {@code ROWS BATCH OUT}. Fits every registered detector, scores ROWS rows
     * BATCH rows per predict call, writes the scores to OUT/name.bin and prints
     * {@code digest name sha256} per detector.
     */
    public static void main(String[] args) throws IOException, NoSuchAlgorithmException {
        int rows = Integer.parseInt(args[0]), batch = Integer.parseInt(args[1]);
        Path out = Path.of(args[2]);
        try (Scope s = Scope.open()) {
            Data d = Data.make(rows);
            for (String name : new TreeSet<>(DetectorRegistry.names())) {
                double[] scores = fitAndScore(name, d, batch);
                ByteBuffer bytes = ByteBuffer.allocate(scores.length * Double.BYTES);
                bytes.asDoubleBuffer().put(scores);
                Files.write(out.resolve(name + ".bin"), bytes.array());
                System.out.println("digest " + name + " " + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes.array())));
            }
        }
    }

    /**
     * {@link DetectorFilesTest}'s parameters, but MCD keeps batch norm in evaluation mode: with
     * batch_norm = false it normalises with each predict batch's statistics, so its scores depend
     * on the batching by definition.
     */
    private static Map<String, Object> params(String name, Data d) {
        Map<String, Object> params = new LinkedHashMap<>(DetectorFilesTest.paramsFor(name, d));
        if (name.equals("MCD")) params.put("batch_norm", true);
        return params;
    }

    /** Fits {@code name} on d's first rows (a fresh network for those that run one) and scores d in batches. */
    private static double[] fitAndScore(String name, Data d, int batch) {
        try (Scope s = Scope.open(); Sequential cnn = DetectorFilesTest.smallCnn();
             AbstractDetector det = (AbstractDetector) DetectorRegistry.create(name, params(name, d),
                     DetectorFilesTest.networkFor(name, cnn))) {
            DetectorFilesTest.fit(det, d.rows(0, Math.min(d.size(), FIT_ROWS)));
            double[] scores = new double[(int) d.size()];
            for (long from = 0; from < d.size(); from += batch) {
                try (Scope b = Scope.open()) {
                    Tensor part = DetectorFilesTest.score(det, d.rows(from, Math.min(d.size(), from + batch)));
                    double[] v = part.toDoubleArray();
                    System.arraycopy(v, 0, scores, (int) from, v.length);
                }
            }
            return scores;
        }
    }
}
