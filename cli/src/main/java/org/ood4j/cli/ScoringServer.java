package org.ood4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.ArrayFormatException;
import org.ood4j.engine.io.Json;
import org.ood4j.engine.io.JsonMatrix;
import org.ood4j.engine.io.Npy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * The HTTP scoring server behind 'ood4j serve', on the JDK's own {@code com.sun.net.httpserver}
 * (no dependency; HTTP/1.1 with keep-alive, and handlers on a fixed pool of threads).
 *
 * <p>{@code POST /score/{name}} (or {@code /score} when one detector is served) scores a JSON or
 * .npy batch; {@code GET /health}; {@code GET /metrics} (Prometheus text). The detectors are
 * shared read-only by every handler thread; each request scores inside its own {@link Scope}, so
 * its native memory is freed when it is answered, whatever happens. A bad request gets a 4xx and
 * a one-line JSON error; a 500 is a fault of ours and is logged with its stack trace.
 */
final class ScoringServer implements AutoCloseable {
    /** Where to listen, how many handler threads, the largest body accepted and the detectors' device. */
    record Config(String host, int port, int threads, int maxBody, Device device) {
        Config {
            if (threads < 1) throw new IllegalArgumentException("--threads must be at least 1, got " + threads);
            if (maxBody < 1) throw new IllegalArgumentException("--max-body must be at least 1 byte, got " + maxBody);
        }
    }

    private final Map<String, ServedDetector> served = new LinkedHashMap<>();
    private final Config config;
    private final PrintWriter log;
    private final ServerMetrics metrics = new ServerMetrics();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private HttpServer http;
    private ExecutorService pool;

    /**
     * Serves the detectors (in order). The server owns them from this call on: {@link #close}
     * frees them, started or not, and a refused list (two of one name, none) is freed at once.
     */
    ScoringServer(List<ServedDetector> detectors, Config config, PrintWriter log) {
        this.config = config;
        this.log = log;
        for (ServedDetector d : detectors) {
            if (served.putIfAbsent(d.name(), d) != null) {
                for (ServedDetector each : detectors) each.detector().close();
                throw new IllegalArgumentException("two detectors are named '" + d.name() + "'");
            }
        }
        if (served.isEmpty()) throw new IllegalArgumentException("no detector to serve");
    }

    /** Binds the port (0: a free one) and starts answering; on failure (e.g. the port is taken) {@link #close} still frees the detectors. */
    ScoringServer start() throws IOException {
        http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 0);
        pool = Executors.newFixedThreadPool(config.threads(), Thread.ofPlatform().name("ood4j-serve-", 1).daemon(true).factory());
        http.setExecutor(pool);
        http.createContext("/", this::handle);   // one context: every path, unknown ones included, gets a JSON answer
        http.start();
        return this;
    }

    /** The port listened on (the free one picked for port 0). */
    int port() {
        return http.getAddress().getPort();
    }

    /** The server's base URL, e.g. http://127.0.0.1:8080 */
    String url() {
        String host = http.getAddress().getHostString();
        return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port();
    }

    /** The detectors served, by name. */
    Map<String, ServedDetector> detectors() {
        return java.util.Collections.unmodifiableMap(served);
    }

    /** Blocks until {@link #close} has stopped the server. */
    void awaitStop() throws InterruptedException {
        stopped.await();
    }

    /**
     * Stops listening, lets running requests finish (a few seconds at most) and frees the detectors —
     * only once no handler can still be using them.
     */
    @Override
    public synchronized void close() throws InterruptedException {
        if (stopped.getCount() == 0) return;
        if (http != null) http.stop(1);
        if (pool != null) {
            pool.shutdown();
            if (!pool.awaitTermination(30, TimeUnit.SECONDS)) {
                log.println("ood4j serve: requests still running after 30 s; their detectors are left to the process exit");
                stopped.countDown();
                return;
            }
        }
        for (ServedDetector d : served.values()) d.detector().close();
        stopped.countDown();
    }

    /** One exchange: route, answer, count. Never throws: the server outlives every request. */
    private void handle(HttpExchange ex) {
        long start = System.nanoTime();
        String path = ex.getRequestURI().getPath();
        Response r = answer(ex, path);
        send(ex, r);
        if (path.equals("/score") || path.startsWith("/score/")) {
            metrics.record(label(path), r.code(), r.rows(), System.nanoTime() - start);
        }
    }

    /** The response to a request, errors included. */
    private Response answer(HttpExchange ex, String path) {
        try {
            return route(ex, path);
        } catch (HttpError e) {
            return Response.error(e.code, e.getMessage(), e.allow);
        } catch (IllegalArgumentException | ArrayFormatException e) {   // the content: malformed, wrong shape, NaN, ...
            return Response.error(400, e.getMessage(), null);
        } catch (IOException e) {   // the client stopped sending; it will likely not read this either
            return Response.error(400, "could not read the request body: " + e.getMessage(), null);
        } catch (RuntimeException | OutOfMemoryError e) {
            log.println("ood4j serve: internal error on " + ex.getRequestMethod() + " " + path + ":");
            e.printStackTrace(log);
            return Response.error(500, "internal error: " + e, null);
        }
    }

    private Response route(HttpExchange ex, String path) throws IOException {
        return switch (path) {
            case "/health" -> {
                requireMethod(ex, "GET");
                yield Response.json(200, health(), 0);
            }
            case "/metrics" -> {
                requireMethod(ex, "GET");
                yield new Response(200, "text/plain; version=0.0.4; charset=utf-8", utf8(metrics.prometheus()), 0, null);
            }
            default -> {
                if (!path.equals("/score") && !path.startsWith("/score/")) {
                    throw new HttpError(404, "no such path: " + path + " (POST /score/{name}, GET /health, GET /metrics)");
                }
                ServedDetector d = target(path);
                requireMethod(ex, "POST");
                yield score(ex, d);
            }
        };
    }

    /** Reads the body, scores it in a scope of its own (everything it allocates is freed on return), answers. */
    private Response score(HttpExchange ex, ServedDetector d) throws IOException {
        RequestBodies.Kind kind = RequestBodies.kind(ex);
        RequestBodies.Body body = RequestBodies.read(ex, config.maxBody());
        try (Scope s = Scope.open()) {
            Tensor x = kind == RequestBodies.Kind.JSON ? fromJson(body, d) : fromNpy(body);
            double[] scores = d.scores(x, config.device());
            return Response.json(200, d.answer(scores), scores.length);
        }
    }

    private static Tensor fromJson(RequestBodies.Body body, ServedDetector d) {
        JsonMatrix.Result m = JsonMatrix.parse(body.bytes(), body.length());
        if (!m.key().equals(d.input())) {
            throw new IllegalArgumentException(d.detector().name() + " ('" + d.name() + "') scores \"" + d.input() + "\", got \""
                    + m.key() + "\"");
        }
        if (m.rows() == 0) throw new IllegalArgumentException("\"" + m.key() + "\" has 0 rows: nothing to score");
        return m.toTensor();
    }

    private static Tensor fromNpy(RequestBodies.Body body) throws IOException {
        Tensor x = Npy.readBytes(body.exact(), "request body");
        if (x.dtype() == DType.INT64) throw new IllegalArgumentException("request body: the array must be float32 or float64, got integers");
        return x;
    }

    /** The detector a /score path names; /score alone names the only one. */
    private ServedDetector target(String path) {
        if (path.equals("/score") || path.equals("/score/")) {
            if (served.size() == 1) return served.values().iterator().next();
            throw new HttpError(404, served.size() + " detectors are served: POST /score/{name}, name one of " + served.keySet());
        }
        ServedDetector d = served.get(path.substring("/score/".length()));
        if (d == null) throw new HttpError(404, "no detector '" + path.substring("/score/".length()) + "'; served: " + served.keySet());
        return d;
    }

    /** The metrics' detector label: the served name, "" for none (unknown names do not make new series). */
    private String label(String path) {
        try {
            return target(path).name();
        } catch (HttpError e) {
            return "";
        }
    }

    /** {"status": "ok", "detectors": {name: {"detector", "input", "calibrated"}, ...}}. */
    private Map<String, Object> health() {
        Map<String, Object> detectors = new LinkedHashMap<>();
        served.forEach((name, d) -> detectors.put(name, d.describe()));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("status", "ok");
        out.put("detectors", detectors);
        return out;
    }

    private static void requireMethod(HttpExchange ex, String method) {
        if (!ex.getRequestMethod().equals(method)) {
            throw new HttpError(405, ex.getRequestMethod() + " is not allowed on " + ex.getRequestURI().getPath() + "; use " + method, method);
        }
    }

    /** Writes the response and ends the exchange; a client that has gone away is no error of ours. */
    private static void send(HttpExchange ex, Response r) {
        try (ex) {
            ex.getResponseHeaders().set("Content-Type", r.type());
            if (r.allow() != null) ex.getResponseHeaders().set("Allow", r.allow());
            ex.sendResponseHeaders(r.code(), r.body().length);
            ex.getResponseBody().write(r.body());
        } catch (IOException e) {
            // the connection is closed: nothing left to tell the client
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A status, its body and type, the rows it scored (for the metrics) and, for a 405, the allowed method. */
    private record Response(int code, String type, byte[] body, long rows, String allow) {
        static Response json(int code, Object value, long rows) {
            return new Response(code, "application/json", utf8(Json.write(value)), rows, null);
        }

        /** {"error": "one line"}. */
        static Response error(int code, String message, String allow) {
            String line = message == null ? "no message" : message.replaceAll("\\s*[\\r\\n]+\\s*", " ");
            return new Response(code, "application/json", utf8(Json.write(Map.of("error", line))), 0, allow);
        }
    }
}
