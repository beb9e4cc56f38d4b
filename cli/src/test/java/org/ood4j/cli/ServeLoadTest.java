package org.ood4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.detectors.FeaturesDetector;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Json;
import org.ood4j.engine.io.Npy;

/**
 * The load test: 8 concurrent clients (each its own HttpClient) x 500 requests of 64 rows
 * against the real server, every tenth request bad. Every good answer carries exactly the scores
 * one thread computes for its rows (in one call over all of them), every bad one its 400; every
 * request is answered once (the server's own counters agree); live native blocks and bytes are
 * back at their baseline afterwards. Prints the throughput and the client-side latencies.
 */
class ServeLoadTest {
    static final int CLIENTS = 8, REQUESTS = 500, ROWS = 64, TOTAL = CLIENTS * REQUESTS, DIM = ServeFixture.DIM;

    @TempDir Path dir;

    /** What request i sends and what it must get back. */
    record Call(String type, byte[] body, int code, String fragment) {}

    @Test
    void eightClientsTimesFiveHundredRequestsEveryAnswerRightAndMemoryFlat() throws Exception {
        ServeFixture fx = new ServeFixture(dir);
        float[] x = ServeFixture.randomRows(new SplittableRandom(21), TOTAL * ROWS, DIM);
        try (ScoringServer server = fx.start(Runtime.getRuntime().availableProcessors(), 64 << 20)) {
            double[] expected = expected(server, x);
            Call[] calls = new Call[TOTAL];
            for (int i = 0; i < TOTAL; i++) calls[i] = call(i, x);
            warmUp(fx, server, calls);
            long blocks = MemoryStats.liveBlocks(), bytes = MemoryStats.liveBytes();

            long[] latency = new long[TOTAL];
            AtomicIntegerArray answered = new AtomicIntegerArray(TOTAL);
            long start = System.nanoTime();
            run(server, calls, expected, latency, answered);
            double seconds = (System.nanoTime() - start) / 1e9;

            for (int i = 0; i < TOTAL; i++) assertEquals(1, answered.get(i), "request " + i + " answered once");
            assertEquals(blocks, MemoryStats.liveBlocks(), "live native blocks back at the baseline");
            assertEquals(bytes, MemoryStats.liveBytes(), "live native bytes back at the baseline");
            String metrics = fx.get(server, "/metrics").body();
            checkCounters(metrics);
            assertEquals("", fx.log.toString(), "no internal error");
            report(seconds, latency, metrics);
        }
    }

    /** The scores of all rows, from one call on this thread. */
    private static double[] expected(ScoringServer server, float[] x) {
        try (Scope s = Scope.open()) {
            return ((FeaturesDetector) server.detectors().get("maha").detector()).predictFeatures(Tensor.of(x, TOTAL * ROWS, DIM))
                    .toDoubleArray();
        }
    }

    /** Request i: its 64 rows as JSON (3 of 4) or .npy, or every tenth one of four bad kinds. */
    private static Call call(int i, float[] x) throws Exception {
        float[] rows = Arrays.copyOfRange(x, i * ROWS * DIM, (i + 1) * ROWS * DIM);
        if (i % 10 != 9) return i % 4 == 0 ? new Call("application/x-npy", npy(rows, DIM), 200, null)
                : new Call("application/json", ServeFixture.json("features", rows, DIM), 200, null);
        return switch (i / 10 % 4) {
            case 0 -> new Call("application/json", new String(ServeFixture.json("features", rows, DIM), StandardCharsets.UTF_8)
                    .replaceFirst("\\], \\[[^,]*,", "], [NaN,").getBytes(StandardCharsets.UTF_8), 400, "row 1, column 0: NaN is not accepted");
            case 1 -> new Call("application/json", ServeFixture.json("features", Arrays.copyOf(rows, ROWS * (DIM - 1)), DIM - 1), 400,
                    "features have dimension 7, expected 8");
            case 2 -> {
                byte[] json = ServeFixture.json("features", rows, DIM);
                yield new Call("application/json", Arrays.copyOf(json, json.length / 2), 400, "the end of the body");
            }
            default -> {
                rows[5 * DIM + 3] = Float.NaN;
                yield new Call("application/x-npy", npy(rows, DIM), 400, "features contain NaN or infinite values (first in row 5)");
            }
        };
    }

    private static byte[] npy(float[] rows, int cols) throws Exception {
        try (Scope s = Scope.open()) {
            return Npy.toBytes(Tensor.of(rows, rows.length / cols, cols));
        }
    }

    /** A few requests of each kind first: JIT, thread-local buffers and connections settle before the baseline is taken. */
    private static void warmUp(ServeFixture fx, ScoringServer server, Call[] calls) throws Exception {
        for (int i = 0; i < 40; i++) {
            Call c = calls[i % 20];
            assertEquals(c.code(), fx.post(server, "/score/maha", c.type(), c.body()).statusCode());
        }
    }

    /** 8 clients, client k sending requests k, k + 8, k + 16, ... one after another; each answer checked. */
    private static void run(ScoringServer server, Call[] calls, double[] expected, long[] latency, AtomicIntegerArray answered)
            throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int k = 0; k < CLIENTS; k++) {
                int client = k;
                done.add(clients.submit(() -> {
                    try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
                        for (int i = client; i < TOTAL; i += CLIENTS) send(http, server, calls[i], i, expected, latency, answered);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) f.get();
        } finally {
            clients.shutdownNow();
        }
    }

    private static void send(HttpClient http, ScoringServer server, Call c, int i, double[] expected, long[] latency,
            AtomicIntegerArray answered) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(server.url() + "/score/maha")).timeout(Duration.ofSeconds(60))
                .header("Content-Type", c.type()).POST(HttpRequest.BodyPublishers.ofByteArray(c.body())).build();
        long t0 = System.nanoTime();
        HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
        latency[i] = System.nanoTime() - t0;
        answered.incrementAndGet(i);
        assertEquals(c.code(), r.statusCode(), "request " + i + ": " + r.body());
        Map<?, ?> body = (Map<?, ?>) Json.parse(r.body());
        if (c.code() != 200) {
            assertTrue(((String) body.get("error")).contains(c.fragment()), "request " + i + ": " + body);
            return;
        }
        double[] scores = ((List<?>) body.get("scores")).stream().mapToDouble(v -> ((Number) v).doubleValue()).toArray();
        assertArrayEquals(Arrays.copyOfRange(expected, i * ROWS, (i + 1) * ROWS), scores, "request " + i + ": its own rows' scores");
    }

    /** The server counted every request once: 40 warm-up requests (4 bad) and the run's. */
    private static void checkCounters(String metrics) {
        int bad = TOTAL / 10 + 4, good = TOTAL + 40 - bad;
        assertTrue(metrics.contains("ood4j_requests_total{detector=\"maha\",code=\"200\"} " + good + "\n"), metrics);
        assertTrue(metrics.contains("ood4j_requests_total{detector=\"maha\",code=\"400\"} " + bad + "\n"), metrics);
        assertTrue(metrics.contains("ood4j_rows_total " + (long) good * ROWS + "\n"), metrics);
        assertTrue(metrics.contains("ood4j_errors_total " + bad + "\n"), metrics);
    }

    /** Client-side throughput and latencies, and the server's own quantiles (its /metrics). */
    private static void report(double seconds, long[] latency, String metrics) {
        long[] sorted = latency.clone();
        Arrays.sort(sorted);
        System.out.printf(Locale.ROOT, "serve load: %d requests (%d rows each, 10%% bad) from %d clients in %.2f s: %.0f requests/s, "
                + "%.0f rows/s; latency p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d cores)%n", TOTAL, ROWS, CLIENTS, seconds, TOTAL / seconds,
                TOTAL * 0.9 * ROWS / seconds, sorted[ServerMetrics.nearestRank(0.5, TOTAL)] / 1e6,
                sorted[ServerMetrics.nearestRank(0.99, TOTAL)] / 1e6, sorted[TOTAL - 1] / 1e6, Runtime.getRuntime().availableProcessors());
        metrics.lines().filter(l -> l.startsWith("ood4j_request_seconds{")).forEach(l -> System.out.println("serve load, server side: " + l));
    }
}
