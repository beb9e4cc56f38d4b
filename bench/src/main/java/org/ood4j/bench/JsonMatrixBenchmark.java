package org.ood4j.bench;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.ood4j.engine.io.JsonMatrix;
import org.openjdk.jmh.annotations.*;

/**
 * The scoring server's JSON request reader ({@link JsonMatrix}) on a body of about {@code mb} MB:
 * rows of {@code cols} float32 values. {@code text} is how the client wrote them: {@code float}
 * is Java's or NumPy's shortest float32 text (e.g. 1.2345678, the fast path), {@code double17}
 * Python's json.dumps of float64 values (17 significant digits: every number on the slow path,
 * Float.parseFloat). MB/s = bodyBytes / (time in s) / 1e6; the body's exact size is printed at
 * setup.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class JsonMatrixBenchmark {
    @Param("64")
    int mb;

    @Param("512")
    int cols;

    @Param({"float", "double17"})
    String text;

    byte[] body;

    @Setup
    public void setup() {
        SplittableRandom rng = new SplittableRandom(1);
        StringBuilder sb = new StringBuilder(mb << 20).append("{\"features\": [");
        for (int row = 0; sb.length() < (mb << 20) - 16 * cols; row++) {
            sb.append(row == 0 ? "[" : ", [");
            for (int c = 0; c < cols; c++) {
                double v = rng.nextGaussian() * 3;
                sb.append(c == 0 ? "" : ", ").append(text.equals("float") ? Float.toString((float) v) : Double.toString(v));
            }
            sb.append(']');
        }
        body = sb.append("]}").toString().getBytes(StandardCharsets.US_ASCII);
        System.out.printf("%nbody: %d bytes (%.1f MB)%n", body.length, body.length / 1e6);
    }

    @Benchmark
    public float parse() {
        JsonMatrix.Result r = JsonMatrix.parse(body, body.length);
        return r.data()[r.data().length - 1];
    }
}
