package org.ood4j.engine.io;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.engine.Tensor;

/** AtomicFile's contract; the real write failure (a file-size limit) is the cli's ProcessLimitsTest. */
class AtomicFileTest {
    @TempDir Path dir;

    private List<Path> temporaries() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".tmp")).toList();
        }
    }

    @Test
    void aFailingBodyLeavesThePreviousFileAndNoTemporary() throws IOException {
        Path f = Files.writeString(dir.resolve("scores.npy"), "previous");
        IOException e = assertThrows(IOException.class, () -> AtomicFile.write(f, out -> {
            out.write(new byte[100_000]);
            throw new IOException("No space left on device");
        }));
        assertEquals("cannot write " + f + ": No space left on device", e.getMessage());
        assertEquals("previous", Files.readString(f));
        assertEquals(List.of(), temporaries());

        // an unchecked failure (a closed tensor) is passed on as it is, with the same clean-up
        Tensor closed = Tensor.of(new float[] {1, 2});
        closed.close();
        assertThrows(IllegalStateException.class, () -> Npy.write(f, closed));
        assertEquals("previous", Files.readString(f));
        assertEquals(List.of(), temporaries());
    }

    @Test
    void aLinkIsWrittenThroughAndPermissionsCarryOver() throws IOException {
        Path real = Files.writeString(dir.resolve("real.txt"), "old");
        Files.setPosixFilePermissions(real, PosixFilePermissions.fromString("rw-r-----"));
        Path link = Files.createSymbolicLink(dir.resolve("link.txt"), real);
        AtomicFile.writeString(link, "new");
        assertTrue(Files.isSymbolicLink(link), "the link stays a link");
        assertEquals("new", Files.readString(real));
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(real)));
    }

    @Test
    void aFolderOrAMissingFolderIsNamed() {
        IOException folder = assertThrows(IOException.class, () -> AtomicFile.writeString(dir, "x"));
        assertTrue(folder.getMessage().contains("is a directory"), folder.getMessage());
        IOException missing = assertThrows(IOException.class, () -> AtomicFile.writeString(dir.resolve("no/such/file"), "x"));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
    }

    @Test
    void readersNameAFolderAndAMissingFile() {
        IOException folder = assertThrows(IOException.class, () -> Npy.read(dir));
        assertEquals(dir + ": is a directory, not a file", folder.getMessage());
        IOException missing = assertThrows(IOException.class, () -> Safetensors.read(dir.resolve("none.safetensors")));
        assertTrue(missing.getMessage().endsWith("none.safetensors: no such file"), missing.getMessage());
        IOException zip = assertThrows(IOException.class, () -> Npz.read(dir));
        assertTrue(zip.getMessage().contains("is a directory"), zip.getMessage());
    }
}
