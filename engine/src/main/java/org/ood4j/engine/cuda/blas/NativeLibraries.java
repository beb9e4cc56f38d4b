package org.ood4j.engine.cuda.blas;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds cuBLAS and cuSOLVER for the FFM bindings, whichever major is installed. Folders named in
 * CUDA_LIB_DIR (colon-separated; bench's run.sh sets it) are searched first, by full path, and a
 * library's dependencies are opened from there before it (pip wheels put each library in its own
 * folder, where the dynamic linker would not find the others); then the plain names go to the
 * dynamic linker (LD_LIBRARY_PATH, ld.so.cache). Libraries stay loaded for the process.
 */
public final class NativeLibraries {
    private NativeLibraries() {}

    /** An opened library: its file name and its symbols. */
    public record Library(String name, SymbolLookup symbols) {}

    /**
     * Opens the first of {@code names} that loads, after opening whichever of {@code dependencies}
     * exist in CUDA_LIB_DIR; throws IllegalStateException listing every attempt when none does.
     */
    public static Library open(List<String> names, List<String> dependencies) {
        List<Path> dirs = libDirs();
        for (String dep : dependencies) {
            for (Path dir : dirs) {
                Path p = dir.resolve(dep);
                if (Files.exists(p)) {
                    try {
                        SymbolLookup.libraryLookup(p, Arena.global());
                        break;
                    } catch (RuntimeException e) {
                        // the library's own load below reports what is missing
                    }
                }
            }
        }
        List<String> failures = new ArrayList<>();
        for (String name : names) {
            for (Path dir : dirs) {
                Path p = dir.resolve(name);
                if (!Files.exists(p)) continue;
                try {
                    return new Library(name, SymbolLookup.libraryLookup(p, Arena.global()));
                } catch (RuntimeException e) {
                    failures.add(p + ": " + e.getMessage());
                }
            }
            try {
                return new Library(name, SymbolLookup.libraryLookup(name, Arena.global()));
            } catch (RuntimeException e) {
                failures.add(name + ": " + e.getMessage());
            }
        }
        throw new IllegalStateException("cannot open " + String.join(" or ", names) + " (" + String.join("; ", failures)
                + (dirs.isEmpty() ? "; CUDA_LIB_DIR is not set" : "") + ")");
    }

    private static List<Path> libDirs() {
        String env = System.getenv("CUDA_LIB_DIR");
        List<Path> dirs = new ArrayList<>();
        if (env == null) return dirs;
        for (String d : env.split(":")) {
            if (!d.isBlank()) dirs.add(Path.of(d.trim()));
        }
        return dirs;
    }
}
