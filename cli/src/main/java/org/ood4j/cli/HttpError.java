package org.ood4j.cli;

/**
 * A request the scoring server refuses with a 4xx other than 400 (unknown path or detector,
 * wrong method, body too large, unknown content type); the message becomes the JSON error line.
 * Wrong content (bad JSON or npy, a wrong dimension, NaN) is an {@link IllegalArgumentException}
 * from the readers and detectors, answered 400.
 */
final class HttpError extends RuntimeException {
    final int code;
    /** For 405: the method the path takes (the Allow header). */
    final String allow;

    HttpError(int code, String message) {
        this(code, message, null);
    }

    HttpError(int code, String message, String allow) {
        super(message, null, false, false);   // a client's mistake: no stack trace to fill
        this.code = code;
        this.allow = allow;
    }
}
