package org.ood4j.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.DetectorFiles;

/**
 * A fitted detector as the bytes of its ood4j state file ({@link DetectorFiles}): what a model
 * holds, broadcasts and saves, so that Spark, {@code ood4j score} and {@code ood4j serve} read
 * one format. On an executor the bytes become a file once per JVM (named by their digest) and
 * each partition loads the detector from it; large state tensors (a kNN bank) are then
 * memory-mapped from that file rather than copied into every task.
 */
final class StateBytes {
    private static final Path FOLDER = folder();

    private StateBytes() {}

    /** The state file bytes of a fitted detector. */
    static byte[] of(AbstractDetector d) {
        try {
            Path tmp = Files.createTempFile(FOLDER, "state", ".ood4j");
            try {
                DetectorFiles.save(d, tmp);
                return Files.readAllBytes(tmp);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(d.name() + ": cannot write its state: " + e.getMessage(), e);
        }
    }

    /** The detector of state file bytes; the caller closes it. */
    static AbstractDetector load(byte[] bytes) {
        try {
            return DetectorFiles.load(file(bytes), null);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load the detector's state: " + e.getMessage(), e);
        }
    }

    /** The bytes as a file in this JVM's folder, written once (atomically: a temp file renamed) and kept until exit. */
    static synchronized Path file(byte[] bytes) throws IOException {
        Path file = FOLDER.resolve(digest(bytes) + ".ood4j");
        if (!Files.exists(file)) {
            Path tmp = Files.createTempFile(FOLDER, "state", ".part");
            Files.write(tmp, bytes);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            file.toFile().deleteOnExit();
        }
        return file;
    }

    private static String digest(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Path folder() {
        try {
            Path p = Files.createTempDirectory("ood4j-spark-state");
            p.toFile().deleteOnExit();
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make a folder for detector state files: " + e.getMessage(), e);
        }
    }
}
