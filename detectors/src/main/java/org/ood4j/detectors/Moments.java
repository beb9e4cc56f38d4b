package org.ood4j.detectors;

import java.util.Map;
import java.util.TreeMap;

import org.ood4j.engine.cpu.Syrk;

/**
 * Counts, means and centred scatters of rows by group (class label, or one group), in float64,
 * accumulated chunk by chunk and merged exactly: the streaming form of the two-pass statistics
 * mu_g = (1/n_g) sum_{i in g} x_i and M2 = sum_g sum_{i in g} (x_i - mu_g)(x_i - mu_g)^T.
 *
 * <p>Each chunk is centred on its own group means (so its products never see the large common
 * offset that makes a one-pass sum of x x^T lose digits), and the chunk's (n_b, mean_b, M2_b) is
 * merged into the running (n_a, mean_a, M2_a) by Chan, Golub and LeVeque's pairwise update
 * ("Updating formulae and a pairwise algorithm for computing sample variances", 1979):
 * <pre>  n = n_a + n_b,  delta = mean_b - mean_a,  mean = mean_a + delta n_b / n,
 *  M2 = M2_a + M2_b + (n_a n_b / n) delta delta^T</pre>
 * Merging two accumulators is the same update. The chunk scatters and the delta corrections are
 * SYRK-shaped rank-k updates ({@link Syrk}) of an upper triangle, mirrored once when read.
 * Products are float64 (exact to round-off) unless {@code float32Products}: then centred float32
 * blocks at the float32 GEMM rate, every block's product summed in float64.
 *
 * <p>Groups are kept by label in a sorted map, so a stray huge label costs one entry, and
 * merges visit groups in label order: the result is fixed by the order of the merges.
 */
final class Moments implements java.io.Serializable {
    /** Which scatter is kept: none (means only), one pooled over the groups, or one per group. */
    enum Scatter { NONE, POOLED, PER_GROUP }

    /** The system property that picks float32 block products for the scatters ("float32"; default float64). */
    static final String PRODUCTS_PROPERTY = "ood4j.fit.products";

    private int dim = -1;          // fixed by the first rows added or merged
    private final Scatter scatter;
    private final boolean float32Products;
    private final TreeMap<Long, Group> groups = new TreeMap<>();
    private double[] pooled;

    /** One group's running count and mean, and its scatter (upper triangle) when kept per group. */
    private static final class Group implements java.io.Serializable {
        long n;
        final double[] mean;
        final double[] scatter;

        Group(int dim, boolean withScatter) {
            mean = new double[dim];
            scatter = withScatter ? new double[dim * dim] : null;
        }
    }

    Moments(Scatter scatter) {
        this(scatter, "float32".equals(System.getProperty(PRODUCTS_PROPERTY)));
    }

    Moments(Scatter scatter, boolean float32Products) {
        this.scatter = scatter;
        this.float32Products = float32Products;
    }

    /** Fixes the row width on first use; later rows must have it. */
    private void requireDim(int d) {
        if (dim == d) return;
        if (dim >= 0) throw new IllegalArgumentException("statistics of rows of width " + d + " cannot join rows of width " + dim);
        if (scatter != Scatter.NONE && (long) d * d > org.ood4j.engine.MemoryBudget.MAX_ARRAY) {
            throw new IllegalArgumentException("a " + d + " x " + d + " scatter does not fit one Java array; reduce the feature dimension");
        }
        dim = d;
        if (scatter == Scatter.POOLED) pooled = new double[d * d];
    }

    int dim() { return dim; }

    Scatter scatter() { return scatter; }

    /**
     * Adds {@code rows} rows of x (row-major rows x dim, float64; overwritten: it becomes the
     * centred block) with their groups (>= 0), or all in group 0 when {@code labels} is null.
     */
    void add(double[] x, int rows, long[] labels) {
        if (rows == 0) return;
        requireDim(x.length / rows);
        Moments chunk = new Moments(scatter, float32Products);
        chunk.requireDim(dim);
        for (int r = 0; r < rows; r++) {
            Group g = chunk.group(labels == null ? 0 : labels[r]);
            g.n++;
            for (int j = 0, o = r * dim; j < dim; j++) g.mean[j] += x[o + j];
        }
        for (Group g : chunk.groups.values()) for (int j = 0; j < dim; j++) g.mean[j] /= g.n;
        if (scatter != Scatter.NONE) {
            for (int r = 0; r < rows; r++) {
                double[] mean = chunk.groups.get(labels == null ? 0 : labels[r]).mean;
                for (int j = 0, o = r * dim; j < dim; j++) x[o + j] -= mean[j];
            }
            if (scatter == Scatter.POOLED) chunk.syrk(chunk.pooled, x, rows);
            else for (Map.Entry<Long, Group> e : chunk.groups.entrySet()) chunk.syrk(e.getValue().scatter, rowsOf(x, rows, labels, e.getKey()), (int) e.getValue().n);
        }
        merge(chunk);
    }

    /** The rows of group {@code label} (all rows when labels is null), as one block. */
    private double[] rowsOf(double[] x, int rows, long[] labels, long label) {
        if (labels == null) return x;
        int count = 0;
        for (int r = 0; r < rows; r++) if (labels[r] == label) count++;
        double[] block = new double[count * dim];
        for (int r = 0, b = 0; r < rows; r++) if (labels[r] == label) System.arraycopy(x, r * dim, block, b++ * dim, dim);
        return block;
    }

    /** Folds {@code other} in by the pairwise update; other is unchanged. */
    void merge(Moments other) {
        if (other.scatter != scatter) throw new IllegalArgumentException("cannot merge a " + other.scatter + " scatter into a " + scatter + " one");
        if (other.dim < 0) return;
        requireDim(other.dim);
        double[] corrections = new double[other.groups.size() * dim];   // sqrt(n_a n_b / n) delta per group, for the pooled scatter
        int k = 0;
        for (Map.Entry<Long, Group> e : other.groups.entrySet()) {
            Group b = e.getValue(), a = group(e.getKey());
            long n = a.n + b.n;
            double weight = Math.sqrt((double) a.n * b.n / n);
            double[] row = new double[dim];
            for (int j = 0; j < dim; j++) {
                double delta = b.mean[j] - a.mean[j];
                row[j] = weight * delta;
                a.mean[j] += delta * b.n / n;
            }
            a.n = n;
            if (scatter == Scatter.PER_GROUP) {
                add(a.scatter, b.scatter);
                if (weight > 0) syrk(a.scatter, row, 1);
            } else if (weight > 0) {
                System.arraycopy(row, 0, corrections, k++ * dim, dim);
            }
        }
        if (scatter == Scatter.POOLED) {
            add(pooled, other.pooled);
            if (k > 0) syrk(pooled, corrections, k);
        }
    }

    private static void add(double[] into, double[] from) {
        for (int i = 0; i < into.length; i++) into[i] += from[i];
    }

    /** c (upper triangle) += A^T A for the first {@code rows} rows of a, in the chosen product precision. */
    private void syrk(double[] c, double[] a, int rows) {
        if (!float32Products) {
            Syrk.accumulate(a, rows, dim, c);
            return;
        }
        float[] f = new float[rows * dim];
        for (int i = 0; i < f.length; i++) f[i] = (float) a[i];
        Syrk.accumulate(f, rows, dim, c);
    }

    private Group group(long label) {
        return groups.computeIfAbsent(label, l -> new Group(dim, scatter == Scatter.PER_GROUP));
    }

    /** Rows added in all. */
    long count() {
        long n = 0;
        for (Group g : groups.values()) n += g.n;
        return n;
    }

    /** The labels seen, ascending. */
    long[] labels() {
        return groups.keySet().stream().mapToLong(Long::longValue).toArray();
    }

    long count(long label) { return groups.get(label).n; }

    /** The mean of group {@code label} (a copy). */
    double[] mean(long label) { return groups.get(label).mean.clone(); }

    /** The pooled scatter sum_g M2_g, full (dim x dim, row-major). */
    double[] pooledScatter() {
        return mirrored(pooled);
    }

    /** Group {@code label}'s scatter M2_g, full. */
    double[] scatter(long label) {
        return mirrored(groups.get(label).scatter);
    }

    private double[] mirrored(double[] upper) {
        double[] full = upper.clone();
        Syrk.mirror(full, dim);
        return full;
    }

    /**
     * The number of classes, max label + 1, after checking that every class from 0 to the
     * largest label has rows (a class mean needs one); the message names the missing ones.
     */
    int classCount() {
        long max = groups.lastKey();
        ClassRanges missing = new ClassRanges();
        long below = -1;
        for (long v : groups.keySet()) {
            if (v > below + 1) missing.add(below + 1, v - 1);
            below = v;
        }
        if (!missing.isEmpty()) throw ClassGaussians.missingClasses(max, groups.get(max).n, missing);
        return (int) (max + 1);
    }
}
