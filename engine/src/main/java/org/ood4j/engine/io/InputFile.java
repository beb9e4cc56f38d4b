package org.ood4j.engine.io;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The readers' first check: the path names an existing regular file. The JDK's own errors for a
 * folder ("Is a directory") and a missing file (just the path) do not say both what and where.
 */
final class InputFile {
    private InputFile() {}

    /** Throws a {@link FileSystemException} naming the path and the problem unless it is a regular file. */
    static void check(Path path) throws IOException {
        if (Files.isRegularFile(path)) return;
        String file = path.toString();
        if (Files.isDirectory(path)) throw new FileSystemException(file, null, "is a directory, not a file");
        if (!Files.exists(path)) throw new NoSuchFileException(file, null, "no such file");
        throw new FileSystemException(file, null, "is not a regular file");
    }
}
