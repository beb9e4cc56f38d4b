package org.ood4j.spark;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

/**
 * Seeded data for the tests: Gaussian features of a few classes (distinct means, shared
 * spread), the logits of a fixed linear head on them (so logits detectors see a classifier that
 * is mostly but not always right), and held-out rows with shifted ones among them.
 */
record TestData(int n, int dim, int classes, float[] features, float[] logits, long[] labels, float[] w, float[] b) {
    static TestData of(long seed, int n, int dim, int classes) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] means = new float[classes * dim];
        for (int i = 0; i < means.length; i++) means[i] = (float) (3 * r.nextGaussian());
        float[] w = new float[classes * dim], b = new float[classes];
        for (int c = 0; c < classes; c++) {
            for (int j = 0; j < dim; j++) w[c * dim + j] = means[c * dim + j] / dim + (float) (0.05 * r.nextGaussian());
            b[c] = (float) (0.1 * r.nextGaussian());
        }
        float[] x = new float[n * dim], z = new float[n * classes];
        long[] y = new long[n];
        for (int i = 0; i < n; i++) {
            int c = r.nextInt(classes);
            y[i] = i % 17 == 16 ? -1 : c;   // a few OOD-marked rows, which every fit skips
            boolean shifted = i % 11 == 0;
            for (int j = 0; j < dim; j++) x[i * dim + j] = (float) (means[c * dim + j] + (shifted ? 4 : 1) * r.nextGaussian());
            for (int k = 0; k < classes; k++) {
                double v = b[k];
                for (int j = 0; j < dim; j++) v += w[k * dim + j] * x[i * dim + j];
                z[i * classes + k] = (float) (v + 0.5 * r.nextGaussian());
            }
        }
        return new TestData(n, dim, classes, x, z, y, w, b);
    }

    /** Rows [from, to) of the features or logits. */
    float[] rows(boolean logitsInput, int from, int to) {
        int width = logitsInput ? classes : dim;
        return java.util.Arrays.copyOfRange(logitsInput ? logits : features, from * width, to * width);
    }

    long[] labels(int from, int to) {
        return java.util.Arrays.copyOfRange(labels, from, to);
    }

    /** The head's weight and bias written as .npy files in {@code dir}: {w, b} paths. */
    Path[] writeHead(Path dir) throws java.io.IOException {
        Path wf = dir.resolve("w.npy"), bf = dir.resolve("b.npy");
        try (Tensor tw = Tensor.of(w, classes, dim); Tensor tb = Tensor.of(b, classes)) {
            Npy.write(wf, tw);
            Npy.write(bf, tb);
        }
        return new Path[] {wf, bf};
    }

    /** {@code name=@file} pairs of the head: w=..., b=... or head.weight=..., head.bias=... */
    static List<String> headParams(Path[] head, String weight, String bias) {
        List<String> out = new ArrayList<>();
        out.add(weight + "=@" + head[0]);
        out.add(bias + "=@" + head[1]);
        return out;
    }
}
