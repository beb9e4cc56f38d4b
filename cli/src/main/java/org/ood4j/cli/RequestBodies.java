package org.ood4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Locale;

import com.sun.net.httpserver.HttpExchange;

/**
 * Reading a scoring request's body: its kind by Content-Type, and its bytes up to a limit, refused
 * (413) as soon as it is exceeded — by the Content-Length before anything is read, or while reading
 * a chunked body — so an oversized request never sits in memory whole.
 */
final class RequestBodies {
    /** At most this much of an oversized body is read past the limit (and dropped) so that its sender reads the 413. */
    static final long DISCARD_LIMIT = 256L << 20;

    private RequestBodies() {}

    /** What the body holds. */
    enum Kind { JSON, NPY }

    /** The first {@code length} bytes of {@code bytes} are the body. */
    record Body(byte[] bytes, int length) {
        /** The body as an array of exactly its length (copied only when the buffer is larger). */
        byte[] exact() {
            return length == bytes.length ? bytes : Arrays.copyOf(bytes, length);
        }
    }

    /** application/json or application/x-npy (parameters such as charset are ignored); anything else is a 415. */
    static Kind kind(HttpExchange ex) {
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        String base = type == null ? "" : type.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        return switch (base) {
            case "application/json" -> Kind.JSON;
            case "application/x-npy" -> Kind.NPY;
            default -> throw new HttpError(415, (type == null ? "no Content-Type" : "Content-Type '" + type + "' is not accepted")
                    + ": send application/json ({\"features\": [[...], ...]} or {\"logits\": ...}) or application/x-npy (a .npy file)");
        };
    }

    /** The body, at most {@code max} bytes. */
    static Body read(HttpExchange ex, int max) throws IOException {
        long declared = declaredLength(ex);
        InputStream in = ex.getRequestBody();
        if (declared > max) throw tooLarge(in, declared + " bytes", max);
        byte[] buf = new byte[declared >= 0 ? (int) declared : Math.min(max, 64 * 1024)];
        int n = 0;
        while (true) {
            if (n == buf.length) {
                if (declared >= 0 || buf.length == max) {   // full: the body must end here
                    if (in.read() >= 0) throw tooLarge(in, "more than " + max + " bytes", max);
                    return new Body(buf, n);
                }
                buf = Arrays.copyOf(buf, (int) Math.min(max, 2L * buf.length));
            }
            int r = in.read(buf, n, buf.length - n);
            if (r < 0) return new Body(buf, n);
            n += r;
        }
    }

    /** The Content-Length, or -1 when the body is chunked. */
    private static long declaredLength(HttpExchange ex) {
        String value = ex.getRequestHeaders().getFirst("Content-Length");
        if (value == null) return -1;
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Content-Length '" + value + "' is not a number");
        }
    }

    /**
     * The 413, after the rest of the body is read and dropped (a small buffer, nothing kept): a
     * client still sending when the server closes the connection gets a reset instead of the
     * answer. Beyond {@link #DISCARD_LIMIT} the connection is closed all the same.
     */
    private static HttpError tooLarge(InputStream in, String size, int max) throws IOException {
        byte[] sink = new byte[64 * 1024];
        for (long dropped = 0; dropped < DISCARD_LIMIT; ) {
            int r = in.read(sink);
            if (r < 0) break;
            dropped += r;
        }
        return new HttpError(413, "request body of " + size + " is over the limit of " + max + " bytes (--max-body)");
    }
}
