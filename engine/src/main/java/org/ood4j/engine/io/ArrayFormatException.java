package org.ood4j.engine.io;

import java.io.IOException;

/**
 * A file (or in-memory buffer) is not a valid array file of the expected format, or holds
 * something this library does not read. The message names the source when it is known and
 * says what is wrong, e.g. {@code "scores.npy: expected 24 bytes of data for <f4 (2, 3), found 8"}.
 *
 * <p>It is an {@link IOException} so that callers handle it together with the file system's
 * errors: both mean "this input cannot be loaded".
 */
public class ArrayFormatException extends IOException {
    private final String source;
    private final String problem;

    /**
     * @param source  the file or entry being read, or null when unknown (a byte array)
     * @param problem what is wrong, without the source name
     */
    public ArrayFormatException(String source, String problem) {
        this(source, problem, null);
    }

    public ArrayFormatException(String source, String problem, Throwable cause) {
        super(source == null ? problem : source + ": " + problem, cause);
        this.source = source;
        this.problem = problem;
    }

    /** The file or entry that failed to load, or null when it has no name. */
    public String source() { return source; }

    /** What is wrong, without the source name. */
    public String problem() { return problem; }
}
