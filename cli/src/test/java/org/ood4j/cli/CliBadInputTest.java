package org.ood4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

/**
 * The command line's catalogue of bad inputs, one row each: the arguments, a fragment the one-line
 * error must contain, and the files that must be left as they were (inputs never overwritten,
 * nothing half-written). Every row exits non-zero with exactly one line on stderr.
 */
class CliBadInputTest {
    @TempDir static Path dir;

    /** Good files the cases combine: KLMatching and Gram fitted, features, labels, a scores pair. */
    static Path logits, labels, features, state, layers, gramState, idScores, oodScores;

    record Case(String what, String fragment, List<Path> untouched, String... args) {
        @Override public String toString() { return what; }
    }

    @BeforeAll
    static void files() throws IOException {
        logits = dir.resolve("logits.npy");
        labels = dir.resolve("labels.npy");
        features = dir.resolve("features.npy");
        layers = dir.resolve("layers.npy");
        idScores = dir.resolve("id.npy");
        oodScores = dir.resolve("ood.npy");
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(5);
            long[] y = new long[40];
            for (int i = 0; i < y.length; i++) y[i] = i % 4;
            Npy.write(logits, Tensor.randn(rng, DType.FLOAT32, 40, 4));
            Npy.write(labels, Tensor.of(y));
            Npy.write(features, Tensor.randn(rng, DType.FLOAT32, 40, 6));
            Npy.write(layers, Tensor.randn(rng, DType.FLOAT32, 40, 3, 2, 2));
            Npy.write(idScores, Tensor.randn(rng, DType.FLOAT64, 30));
            Npy.write(oodScores, Tensor.randn(rng, DType.FLOAT64, 30));
        }
        state = dir.resolve("kl.st");
        gramState = dir.resolve("gram.st");
        assertEquals(0, run("fit", "--detector", "KLMatching", "--logits", logits.toString(), "--labels", labels.toString(),
                "-o", state.toString()).code());
        assertEquals(0, run("fit", "--detector", "Gram", "--param", "num_classes=4", "--layers", layers.toString(),
                "--labels", labels.toString(), "-o", gramState.toString()).code());
    }

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    /** A .npy file of any NumPy dtype (the writer only makes f4, f8, i8). */
    static Path npy(String name, String descr, long[] shape, byte[] data) throws IOException {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + String.join(", ",
                Arrays.stream(shape).mapToObj(Long::toString).toList()) + (shape.length == 1 ? "," : "") + "), }";
        int padded = (10 + dict.length() + 1 + 63) / 64 * 64 - 10;
        byte[] header = (dict + " ".repeat(padded - dict.length() - 1) + "\n").getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(10 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length).put(header).put(data);
        Path f = dir.resolve(name);
        Files.write(f, b.array());
        return f;
    }

    static Path write(String name, Tensor t) throws IOException {
        Path f = dir.resolve(name);
        try (t) {
            Npy.write(f, t);
        }
        return f;
    }

    static Stream<Case> cases() throws IOException {
        Path scores2d = write("scores2d.npy", Tensor.zeros(DType.FLOAT64, 100, 5));
        double[] withNaN = new double[30];
        withNaN[3] = Double.NaN;
        Path nanScores = write("nan-scores.npy", Tensor.of(withNaN));
        Path boolLabels = npy("bool-labels.npy", "|b1", new long[] {40}, new byte[40]);
        Path boolFeatures = npy("bool-features.npy", "|b1", new long[] {40, 6}, new byte[240]);
        Path noRows = npy("no-rows.npy", "<f4", new long[] {0, 1L << 62}, new byte[0]);
        Path link = dir.resolve("features-link.npy");
        Files.deleteIfExists(link);
        Files.createSymbolicLink(link, features);
        Path folder = Files.createDirectories(dir.resolve("a-folder.npy"));
        Path shortLogits = write("short-logits.npy", Tensor.zeros(DType.FLOAT32, 10, 4));
        Path shortLabels = write("short-labels.npy", Tensor.of(new long[] {0, 1, -1}));
        Tensor nan = Tensor.zeros(DType.FLOAT32, 40, 4);
        nan.set(Double.NaN, 7, 0);
        Path nanLogits = write("nan-logits.npy", nan);
        Path out = dir.resolve("out.npy");
        Path fileAsFolder = Files.writeString(dir.resolve("not-a-folder"), "x");
        return Stream.of(
                new Case("eval: 2-D scores are not flattened", "scores2d.npy: scores must be 1-D (N,) or a column (N, 1), got shape [100, 5]",
                        List.of(), "eval", "--scores-id", scores2d.toString(), "--scores-ood", oodScores.toString()),
                new Case("eval: 2-D scores with labels", "got shape [100, 5]", List.of(),
                        "eval", "--scores", scores2d.toString(), "--labels", labels.toString()),
                new Case("eval: a NaN score names the file and row", "nan-scores.npy: the score in row 3 is NaN", List.of(),
                        "eval", "--scores-id", idScores.toString(), "--scores-ood", nanScores.toString()),
                new Case("eval: scores and labels of other lengths", "has 30 scores but", List.of(),
                        "eval", "--scores", idScores.toString(), "--labels", shortLabels.toString()),
                new Case("score: -o is the state file", "is one of the inputs", List.of(state),
                        "score", "--state", state.toString(), "--logits", logits.toString(), "-o", state.toString()),
                new Case("score: -o is the input array", "is one of the inputs", List.of(logits),
                        "score", "--state", state.toString(), "--logits", logits.toString(), "-o", logits.toString()),
                new Case("fit: -o is the features", "is one of the inputs", List.of(features),
                        "fit", "--detector", "KNN", "--features", features.toString(), "-o", features.toString()),
                new Case("fit: -o is a link to the features", "is one of the inputs", List.of(features),
                        "fit", "--detector", "KNN", "--features", features.toString(), "-o", link.toString()),
                new Case("fit: -o is the labels", "is one of the inputs", List.of(labels),
                        "fit", "--detector", "KLMatching", "--logits", logits.toString(), "--labels", labels.toString(), "-o", labels.toString()),
                new Case("fit: -o is a --param array", "is one of the inputs", List.of(features),
                        "fit", "--detector", "WeightedEBO", "--param", "weights=@" + features, "--logits", logits.toString(), "-o",
                        features.toString()),
                new Case("fit: -o is a folder", "is a folder", List.of(),
                        "fit", "--detector", "KNN", "--features", features.toString(), "-o", dir.toString()),
                new Case("fit: -o in a folder that does not exist", "does not exist", List.of(),
                        "fit", "--detector", "KNN", "--features", features.toString(), "-o", dir.resolve("no/such/state").toString()),
                new Case("fit: bool labels are not classes", "labels must be integers", List.of(),
                        "fit", "--detector", "KLMatching", "--logits", logits.toString(), "--labels", boolLabels.toString(), "-o", out.toString()),
                new Case("fit: bool features are named as bool", "features must be float32 or float64, got bool (|b1)", List.of(),
                        "fit", "--detector", "KNN", "--features", boolFeatures.toString(), "-o", out.toString()),
                new Case("fit: int64 labels given as features", "got int64 (<i8)", List.of(),
                        "fit", "--detector", "KNN", "--features", labels.toString(), "-o", out.toString()),
                new Case("fit: a repeated --param", "--param 'k' is given more than once", List.of(),
                        "fit", "--detector", "KNN", "--param", "k=1", "--param", "k=3", "--features", features.toString(), "-o", out.toString()),
                new Case("fit: a --param as a value and as a map", "clashes with 'head'", List.of(),
                        "fit", "--detector", "NCI", "--param", "head=1", "--param", "head.weight=@" + features, "--features",
                        features.toString(), "-o", out.toString()),
                new Case("fit: a folder as the features", "a-folder.npy: is a directory", List.of(),
                        "fit", "--detector", "KNN", "--features", folder.toString(), "-o", out.toString()),
                new Case("fit: a missing features file", "missing.npy: no such file", List.of(),
                        "fit", "--detector", "KNN", "--features", dir.resolve("missing.npy").toString(), "-o", out.toString()),
                new Case("fit: Gram checks the --logits it is given", "logits have 10 rows, the layers 40", List.of(),
                        "fit", "--detector", "Gram", "--param", "num_classes=4", "--layers", layers.toString(), "--logits",
                        shortLogits.toString(), "--labels", labels.toString(), "-o", out.toString()),
                new Case("fit: Gram checks the values of the --logits too", "Gram: logits contain NaN or infinite values (first in row 7)",
                        List.of(), "fit", "--detector", "Gram", "--param", "num_classes=4", "--layers", layers.toString(), "--logits",
                        nanLogits.toString(), "--labels", labels.toString(), "-o", out.toString()),
                new Case("score: a folder as the state", "a-folder.npy: is a directory", List.of(),
                        "score", "--state", folder.toString(), "--logits", logits.toString(), "-o", out.toString()),
                new Case("score: (0, 2^62) features are not scored as 0 rows", "has 0 rows", List.of(),
                        "score", "--state", state.toString(), "--logits", noRows.toString(), "-o", out.toString()),
                new Case("score: logits with other rows than the layers, batched", "short-logits.npy has 10 rows", List.of(),
                        "score", "--state", gramState.toString(), "--layers", layers.toString(), "--logits", shortLogits.toString(),
                        "-o", out.toString(), "--batch", "4"),
                new Case("demo: --out is a file", "is a file", List.of(fileAsFolder),
                        "demo", "--quick", "--out", fileAsFolder.toString()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void oneLineANonZeroExitAndNothingOverwritten(Case c) throws IOException {
        List<byte[]> before = new ArrayList<>();
        for (Path p : c.untouched()) before.add(Files.readAllBytes(p));
        boolean outExisted = Files.exists(dir.resolve("out.npy"));
        Run r = run(c.args());
        assertNotEquals(0, r.code(), c.what() + ": exit code; stdout: " + r.out());
        assertEquals(1, r.err().strip().lines().count(), c.what() + ": one line, got:\n" + r.err());
        assertTrue(r.err().startsWith("ood4j: "), r.err());
        assertTrue(r.err().contains(c.fragment()), c.what() + ": '" + r.err().strip() + "' should contain '" + c.fragment() + "'");
        for (int i = 0; i < before.size(); i++) {
            assertArrayEquals(before.get(i), Files.readAllBytes(c.untouched().get(i)), c.what() + ": " + c.untouched().get(i) + " changed");
        }
        assertEquals(outExisted, Files.exists(dir.resolve("out.npy")), c.what() + ": nothing written on error");
        assertEquals("", r.out(), c.what() + ": refused before any work (the demo trains for minutes)");
    }

    @org.junit.jupiter.api.Test
    void verboseAfterTheSubcommandPrintsTheStackTrace() {
        Run r = run("score", "--verbose", "--state", dir.resolve("missing.st").toString(), "--logits", logits.toString(),
                "-o", dir.resolve("out.npy").toString());
        assertNotEquals(0, r.code());
        assertTrue(r.err().startsWith("ood4j: ") && r.err().contains("no such file"), r.err());
        assertTrue(r.err().contains("\tat "), "stack trace with --verbose after the subcommand:\n" + r.err());
    }
}
