package org.ood4j.detectors;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Linalg;
import org.ood4j.engine.MemoryBudget;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/**
 * Class-conditional Gaussian statistics in float64: the fit and the distances that Mahalanobis,
 * RMD, MultiMahalanobis and GMM share.
 *
 * <p>Distances to all K class means use d_k(z) = z'Pz - 2 z'P mu_k + mu_k'P mu_k: one (N x D)(D x D)
 * product and one (N x D)(D x K) product, never K products over the samples.
 */
final class ClassGaussians {
    /** The reference's regulariser of the pooled scatter, so a singular scatter still inverts. */
    static final double SCATTER_EPS = 1e-6;

    private ClassGaussians() {}

    /**
     * Number of classes (max label + 1); every class in between must have fit samples. Works on
     * the sorted labels, never on a per-class array, so a stray huge label costs nothing to refuse.
     */
    static int classCount(Tensor labels) {
        long[] y = labels.toLongArray();
        java.util.Arrays.sort(y);
        long max = y[y.length - 1];
        ClassRanges missing = new ClassRanges();
        long below = -1;
        for (long v : y) {
            if (v > below + 1) missing.add(below + 1, v - 1);
            below = v;
        }
        if (!missing.isEmpty()) throw missingClasses(max, y.length - lowerBound(y, max), missing);
        return (int) (max + 1);   // no gaps: max + 1 distinct labels, at most the number of rows
    }

    /** The error of a fit whose largest label {@code max} ({@code rows} rows) leaves the classes {@code missing} without rows. */
    static IllegalArgumentException missingClasses(long max, long rows, ClassRanges missing) {
        return new IllegalArgumentException("label " + max + " (" + Inputs.rows(rows) + ") implies " + (max + 1)
                + " classes, but classes " + missing + " have no fit samples; every class from 0 to the largest label needs one"
                + " to estimate its mean");
    }

    /** The first index of {@code v} in the sorted {@code y}. */
    private static int lowerBound(long[] y, long v) {
        int i = java.util.Arrays.binarySearch(y, v);
        while (i > 0 && y[i - 1] == v) i--;
        return i;
    }

    /**
     * Refuses a fit of {@code classes} Gaussians at dimension {@code dim} that memory cannot hold:
     * on the heap the inverse's three D x D arrays (input, LU, result) and the class sums; off the
     * heap {@code matrices} D x D tensors and the means.
     */
    static void requireMemory(String detector, Tensor features, int classes, long matrices) {
        long dim = features.size(1);
        MemoryBudget.Need means = MemoryBudget.Need.float64(1, classes, dim, "class means");
        MemoryBudget.require(detector + ": a fit of " + classes + " classes at feature dimension " + dim, features.device(),
                MemoryBudget.Need.float64(3, dim, dim, "matrices").and(means),
                MemoryBudget.Need.float64(matrices, dim, dim, "matrices").and(means),
                "reduce the feature dimension (e.g. PCA)");
    }

    /** Class means (K, D), float64. */
    static Tensor means(Tensor z64, Tensor labels, int classes) {
        return z64.groupMean(labels, classes);
    }

    /** The rows minus the mean of their own class (N, D). */
    static Tensor centred(Tensor z64, Tensor labels, Tensor means) {
        try (Tensor own = means.indexSelect(0, labels)) {
            return z64.sub(own);
        }
    }

    /** X^T X + eps I (D, D): an undivided scatter, regularised as the reference does. */
    static Tensor scatter(Tensor centred, double eps) {
        try (Scope s = Scope.open()) {
            Tensor sc = centred.t().matmul(centred);
            return s.keep(sc.add(identity(sc.size(0), sc.device()).mul(eps)));
        }
    }

    /**
     * The streaming fit of class Gaussians, one pass: class moments by label with the pooled
     * scatter (Mahalanobis, RMD) or one scatter per class (GMM). (RMD's background Gaussian of all
     * rows follows from these: see {@link RMD}.)
     */
    static class GaussianFit<D extends AbstractDetector & StreamingFit> extends MomentsAccumulator<D> {
        private final transient java.util.function.BiConsumer<D, Moments[]> install;   // the detector's, as the detector is
        private final long matrices;

        /**
         * @param matrices the D x D matrices the fit holds at once beside the per-class ones (a
         *                 scatter per class adds one per class), for the memory check before the first rows
         */
        GaussianFit(D detector, Moments.Scatter scatter, long matrices, java.util.function.BiConsumer<D, Moments[]> install) {
            super(detector, 0, new Moments[] {new Moments(scatter)});
            this.matrices = matrices;
            this.install = install;
        }

        @Override
        protected void addId(Tensor rows, long[] labels) {
            if (moments[0].dim() < 0) {
                // before the D x D accumulators exist; the classes of the first chunk (kept by label: as many means) stand for the fit's
                int classes = (int) java.util.Arrays.stream(labels).distinct().count();
                boolean perClass = moments[0].scatter() == Moments.Scatter.PER_GROUP;
                requireMemory(detector().name(), rows, classes, matrices + (perClass ? classes : 0));
            }
            moments[0].add(rows, labels);
        }

        @Override
        protected void install(D detector) {
            install.accept(detector, moments);
        }
    }

    /** The class means (K, D) of the moments' groups 0..K-1, K = {@link Moments#classCount}, float64. */
    static Tensor means(Moments m) {
        int classes = m.classCount(), dim = m.dim();
        double[] flat = new double[classes * dim];
        for (int k = 0; k < classes; k++) System.arraycopy(m.mean(k), 0, flat, k * dim, dim);
        return Tensor.of(flat, classes, dim);
    }

    /** A full scatter (dim x dim row-major) + eps I as a float64 tensor: regularised as the reference does. */
    static Tensor scatter(double[] full, int dim, double eps) {
        for (int i = 0; i < dim; i++) full[i * dim + i] += eps;
        return Tensor.of(full, dim, dim);
    }

    /** The n x n float64 identity on {@code device}. */
    static Tensor identity(long n, Device device) {
        Tensor eye = Tensor.zeros(DType.FLOAT64, n, n);
        for (long i = 0; i < n; i++) eye.set(1, i, i);
        return eye.movedTo(device);
    }

    /** Squared Mahalanobis distances d_k(z) (N, K) to every mean under one precision matrix. */
    static Tensor distances(Tensor z, Tensor means, Tensor precision) {
        if (z.size(1) != means.size(1)) {
            throw new IllegalArgumentException("features have dimension " + z.size(1) + ", the fit had " + means.size(1)
                    + " (shape " + Shape.toString(z.shape()) + ")");
        }
        try (Scope s = Scope.open()) {
            Tensor z64 = z.to(DType.FLOAT64);
            Tensor zp = z64.matmul(precision);                                 // (N, D)
            Tensor quad = zp.mul(z64).sum(1, true);                            // z'Pz (N, 1)
            Tensor cross = zp.matmul(means.t());                               // z'P mu_k (N, K)
            Tensor offsets = means.matmul(precision).mul(means).sum(1);        // mu_k'P mu_k (K)
            // Rounding can take a distance of ~0 slightly negative; a squared distance is never.
            return s.keep(quad.sub(cross.mul(2)).add(offsets).clampMin(0));
        }
    }

    /** Squared Mahalanobis distance (N,) to one mean, from the centred rows: exact for close points. */
    static Tensor distance(Tensor centred, Tensor precision) {
        try (Scope s = Scope.open()) {
            return s.keep(centred.matmul(precision).mul(centred).sum(1));
        }
    }

    /** Inverse of a symmetric positive-definite matrix, exactly symmetric ({@link Linalg#inverseSpd}'s contract). */
    static Tensor precision(Tensor cov) {
        return Linalg.inverseSpd(cov);   // a regularised scatter is positive definite: Cholesky, not LU
    }
}
