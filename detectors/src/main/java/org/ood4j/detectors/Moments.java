package org.ood4j.detectors;

import java.util.Map;
import java.util.TreeMap;

import org.ood4j.engine.cpu.Syrk;

/**
 * Counts, means and centred scatters of rows by group (class label, or one group), in float64,
 * accumulated chunk by chunk and merged exactly: the streaming form of the two-pass statistics
 * mu_g = (1/n_g) sum_{i in g} x_i and M2 = sum_g sum_{i in g} (x_i - mu_g)(x_i - mu_g)^T.
 *
 * <p>Means: each chunk's group means are merged into the running ones by Chan, Golub and
 * LeVeque's pairwise update ("Updating formulae and a pairwise algorithm for computing sample
 * variances", 1979): n = n_a + n_b, mean = mean_a + (mean_b - mean_a) n_b / n.
 *
 * <p>Scatters: rows are centred before their products, so the products never see the large
 * common offset that makes a one-pass sum of x x^T lose digits. The centre of group g is fixed
 * when g first appears: its mean in that chunk, c_g (the "shifted data" form). Then
 * S_g = sum (x - c_g)(x - c_g)^T needs no correction per chunk, and once, when read,
 * <pre>  M2_g = S_g - n_g (mu_g - c_g)(mu_g - c_g)^T</pre>
 * exact algebra whose subtracted term is small (c_g is a mean of the same group; (mu_g - c_g)^2
 * is of the order of the variance over the rows of that first chunk), so no digits are lost.
 * Centring each chunk on its own means instead would add Chan's correction
 * (n_a n_b / n) delta delta^T per group and chunk: a rank-K update per chunk, a quarter of the
 * scatter's flops with 1000 classes in chunks of 4096 rows. Merging two accumulators re-centres
 * the other's S_g on this one's c_g (+ n_b (mu_b - c_a)(mu_b - c_a)^T - n_b (mu_b - c_b)(mu_b - c_b)^T),
 * rank-2K once per merge. All scatters are SYRK-shaped rank-k updates ({@link Syrk}) of an upper
 * triangle, mirrored once when read. The products' precision ({@link Products}): float64
 * (exact to round-off) or centred float32 blocks at the float32 GEMM rate, each block's product
 * summed in float64 (the corrections stay float64). By default ({@link Products#AUTO}) the choice
 * is made by the row width (for a pooled scatter; one per group stays float64, see the constructor): float64 below {@link Products#FLOAT32_FROM_DIM} columns, where the
 * scatter is cheap and streamed fits equal whole-array fits to float64 round-off, float32 from
 * there on for blocks with at least as many rows as columns (a thinner block stays float64), where the scatter is the fit's cost (D^2 per row) and the block products' error
 * (about sqrt(512) 2^-24 of sum |x_i x_j| per entry, {@link Syrk}) is far below the 1e-4 of the
 * scores' contract (measured at ImageNet size by the bench's ScaleMahalanobisCheck).
 *
 * <p>Groups are kept by label in a sorted map, so a stray huge label costs one entry, and
 * merges visit groups in label order: the result is fixed by the order of the merges.
 */
final class Moments implements java.io.Serializable {
    /** Which scatter is kept: none (means only), one pooled over the groups, or one per group. */
    enum Scatter { NONE, POOLED, PER_GROUP }

    /** The system property that picks the scatters' products: "float32", "float64" or "auto" (the default). */
    static final String PRODUCTS_PROPERTY = "ood4j.fit.products";

    /** The precision of the scatters' block products (the sums are float64 in every case). */
    enum Products {
        FLOAT64, FLOAT32,
        /**
         * float32 for a block of at least {@link #FLOAT32_FROM_DIM} columns and at least as many
         * rows as columns, float64 otherwise. The rows rule: a block with fewer rows than columns
         * has a rank-deficient product, and a fit made of such blocks (a few hundred rows at
         * D = 512) has a scatter whose small eigenvalues float32 rounding (~1e-7 of the large
         * ones) can push below zero: its Cholesky then fails where float64 products pass.
         */
        AUTO;

        /**
         * The width from which AUTO takes float32 products: at D = 256 a row's scatter is 33k
         * multiply-adds, the float64 products already take most of a fit's time, and the
         * conformance cases (D <= 64) and the exact-equality tests stay on float64.
         */
        static final int FLOAT32_FROM_DIM = 256;

        /** Whether a block of {@code rows} rows of {@code dim} columns takes float32 products. */
        boolean float32(int dim, int rows) {
            return this == FLOAT32 || (this == AUTO && dim >= FLOAT32_FROM_DIM && rows >= dim);
        }

        /** The {@link #PRODUCTS_PROPERTY}'s choice; a value other than the three is refused by name. */
        static Products fromProperty() {
            String v = System.getProperty(PRODUCTS_PROPERTY, "auto");
            return switch (v) {
                case "auto" -> AUTO;
                case "float32" -> FLOAT32;
                case "float64" -> FLOAT64;
                default -> throw new IllegalArgumentException("-D" + PRODUCTS_PROPERTY + "=" + v + ": expected float32, float64 or auto");
            };
        }
    }

    private int dim = -1;          // fixed by the first rows added or merged
    private final Scatter scatter;
    private final Products products;
    private final TreeMap<Long, Group> groups = new TreeMap<>();
    private double[] pooled;       // sum_g S_g, upper triangle

    /** One group's count, mean and centre c_g, and its S_g (upper triangle) when kept per group. */
    private static final class Group implements java.io.Serializable {
        long n;
        double[] mean, centre;
        final double[] scatter;

        Group(int dim, boolean withScatter) {
            scatter = withScatter ? new double[dim * dim] : null;
        }
    }

    Moments(Scatter scatter) {
        this(scatter, Products.fromProperty());
    }

    /**
     * With {@link Products#AUTO}, a scatter per group keeps float64 products at every width: a
     * class's covariance over its own rows is often rank-deficient (fewer rows than columns, or
     * features of lower rank), so its smallest eigenvalues are the reg on its diagonal (GMM: 1e-6),
     * and float32 products' error (about 1e-7 of the entries) is of that order. Measured on the
     * quick workload (10 classes of ~1000 rows at D = 512, rank-deficient): GMM's scores moved by up
     * to 1.2e-4 relative with float32 per-class blocks, beyond the 1e-4 of the scores' contract.
     */
    Moments(Scatter scatter, Products products) {
        this.scatter = scatter;
        this.products = scatter == Scatter.PER_GROUP && products == Products.AUTO ? Products.FLOAT64 : products;
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
     * Adds the rows (N, dim) of a tensor with their groups (>= 0), or all in group 0 when
     * {@code labels} is null. Float32 rows whose pooled scatter takes float32 products stay float32
     * ({@link #addFloats}); any other rows are added as float64 ({@link #add(double[], int, long[])}).
     */
    void add(org.ood4j.engine.Tensor rows, long[] labels) {
        int n = (int) rows.size(0);
        if (rows.dtype() == org.ood4j.engine.DType.FLOAT32 && scatter == Scatter.POOLED && products.float32((int) rows.size(1), n)) {
            addFloats(rows.toFloatArray(), n, labels);
        } else {
            add(rows.toDoubleArray(), n, labels);
        }
    }

    /**
     * Adds {@code rows} rows of x (row-major rows x dim, float64; overwritten: it becomes the
     * centred block) with their groups (>= 0), or all in group 0 when {@code labels} is null.
     */
    void add(double[] x, int rows, long[] labels) {
        if (rows == 0) return;
        requireDim(x.length / rows);
        TreeMap<Long, double[]> sums = foldChunk(rows, labels, (r, sum) -> {
            for (int j = 0, o = r * dim; j < dim; j++) sum[j] += x[o + j];
        });
        if (scatter == Scatter.NONE) return;
        for (int r = 0; r < rows; r++) {
            double[] centre = groups.get(labels == null ? 0 : labels[r]).centre;
            for (int j = 0, o = r * dim; j < dim; j++) x[o + j] -= centre[j];
        }
        if (scatter == Scatter.POOLED) syrk(pooled, x, rows);
        else for (long label : sums.keySet()) syrk(groups.get(label).scatter, rowsOf(x, rows, labels, label), (int) sums.get(label)[dim]);
    }

    /**
     * {@link #add(double[], int, long[])} for float32 rows whose pooled scatter takes float32
     * products: each value widened where it is summed and centred (in float64, as there) and the
     * centred value narrowed once into the block the product reads. The same bits as the float64
     * path, without its float64 copy of the rows and the narrowing copy after it (a fifth of a
     * Mahalanobis fit at 10000 x 512). x is overwritten by the centred block.
     */
    private void addFloats(float[] x, int rows, long[] labels) {
        if (rows == 0) return;
        requireDim(x.length / rows);
        foldChunk(rows, labels, (r, sum) -> {
            for (int j = 0, o = r * dim; j < dim; j++) sum[j] += x[o + j];
        });
        java.util.stream.IntStream.range(0, rows).parallel().forEach(r -> {
            double[] centre = groups.get(labels == null ? 0 : labels[r]).centre;
            for (int j = 0, o = r * dim; j < dim; j++) x[o + j] = (float) (x[o + j] - centre[j]);
        });
        Syrk.accumulate(x, rows, dim, pooled);
    }

    /** Adds row r of the chunk to its group's sum (dim values). */
    private interface RowSum { void add(int r, double[] sum); }

    /** Sums the chunk's rows by group (in row order) and folds each group's sum into its mean; returns the sums, count at [dim]. */
    private TreeMap<Long, double[]> foldChunk(int rows, long[] labels, RowSum rowSum) {
        TreeMap<Long, double[]> sums = new TreeMap<>();   // per group of the chunk: the row sum, then the count at [dim]
        for (int r = 0; r < rows; r++) {
            double[] sum = sums.computeIfAbsent(labels == null ? 0 : labels[r], l -> new double[dim + 1]);
            rowSum.add(r, sum);
            sum[dim]++;
        }
        for (Map.Entry<Long, double[]> e : sums.entrySet()) foldSum(e.getKey(), e.getValue(), 0, (long) e.getValue()[dim]);
        return sums;
    }

    /**
     * Adds a chunk given by its per-group float64 row sums ({@code groups x dim}, row-major, row g
     * for label g) and row counts — what an engine's grouped sum gives without a float64 copy of
     * the rows. Means only: a scatter needs the rows themselves.
     */
    void addSums(double[] sums, long[] counts) {
        if (scatter != Scatter.NONE) throw new IllegalStateException("row sums update the means only; a " + scatter + " scatter needs the rows");
        if (counts.length == 0) return;
        requireDim(sums.length / counts.length);
        for (int label = 0; label < counts.length; label++) {
            if (counts[label] > 0) foldSum(label, sums, label * dim, counts[label]);
        }
    }

    /**
     * Chan's update of group {@code label}'s mean by a chunk of {@code nb} rows whose sum is
     * sum[at..at + dim). A group's first chunk fixes its centre, which only a scatter reads: without
     * one there is none (1000 classes' sums folded without 2 x 8 MB of copies).
     */
    private void foldSum(long label, double[] sum, int at, long nb) {
        Group g = group(label);
        if (g.n == 0) {
            g.mean = new double[dim];
            for (int j = 0; j < dim; j++) g.mean[j] = sum[at + j] / nb;
            if (scatter != Scatter.NONE) g.centre = g.mean.clone();
        } else {
            // the chunk's weight once per group, not a second division per value: with 1000 classes of
            // 1000 values this fold was a fifth of KLMatching's fit
            double count = nb, weight = count / (g.n + nb);
            for (int j = 0; j < dim; j++) g.mean[j] += (sum[at + j] / count - g.mean[j]) * weight;
        }
        g.n += nb;
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

    /** Folds {@code other} in (Chan's update of the means, its scatters re-centred on this one's centres); other is unchanged. */
    void merge(Moments other) {
        if (other.scatter != scatter) throw new IllegalArgumentException("cannot merge a " + other.scatter + " scatter into a " + scatter + " one");
        if (other.dim < 0) return;
        requireDim(other.dim);
        Corrections pooledFix = new Corrections(other.groups.size());
        for (Map.Entry<Long, Group> e : other.groups.entrySet()) {
            Group b = e.getValue(), a = group(e.getKey());
            if (a.n == 0) {
                a.n = b.n;
                a.mean = b.mean.clone();
                a.centre = b.centre == null ? null : b.centre.clone();
                if (scatter == Scatter.PER_GROUP) add(a.scatter, b.scatter);
                continue;
            }
            if (scatter != Scatter.NONE) {
                // b's rows about a's centre: S_b + n_b (mu_b - c_a)(mu_b - c_a)^T - n_b (mu_b - c_b)(mu_b - c_b)^T
                Corrections fix = scatter == Scatter.POOLED ? pooledFix : new Corrections(1);
                fix.add(b.n, b.mean, a.centre, b.centre);
                if (scatter == Scatter.PER_GROUP) {
                    add(a.scatter, b.scatter);
                    fix.applyTo(a.scatter);
                }
            }
            long n = a.n + b.n;
            for (int j = 0; j < dim; j++) a.mean[j] += (b.mean[j] - a.mean[j]) * b.n / n;
            a.n = n;
        }
        if (scatter == Scatter.POOLED) {
            add(pooled, other.pooled);
            pooledFix.applyTo(pooled);
        }
    }

    /** Rank-1 terms + u u^T and - v v^T, gathered as rows, applied to an upper triangle in float64 at once. */
    private final class Corrections {
        final double[] plus, minus;
        int rows;

        Corrections(int capacity) {
            plus = new double[capacity * dim];
            minus = new double[capacity * dim];
        }

        /** + n (mean - to)(mean - to)^T - n (mean - from)(mean - from)^T: n rows' scatter moved from centre {@code from} to {@code to}. */
        void add(long n, double[] mean, double[] to, double[] from) {
            double w = Math.sqrt(n);
            for (int j = 0; j < dim; j++) {
                plus[rows * dim + j] = w * (mean[j] - to[j]);
                minus[rows * dim + j] = w * (mean[j] - from[j]);
            }
            rows++;
        }

        void applyTo(double[] upper) {
            if (rows == 0) return;
            Syrk.accumulate(plus, rows, dim, upper);
            double[] down = new double[dim * dim];
            Syrk.accumulate(minus, rows, dim, down);
            for (int i = 0; i < upper.length; i++) upper[i] -= down[i];
        }
    }

    private static void add(double[] into, double[] from) {
        for (int i = 0; i < into.length; i++) into[i] += from[i];
    }

    /** c (upper triangle) += A^T A for the first {@code rows} rows of a, in the chosen product precision. */
    private void syrk(double[] c, double[] a, int rows) {
        if (!products.float32(dim, rows)) {
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
        return centred(pooled, groups.values());
    }

    /** Group {@code label}'s scatter M2_g, full. */
    double[] scatter(long label) {
        Group g = groups.get(label);
        return centred(g.scatter, java.util.List.of(g));
    }

    /** sum_g S_g - n_g (mu_g - c_g)(mu_g - c_g)^T over {@code of}, mirrored to a full matrix. */
    private double[] centred(double[] upper, java.util.Collection<Group> of) {
        double[] full = upper.clone();
        double[] shifts = new double[of.size() * dim];
        int k = 0;
        for (Group g : of) {
            double w = Math.sqrt(g.n);
            for (int j = 0; j < dim; j++) shifts[k * dim + j] = w * (g.mean[j] - g.centre[j]);
            k++;
        }
        double[] down = new double[dim * dim];
        Syrk.accumulate(shifts, k, dim, down);
        for (int i = 0; i < full.length; i++) full[i] -= down[i];
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
