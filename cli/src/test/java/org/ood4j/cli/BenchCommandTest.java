package org.ood4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Json;
import org.ood4j.engine.io.Npy;

/** ood4j bench on a tiny generated workload: the folder's layout and one JSON row per WORKLOADS.md row. */
class BenchCommandTest {
    @TempDir Path dir;

    private static int run(StringWriter out, StringWriter err, String... args) {
        return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    @Test
    void tinyWorkloadGivesEveryRow() throws Exception {
        Path data = dir.resolve("wl"), json = dir.resolve("out/results.json"), scores = dir.resolve("scores");
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = run(out, err, "bench", "--generate", data.toString(), "--divisor", "200", "--out", json.toString(),
                "--repeats", "1", "--warmup", "0", "--warmup-time", "0", "--save-scores", scores.toString(), "--small-rates");
        assertEquals(0, code, err.toString());

        // the folder has WORKLOADS.md's files, shapes and dtypes
        try (Scope s = Scope.open()) {
            for (String f : Workload.FILES) assertTrue(Files.isRegularFile(data.resolve(f)), f);
            Tensor logits = Npy.read(data.resolve("logits.npy")), fitY = Npy.read(data.resolve("logits_fit_y.npy"));
            assertEquals(1000, logits.size(1));
            assertEquals(org.ood4j.engine.DType.INT64, fitY.dtype());
            assertArrayEquals(new long[] {10, 512}, Npy.read(data.resolve("head_w.npy")).shape());
            Tensor maps = Npy.read(data.resolve("fmaps.npy"));
            assertArrayEquals(new long[] {512, 4, 4}, java.util.Arrays.copyOfRange(maps.shape(), 1, 4));
            assertTrue(maps.min().item() >= 0, "feature maps are non-negative");
            assertTrue(Npy.read(data.resolve("feat_fit_x.npy")).min().item() >= 0, "features are ReLU'd");
        }

        Object parsed = Json.parse(Files.readString(json));
        List<?> rows = assertInstanceOf(List.class, parsed);
        List<String> names = new ArrayList<>();
        for (Object o : rows) {
            Map<?, ?> r = assertInstanceOf(Map.class, o);
            names.add((String) r.get("name"));
            assertNull(r.get("error"), r.toString());
            assertEquals("cpu", r.get("backend"));
            assertTrue(((Number) r.get("threads")).intValue() >= 1);
            assertTrue(((Number) r.get("predict_s")).doubleValue() > 0, r.toString());
            assertTrue(r.containsKey("fit_s"), r.toString());
            boolean fits = !List.of("MaxSoftmax", "EnergyBased", "Entropy", "MaxLogit", "GEN", "ASH", "ReAct", "RankFeat").contains(r.get("name"));
            assertEquals(fits, r.get("fit_s") != null, r.toString());
            assertTrue(Files.isRegularFile(scores.resolve(r.get("name") + ".npy")), r.get("name") + " scores saved");
            assertBound(r, "predict");
            if (fits) assertBound(r, "fit");
        }
        // the workload's sizes in the cost model: 50 features (x 512 float32) read, 2 N D^2 + 2 N D K flops for Mahalanobis
        Map<?, ?> mahalanobis = (Map<?, ?>) rows.get(Workload.ROWS.indexOf("Mahalanobis"));
        assertEquals(50 * 512 * 4 + 50 * 8, ((Number) mahalanobis.get("predict_bytes")).doubleValue());
        assertEquals(2.0 * 50 * 512 * 512 + 2.0 * 50 * 512 * 10, ((Number) mahalanobis.get("predict_flops")).doubleValue());
        assertEquals(0.0, ((Number) ((Map<?, ?>) rows.get(0)).get("predict_flops")).doubleValue(), "MaxSoftmax is one read pass");
        assertTrue(out.toString().contains("machine: streaming read"), out.toString());
        assertEquals(Workload.ROWS, names);
        assertTrue(out.toString().contains("wrote 22 rows"), out.toString());
    }

    @Test
    void onlySelectsRowsAndUnknownRowsAreRefused() throws Exception {
        Path data = dir.resolve("wl"), json = dir.resolve("r.json");
        StringWriter out = new StringWriter(), err = new StringWriter();
        assertEquals(0, run(out, err, "bench", "--generate", data.toString(), "--divisor", "200"), err.toString());
        assertFalse(Files.exists(json));
        assertEquals(0, run(out, err, "bench", "--data", data.toString(), "--out", json.toString(), "--only", "MaxLogit,KNN",
                "--repeats", "2", "--warmup", "0", "--warmup-time", "0", "--small-rates"), err.toString());
        List<?> rows = (List<?>) Json.parse(Files.readString(json));
        assertEquals(List.of("MaxLogit", "KNN"), rows.stream().map(r -> ((Map<?, ?>) r).get("name")).toList());
        assertEquals(List.of(0, 0), rows.stream().map(r -> ((Number) ((Map<?, ?>) r).get("warmup_runs")).intValue()).toList());

        // a warm-up time runs untimed rounds until it has passed (a tiny row: many of them), after the count
        assertEquals(0, run(out, err, "bench", "--data", data.toString(), "--out", json.toString(), "--only", "MaxLogit",
                "--repeats", "1", "--warmup", "2", "--warmup-time", "0.3", "--small-rates"), err.toString());
        Map<?, ?> warmed = (Map<?, ?>) ((List<?>) Json.parse(Files.readString(json))).get(0);
        assertTrue(((Number) warmed.get("warmup_runs")).intValue() > 2, warmed.toString());
        StringWriter errTime = new StringWriter();
        assertNotEquals(0, run(new StringWriter(), errTime, "bench", "--data", data.toString(), "--out", json.toString(), "--warmup-time", "-1"));
        assertTrue(errTime.toString().contains("--warmup-time"), errTime.toString());

        StringWriter err2 = new StringWriter();
        assertNotEquals(0, run(new StringWriter(), err2, "bench", "--data", data.toString(), "--out", json.toString(), "--only", "Nope"));
        assertTrue(err2.toString().contains("unknown row"), err2.toString());
        StringWriter err3 = new StringWriter();
        assertNotEquals(0, run(new StringWriter(), err3, "bench", "--data", dir.resolve("missing").toString(), "--out", json.toString()));
        assertTrue(err3.toString().contains("has no logits_fit.npy"), err3.toString());
    }

    /** bound_s = max(bytes / read rate, flops / GEMM rate) and over_bound = time / bound_s, both positive. */
    private static void assertBound(Map<?, ?> r, String step) {
        double bytes = ((Number) r.get(step + "_bytes")).doubleValue(), flops = ((Number) r.get(step + "_flops")).doubleValue();
        double read = ((Number) r.get("read_gb_s")).doubleValue() * 1e9, gemm = ((Number) r.get("gemm_gflop_s")).doubleValue() * 1e9;
        double bound = ((Number) r.get(step + "_bound_s")).doubleValue();
        assertTrue(bytes > 0 && read > 0 && gemm > 0, r.toString());
        assertEquals(Math.max(bytes / read, flops / gemm), bound, 1e-12 * bound, r.toString());
        assertEquals(((Number) r.get(step + "_s")).doubleValue() / bound, ((Number) r.get(step + "_over_bound")).doubleValue(), 1e-9, r.toString());
    }

    @Test
    void medianOfOddAndEvenCounts() {
        assertEquals(2.0, BenchCommand.median(new double[] {3, 1, 2}));
        assertEquals(2.5, BenchCommand.median(new double[] {4, 1, 2, 3}));
    }
}
