package org.ood4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

/**
 * What the server tests share: two fitted states (KLMatching on 4-class logits, calibrated;
 * Mahalanobis on 8-dimensional features), a server on a free loopback port, and a real HTTP client.
 */
final class ServeFixture {
    static final int CLASSES = 4, DIM = 8;
    final Path kl, maha, logits, features;
    final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    final StringWriter log = new StringWriter();

    /** Fits, calibrates and saves the two detectors in {@code dir}. */
    ServeFixture(Path dir) throws IOException {
        logits = dir.resolve("logits.npy");
        features = dir.resolve("features.npy");
        Path labels = dir.resolve("labels.npy");
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(11);
            long[] y = new long[200];
            for (int i = 0; i < y.length; i++) y[i] = i % CLASSES;
            Npy.write(labels, Tensor.of(y));
            Npy.write(logits, Tensor.randn(rng, DType.FLOAT32, 200, CLASSES));
            Npy.write(features, Tensor.randn(rng, DType.FLOAT32, 200, DIM));
        }
        kl = dir.resolve("kl.st");
        maha = dir.resolve("maha.st");
        cli("fit", "--detector", "KLMatching", "--logits", logits.toString(), "--labels", labels.toString(), "-o", kl.toString());
        cli("calibrate", "--state", kl.toString(), "--logits", logits.toString(), "--tpr", "0.9");
        cli("fit", "--detector", "Mahalanobis", "--features", features.toString(), "--labels", labels.toString(), "-o", maha.toString());
    }

    private static void cli(String... args) {
        CliBadInputTest.Run r = CliBadInputTest.run(args);
        assertEquals(0, r.code(), r.err());
    }

    /** A server for both detectors ("kl", "maha") on a free port of 127.0.0.1. */
    ScoringServer start(int threads, int maxBody) throws IOException {
        List<ServedDetector> served = new ArrayList<>();
        served.add(ServedDetector.of("kl", Scoring.load(kl, Device.CPU)));
        served.add(ServedDetector.of("maha", Scoring.load(maha, Device.CPU)));
        return new ScoringServer(served, new ScoringServer.Config("127.0.0.1", 0, threads, maxBody, Device.CPU),
                new PrintWriter(log, true)).start();
    }

    HttpResponse<String> post(ScoringServer server, String path, String type, byte[] body) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.url() + path)).timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (type != null) b.header("Content-Type", type);
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(ScoringServer server, String path) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(URI.create(server.url() + path)).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** {"KEY": [[...], ...]} with every float in its shortest exact text. */
    static byte[] json(String key, float[] data, int cols) {
        StringBuilder sb = new StringBuilder("{\"").append(key).append("\": [");
        for (int i = 0; i < data.length; i++) {
            sb.append(i % cols == 0 ? (i == 0 ? "[" : "], [") : ", ").append(data[i]);
        }
        return sb.append(data.length == 0 ? "]}" : "]]}").toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Random float32 values, (rows, cols) row-major. */
    static float[] randomRows(SplittableRandom rng, int rows, int cols) {
        float[] x = new float[rows * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rng.nextGaussian() * 2);
        return x;
    }
}
