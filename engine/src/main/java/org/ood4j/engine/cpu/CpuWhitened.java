package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.IntStream;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;

/**
 * Squared whitened distances of float32 rows to K Gaussians in one pass over blocks of rows:
 * <pre>  d_k(z) = ||W_k (z - mu_k)||^2 = (z - mu_k)^T Sigma_k^-1 (z - mu_k),  Sigma_k = L_k L_k^T,  W_k = L_k^-1</pre>
 * W_k lower triangular, so the product is triangular: W_k^T is packed once per class as an upper
 * triangular B for the vector GEMM, whose panels stop at their last column (about half the flops
 * of a full D x D product, and no precision matrix is formed). Each task takes a block of rows and,
 * class by class, centres it (float32 z - mu_k: the rows are float32 already, so this rounds at
 * their own precision), multiplies it by W_k^T (float32 FMA chains of at most 256 terms) and sums
 * the squares of each row in float64 — no full-size intermediate, the rows read once.
 * Centred rows, never the expanded z'Pz - 2 z'P mu + mu'P mu, which cancels for rows near a mean.
 */
public final class CpuWhitened {
    /** Rows per task: one row block of the vector GEMM (its MC), so each product runs on the task's own thread. */
    private static final int BLOCK = 72;

    private final int classes, dim;
    private final float[][] means;
    private final Gemm.PackedFloats[] factors;

    /**
     * @param means   mu_k, K x D row-major
     * @param factors W_k, K x D x D row-major, lower triangular (entries above the diagonal are ignored)
     */
    public CpuWhitened(double[] means, double[] factors, int classes, int dim) {
        if (means.length != (long) classes * dim || factors.length != (long) classes * dim * dim) {
            throw new IllegalArgumentException("whitened distances: " + means.length + " means and " + factors.length
                    + " factor entries do not make " + classes + " classes of dimension " + dim);
        }
        this.classes = classes;
        this.dim = dim;
        this.means = new float[classes][dim];
        this.factors = new Gemm.PackedFloats[classes];
        for (int k = 0; k < classes; k++) {
            for (int j = 0; j < dim; j++) this.means[k][j] = (float) means[k * dim + j];
            this.factors[k] = Gemm.pack(transposedLower(factors, k * dim * dim, dim), 0, dim, dim, dim, true);
        }
    }

    /** W^T (upper triangular, row-major) of the lower triangle of the D x D matrix at {@code at}, in float32. */
    private static float[] transposedLower(double[] w, int at, int dim) {
        float[] t = new float[dim * dim];
        for (int i = 0; i < dim; i++) {
            for (int j = 0; j <= i; j++) t[j * dim + i] = (float) w[at + i * dim + j];
        }
        return t;
    }

    /** d_k of every row of the float32 host tensor z (N, D), as a new (N, K) float64 tensor. */
    public Tensor distances(Tensor z) {
        if (z.dtype() != DType.FLOAT32 || z.rank() != 2 || z.size(1) != dim) {
            throw new IllegalArgumentException("whitened distances need float32 rows (N, " + dim + "), got " + z.dtype() + " "
                    + org.ood4j.engine.Shape.toString(z.shape()));
        }
        int rows = (int) z.size(0);
        Tensor out = Tensor.zeros(DType.FLOAT64, rows, classes);
        MemorySegment zs = z.storage().segment(), os = out.storage().segment();
        long rowStride = z.strides()[0], colStride = z.strides()[1], offset = z.offset();
        IntStream.range(0, (rows + BLOCK - 1) / BLOCK).parallel().forEach(b -> {
            int r0 = b * BLOCK, m = Math.min(BLOCK, rows - r0);
            float[] x = new float[m * dim];
            for (int r = 0; r < m; r++) HostRows.loadFloats(zs, offset + (r0 + r) * rowStride, colStride, dim, x, r * dim);
            double[] d = block(x, m);
            MemorySegment.copy(d, 0, os, ValueLayout.JAVA_DOUBLE_UNALIGNED, (long) r0 * classes * Double.BYTES, m * classes);
        });
        return out;
    }

    /** d_k of the m rows x (m x D), row-major m x K. */
    private double[] block(float[] x, int m) {
        float[] centred = new float[m * dim], product = null;
        double[] d = new double[m * classes];
        for (int k = 0; k < classes; k++) {
            float[] mu = means[k];
            for (int r = 0; r < m; r++) {
                for (int j = 0, o = r * dim; j < dim; j++) centred[o + j] = x[o + j] - mu[j];
            }
            product = Gemm.sgemm(centred, m, factors[k], product);
            int width = factors[k].width();
            for (int r = 0; r < m; r++) d[r * classes + k] = MathKernels.INSTANCE.sumSquares(product, r * width, dim);
        }
        return d;
    }
}
