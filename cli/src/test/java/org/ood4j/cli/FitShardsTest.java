package org.ood4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.detectors.Calibration;
import org.ood4j.detectors.DetectorFiles;
import org.ood4j.detectors.FeaturesDetector;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

/**
 * ood4j fit on shards (several --features/--labels files, or folders of them) gives the detector
 * the whole-file fit gives; bad shard sets are one line naming the file; ood4j score writes in
 * batches exactly what one call of the library gives.
 */
class FitShardsTest {
    @TempDir Path dir;
    private Path whole, wholeLabels, queries, shardFolder, labelFolder;
    private final List<Path> shards = new ArrayList<>(), labelShards = new ArrayList<>();

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    /** 1000 rows in 4 classes (10 OOD, label -1), cut into shards of 300, 17, 600 and 83 rows. */
    @BeforeEach
    void data() throws IOException {
        whole = dir.resolve("x.npy");
        wholeLabels = dir.resolve("y.npy");
        queries = dir.resolve("q.npy");
        shardFolder = Files.createDirectories(dir.resolve("xs"));
        labelFolder = Files.createDirectories(dir.resolve("ys"));
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(21);
            long[] y = new long[1000];
            for (int i = 0; i < y.length; i++) y[i] = i % 97 == 5 ? -1 : i % 4;
            Tensor labels = Tensor.of(y), x = Tensor.randn(rng, DType.FLOAT32, 1000, 12).add(labels.to(DType.FLOAT32).unsqueeze(1)).relu();
            Npy.write(whole, x);
            Npy.write(wholeLabels, labels);
            Npy.write(queries, Tensor.randn(rng, DType.FLOAT32, 60, 12).relu());
            int start = 0, i = 0;
            for (int size : new int[] {300, 17, 600, 83}) {
                // names sort in the rows' order in the folders: part-0 < part-1 < ...
                Path xs = shardFolder.resolve("part-" + i + ".npy"), ys = labelFolder.resolve("part-" + i++ + ".npy");
                Npy.write(xs, x.slice(0, start, start + size));
                Npy.write(ys, labels.slice(0, start, start + size));
                shards.add(xs);
                labelShards.add(ys);
                start += size;
            }
        }
    }

    private double[] fitAndScore(String detector, List<String> inputs, String name) throws IOException {
        Path state = dir.resolve(name + ".st");
        List<String> args = new ArrayList<>(List.of("fit", "--detector", detector, "-o", state.toString()));
        args.addAll(inputs);
        Run r = run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("fitted " + detector + " on 1000 rows in "), r.out());
        try (Scope s = Scope.open(); FeaturesDetector d = DetectorFiles.load(state, null, FeaturesDetector.class)) {
            return d.predictFeatures(Npy.map(queries)).toDoubleArray();
        }
    }

    private List<String> repeated() {
        List<String> args = new ArrayList<>();
        for (int i = 0; i < shards.size(); i++) args.addAll(List.of("--features", shards.get(i).toString(), "--labels", labelShards.get(i).toString()));
        return args;
    }

    @Test
    void shardsRepeatedOrAsFoldersFitWhatTheWholeFileFits() throws IOException {
        for (String detector : new String[] {"KNN", "Mahalanobis"}) {
            double[] one = fitAndScore(detector, List.of("--features", whole.toString(), "--labels", wholeLabels.toString()), detector + "-whole");
            double[] files = fitAndScore(detector, repeated(), detector + "-files");
            double[] folders = fitAndScore(detector, List.of("--features", shardFolder.toString(), "--labels", labelFolder.toString()),
                    detector + "-folders");
            assertArrayEquals(files, folders, detector + ": a folder is its files in name order");
            for (int i = 0; i < one.length; i++) {
                // KNN: the same bank, bit for bit; Mahalanobis: other chunk boundaries, the same statistics up to float64 round-off
                assertEquals(one[i], files[i], Math.abs(one[i]) * 1e-9, detector + " query " + i);
            }
        }
    }

    @Test
    void badShardSetsAreOneLineNamingTheFile() throws IOException {
        Path out = dir.resolve("out.st"), wide = dir.resolve("wide.npy"), empty = Files.createDirectories(dir.resolve("empty"));
        try (Scope s = Scope.open()) {
            Npy.write(wide, Tensor.zeros(DType.FLOAT32, 5, 13));
        }
        record Bad(String fragment, List<String> args) {}
        List<Bad> cases = List.of(
                new Bad("--features gives 4 files and --labels 1 file: give one labels file per features file",
                        List.of("--features", shardFolder.toString(), "--labels", labelShards.get(0).toString())),
                new Bad(labelShards.get(1) + " has 17 labels for the 300 rows of " + shards.get(0),
                        List.of("--features", shards.get(0).toString(), "--labels", labelShards.get(1).toString())),
                new Bad(wide + ": features of dimension 13, but " + shards.get(0) + " has 12",
                        List.of("--features", shards.get(0).toString(), "--features", wide.toString())),
                new Bad(empty + ": is a directory with no .npy files", List.of("--features", empty.toString())));
        for (Bad c : cases) {
            List<String> args = new ArrayList<>(List.of("fit", "--detector", "KNN", "-o", out.toString()));
            args.addAll(c.args());
            Run r = run(args.toArray(String[]::new));
            assertEquals(1, r.code(), c.fragment());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains(c.fragment()), r.err());
            assertFalse(Files.exists(out), "nothing written");
        }
        assertEquals(0, run("fit", "--detector", "KNN", "--features", whole.toString(), "-o", out.toString()).code());
        Run score = run("score", "--state", out.toString(), "--features", whole.toString(), "--features", whole.toString(), "-o", dir.resolve("s2.npy").toString());
        assertTrue(score.err().contains("give one --features file here, got 2"), score.err());
    }

    @Test
    void scoreWritesBatchByBatchWhatTheLibraryGivesAtOnce() throws IOException {
        Path state = dir.resolve("knn.st"), scores = dir.resolve("s.npy"), csv = dir.resolve("s.csv");
        assertEquals(0, run("fit", "--detector", "KNN", "--param", "k=3", "--features", whole.toString(), "-o", state.toString()).code());
        assertEquals(0, run("calibrate", "--state", state.toString(), "--features", whole.toString(), "--tpr", "0.9").code());
        for (Path out : new Path[] {scores, csv}) {
            Run r = run("score", "--state", state.toString(), "--features", queries.toString(), "--batch", "7", "-o", out.toString(),
                    "--output-format", out == csv ? "csv" : "npy");
            assertEquals(0, r.code(), r.err());
        }
        try (Scope s = Scope.open(); FeaturesDetector d = DetectorFiles.load(state, null, FeaturesDetector.class)) {
            double[] expected = d.predictFeatures(Npy.map(queries)).toDoubleArray();
            Calibration c = d.calibration();
            assertArrayEquals(expected, Npy.read(scores).toDoubleArray());
            assertArrayEquals(c.pValues(expected), Npy.read(dir.resolve("s.p_value.npy")).toDoubleArray());
            boolean[] isOod = c.isOod(expected);
            double[] stored = Npy.read(dir.resolve("s.is_ood.npy")).toDoubleArray();
            for (int i = 0; i < expected.length; i++) assertEquals(isOod[i] ? 1.0 : 0.0, stored[i], "is_ood row " + i);
            List<String> lines = Files.readAllLines(csv);
            assertEquals("score,is_ood,p_value", lines.get(0));
            assertEquals(61, lines.size());
            for (int i = 0; i < expected.length; i++) assertEquals(expected[i], Double.parseDouble(lines.get(i + 1).split(",")[0]), "csv row " + i);
        }
    }
}
