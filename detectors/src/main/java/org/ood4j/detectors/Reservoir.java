package org.ood4j.detectors;

import java.util.Random;

/**
 * A uniform sample of at most {@code capacity} rows of a stream (Vitter's Algorithm R), every
 * row kept while there is room: a statistic of the sample is exact for streams up to the
 * capacity. The random choices come from a fixed seed, so the same rows added in the same order
 * (and merged in the same order) give the same sample.
 */
final class Reservoir implements java.io.Serializable {
    private static final long SEED = 0x5EEDL;

    private final int capacity, width;
    private double[] rows = new double[0];   // grown as rows arrive, up to capacity x width
    private int size;
    private long seen;
    private final Random random = new Random(SEED);   // Serializable, as the reservoir is

    Reservoir(int capacity, int width) {
        this.capacity = capacity;
        this.width = width;
        Math.multiplyExact(capacity, width);   // refused here, not after a long stream
    }

    int capacity() { return capacity; }

    int width() { return width; }

    /** Rows held. */
    int size() { return size; }

    /** The held rows, row-major (size x width). */
    double[] rows() {
        return java.util.Arrays.copyOf(rows, size * width);
    }

    /** Adds {@code count} rows of x (row-major): each ends up held with probability capacity / seen. */
    void add(double[] x, int count) {
        reserve(size + count);
        for (int r = 0; r < count; r++) {
            seen++;
            long slot = size < capacity ? size++ : random.nextLong(seen);
            if (slot < capacity) System.arraycopy(x, r * width, rows, (int) slot * width, width);
        }
    }

    /**
     * Folds in another reservoir: while both fit, all rows; else a sample of the union in which
     * each side is drawn in proportion to the rows it has seen, without replacement within it.
     */
    void merge(Reservoir other) {
        if (other.width != width) throw new IllegalArgumentException("cannot merge reservoirs of rows of " + other.width + " and " + width + " values");
        if (size + other.size <= capacity && seen == size && other.seen == other.size) {
            reserve(size + other.size);
            System.arraycopy(other.rows, 0, rows, size * width, other.size * width);
            size += other.size;
            seen += other.seen;
            return;
        }
        int fromOther = 0;
        long total = seen + other.seen;
        int keep = (int) Math.min(capacity, Math.min(total, (long) size + other.size));
        for (int i = 0; i < keep; i++) if (random.nextLong(total) < other.seen) fromOther++;
        fromOther = Math.min(fromOther, other.size);
        int fromThis = Math.min(size, keep - fromOther);
        fromOther = keep - fromThis;
        double[] merged = new double[keep * width];
        int[] mine = sample(size, fromThis), theirs = sample(other.size, fromOther);
        for (int i = 0; i < fromThis; i++) System.arraycopy(rows, mine[i] * width, merged, i * width, width);
        for (int i = 0; i < fromOther; i++) System.arraycopy(other.rows, theirs[i] * width, merged, (fromThis + i) * width, width);
        rows = merged;
        size = keep;
        seen = total;
    }

    /** Room for {@code rows} rows (at most the capacity), growing geometrically. */
    private void reserve(long wanted) {
        long target = Math.min(capacity, wanted);
        if (target * width <= rows.length) return;
        long grown = Math.min(capacity, Math.max(target, 2L * rows.length / width));
        rows = java.util.Arrays.copyOf(rows, (int) (grown * width));
    }

    /** {@code k} distinct indices of [0, n), uniformly (a partial Fisher-Yates shuffle). */
    private int[] sample(int n, int k) {
        int[] index = new int[n];
        for (int i = 0; i < n; i++) index[i] = i;
        for (int i = 0; i < k; i++) {
            int j = i + random.nextInt(n - i);
            int t = index[i];
            index[i] = index[j];
            index[j] = t;
        }
        return java.util.Arrays.copyOf(index, k);
    }
}
