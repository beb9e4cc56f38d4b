package org.ood4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.detectors.DetectorRegistry;
import org.ood4j.engine.Device;
import org.ood4j.engine.MemoryStats;

/** {@code ood4j demo --quick} end to end, and the data split it runs on. */
class DemoCommandTest {
    @TempDir Path dir;

    private static final Pattern ROW = Pattern.compile(
            "\\| (\\S+) +\\| [a-z ]+\\| ([0-9.]+) / ([0-9.]+) / ([0-9.]+) / ([0-9.]+) +\\| ([0-9.]+) / ([0-9.]+) / ([0-9.]+) / ([0-9.]+) +\\|"
                    + " +([0-9.]+) \\| +([0-9.]+) \\|");

    @Test
    void quickDemoPrintsTheTableAndWritesTheReport() throws IOException {
        Path report = dir.resolve("report");
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(new String[] {"demo", "--quick", "--out", report.toString()}, new PrintWriter(out, true), new PrintWriter(err, true));
        String text = out.toString();
        assertEquals(0, code, err + "\n" + text);
        assertTrue(text.contains("ID test accuracy"), text);
        assertEquals("", err.toString(), "no progress bars without a terminal");

        // every registered detector is in the table with four metrics per OOD set in [0, 1] (or named as having no row)
        int rows = 0;
        for (String name : DetectorRegistry.names()) {
            Matcher m = ROW.matcher(text);
            boolean found = false;
            while (m.find()) {
                if (!m.group(1).equals(name)) continue;
                found = true;
                for (int g = 2; g <= 9; g++) {
                    double v = Double.parseDouble(m.group(g));
                    assertTrue(v >= 0 && v <= 1, name + ": metric " + v + " outside [0, 1]");
                }
            }
            if (found) rows++;
            else assertTrue(text.contains("without a demo row") && text.contains(name), name + " is missing from the table:\n" + text);
        }
        assertTrue(rows >= 25, rows + " detectors in the table");
        assertFalse(text.contains("failed:"), "no detector fails:\n" + text);

        String csv = Files.readString(report.resolve("results.csv"));
        assertTrue(csv.startsWith("detector,input,auroc_near,"), csv);
        assertEquals(rows + 1, csv.lines().count());
        assertTrue(Files.readString(report.resolve("results.md")).contains("| MaxSoftmax "));

        List<Path> pngs;
        try (Stream<Path> files = Files.walk(report)) {
            pngs = files.filter(p -> p.toString().endsWith(".png")).toList();
        }
        assertEquals(rows + 3, pngs.size(), "one histogram per detector, the grid and two ROC plots: " + pngs);
        for (Path png : pngs) {
            BufferedImage image = ImageIO.read(png.toFile());
            assertNotNull(image, png + " decodes");
            assertTrue(image.getWidth() > 100 && image.getHeight() > 100, png.toString());
        }
    }

    @Test
    void theEmbeddedTestSplitStandsInForTheTrainingSplit() throws IOException {
        long before = MemoryStats.liveBlocks();
        try (DemoData data = DemoData.load(null, new DemoData.Sizes(500, 100, 50), 7, Device.CPU)) {
            assertTrue(data.source.contains("embedded"), data.source);
            assertEquals(500, data.train.size());
            assertEquals(100, data.fit.size());
            assertArrayEquals(new long[] {50, 1, 28, 28}, data.id.x().shape());
            for (long y : data.train.y().toLongArray()) assertTrue(y >= 0 && y < DemoData.ID_CLASSES);
            for (long y : data.id.y().toLongArray()) assertTrue(y >= 0 && y < DemoData.ID_CLASSES);
            for (DemoData.Images ood : List.of(data.near, data.far)) {
                assertEquals(50, ood.size());
                for (long y : ood.y().toLongArray()) assertEquals(-1, y);
            }
            // standardised pixels: a blank pixel is -0.81, a white one 2.02
            double[] pixels = data.far.x().toDoubleArray();
            assertTrue(java.util.Arrays.stream(pixels).allMatch(v -> v >= -0.82 && v <= 2.03));
        }
        assertEquals(before, MemoryStats.liveBlocks(), "the data frees what it holds");
    }

    @Test
    void badOptionsAreOneLineErrors() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(new String[] {"demo", "--epochs", "-1", "--out", dir.toString()}, new PrintWriter(out, true), new PrintWriter(err, true));
        assertNotEquals(0, code);
        assertTrue(err.toString().startsWith("ood4j: ") && err.toString().contains("--epochs"), err.toString());
    }
}
