package org.ood4j.engine.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Storage;
import org.ood4j.engine.Tensor;

/**
 * Rows of a matrix (N, D) too large for memory, appended chunk by chunk to a temporary file and
 * then memory-mapped back read-only ({@link Storage.Mapped}): writing and reading go through the
 * page cache, so the matrix never costs heap or malloc'd memory, whatever N is.
 *
 * <p>The file holds the raw little-endian elements (no header). It is created in {@link #folder}
 * with a fresh name ({@code ood4j-spill-*.rows}), readable by its owner only, and unlinked at once
 * on POSIX systems: it is reached through its open channel and then its mapping, and the system
 * frees its blocks when both are gone — so no file is ever left behind, not by an abandoned spill
 * (its channel's cleaner closes it), not by a killed process. Where a file cannot be deleted while
 * open (Windows), it is deleted on {@link #close} or at the JVM's exit.
 *
 * <p>Where: the folder given, else the system property {@code ood4j.spill.dir}, else the
 * environment variable {@code OOD4J_SPILL_DIR}, else {@code java.io.tmpdir}. Choose a disk with
 * room for N x D x the element size: on many systems {@code /tmp} is a tmpfs, whose pages are
 * memory, so a bank spilled there costs RAM (shared memory, not the process's anonymous memory).
 */
public final class SpillFile implements AutoCloseable {
    private final Path file;
    private final DType dtype;
    private final long dim;
    private final FileChannel channel;
    private final OutputStream out;
    private final boolean unlinked;
    private long rows;

    private SpillFile(Path file, DType dtype, long dim) throws IOException {
        this.file = file;
        this.dtype = dtype;
        this.dim = dim;
        this.channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.READ);
        this.out = new BufferedOutputStream(Channels.newOutputStream(channel), Encoding.CHUNK);
        this.unlinked = unlink(file);
    }

    /** Deletes the name of an open file; false where the system refuses (the file is then deleted on close or exit). */
    private static boolean unlink(Path file) {
        try {
            Files.delete(file);
            return true;
        } catch (IOException e) {
            file.toFile().deleteOnExit();
            return false;
        }
    }

    /** A new empty spill of rows of {@code dim} elements of {@code dtype} in {@code folder} (null: {@link #folder}). */
    public static SpillFile create(Path folder, DType dtype, long dim) throws IOException {
        if (dim < 1) throw new IllegalArgumentException("spilled rows need at least one column, got " + dim);
        Path at = folder != null ? folder : folder();
        if (!Files.isDirectory(at)) throw new IOException("cannot spill rows to " + at + ": no such folder");
        Path file = Files.createTempFile(at, "ood4j-spill-", ".rows");
        try {
            return new SpillFile(file, dtype, dim);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(file);
            throw e;
        }
    }

    /** The default folder: {@link #configuredFolder()}, else {@code java.io.tmpdir}. */
    public static Path folder() {
        Path configured = configuredFolder();
        return configured != null ? configured : Path.of(System.getProperty("java.io.tmpdir"));
    }

    /** The folder the user named: {@code -Dood4j.spill.dir}, else {@code $OOD4J_SPILL_DIR}; null when neither is set. */
    public static Path configuredFolder() {
        String dir = System.getProperty("ood4j.spill.dir");
        if (dir == null || dir.isBlank()) dir = System.getenv("OOD4J_SPILL_DIR");
        return dir == null || dir.isBlank() ? null : Path.of(dir);
    }

    public DType dtype() { return dtype; }

    public long dim() { return dim; }

    /** Rows appended so far. */
    public long rows() { return rows; }

    /** Appends the rows of {@code chunk} (n, D) of any dtype, device or strides, converted to this spill's dtype. */
    public void append(Tensor chunk) throws IOException {
        requireOpen();
        if (chunk.rank() != 2 || chunk.size(1) != dim) {
            throw new IllegalArgumentException("spilled rows are (n, " + dim + "), got " + Shape.toString(chunk.shape()));
        }
        try (Tensor typed = chunk.to(dtype)) {
            Encoding.write(typed, out);
        } catch (IOException e) {
            throw failed(e);
        }
        rows += chunk.size(0);
    }

    /** Appends every row of another (unfinished) spill of the same dtype and width after these; the other is unchanged. */
    public void appendAll(SpillFile other) throws IOException {
        requireOpen();
        other.requireOpen();
        if (other.dtype != dtype || other.dim != dim) {
            throw new IllegalArgumentException("cannot join spilled rows of " + other.dtype + " x " + other.dim + " to " + dtype + " x " + dim);
        }
        try {
            other.out.flush();
            out.flush();
            long size = other.channel.size();
            for (long at = 0; at < size; ) at += other.channel.transferTo(at, size - at, channel);
            rows += other.rows;
        } catch (IOException e) {
            throw failed(e);
        }
    }

    /**
     * The rows as a read-only (N, D) CPU tensor over the mapped file (see the class comment); the
     * spill is closed. Zero rows give an empty ordinary tensor.
     */
    public Tensor finish() throws IOException {
        requireOpen();
        try {
            out.flush();
            long bytes = channel.size();
            if (bytes != Math.multiplyExact(rows * dim, (long) dtype.byteSize())) {
                throw new IOException("spill file " + file + " holds " + bytes + " bytes, expected " + rows + " rows of " + dim + " " + dtype);
            }
            Tensor t = rows == 0 ? Tensor.zeros(dtype, 0, dim) : Tensor.wrap(Storage.Mapped.map(channel, file, 0, bytes), dtype, rows, dim);
            channel.close();   // the mapping does not need it
            return t;
        } catch (IOException e) {
            throw failed(e);
        }
    }

    /** Closes the spill: its rows are gone, unless {@link #finish} mapped them (a mapping outlives the channel). */
    @Override
    public void close() throws IOException {
        if (!channel.isOpen()) return;
        channel.close();
        if (!unlinked) Files.deleteIfExists(file);
    }

    private void requireOpen() {
        if (!channel.isOpen()) throw new IllegalStateException("spill file " + file + " is already finished or closed");
    }

    /** A write failure (a full disk, mostly) naming the file and where to spill instead. */
    private IOException failed(IOException e) {
        return new IOException("cannot spill " + dtype.toString().toLowerCase(java.util.Locale.ROOT) + " rows of " + dim + " to " + file + ": " + e.getMessage()
                + " (choose a folder with room: -Dood4j.spill.dir=DIR or OOD4J_SPILL_DIR)", e);
    }
}
