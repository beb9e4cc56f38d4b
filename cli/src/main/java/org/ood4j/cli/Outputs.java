package org.ood4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;

/**
 * Where a command writes, checked before it does any work (a run that fails at the end loses
 * the work): the output is a file name in an existing folder, and never one of the command's
 * inputs — not the same name, and not the same file through a link.
 */
final class Outputs {
    private Outputs() {}

    /** Checks a file {@code output} given as {@code option} against the command's {@code inputs}. */
    static void checkFile(Path output, String option, Collection<Path> inputs) {
        if (Files.isDirectory(output)) throw new IllegalArgumentException(option + " " + output + " is a folder; give a file name");
        Path folder = output.toAbsolutePath().normalize().getParent();
        if (folder == null || !Files.isDirectory(folder)) {
            throw new IllegalArgumentException(option + " " + output + ": the folder " + folder + " does not exist");
        }
        for (Path input : inputs) {
            if (sameFile(output, input)) {
                throw new IllegalArgumentException(option + " " + output + " is one of the inputs (" + input
                        + "); inputs are never overwritten: choose another output file");
            }
        }
    }

    /** Checks (and creates) a folder {@code output} given as {@code option}. */
    static void prepareFolder(Path output, String option) throws IOException {
        if (Files.exists(output) && !Files.isDirectory(output)) {
            throw new IllegalArgumentException(option + " " + output + " is a file; give a folder (it is created if missing)");
        }
        Files.createDirectories(output);
    }

    /** Same path, or the same file reached another way (a symbolic or hard link). */
    private static boolean sameFile(Path a, Path b) {
        if (a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize())) return true;
        try {
            return Files.exists(a) && Files.exists(b) && Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }
}
