package org.ood4j.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.junit.jupiter.api.function.Executable;
import org.ood4j.engine.MemoryStats;

/** Shared helpers: fixture paths, and "fails cleanly" assertions that also check for leaks. */
final class IoTestSupport {
    private IoTestSupport() {}

    /** A file under src/test/resources/io. */
    static Path resource(String name) {
        URL url = IoTestSupport.class.getResource("/io/" + name);
        if (url == null) throw new IllegalArgumentException("missing test resource io/" + name);
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Runs {@code action}, expects an {@link ArrayFormatException} whose message contains every
     * fragment, and checks that no storage was left allocated.
     */
    static ArrayFormatException assertFormatError(Executable action, String... fragments) {
        long before = MemoryStats.liveBlocks();
        ArrayFormatException e = assertThrows(ArrayFormatException.class, action);
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), () -> "message \"" + e.getMessage() + "\" should contain \"" + f + "\"");
        }
        assertEquals(before, MemoryStats.liveBlocks(), "storage leaked by a failed read: " + e.getMessage());
        return e;
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
