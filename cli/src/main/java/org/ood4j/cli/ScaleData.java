package org.ood4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.LongConsumer;
import java.util.stream.IntStream;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.AtomicFile;
import org.ood4j.engine.io.Json;
import org.ood4j.engine.io.Npy;

/**
 * Synthetic penultimate features of ImageNet's size (by default 1,281,167 x 2048 float32 in 1000
 * classes, 10.5 GB) for checking fits at scale: each row is ReLU(mu_y + e), e ~ N(0, I), with
 * class centres mu_c ~ N(0, I) and labels y uniform over the classes — non-negative like a
 * ResNet's pooled features, and class-structured. The query file holds as many in-distribution
 * rows (from the same centres) as rows around {@link #OOD_CENTRES} unseen centres (label -1).
 * A linear head for the detectors that take one (ViM, NNGuide, ...): the nearest-centre classifier
 * of the noise-free centres, logits_c(x) = mu_c . x - |mu_c|^2 / 2 (W = the centres, b_c = -|mu_c|^2 / 2).
 *
 * <p>Written in chunks of {@link #CHUNK} rows, so memory does not grow with the row count. Every
 * value depends only on the seed and its row: a block of {@link #BLOCK} rows draws from its own
 * {@link SplittableRandom} (seeded by the seed and the block index) and a label is a hash of the
 * seed and the row, so the output is the same for any thread count, and the labels are written in
 * a pass of their own without keeping them.
 */
final class ScaleData {
    /** Rows per random stream: the unit of parallel work. */
    static final int BLOCK = 512;
    /** Rows generated and written at once (CHUNK x D float32: 32 MB at D = 2048). */
    static final int CHUNK = 4096;
    /** Centres of the out-of-distribution query rows. */
    static final int OOD_CENTRES = 100;
    static final String FEATURES = "features.npy", LABELS = "labels.npy", QUERIES = "queries.npy", QUERY_LABELS = "query_labels.npy",
            HEAD_W = "head_w.npy", HEAD_B = "head_b.npy";

    /** What to generate. */
    record Spec(long rows, int dim, int classes, int queries, long seed) {
        Spec {
            if (rows < 1 || dim < 1 || classes < 1 || queries < 0) {
                throw new IllegalArgumentException("--rows, --dim and --classes must be at least 1 and --queries at least 0, got rows "
                        + rows + ", dim " + dim + ", classes " + classes + ", queries " + queries);
            }
        }
    }

    private ScaleData() {}

    /** Writes the four arrays and {@code scale.json} (the spec) into {@code dir}; {@code progress} gets the feature rows done. */
    static void generate(Path dir, Spec s, LongConsumer progress) throws IOException {
        Files.createDirectories(dir);
        SplittableRandom root = new SplittableRandom(s.seed());
        float[] centres = gaussians(root.split(), (long) s.classes() * s.dim());
        float[] oodCentres = gaussians(root.split(), (long) OOD_CENTRES * s.dim());
        long idSeed = root.nextLong(), querySeed = root.nextLong();
        Npy.write(dir.resolve(FEATURES), DType.FLOAT32, new long[] {s.rows(), s.dim()},
                sink -> rows(s.rows(), s.dim(), r -> centres, r -> label(idSeed, r, s.classes()), idSeed, sink, progress));
        Npy.write(dir.resolve(LABELS), DType.INT64, new long[] {s.rows()}, sink -> labels(s.rows(), r -> label(idSeed, r, s.classes()), sink));
        long half = s.queries() / 2;
        // query row r < half: ID, class label(querySeed, r); r >= half: around OOD centre label(..) of the unseen ones, label -1
        java.util.function.LongToIntFunction queryClass = r -> label(querySeed, r, r < half ? s.classes() : OOD_CENTRES);
        Npy.write(dir.resolve(QUERIES), DType.FLOAT32, new long[] {s.queries(), s.dim()},
                sink -> rows(s.queries(), s.dim(), r -> r < half ? centres : oodCentres, queryClass, querySeed, sink, r -> {}));
        Npy.write(dir.resolve(QUERY_LABELS), DType.INT64, new long[] {s.queries()},
                sink -> labels(s.queries(), r -> r < half ? queryClass.applyAsInt(r) : -1, sink));
        writeHead(dir, centres, s.classes(), s.dim());
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("rows", s.rows());
        spec.put("dim", s.dim());
        spec.put("classes", s.classes());
        spec.put("queries", s.queries());
        spec.put("seed", s.seed());
        spec.put("model", "x = relu(mu_y + e), mu_c ~ N(0, I), e ~ N(0, I), y uniform; queries: first half ID, second half around "
                + OOD_CENTRES + " unseen centres (label -1); head: W = mu, b_c = -|mu_c|^2 / 2");
        AtomicFile.writeString(dir.resolve("scale.json"), Json.writePretty(spec) + "\n");
    }

    /** W = the centres (C, D), b_c = -|mu_c|^2 / 2: argmax of z W^T + b is the nearest centre. */
    private static void writeHead(Path dir, float[] centres, int classes, int dim) throws IOException {
        double[] bias = new double[classes];
        for (int c = 0; c < classes; c++) {
            double sq = 0;
            for (int d = 0; d < dim; d++) sq += (double) centres[c * dim + d] * centres[c * dim + d];
            bias[c] = -sq / 2;
        }
        try (Tensor w = Tensor.of(centres, classes, dim); Tensor b = Tensor.of(bias)) {
            Npy.write(dir.resolve(HEAD_W), w);
            Npy.write(dir.resolve(HEAD_B), b);
        }
    }

    /** The rows of a file, a chunk at a time, its blocks in parallel. */
    private static void rows(long n, int dim, java.util.function.LongFunction<float[]> centresOf, java.util.function.LongToIntFunction classOf,
                             long seed, Npy.Sink sink, LongConsumer progress) throws IOException {
        float[] chunk = new float[Math.toIntExact(Math.min(n, CHUNK) * dim)];
        for (long start = 0; start < n; start += CHUNK) {
            int rows = (int) Math.min(CHUNK, n - start);
            long first = start;
            IntStream.range(0, (rows + BLOCK - 1) / BLOCK).parallel().forEach(b -> {
                long block = first / BLOCK + b;
                SplittableRandom rng = new SplittableRandom(mix(seed ^ mix(block)));
                for (int i = b * BLOCK; i < Math.min(rows, (b + 1) * BLOCK); i++) {
                    long r = first + i;
                    float[] centres = centresOf.apply(r);
                    int base = classOf.applyAsInt(r) * dim, out = i * dim;
                    for (int d = 0; d < dim; d++) chunk[out + d] = (float) Math.max(0, centres[base + d] + rng.nextGaussian());
                }
            });
            try (Tensor t = Tensor.of(rows * dim == chunk.length ? chunk : java.util.Arrays.copyOf(chunk, rows * dim), rows, dim)) {
                sink.write(t);
            }
            progress.accept(start + rows);
        }
    }

    /** The labels of a file, a chunk at a time. */
    private static void labels(long n, java.util.function.LongToIntFunction classOf, Npy.Sink sink) throws IOException {
        for (long start = 0; start < n; start += CHUNK) {
            long[] y = new long[(int) Math.min(CHUNK, n - start)];
            for (int i = 0; i < y.length; i++) y[i] = classOf.applyAsInt(start + i);
            try (Tensor t = Tensor.of(y, y.length)) {
                sink.write(t);
            }
        }
    }

    private static float[] gaussians(SplittableRandom rng, long count) {
        float[] v = new float[Math.toIntExact(count)];
        for (int i = 0; i < v.length; i++) v[i] = (float) rng.nextGaussian();
        return v;
    }

    /** Row r's class in [0, classes): a hash of the seed and the row (uniform, no state). */
    static int label(long seed, long row, int classes) {
        return (int) Math.floorMod(mix(seed + 0x9E3779B97F4A7C15L * (row + 1)), (long) classes);
    }

    /** The finaliser of SplitMix64 (Steele et al., 2014): a bijection that scatters nearby inputs. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
