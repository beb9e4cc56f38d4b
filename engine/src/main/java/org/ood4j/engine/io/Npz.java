package org.ood4j.engine.io;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import org.ood4j.engine.Tensor;

/**
 * NumPy's {@code .npz} format: a zip archive of {@code .npy} entries, as written by
 * {@code np.savez} (stored) and {@code np.savez_compressed} (deflated). Both are read.
 *
 * <p>Each entry is read with {@link Npy}'s checks; its uncompressed size, taken from the zip
 * directory, plays the file length, so a lying header is refused before allocation. Each entry's
 * CRC is verified, which catches damaged data the zip layer itself lets through. When any entry
 * fails, the tensors already read are closed before the error is thrown.
 */
public final class Npz {
    private static final String SUFFIX = ".npy";

    private Npz() {}

    /** Reads all arrays, in archive order, keyed by entry name without {@code .npy}. */
    public static Map<String, Tensor> read(Path path) throws IOException {
        String file = path.toString();
        Map<String, Tensor> arrays = new LinkedHashMap<>();
        try (ZipFile zip = open(path)) {
            Enumeration<? extends ZipEntry> entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                if (e.isDirectory()) continue;
                String name = arrayName(e, file);
                if (arrays.containsKey(name)) {
                    throw new ArrayFormatException(file, "duplicate entry '" + e.getName() + "'");
                }
                arrays.put(name, readEntry(zip, e, file));
            }
            return arrays;
        } catch (Throwable e) {
            closeAll(arrays);
            throw e;
        }
    }

    private static ZipFile open(Path path) throws IOException {
        InputFile.check(path);
        try {
            return new ZipFile(path.toFile());
        } catch (ZipException e) {
            throw new ArrayFormatException(path.toString(), "not a zip archive (.npz): " + e.getMessage(), e);
        }
    }

    private static String arrayName(ZipEntry e, String file) throws ArrayFormatException {
        String entry = e.getName();
        if (!entry.endsWith(SUFFIX)) {
            throw new ArrayFormatException(file, "entry '" + entry + "' is not a .npy array");
        }
        return entry.substring(0, entry.length() - SUFFIX.length());
    }

    /**
     * Reads one entry and checks its CRC: ZipFile does not, and a damaged deflate stream can
     * inflate to bytes of the right length that are simply wrong.
     */
    private static Tensor readEntry(ZipFile zip, ZipEntry e, String file) throws IOException {
        String source = file + " entry '" + e.getName() + "'";
        CRC32 crc = new CRC32();
        Tensor t = null;
        try (InputStream in = new CheckedInputStream(new BufferedInputStream(zip.getInputStream(e), Encoding.CHUNK), crc)) {
            long size = e.getSize();
            // The directory always records sizes; without one, hold the entry in memory to know it.
            t = size >= 0 ? Npy.read(in, size, source) : Npy.readBytes(in.readAllBytes(), source);
            in.transferTo(OutputStream.nullOutputStream()); // the CRC covers any bytes after the array
            if (e.getCrc() >= 0 && crc.getValue() != e.getCrc()) {
                throw new ArrayFormatException(source, "corrupt zip entry: CRC mismatch");
            }
            return t;
        } catch (Throwable ex) {
            if (t != null) t.close();
            if (ex instanceof ZipException ze) {
                throw new ArrayFormatException(source, "corrupt zip entry: " + ze.getMessage(), ze);
            }
            throw ex;
        }
    }

    private static void closeAll(Map<String, Tensor> arrays) {
        for (Tensor t : arrays.values()) {
            if (!t.isClosed()) t.close();
        }
    }

    // ---------------------------------------------------------------- writing

    /** Writes the arrays as stored (uncompressed) entries, like {@code np.savez}. */
    public static void write(Path path, Map<String, Tensor> arrays) throws IOException {
        write(path, arrays, false);
    }

    /** Writes the arrays as deflated entries, like {@code np.savez_compressed}. */
    public static void writeCompressed(Path path, Map<String, Tensor> arrays) throws IOException {
        write(path, arrays, true);
    }

    /** Writes entries {@code name.npy} in the map's iteration order, atomically: see {@link AtomicFile}. */
    public static void write(Path path, Map<String, Tensor> arrays, boolean compress) throws IOException {
        for (Map.Entry<String, Tensor> a : arrays.entrySet()) {
            if (a.getKey() == null || a.getKey().isEmpty()) throw new IllegalArgumentException("array names must not be empty");
            a.getValue().checkOpen();
        }
        AtomicFile.write(path, out -> writeEntries(out, arrays, compress));
    }

    private static void writeEntries(OutputStream out, Map<String, Tensor> arrays, boolean compress) throws IOException {
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, Tensor> a : arrays.entrySet()) {
                ZipEntry entry = new ZipEntry(a.getKey() + SUFFIX);
                if (compress) {
                    entry.setMethod(ZipEntry.DEFLATED);
                } else {
                    stored(entry, a.getValue());
                }
                zip.putNextEntry(entry);
                Npy.write(zip, a.getValue());
                zip.closeEntry();
            }
        }
    }

    /**
     * A stored entry needs its size and CRC before its data. We get them from a first pass that
     * serializes into a checksum, so no copy of the array is held in memory.
     */
    private static void stored(ZipEntry entry, Tensor t) throws IOException {
        CRC32 crc = new CRC32();
        CountingStream counter = new CountingStream();
        try (OutputStream out = new CheckedOutputStream(counter, crc)) {
            Npy.write(out, t);
        }
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(counter.count);
        entry.setCompressedSize(counter.count);
        entry.setCrc(crc.getValue());
    }

    /** Discards bytes, counting them. */
    private static final class CountingStream extends OutputStream {
        long count;

        @Override public void write(int b) { count++; }

        @Override public void write(byte[] b, int off, int len) { count += len; }
    }
}
