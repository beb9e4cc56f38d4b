package org.ood4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.detectors.KLMatching;
import org.ood4j.detectors.OodMetrics;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

/** fit -> save -> score -> eval through the command line, on files. */
class CliRoundTripTest {
    @TempDir Path dir;

    record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    /** Logits with a clear winner for ID rows, flat ones for OOD rows. */
    private static Tensor logits(SplittableRandom rng, int n, boolean ood) {
        double[] z = new double[n * 5];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 5; j++) z[i * 5 + j] = rng.nextGaussian() * 0.5 + (!ood && j == i % 5 ? 6 : 0);
        }
        return Tensor.of(z, n, 5).to(DType.FLOAT32);
    }

    @Test
    void fitScoreEvalOnFiles() throws Exception {
        Path fit = dir.resolve("fit.npy"), labels = dir.resolve("labels.npy"), id = dir.resolve("id.npy"), ood = dir.resolve("ood.npy");
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(3);
            Npy.write(fit, logits(rng, 200, false));
            long[] y = new long[200];
            for (int i = 0; i < 200; i++) y[i] = i % 5;
            Npy.write(labels, Tensor.of(y));
            Npy.write(id, logits(rng, 300, false));
            Npy.write(ood, logits(rng, 300, true));
        }
        Path state = dir.resolve("kl.safetensors");
        Run r = run("fit", "--detector", "KLMatching", "--logits", fit.toString(), "--labels", labels.toString(), "-o", state.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("fitted KLMatching"), r.out());

        Path idScores = dir.resolve("id-scores.npy"), oodScores = dir.resolve("ood-scores.npy");
        assertEquals(0, run("score", "--state", state.toString(), "--logits", id.toString(), "-o", idScores.toString(), "--batch", "64").code());
        assertEquals(0, run("score", "--state", state.toString(), "--logits", ood.toString(), "-o", oodScores.toString(), "--device", "cpu").code());

        // the command's scores equal the library's, batch size notwithstanding
        try (Scope s = Scope.open()) {
            KLMatching kl = new KLMatching(null);
            kl.fitLogits(Npy.read(fit), Npy.read(labels));
            assertArrayEquals(kl.predictLogits(Npy.read(id)).toDoubleArray(), Npy.read(idScores).toDoubleArray());
            kl.close();
        }

        Run eval = run("eval", "--scores-id", idScores.toString(), "--scores-ood", oodScores.toString());
        assertEquals(0, eval.code(), eval.err());
        try (Scope s = Scope.open()) {
            OodMetrics.Result m = new OodMetrics().update(Npy.read(idScores).toDoubleArray(), Npy.read(oodScores).toDoubleArray()).compute();
            assertTrue(eval.out().contains(String.format("%.4f", m.auroc())), eval.out());
            assertTrue(m.auroc() > 0.9, "flat OOD logits are easy to tell apart: " + m);
        }
    }

    @Test
    void featuresDetectorWithArrayParameters() throws Exception {
        Path fit = dir.resolve("f.npy"), w = dir.resolve("w.npy"), b = dir.resolve("b.npy"), state = dir.resolve("nci.st");
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(4);
            Npy.write(fit, Tensor.randn(rng, DType.FLOAT32, 50, 8));
            Npy.write(w, Tensor.randn(rng, DType.FLOAT32, 3, 8));
            Npy.write(b, Tensor.zeros(DType.FLOAT32, 3));
        }
        Run r = run("fit", "--detector", "NCI", "--param", "head.weight=@" + w, "--param", "head.bias=@" + b, "--param", "alpha=0.5",
                "--features", fit.toString(), "-o", state.toString());
        assertEquals(0, r.code(), r.err());
        Path scores = dir.resolve("s.npy");
        assertEquals(0, run("score", "--state", state.toString(), "--features", fit.toString(), "-o", scores.toString()).code());
        try (Scope s = Scope.open()) {
            assertEquals(50, Npy.read(scores).numel());
        }
    }

    /** KNN with a bfloat16 bank through fit/score: the state file is about half, scores within 2^-8 of the bank's largest row norm. */
    @Test
    void knnWithA16BitBank() throws Exception {
        Path fit = dir.resolve("f.npy"), queries = dir.resolve("q.npy");
        double maxNorm;
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(6);
            Tensor rows = Tensor.randn(rng, DType.FLOAT32, 3000, 64);
            Npy.write(fit, rows);
            Npy.write(queries, Tensor.randn(rng, DType.FLOAT32, 100, 64));
            maxNorm = rows.normL2(1, false).max().item();
        }
        double[][] scores = new double[2][];
        String[] dtypes = {"float32", "bfloat16"};
        long[] sizes = new long[2];
        for (int i = 0; i < 2; i++) {
            Path state = dir.resolve("knn-" + dtypes[i] + ".st"), out = dir.resolve("s-" + dtypes[i] + ".npy");
            Run r = run("fit", "--detector", "KNN", "--param", "k=3", "--param", "bank_dtype=" + dtypes[i], "--features", fit.toString(), "-o", state.toString());
            assertEquals(0, r.code(), r.err());
            assertEquals(0, run("score", "--state", state.toString(), "--features", queries.toString(), "-o", out.toString()).code());
            sizes[i] = java.nio.file.Files.size(state);
            try (Scope s = Scope.open()) {
                scores[i] = Npy.read(out).toDoubleArray();
            }
        }
        assertTrue(sizes[1] < sizes[0] / 2 + 4096, sizes[1] + " vs " + sizes[0]);
        for (int i = 0; i < scores[0].length; i++) {
            assertEquals(scores[0][i], scores[1][i], Math.scalb(maxNorm, -8) + 1e-6 * scores[0][i], "query " + i);
        }
        Run bad = run("fit", "--detector", "KNN", "--param", "bank_dtype=half", "--features", fit.toString(), "-o", dir.resolve("x.st").toString());
        assertNotEquals(0, bad.code());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
        assertTrue(bad.err().contains("bank_dtype"), bad.err());
    }

    @Test
    void errorsAreOneLineWithANonZeroExitCode() {
        Run missing = run("score", "--state", dir.resolve("nope").toString(), "--logits", "x.npy", "-o", "y.npy");
        assertNotEquals(0, missing.code());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
        assertTrue(missing.err().startsWith("ood4j: "), missing.err());

        Run badParam = run("fit", "--detector", "MaxSoftmax", "--param", "temp=2", "--logits", "x.npy", "-o", "y");
        assertNotEquals(0, badParam.code());
        assertTrue(badParam.err().contains("'temp'"), badParam.err());

        Run verbose = run("--verbose", "fit", "--detector", "NoSuchDetector", "--logits", "x.npy", "-o", "y");
        assertNotEquals(0, verbose.code());
        assertTrue(verbose.err().contains("unknown detector") && verbose.err().contains("\tat "), "stack trace with --verbose");
    }
}
