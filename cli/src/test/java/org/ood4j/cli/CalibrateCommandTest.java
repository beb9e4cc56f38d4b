package org.ood4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.Calibration;
import org.ood4j.detectors.DetectorFiles;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Json;
import org.ood4j.engine.io.Npy;

/** fit -> calibrate -> score with decisions and p-values, in every output format, against the library. */
class CalibrateCommandTest {
    @TempDir Path dir;

    private Path logits(String name, int rows, long seed) throws Exception {
        Path f = dir.resolve(name);
        try (Scope s = Scope.open()) {
            Npy.write(f, Tensor.randn(new SplittableRandom(seed), DType.FLOAT32, rows, 5));
        }
        return f;
    }

    @Test
    void calibrateThenScoreGivesTheLibrarysDecisionsAndPValues() throws Exception {
        Path fit = logits("fit.npy", 200, 1), val = logits("val.npy", 300, 2), test = logits("test.npy", 150, 3);
        Path labels = dir.resolve("y.npy"), state = dir.resolve("kl.st");
        try (Scope s = Scope.open()) {
            long[] y = new long[200];
            for (int i = 0; i < y.length; i++) y[i] = i % 5;
            Npy.write(labels, Tensor.of(y));
        }
        assertEquals(0, CliBadInputTest.run("fit", "--detector", "KLMatching", "--logits", fit.toString(), "--labels", labels.toString(),
                "-o", state.toString()).code());
        CliBadInputTest.Run cal = CliBadInputTest.run("calibrate", "--state", state.toString(), "--logits", val.toString(), "--tpr", "0.9");
        assertEquals(0, cal.code(), cal.err());
        assertTrue(cal.out().contains("keeps 270, 90.00%"), cal.out());

        double[] testScores;
        Calibration expected;
        try (Scope s = Scope.open(); AbstractDetector d = DetectorFiles.load(state, null)) {
            double[] valScores = ((org.ood4j.detectors.LogitsDetector) d).predictLogits(Npy.read(val)).toDoubleArray();
            expected = Calibration.of(valScores, 0.9);
            assertEquals(expected, d.calibration(), "the state file carries the rule");
            testScores = ((org.ood4j.detectors.LogitsDetector) d).predictLogits(Npy.read(test)).toDoubleArray();
        }
        boolean[] isOod = expected.isOod(testScores);
        double[] p = expected.pValues(testScores);

        Path out = dir.resolve("scores.npy");
        assertEquals(0, CliBadInputTest.run("score", "--state", state.toString(), "--logits", test.toString(), "-o", out.toString()).code());
        try (Scope s = Scope.open()) {
            assertArrayEquals(testScores, Npy.read(out).toDoubleArray());
            Path isOodFile = dir.resolve("scores.is_ood.npy");
            assertTrue(Npy.info(isOodFile).bool(), "is_ood is NumPy's bool");
            long[] flags = Npy.read(isOodFile).toLongArray();
            for (int i = 0; i < flags.length; i++) assertEquals(isOod[i], flags[i] == 1, "row " + i);
            assertArrayEquals(p, Npy.read(dir.resolve("scores.p_value.npy")).toDoubleArray());
        }

        Path csv = dir.resolve("scores.csv");
        assertEquals(0, CliBadInputTest.run("score", "--state", state.toString(), "--logits", test.toString(), "-o", csv.toString(),
                "--output-format", "csv").code());
        List<String> lines = Files.readAllLines(csv);
        assertEquals("score,is_ood,p_value", lines.get(0));
        assertEquals(testScores.length + 1, lines.size());
        String[] row7 = lines.get(8).split(",");
        assertEquals(testScores[7], Double.parseDouble(row7[0]), 0, "every digit");
        assertEquals(isOod[7], Boolean.parseBoolean(row7[1]));
        assertEquals(p[7], Double.parseDouble(row7[2]), 0);

        Path jsonl = dir.resolve("scores.jsonl");
        assertEquals(0, CliBadInputTest.run("score", "--state", state.toString(), "--logits", test.toString(), "-o", jsonl.toString(),
                "--output-format", "jsonl").code());
        List<String> records = Files.readAllLines(jsonl);
        assertEquals(testScores.length, records.size());
        for (int i = 0; i < records.size(); i++) {
            Map<?, ?> r = (Map<?, ?>) Json.parse(records.get(i));
            assertEquals(testScores[i], ((Number) r.get("score")).doubleValue(), 0);
            assertEquals(isOod[i], r.get("is_ood"));
            assertEquals(p[i], ((Number) r.get("p_value")).doubleValue(), 0);
        }
    }

    @Test
    void anUncalibratedDetectorWritesScoresOnlyAndBadCallsAreRefused() throws Exception {
        Path val = logits("val.npy", 50, 4), state = dir.resolve("ml.st"), out = dir.resolve("s.csv");
        assertEquals(0, CliBadInputTest.run("fit", "--detector", "MaxLogit", "--logits", val.toString(), "-o", state.toString()).code());
        assertEquals(0, CliBadInputTest.run("score", "--state", state.toString(), "--logits", val.toString(), "-o", out.toString(),
                "--output-format", "csv").code());
        assertEquals("score", Files.readAllLines(out).get(0));

        CliBadInputTest.Run tpr = CliBadInputTest.run("calibrate", "--state", state.toString(), "--logits", val.toString(), "--tpr", "1.5");
        assertNotEquals(0, tpr.code());
        assertTrue(tpr.err().contains("--tpr must be in [0, 1], got 1.5"), tpr.err());
        byte[] before = Files.readAllBytes(val);
        CliBadInputTest.Run overwrite = CliBadInputTest.run("calibrate", "--state", state.toString(), "--logits", val.toString(),
                "-o", val.toString());
        assertTrue(overwrite.err().contains("is one of the inputs"), overwrite.err());
        assertArrayEquals(before, Files.readAllBytes(val));
    }
}
