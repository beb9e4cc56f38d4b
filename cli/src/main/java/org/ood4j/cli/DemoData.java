package org.ood4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Idx;

/**
 * The demo's images: Fashion-MNIST classes 0–4 are in-distribution, classes 5–9 (never seen in
 * training) near-OOD, and uniform-noise images far-OOD. The test split ships with the command
 * (a class-path resource); the 60000-image training split is read from Debian's
 * {@code dataset-fashion-mnist} folder when it is there, and otherwise the first 6000 test
 * images stand in for it. Images are (N, 1, 28, 28) float32, standardised; labels int64.
 */
final class DemoData implements AutoCloseable {
    static final Path SYSTEM_DIR = Path.of("/usr/share/datasets/fashion-mnist");
    static final int ID_CLASSES = 5;
    /** Test images used for training when the training split is missing; the rest are for evaluation. */
    static final int EMBEDDED_TRAIN = 6000;
    private static final double MEAN = 0.2860, STD = 0.3530;
    private static final String RESOURCES = "fashion-mnist/";

    /** How many images each part gets (at most; fewer when the pool is smaller). */
    record Sizes(int train, int fit, int eval) {}

    /** Images and labels (OOD sets have label -1). */
    record Images(Tensor x, Tensor y) {
        long size() { return x.size(0); }

        Images keptBy(Scope scope) {
            scope.keepAll(x, y);
            return this;
        }

        /** These images on {@code device}, moved (the host copies are closed when they differ). */
        Images on(Device device) {
            return new Images(x.movedTo(device), y.movedTo(device));
        }
    }

    final String source;
    final Images train, fit, id, near, far;

    private DemoData(String source, Images train, Images fit, Images id, Images near, Images far) {
        this.source = source;
        this.train = train;
        this.fit = fit;
        this.id = id;
        this.near = near;
        this.far = far;
    }

    /** Loads and splits the data; {@code trainDir} is where the training split may be (null: use the test split only). */
    static DemoData load(Path trainDir, Sizes sizes, long seed, Device device) throws IOException {
        SplittableRandom rng = new SplittableRandom(seed);
        try (Scope s = Scope.open()) {
            Tensor testImages = resource("t10k-images-idx3-ubyte.gz"), testLabels = resource("t10k-labels-idx1-ubyte.gz");
            Tensor trainImages, trainLabels, evalImages, evalLabels;
            String source;
            Path images = trainDir == null ? null : trainDir.resolve("train-images-idx3-ubyte.gz");
            Path labels = trainDir == null ? null : trainDir.resolve("train-labels-idx1-ubyte.gz");
            if (images != null && Files.isReadable(images) && Files.isReadable(labels)) {
                trainImages = Idx.read(images);
                trainLabels = Idx.read(labels);
                evalImages = testImages;
                evalLabels = testLabels;
                source = "Fashion-MNIST training split (" + trainImages.size(0) + " images, " + trainDir
                        + ") for training and fitting, the test split (embedded) for evaluation";
            } else {
                long n = testImages.size(0);
                trainImages = testImages.slice(0, 0, EMBEDDED_TRAIN);
                trainLabels = testLabels.slice(0, 0, EMBEDDED_TRAIN);
                evalImages = testImages.slice(0, EMBEDDED_TRAIN, n);
                evalLabels = testLabels.slice(0, EMBEDDED_TRAIN, n);
                source = "Fashion-MNIST test split (embedded; " + (trainDir == null ? "training split not used" : "no training split at " + trainDir)
                        + "): its first " + EMBEDDED_TRAIN + " images for training and fitting, the other " + (n - EMBEDDED_TRAIN)
                        + " for evaluation";
            }
            long[] trainIdRows = rows(trainLabels, 0, ID_CLASSES, rng);
            long[] trainPick = head(trainIdRows, sizes.train());
            long[] fitPick = head(trainIdRows, Math.min(sizes.fit(), trainPick.length));   // a subset of the training images
            Images train = pick(trainImages, trainLabels, trainPick, false).on(device).keptBy(s);
            Images fit = pick(trainImages, trainLabels, fitPick, false).on(device).keptBy(s);
            Images id = pick(evalImages, evalLabels, head(rows(evalLabels, 0, ID_CLASSES, rng), sizes.eval()), false).on(device).keptBy(s);
            Images near = pick(evalImages, evalLabels, head(rows(evalLabels, ID_CLASSES, 10, rng), sizes.eval()), true).on(device).keptBy(s);
            Images far = noise(sizes.eval(), rng).on(device).keptBy(s);
            return new DemoData(source, train, fit, id, near, far);
        }
    }

    /** A test-split file of the command's resources. */
    private static Tensor resource(String name) throws IOException {
        InputStream in = DemoData.class.getResourceAsStream(RESOURCES + name);
        if (in == null) throw new IOException("the demo data " + RESOURCES + name + " is missing from the class path");
        return Idx.read(in, name);
    }

    /** The rows whose label is in [from, to), in a seeded random order. */
    private static long[] rows(Tensor labels, int from, int to, SplittableRandom rng) {
        long[] y = labels.toLongArray();
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < y.length; i++) if (y[i] >= from && y[i] < to) out.add((long) i);
        long[] rows = out.stream().mapToLong(Long::longValue).toArray();
        for (int i = rows.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            long t = rows[i];
            rows[i] = rows[j];
            rows[j] = t;
        }
        return rows;
    }

    private static long[] head(long[] rows, int n) {
        return java.util.Arrays.copyOf(rows, Math.min(n, rows.length));
    }

    /** The chosen rows as standardised float images, with their labels (or -1 for OOD). */
    private static Images pick(Tensor images, Tensor labels, long[] rows, boolean ood) {
        Tensor index = Tensor.of(rows);
        Tensor y = ood ? Tensor.full(-1, DType.INT64, rows.length) : labels.indexSelect(0, index);
        return new Images(standardise(images.indexSelect(0, index)), y);
    }

    /** Pixels 0..255 to (N, 1, 28, 28) float32 with Fashion-MNIST's mean and standard deviation. */
    private static Tensor standardise(Tensor pixels) {
        return pixels.to(DType.FLOAT32).div(255).sub(MEAN).div(STD).reshape(-1, 1, 28, 28);
    }

    /** Far-OOD: images of independent uniform pixels in [0, 255]. */
    private static Images noise(int n, SplittableRandom rng) {
        Tensor pixels = Tensor.rand(rng, DType.FLOAT32, 0, 255, n, 28, 28);
        return new Images(standardise(pixels), Tensor.full(-1, DType.INT64, n));
    }

    @Override
    public void close() {
        for (Images part : List.of(train, fit, id, near, far)) {
            part.x().close();
            part.y().close();
        }
    }
}
