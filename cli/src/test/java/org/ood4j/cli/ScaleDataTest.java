package org.ood4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

/** ood4j bench --generate-scale at a small size: the files, their contents' structure, and determinism by seed. */
class ScaleDataTest {
    @TempDir Path dir;

    private static int run(StringWriter out, StringWriter err, String... args) {
        return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    private int generate(Path to, long seed) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        // 5000 rows: more than one chunk (4096) and a partial last one; more than one random block
        int code = run(out, err, "bench", "--generate-scale", to.toString(), "--rows", "5000", "--dim", "24", "--classes", "7",
                "--queries", "300", "--seed", Long.toString(seed));
        assertEquals(0, code, err.toString());
        assertTrue(out.toString().contains("wrote 5000 x 24 float32 features in 7 classes and 300 queries"), out.toString());
        return code;
    }

    @Test
    void writesClassStructuredReluFeaturesAndQueriesDeterministically() throws Exception {
        Path a = dir.resolve("a"), b = dir.resolve("b"), c = dir.resolve("c");
        generate(a, 3);
        generate(b, 3);
        generate(c, 4);
        for (String f : new String[] {ScaleData.FEATURES, ScaleData.LABELS, ScaleData.QUERIES, ScaleData.QUERY_LABELS, ScaleData.HEAD_W,
                ScaleData.HEAD_B}) {
            assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f + ": same seed, same bytes");
        }
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(a.resolve(ScaleData.FEATURES)), Files.readAllBytes(c.resolve(ScaleData.FEATURES))));
        try (Scope s = Scope.open()) {
            Tensor x = Npy.map(a.resolve(ScaleData.FEATURES)), y = Npy.map(a.resolve(ScaleData.LABELS));
            Tensor q = Npy.map(a.resolve(ScaleData.QUERIES)), qy = Npy.map(a.resolve(ScaleData.QUERY_LABELS));
            assertArrayEquals(new long[] {5000, 24}, x.shape());
            assertEquals(DType.FLOAT32, x.dtype());
            assertEquals(DType.INT64, y.dtype());
            assertArrayEquals(new long[] {300, 24}, q.shape());
            assertEquals(0, x.min().item(), "ReLU'd: non-negative, with zeros");
            long[] labels = y.toLongArray();
            int[] counts = new int[7];
            for (long l : labels) counts[(int) l]++;
            for (int k = 0; k < 7; k++) assertTrue(counts[k] > 5000 / 7 * 0.8, "uniform labels, class " + k + ": " + counts[k]);
            // class-centred: a row is nearer its own class mean than any other class mean
            double[][] m = new double[7][24];
            double[] xs = x.toDoubleArray();
            for (int i = 0; i < 5000; i++) for (int d = 0; d < 24; d++) m[(int) labels[i]][d] += xs[i * 24 + d] / counts[(int) labels[i]];
            int nearestOwn = 0;
            for (int i = 0; i < 5000; i++) {
                int best = -1;
                double bestD = Double.POSITIVE_INFINITY;
                for (int k = 0; k < 7; k++) {
                    double dist = 0;
                    for (int d = 0; d < 24; d++) dist += Math.pow(xs[i * 24 + d] - m[k][d], 2);
                    if (dist < bestD) { bestD = dist; best = k; }
                }
                if (best == labels[i]) nearestOwn++;
            }
            assertTrue(nearestOwn > 0.9 * 5000, "class structure: " + nearestOwn + " of 5000 rows nearest their class mean");
            // the head is the nearest-centre classifier: on the ID rows it mostly predicts the label
            Tensor logits = x.to(DType.FLOAT64).matmul(Npy.read(a.resolve(ScaleData.HEAD_W)).to(DType.FLOAT64).t()).add(Npy.read(a.resolve(ScaleData.HEAD_B)));
            long[] predicted = logits.argmax(1).toLongArray();
            int right = 0;
            for (int i = 0; i < 5000; i++) if (predicted[i] == labels[i]) right++;
            assertTrue(right > 0.8 * 5000, "head accuracy: " + right + " of 5000");
            long[] ql = qy.toLongArray();
            for (int i = 0; i < 300; i++) assertEquals(i < 150, ql[i] >= 0, "first half ID, second half OOD (-1): row " + i);
        }
    }

    @Test
    void badSizesAreOneLine() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        assertEquals(1, run(out, err, "bench", "--generate-scale", dir.resolve("x").toString(), "--rows", "0"));
        assertTrue(err.toString().contains("--rows, --dim and --classes must be at least 1"), err.toString());
    }
}
