package org.ood4j.kernels;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelsPtxTest {
    @Test
    void everyModuleHasPtxWithItsEntryPointsAndVersion80() {
        for (Kernels.Module m : Kernels.Module.values()) {
            byte[] ptx = Kernels.ptx(m);
            assertEquals(0, ptx[ptx.length - 1], m + ": NUL-terminated");
            String text = new String(ptx, 0, ptx.length - 1, StandardCharsets.US_ASCII);
            assertTrue(text.lines().anyMatch(".version 8.0"::equals), m + ": .version 8.0 header");
            assertTrue(text.lines().anyMatch(".target sm_75"::equals), m + ": .target sm_75");
            for (String entry : m.entryPoints()) {
                assertTrue(text.contains(".visible .entry " + entry + "("), m + " lacks kernel " + entry);
            }
            long entries = text.lines().filter(l -> l.startsWith(".visible .entry ")).count();
            assertEquals(m.entryPoints().size(), entries, m + ": Kernels lists every entry point of the PTX");
        }
    }

    @Test
    void everyCudaSourceIsAModule() throws IOException {
        try (var files = Files.list(Path.of("src/main/cuda"))) {
            List<String> sources = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cu"))
                    .map(n -> n.substring(0, n.length() - 3)).sorted().toList();
            List<String> modules = java.util.Arrays.stream(Kernels.Module.values()).map(Kernels.Module::fileName).sorted().toList();
            assertEquals(sources, modules);
        }
    }

    /** The committed PTX must be what build-ptx.sh makes from the sources now (stale PTX fails). */
    @Test
    void committedPtxMatchesFreshBuild(@TempDir Path tmp) throws Exception {
        Path nvcc = findNvcc();
        Assumptions.assumeTrue(nvcc != null, "no nvcc on this machine (PATH or /usr/local/cuda-13.0/bin): PTX freshness not checked");
        ProcessBuilder pb = new ProcessBuilder("bash", "build-ptx.sh", tmp.toString()).redirectErrorStream(true);
        pb.environment().put("NVCC", nvcc.toString());
        Process p = pb.start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "build-ptx.sh timed out");
        assertEquals(0, p.exitValue(), "build-ptx.sh failed:\n" + log);
        for (Kernels.Module m : Kernels.Module.values()) {
            Path fresh = tmp.resolve(m.fileName() + ".ptx");
            Path committed = Path.of("src/main/resources/org/ood4j/kernels", m.fileName() + ".ptx");
            assertEquals(Files.readString(fresh), Files.readString(committed),
                    m.fileName() + ".ptx is stale: run kernels/build-ptx.sh and commit the PTX");
        }
    }

    private static Path findNvcc() {
        String env = System.getenv("NVCC");
        if (env != null && Files.isExecutable(Path.of(env))) return Path.of(env);
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "nvcc"))) return Path.of(dir, "nvcc");
        }
        Path fixed = Path.of("/usr/local/cuda-13.0/bin/nvcc");
        return Files.isExecutable(fixed) ? fixed : null;
    }
}
