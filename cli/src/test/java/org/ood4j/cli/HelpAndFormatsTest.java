package org.ood4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.detectors.OodMetrics;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Json;
import org.ood4j.engine.io.Npy;

/** Every command answers --help with its usage and exit code 0; eval prints markdown, csv or json. */
class HelpAndFormatsTest {
    @TempDir Path dir;

    @Test
    void helpOnEveryCommandExitsZero() {
        for (String command : new String[] {"info", "fit", "calibrate", "score", "eval", "demo", "bench"}) {
            CliBadInputTest.Run r = CliBadInputTest.run(command, "--help");
            assertEquals(0, r.code(), command + ": " + r.err());
            assertTrue(r.out().startsWith("Usage: ood4j " + command), command + ":\n" + r.out());
            assertTrue(r.out().contains("-h, --help"), r.out());
        }
        CliBadInputTest.Run root = CliBadInputTest.run("--help");
        assertEquals(0, root.code());
        String commands = root.out().substring(root.out().indexOf("Commands:"));
        for (String command : new String[] {"info", "fit", "calibrate", "score", "serve", "eval", "demo", "bench"}) {
            assertTrue(commands.contains("\n  " + command + " "), "the root help lists " + command + ":\n" + root.out());
        }
        assertEquals(9, commands.strip().lines().count(), "one line per command:\n" + commands);
    }

    @Test
    void evalFormatsCarryTheSameMetricsJsonAtFullPrecision() throws Exception {
        Path id = dir.resolve("id.npy"), ood = dir.resolve("ood.npy");
        double[] a = {0.1, 0.35, 0.2, 0.8, 0.4}, b = {0.3, 0.9, 0.7, 0.65};
        try (Scope s = Scope.open()) {
            Npy.write(id, Tensor.of(a));
            Npy.write(ood, Tensor.of(b));
        }
        OodMetrics.Result expected = new OodMetrics().update(a, b).compute();
        String[] args = {"eval", "--scores-id", id.toString(), "--scores-ood", ood.toString(), "--format"};

        CliBadInputTest.Run json = CliBadInputTest.run(concat(args, "json"));
        assertEquals(0, json.code(), json.err());
        Map<?, ?> m = (Map<?, ?>) Json.parse(json.out().strip());
        assertEquals(expected.auroc(), ((Number) m.get("auroc")).doubleValue(), 0, "every digit");
        assertEquals(expected.auprIn(), ((Number) m.get("aupr_in")).doubleValue(), 0);
        assertEquals(expected.auprOut(), ((Number) m.get("aupr_out")).doubleValue(), 0);
        assertEquals(expected.fpr95tpr(), ((Number) m.get("fpr95tpr")).doubleValue(), 0);
        assertEquals(expected.threshold95(), ((Number) m.get("threshold95")).doubleValue(), 0);

        CliBadInputTest.Run csv = CliBadInputTest.run(concat(args, "csv"));
        String[] lines = csv.out().strip().split("\n");
        assertEquals("auroc,aupr_in,aupr_out,fpr95tpr,threshold95", lines[0]);
        assertEquals(expected.auroc(), Double.parseDouble(lines[1].split(",")[0]), 0);

        CliBadInputTest.Run md = CliBadInputTest.run(concat(args, "markdown"));
        assertTrue(md.out().contains(String.format(java.util.Locale.ROOT, "| %.4f |", expected.auroc())), md.out());

        CliBadInputTest.Run bad = CliBadInputTest.run(concat(args, "xml"));
        assertNotEquals(0, bad.code());
        assertTrue(bad.err().contains("xml"), bad.err());
    }

    private static String[] concat(String[] a, String last) {
        String[] out = java.util.Arrays.copyOf(a, a.length + 1);
        out[a.length] = last;
        return out;
    }
}
