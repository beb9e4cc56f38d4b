package org.ood4j.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.LongConsumer;
import java.util.stream.Stream;

import org.ood4j.detectors.Batch;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

/**
 * The fit features of 'ood4j fit' as shards: one or more {@code --features} files or folders
 * (a folder stands for its {@code .npy} files sorted by name), each with its {@code --labels} file
 * given the same way — the i-th labels file belongs to the i-th features file. Every header is
 * checked before any fitting (floating features of one width, integer labels with one row per
 * feature row), and every message names the file. Iterated, the shards give {@link Batch}es of at
 * most {@link #CHUNK_ROWS} rows, memory-mapped views where the file allows it: a shard's data
 * cost page cache, not heap; each iteration (a fit pass) reads the files again.
 */
final class FeatureShards implements Iterable<Batch> {
    /** Rows per batch handed to the fit (views of a mapped file: free); the fit cuts them finer. */
    static final int CHUNK_ROWS = 16384;

    private final List<Path> features, labels;
    private final long rows;
    private LongConsumer progress = done -> {};
    private long done;

    private FeatureShards(List<Path> features, List<Path> labels, long rows) {
        this.features = features;
        this.labels = labels;
        this.rows = rows;
    }

    /** The shards named by --features and --labels (labels may be empty), checked. */
    static FeatureShards of(List<Path> featureArgs, List<Path> labelArgs) throws IOException {
        List<Path> x = expand(featureArgs, "--features"), y = expand(labelArgs, "--labels");
        if (!y.isEmpty() && y.size() != x.size()) {
            throw new IllegalArgumentException("--features gives " + files(x.size()) + " and --labels " + files(y.size())
                    + ": give one labels file per features file (paired in order; a folder's files sorted by name)");
        }
        long total = 0, dim = -1;
        Path first = null;
        for (int i = 0; i < x.size(); i++) {
            long[] shape = InputArrays.floatingInfo(x.get(i), "features").shape();
            if (shape.length != 2) {
                throw new IllegalArgumentException(x.get(i) + ": features must be 2-D (N, D), got shape " + Shape.toString(shape));
            }
            if (dim >= 0 && shape[1] != dim) {
                throw new IllegalArgumentException(x.get(i) + ": features of dimension " + shape[1] + ", but " + first + " has " + dim);
            }
            dim = shape[1];
            first = first == null ? x.get(i) : first;
            if (!y.isEmpty()) {
                long labelled = InputArrays.labelsInfo(y.get(i)).shape()[0];
                if (labelled != shape[0]) {
                    throw new IllegalArgumentException(y.get(i) + " has " + labelled + " labels for the " + shape[0] + " rows of " + x.get(i));
                }
            }
            total += shape[0];
        }
        return new FeatureShards(x, y, total);
    }

    /** Tells {@code progress} the rows handed out so far, summed over the iterations (the fit's passes). */
    FeatureShards onRows(LongConsumer progress) {
        this.progress = progress;
        return this;
    }

    /** The files given: a folder's {@code .npy} files sorted by name, a file as it is. */
    static List<Path> expand(List<Path> args, String option) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path p : args) {
            if (!Files.isDirectory(p)) {
                out.add(p);
                continue;
            }
            try (Stream<Path> s = Files.list(p)) {
                List<Path> shards = s.filter(f -> f.getFileName().toString().endsWith(".npy") && Files.isRegularFile(f)).sorted().toList();
                if (shards.isEmpty()) throw new IllegalArgumentException(p + ": is a directory with no .npy files (" + option + " takes files, or folders of .npy shards)");
                out.addAll(shards);
            }
        }
        return out;
    }

    private static String files(int n) {
        return n + (n == 1 ? " file" : " files");
    }

    /** The feature files, then the labels files, in order (for the output checks). */
    List<Path> files() {
        List<Path> all = new ArrayList<>(features);
        all.addAll(labels);
        return all;
    }

    /** Rows in all the shards. */
    long rows() { return rows; }

    @Override
    public Iterator<Batch> iterator() {
        return new Iterator<>() {
            private int shard = -1;
            private long start;
            private Tensor x, y;          // the open shard's arrays (a batch's views keep a closed shard's mapping alive)

            @Override
            public boolean hasNext() {
                try {
                    while (x == null || start >= x.size(0)) {
                        closeShard();
                        if (++shard >= features.size()) return false;
                        x = InputArrays.floating(features.get(shard), "features");
                        y = labels.isEmpty() ? null : InputArrays.labels(labels.get(shard));
                        start = 0;
                    }
                    return true;
                } catch (IOException e) {
                    closeShard();
                    throw new UncheckedIOException(e);
                }
            }

            @Override
            public Batch next() {
                if (!hasNext()) throw new NoSuchElementException();
                long end = Math.min(x.size(0), start + CHUNK_ROWS);
                Batch batch = new Batch(x.slice(0, start, end), y == null ? null : y.slice(0, start, end));
                done += end - start;
                start = end;
                progress.accept(done);
                return batch;   // views, owned by the caller's scope: a fit that gathers the batches may keep them
            }

            private void closeShard() {
                if (x != null) x.close();
                if (y != null) y.close();
                x = y = null;
            }
        };
    }
}
