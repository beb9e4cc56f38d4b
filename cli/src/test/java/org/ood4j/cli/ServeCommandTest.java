package org.ood4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.detectors.Calibration;
import org.ood4j.detectors.FeaturesDetector;
import org.ood4j.detectors.LogitsDetector;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Json;
import org.ood4j.engine.io.Npy;

/** 'ood4j serve' through a real HTTP client: JSON and .npy bodies, decisions, health, metrics, and every refusal. */
class ServeCommandTest {
    @TempDir static Path dir;
    static ServeFixture fx;
    static ScoringServer server;
    static final int LIMIT = 64 * 1024;

    @BeforeAll
    static void start() throws IOException {
        fx = new ServeFixture(dir);
        server = fx.start(2, LIMIT);
    }

    @AfterAll
    static void stop() throws InterruptedException {
        server.close();
    }

    private static Map<?, ?> json(HttpResponse<String> r) {
        return (Map<?, ?>) Json.parse(r.body());
    }

    private static double[] doubles(Object list) {
        return ((List<?>) list).stream().mapToDouble(v -> ((Number) v).doubleValue()).toArray();
    }

    @Test
    void jsonAndNpyBodiesGetTheLibrarysScores() throws Exception {
        float[] x = ServeFixture.randomRows(new SplittableRandom(3), 50, ServeFixture.DIM);
        double[] expected;
        byte[] npy;
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.of(x, 50, ServeFixture.DIM);
            expected = ((FeaturesDetector) server.detectors().get("maha").detector()).predictFeatures(t).toDoubleArray();
            npy = Npy.toBytes(t);
        }
        HttpResponse<String> r = fx.post(server, "/score/maha", "application/json; charset=utf-8", ServeFixture.json("features", x, ServeFixture.DIM));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("maha", json(r).get("detector"));
        assertArrayEquals(expected, doubles(json(r).get("scores")), "every digit");
        assertFalse(json(r).containsKey("is_ood"), "an uncalibrated detector gives scores only");
        HttpResponse<String> n = fx.post(server, "/score/maha", "application/x-npy", npy);
        assertEquals(200, n.statusCode(), n.body());
        assertArrayEquals(expected, doubles(json(n).get("scores")));
    }

    @Test
    void aCalibratedDetectorAnswersItsDecisionsAndPValues() throws Exception {
        float[] x = ServeFixture.randomRows(new SplittableRandom(4), 30, ServeFixture.CLASSES);
        double[] expected;
        try (Scope s = Scope.open()) {
            expected = ((LogitsDetector) server.detectors().get("kl").detector()).predictLogits(Tensor.of(x, 30, ServeFixture.CLASSES))
                    .toDoubleArray();
        }
        Calibration c = server.detectors().get("kl").detector().calibration();
        HttpResponse<String> r = fx.post(server, "/score/kl", "application/json", ServeFixture.json("logits", x, ServeFixture.CLASSES));
        assertEquals(200, r.statusCode(), r.body());
        Map<?, ?> body = json(r);
        assertArrayEquals(expected, doubles(body.get("scores")));
        boolean[] isOod = c.isOod(expected);
        List<?> flags = (List<?>) body.get("is_ood");
        for (int i = 0; i < isOod.length; i++) assertEquals(isOod[i], flags.get(i), "row " + i);
        assertArrayEquals(c.pValues(expected), doubles(body.get("p_value")));
    }

    @Test
    void healthAndMetrics() throws Exception {
        HttpResponse<String> h = fx.get(server, "/health");
        assertEquals(200, h.statusCode());
        assertEquals("ok", json(h).get("status"));
        assertEquals(Map.of("detector", "KLMatching", "input", "logits", "calibrated", true), ((Map<?, ?>) json(h).get("detectors")).get("kl"));

        fx.post(server, "/score/kl", "application/json", "{\"logits\": [[1, 2, 3, 4], [0, 0, 0, 0]]}".getBytes(StandardCharsets.UTF_8));
        fx.post(server, "/score/kl", "application/json", "{\"logits\": [[1, 2]]}".getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> m = fx.get(server, "/metrics");
        assertEquals(200, m.statusCode());
        assertTrue(m.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
        String text = m.body();
        assertTrue(text.matches("(?s).*ood4j_requests_total\\{detector=\"kl\",code=\"200\"} [1-9]\\d*\n.*"), text);
        assertTrue(text.matches("(?s).*ood4j_requests_total\\{detector=\"kl\",code=\"400\"} [1-9]\\d*\n.*"), text);
        assertTrue(text.matches("(?s).*ood4j_rows_total [1-9]\\d*\n.*"), text);
        assertTrue(text.matches("(?s).*ood4j_errors_total [1-9]\\d*\n.*"), text);
        assertTrue(text.matches("(?s).*ood4j_request_seconds\\{quantile=\"0.5\"} \\d+\\.\\d+\n.*"), text);
        assertTrue(text.matches("(?s).*ood4j_request_seconds\\{quantile=\"0.99\"} \\d+\\.\\d+\n.*"), text);
    }

    record Bad(String what, int code, String fragment, String method, String path, String type, byte[] body) {}

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void everyBadRequestGetsItsFourHundredAsOneJsonLineAndTheServerCarriesOn() throws Exception {
        byte[] ok = bytes("{\"logits\": [[1, 2, 3, 4]]}");
        byte[] intNpy;
        try (Scope s = Scope.open()) {
            intNpy = Npy.toBytes(Tensor.of(new long[] {1, 2, 3, 4}, 1, 4));
        }
        List<Bad> cases = List.of(
                new Bad("unknown detector", 404, "no detector 'nope'; served: [kl, maha]", "POST", "/score/nope", "application/json", ok),
                new Bad("unknown path", 404, "no such path: /predict", "POST", "/predict", "application/json", ok),
                new Bad("/score with two detectors", 404, "2 detectors are served", "POST", "/score", "application/json", ok),
                new Bad("GET on /score", 405, "GET is not allowed on /score/kl; use POST", "GET", "/score/kl", null, null),
                new Bad("POST on /health", 405, "POST is not allowed on /health; use GET", "POST", "/health", "application/json", ok),
                new Bad("malformed JSON", 400, "expected ',' or ']' after column 1", "POST", "/score/kl", "application/json",
                        bytes("{\"logits\": [[1, 2 3]]}")),
                new Bad("wrong dimension", 400, "KLMatching: logits have 3 classes, the detector was fitted on 4", "POST", "/score/kl",
                        "application/json", bytes("{\"logits\": [[1, 2, 3]]}")),
                new Bad("features dimension", 400, "Mahalanobis: features have dimension 2, expected 8", "POST", "/score/maha",
                        "application/json", bytes("{\"features\": [[1, 2]]}")),
                new Bad("NaN", 400, "row 1, column 2: NaN is not accepted", "POST", "/score/kl", "application/json",
                        bytes("{\"logits\": [[1, 2, 3, 4], [1, 2, NaN, 4]]}")),
                new Bad("wrong key", 400, "KLMatching ('kl') scores \"logits\", got \"features\"", "POST", "/score/kl", "application/json",
                        bytes("{\"features\": [[1, 2, 3, 4]]}")),
                new Bad("no rows", 400, "has 0 rows", "POST", "/score/kl", "application/json", bytes("{\"logits\": []}")),
                new Bad("malformed npy", 400, "request body", "POST", "/score/kl", "application/x-npy", bytes("\u0093NUMPY nonsense")),
                new Bad("integer npy", 400, "must be float32 or float64", "POST", "/score/kl", "application/x-npy", intNpy),
                new Bad("over the limit", 413, "over the limit of 65536 bytes", "POST", "/score/kl", "application/json",
                        new byte[LIMIT + 1]),
                new Bad("unknown content type", 415, "Content-Type 'text/plain' is not accepted", "POST", "/score/kl", "text/plain", ok),
                new Bad("no content type", 415, "no Content-Type", "POST", "/score/kl", null, ok));
        for (Bad c : cases) {
            HttpResponse<String> r = c.method().equals("GET") ? fx.get(server, c.path()) : fx.post(server, c.path(), c.type(), c.body());
            assertEquals(c.code(), r.statusCode(), c.what() + ": " + r.body());
            assertFalse(r.body().contains("\n"), c.what() + ": one line");
            String error = (String) json(r).get("error");
            assertTrue(error.contains(c.fragment()), c.what() + ": " + error);
            assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), c.what());
        }
        assertEquals(200, fx.post(server, "/score/kl", "application/json", ok).statusCode(), "still serving");
        assertEquals("", fx.log.toString(), "no internal error logged");
    }

    @Test
    void anInternalFaultIsAFiveHundredLoggedWithItsStackTraceAndTheServerCarriesOn() throws Exception {
        ServedDetector broken = ServedDetector.of("broken", Scoring.load(fx.maha, org.ood4j.engine.Device.CPU));
        broken.detector().close();   // its state freed under the server: a fault of ours, not of the request
        StringWriter log = new StringWriter();
        try (ScoringServer s = new ScoringServer(List.of(broken), new ScoringServer.Config("127.0.0.1", 0, 1, LIMIT,
                org.ood4j.engine.Device.CPU), new PrintWriter(log, true)).start()) {
            HttpResponse<String> r = fx.post(s, "/score", "application/json", bytes("{\"features\": [[1, 2, 3, 4, 5, 6, 7, 8]]}"));
            assertEquals(500, r.statusCode(), r.body());
            assertTrue(((String) json(r).get("error")).startsWith("internal error: "), r.body());
            assertTrue(log.toString().contains("internal error on POST /score:") && log.toString().contains("\tat org.ood4j."), log.toString());
            assertEquals(200, fx.get(s, "/health").statusCode(), "still serving");
        }
    }

    @Test
    void theCommandPrintsItsUrlServesAndStopsWhenInterrupted() throws Exception {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int[] code = {-1};
        Thread serve = Thread.ofPlatform().start(() -> code[0] = Main.run(new String[] {"serve", "--state", "k=" + fx.kl, "--port", "0",
                "--threads", "1"}, new PrintWriter(out, true), new PrintWriter(err, true)));
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!out.toString().contains("\n") && System.nanoTime() < deadline && serve.isAlive()) Thread.sleep(20);
        String first = out.toString().lines().findFirst().orElseThrow(() -> new AssertionError("no URL printed: " + err));
        assertTrue(first.matches("listening on http://127\\.0\\.0\\.1:\\d+"), first);
        String url = first.substring("listening on ".length());
        HttpResponse<String> r = fx.client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url + "/score"))
                .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                        "{\"logits\": [[1, 2, 3, 4]]}")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), "/score names the only detector: " + r.body());
        assertEquals("k", json(r).get("detector"));
        serve.interrupt();
        serve.join(30_000);
        assertFalse(serve.isAlive());
        assertEquals(0, code[0], err.toString());
        assertTrue(out.toString().contains("POST /score/k  KLMatching (logits, calibrated)"), out.toString());
    }

    @Test
    void detectorsTheServerCannotFeedAreRefusedAtStart() throws IOException {
        Path layers = dir.resolve("layers.npy"), labels = dir.resolve("gram-labels.npy"), gram = dir.resolve("gram.st");
        try (Scope s = Scope.open()) {
            Npy.write(layers, Tensor.randn(new SplittableRandom(5), org.ood4j.engine.DType.FLOAT32, 40, 3, 2, 2));
            Npy.write(labels, Tensor.of(new SplittableRandom(6).longs(40, 0, 4).toArray()));
        }
        assertEquals(0, CliBadInputTest.run("fit", "--detector", "Gram", "--param", "num_classes=4", "--layers", layers.toString(),
                "--labels", labels.toString(), "-o", gram.toString()).code());
        CliBadInputTest.Run r = CliBadInputTest.run("serve", "--state", gram.toString(), "--port", "0");
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("gram: Gram is not served: the server takes logits or features detectors"), r.err());
        CliBadInputTest.Run twice = CliBadInputTest.run("serve", "--state", "a=" + fx.kl, "--state", "a=" + fx.maha, "--port", "0");
        assertTrue(twice.err().contains("two detectors are named 'a'"), twice.err());
        CliBadInputTest.Run size = CliBadInputTest.run("serve", "--state", fx.kl.toString(), "--max-body", "lots");
        assertTrue(size.err().contains("--max-body must be a size"), size.err());
        long blocks = org.ood4j.engine.MemoryStats.liveBlocks();
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            CliBadInputTest.Run busy = CliBadInputTest.run("serve", "--state", fx.kl.toString(), "--port", "" + taken.getLocalPort());
            assertNotEquals(0, busy.code());
            assertTrue(busy.err().contains("BindException"), busy.err());
        }
        assertEquals(blocks, org.ood4j.engine.MemoryStats.liveBlocks(), "the detectors of a server that could not start are freed");
    }
}
