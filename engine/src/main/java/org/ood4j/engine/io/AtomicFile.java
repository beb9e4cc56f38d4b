package org.ood4j.engine.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a file so that readers see either the old content or the whole new one, never a part:
 * the bytes go to a temporary file in the target's folder, are forced to the disk, and the
 * temporary is renamed over the target ({@code ATOMIC_MOVE}: one {@code rename(2)} on POSIX file
 * systems). A full disk, a file-size limit or a killed process therefore leaves the previous file
 * as it was; on failure the temporary is deleted and the exception names the target.
 *
 * <p>A target that is a symbolic link is written through: its link target is replaced and the
 * link kept. An existing target's POSIX permissions carry over to the new file.
 */
public final class AtomicFile {
    /** What writes the file's bytes; the stream is buffered and closed by {@link #write}. */
    @FunctionalInterface
    public interface Body {
        void writeTo(OutputStream out) throws IOException;
    }

    private AtomicFile() {}

    /** Writes {@code body}'s bytes to {@code target} atomically (see the class comment). */
    public static void write(Path target, Body body) throws IOException {
        Path file = resolve(target);
        Path temporary = temporaryBeside(file);
        try {
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                OutputStream out = new BufferedOutputStream(Channels.newOutputStream(channel), Encoding.CHUNK);
                body.writeTo(new FlushOnClose(out)); // a body may close its stream (a ZipOutputStream does)
                out.flush();
                channel.force(true); // the data are on the disk before the rename makes them visible
            }
            copyPermissions(file, temporary);
            move(temporary, file);
        } catch (IOException e) {
            deleteQuietly(temporary, e);
            throw named(target, e);
        } catch (RuntimeException | Error e) {
            deleteQuietly(temporary, e);
            throw e;
        }
        syncFolder(file.getParent());
    }

    /** Writes a UTF-8 text atomically. */
    public static void writeString(Path target, CharSequence text) throws IOException {
        byte[] bytes = text.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        write(target, out -> out.write(bytes));
    }

    /** Hands the body a stream whose close() only flushes, so the channel stays open for force(). */
    private static final class FlushOnClose extends java.io.FilterOutputStream {
        FlushOnClose(OutputStream out) { super(out); }

        @Override public void write(byte[] b, int off, int len) throws IOException { out.write(b, off, len); }

        @Override public void close() throws IOException { out.flush(); }
    }

    /** The file to replace: the target, or what its symbolic link points at; never a folder. */
    private static Path resolve(Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        if (Files.isDirectory(absolute)) throw new IOException("cannot write " + target + ": it is a directory");
        Path file = Files.isSymbolicLink(absolute) && Files.exists(absolute) ? absolute.toRealPath() : absolute;
        Path folder = file.getParent();
        if (folder == null || !Files.isDirectory(folder)) {
            throw new IOException("cannot write " + target + ": folder " + folder + " does not exist");
        }
        return file;
    }

    /** A fresh name beside the file (same folder, hence same file system: the rename is atomic). */
    private static Path temporaryBeside(Path file) {
        String suffix = Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
        return file.resolveSibling("." + file.getFileName() + "." + suffix + ".tmp");
    }

    private static void copyPermissions(Path from, Path to) throws IOException {
        if (!Files.exists(from, LinkOption.NOFOLLOW_LINKS)) return;
        PosixFileAttributeView view = Files.getFileAttributeView(from, PosixFileAttributeView.class);
        if (view == null) return;
        Set<PosixFilePermission> permissions = view.readAttributes().permissions();
        Files.setPosixFilePermissions(to, permissions);
    }

    private static void move(Path temporary, Path file) throws IOException {
        try {
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            // cannot happen for a sibling on one file system; say so rather than fall back to a non-atomic copy
            throw new IOException("the file system does not support an atomic rename in " + file.getParent(), e);
        }
    }

    /** Makes the rename itself durable; a file system that cannot sync a folder is not an error. */
    private static void syncFolder(Path folder) {
        try (FileChannel dir = FileChannel.open(folder, StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // e.g. Windows: folders cannot be opened; the rename is still atomic
        }
    }

    private static void deleteQuietly(Path temporary, Throwable cause) {
        try {
            Files.deleteIfExists(temporary);
        } catch (IOException e) {
            cause.addSuppressed(e);
        }
    }

    /** The file system's message ("No space left on device", "File too large") with the file it concerns. */
    private static IOException named(Path target, IOException e) {
        if (e instanceof ArrayFormatException) return e;
        String reason = e instanceof FileSystemException fs && fs.getReason() != null ? fs.getReason() : e.getMessage();
        if (reason != null && reason.startsWith("cannot write ")) return e;
        return new IOException("cannot write " + target + ": " + reason, e);
    }
}
