package org.ood4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

/**
 * The command at the limits of its process, in a child JVM: under a file-size limit
 * ({@code ulimit -f}, so write(2) fails with EFBIG as on a full disk) an output is written whole or
 * not at all — the previous file survives byte for byte, no temporary is left behind, and the
 * one-line error names the file; with a small heap, running out of memory is one line with the
 * remedy, not a stack trace.
 */
@EnabledOnOs(OS.LINUX)
class ProcessLimitsTest {
    /** The child may write files of at most this many KiB; the outputs below are larger. */
    static final int LIMIT_KIB = 64;

    @TempDir Path dir;

    record Child(int code, String err) {}

    /** Runs {@code ood4j args} in a fresh JVM whose files may not grow beyond {@link #LIMIT_KIB}. */
    static Child underFileSizeLimit(String... args) throws IOException, InterruptedException {
        return child("ulimit -f " + LIMIT_KIB, List.of(), args);
    }

    /** Runs {@code ood4j args} in a fresh JVM with {@code jvmFlags}, after the shell command {@code limit}. */
    static Child child(String limit, List<String> jvmFlags, String... args) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(java, "-XX:-UsePerfData", "--enable-native-access=ALL-UNNAMED",
                "--add-modules", "jdk.incubator.vector"));
        command.addAll(jvmFlags);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(List.of(args));
        StringBuilder script = new StringBuilder(limit + " && exec");
        for (String word : command) script.append(" '").append(word.replace("'", "'\\''")).append('\'');
        Process p = new ProcessBuilder("bash", "-c", script.toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM finished");
        return new Child(p.exitValue(), err.lines().filter(l -> !l.startsWith("WARNING")).reduce("", (a, b) -> a + b + "\n"));
    }

    private Path logits(String name, int rows) throws IOException {
        Path f = dir.resolve(name);
        try (Scope s = Scope.open()) {
            Npy.write(f, Tensor.randn(new SplittableRandom(rows), DType.FLOAT32, rows, 4));
        }
        return f;
    }

    private void assertKeptWhole(Child child, Path output, byte[] before) throws IOException {
        assertNotEquals(0, child.code(), child.err());
        assertEquals(1, child.err().strip().lines().count(), "one line:\n" + child.err());
        assertTrue(child.err().contains("cannot write " + output) && child.err().contains("File too large"), child.err());
        assertArrayEquals(before, Files.readAllBytes(output), "the previous " + output.getFileName() + " is intact");
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(), files.filter(f -> f.getFileName().toString().endsWith(".tmp")).toList(), "no temporary left");
        }
    }

    @Test
    void scoresThatDoNotFitLeaveThePreviousScores() throws Exception {
        Path small = logits("small.npy", 1000), big = logits("big.npy", 20000), state = dir.resolve("energy.st");
        Path scores = dir.resolve("scores.npy");
        assertEquals(0, CliBadInputTest.run("fit", "--detector", "EnergyBased", "--logits", small.toString(), "-o", state.toString()).code());
        assertEquals(0, CliBadInputTest.run("score", "--state", state.toString(), "--logits", small.toString(), "-o", scores.toString()).code());
        byte[] before = Files.readAllBytes(scores);
        assertTrue(before.length < LIMIT_KIB * 1024 && 20000 * 8 > LIMIT_KIB * 1024, "the small scores fit, the big ones do not");

        Child child = underFileSizeLimit("score", "--state", state.toString(), "--logits", big.toString(), "-o", scores.toString());
        assertKeptWhole(child, scores, before);
    }

    @Test
    void runningOutOfHeapIsOneLineWithTheRemedy() throws Exception {
        Path big = dir.resolve("scores.npy");
        try (Scope s = Scope.open()) {
            Npy.write(big, Tensor.zeros(DType.FLOAT64, 12_000_000));   // 96 MB of scores, read into a double[] by eval
        }
        Child child = child("true", List.of("-Xmx48m"), "eval", "--scores-id", big.toString(), "--scores-ood", big.toString());
        assertNotEquals(0, child.code(), child.err());
        assertEquals(1, child.err().strip().lines().count(), "one line:\n" + child.err());
        assertTrue(child.err().startsWith("ood4j: out of memory") && child.err().contains("-Xmx"), child.err());
    }

    @Test
    void aStateThatDoesNotFitLeavesThePreviousState() throws Exception {
        // the bank (4090 x 4 float32 = 65,440 bytes) spills under the 64 KiB limit; the state file, the bank and its header, passes it
        Path small = logits("small.npy", 100), big = logits("big.npy", 4090), state = dir.resolve("knn.st");
        assertEquals(0, CliBadInputTest.run("fit", "--detector", "KNN", "--features", small.toString(), "-o", state.toString()).code());
        byte[] before = Files.readAllBytes(state);

        Child child = underFileSizeLimit("fit", "--detector", "KNN", "--features", big.toString(), "-o", state.toString());
        assertKeptWhole(child, state, before);
    }

    @Test
    void aBankThatDoesNotFitOnDiskLeavesThePreviousStateAndNoSpill() throws Exception {
        Path small = logits("small.npy", 100), big = logits("big.npy", 20000), state = dir.resolve("knn.st");
        assertEquals(0, CliBadInputTest.run("fit", "--detector", "KNN", "--features", small.toString(), "-o", state.toString()).code());
        byte[] before = Files.readAllBytes(state);

        // a bank above -Dood4j.bank.memoryBytes spills (0 here: this 320 KB one, which would otherwise stay in memory)
        Child child = child("ulimit -f " + LIMIT_KIB, List.of("-Dood4j.bank.memoryBytes=0"), "fit", "--detector", "KNN", "--features", big.toString(),
                "-o", state.toString());
        assertNotEquals(0, child.code(), child.err());
        assertEquals(1, child.err().strip().lines().count(), "one line:\n" + child.err());
        // the bank spills beside the state (ood4j fit puts it there): the message names that file and the remedy
        assertTrue(child.err().contains("cannot spill float32 rows of 4 to " + dir.resolve("ood4j-spill-")) && child.err().contains("File too large")
                && child.err().contains("ood4j.spill.dir"), child.err());
        assertArrayEquals(before, Files.readAllBytes(state), "the previous state is intact");
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(), files.filter(f -> f.getFileName().toString().startsWith("ood4j-spill-")).toList(), "no spill left");
        }
    }
}
