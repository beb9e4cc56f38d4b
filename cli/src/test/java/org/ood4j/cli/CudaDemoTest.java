package org.ood4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.engine.Backends;

/**
 * {@code ood4j demo --device cuda} end to end where CUDA is available (in the build: the CUDA host
 * emulator, the cli's cuda-emulator execution): the network (untrained, --epochs 0, so both
 * devices start from the same seeded weights) runs on CUDA and every detector's metrics agree
 * with the same command on the CPU; a detector the untrained network defeats (if any) fails on
 * both devices with the same message.
 */
class CudaDemoTest {
    @TempDir Path dir;

    @Test
    void theDemoOnCudaAgreesWithTheCpu() throws IOException {
        Assumptions.assumeTrue(Backends.cudaStatus().available(), "CUDA " + Backends.cudaStatus());
        Map<String, Object> cpu = run("cpu"), cuda = run("cuda");
        assertEquals(cpu.keySet(), cuda.keySet());
        for (Map.Entry<String, Object> e : cpu.entrySet()) {
            if (e.getValue() instanceof String error) {
                assertEquals(error, cuda.get(e.getKey()), e.getKey() + " fails alike on both devices");
                continue;
            }
            double[] c = (double[]) e.getValue(), g = (double[]) cuda.get(e.getKey());
            for (int i = 0; i < c.length; i++) {
                // AUROC/AUPR/FPR95 over 200 + 200 scores: float32 differences may swap a near tie
                assertEquals(c[i], g[i], 0.02, e.getKey() + " metric " + i);
            }
        }
    }

    /** Per detector of results.csv after {@code demo --quick --epochs 0 --device DEVICE}: its eight metrics, or its error. */
    private Map<String, Object> run(String device) throws IOException {
        Path report = dir.resolve(device);
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(new String[] {"demo", "--quick", "--epochs", "0", "--device", device, "--out", report.toString()},
                new PrintWriter(out, true), new PrintWriter(err, true));
        String text = out.toString();
        assertEquals(0, code, err + "\n" + text);
        assertTrue(text.contains("device: " + device), text);
        List<String> lines = Files.readAllLines(report.resolve("results.csv"));
        Map<String, Object> metrics = new LinkedHashMap<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",", -1);
            String error = String.join(",", java.util.Arrays.copyOfRange(f, 12, f.length));
            if (!error.isEmpty()) {
                metrics.put(f[0], error);
                continue;
            }
            double[] m = new double[8];
            for (int i = 0; i < 8; i++) m[i] = Double.parseDouble(f[2 + i]);
            metrics.put(f[0], m);
        }
        assertTrue(metrics.values().stream().filter(v -> v instanceof String).count() <= 1, text);
        assertEquals(30, metrics.size(), text);
        return metrics;
    }
}
