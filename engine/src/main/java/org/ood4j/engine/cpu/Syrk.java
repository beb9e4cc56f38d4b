package org.ood4j.engine.cpu;

/**
 * Rank-k updates of a symmetric float64 accumulator, C += A^T A, SYRK-shaped: C is computed in
 * panels of {@link #TILE} rows, each from its diagonal block rightwards (rows i0..i1, columns
 * i0..n) by one call of the engine's blocked GEMM ({@link Gemm}) — about half the flops of the
 * full product — and {@link #mirror} copies the upper half down once at the end. A (rows x n,
 * row-major) is a block of centred rows, transposed once so that both GEMM operands are
 * contiguous copies; C is n x n row-major.
 *
 * <p>Two precisions of the products, one precision of the sums: float64 products are exact to
 * float64 round-off; float32 products run at the float32 GEMM rate, each over at most
 * {@link #FLOAT32_DEPTH} rows (an FMA chain per entry, relative error about
 * sqrt(FLOAT32_DEPTH) 2^-24 of sum |a_ki a_kj| for centred data), and every such partial product is
 * added to C in float64, so the error does not grow with the number of rows accumulated.
 */
public final class Syrk {
    /** Rows of C per GEMM call: each call computes the panel of those rows right of the diagonal. */
    static final int TILE = 256;
    /** Side of the square blocks of the transpose: its reads and writes stay within cache lines. */
    private static final int BLOCK = 64;
    /** Rows per float32 partial product before it is added to the float64 accumulator. */
    public static final int FLOAT32_DEPTH = 512;

    private Syrk() {}

    /** C (n x n, upper triangle) += A^T A for A (rows x n) in float64; products and sums in float64. */
    public static void accumulate(double[] a, int rows, int n, double[] c) {
        check(a.length, rows, n, c);
        if (rows == 0) return;
        double[] at = new double[rows * n];
        for (int r0 = 0; r0 < rows; r0 += BLOCK) {
            for (int i0 = 0; i0 < n; i0 += BLOCK) {
                for (int r = r0; r < Math.min(rows, r0 + BLOCK); r++) {
                    for (int i = i0; i < Math.min(n, i0 + BLOCK); i++) at[i * rows + r] = a[r * n + i];
                }
            }
        }
        for (int i0 = 0; i0 < n; i0 += TILE) {
            int i1 = Math.min(n, i0 + TILE), width = n - i0;
            double[] left = java.util.Arrays.copyOfRange(at, i0 * rows, i1 * rows), right = i0 == 0 ? a : new double[rows * width];
            if (i0 > 0) for (int r = 0; r < rows; r++) System.arraycopy(a, r * n + i0, right, r * width, width);
            double[] panel = Gemm.dgemm(left, right, i1 - i0, width, rows);
            addPanel(k -> panel[k], i0, i1, n, c);
        }
    }

    /**
     * C (n x n, upper triangle) += A^T A for A (rows x n) in float32: products in float32 over
     * blocks of {@link #FLOAT32_DEPTH} rows, each block's product added to C in float64.
     */
    public static void accumulate(float[] a, int rows, int n, double[] c) {
        check(a.length, rows, n, c);
        if (rows == 0) return;
        float[] at = new float[rows * n];
        for (int r0 = 0; r0 < rows; r0 += BLOCK) {
            for (int i0 = 0; i0 < n; i0 += BLOCK) {
                for (int r = r0; r < Math.min(rows, r0 + BLOCK); r++) {
                    for (int i = i0; i < Math.min(n, i0 + BLOCK); i++) at[i * rows + r] = a[r * n + i];
                }
            }
        }
        for (int r0 = 0; r0 < rows; r0 += FLOAT32_DEPTH) {
            int depth = Math.min(FLOAT32_DEPTH, rows - r0);
            for (int i0 = 0; i0 < n; i0 += TILE) {
                int i1 = Math.min(n, i0 + TILE), width = n - i0;
                float[] left = new float[(i1 - i0) * depth], right = new float[depth * width];
                for (int i = i0; i < i1; i++) System.arraycopy(at, i * rows + r0, left, (i - i0) * depth, depth);
                for (int r = 0; r < depth; r++) System.arraycopy(a, (r0 + r) * n + i0, right, r * width, width);
                float[] panel = Gemm.sgemm(left, right, i1 - i0, width, depth);
                addPanel(k -> panel[k], i0, i1, n, c);
            }
        }
    }

    /** Copies the upper triangle of C (n x n) onto the lower one. */
    public static void mirror(double[] c, int n) {
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) c[j * n + i] = c[i * n + j];
        }
    }

    /** The multiply-adds one update does: rows n (n + 1) / 2, the upper triangle's entries times the depth. */
    public static long multiplyAdds(long rows, long n) {
        return rows * n * (n + 1) / 2;
    }

    private static void check(long length, int rows, int n, double[] c) {
        if (rows < 0 || n <= 0 || length < (long) rows * n) {
            throw new IllegalArgumentException("syrk: operand of " + length + " elements is not " + rows + " x " + n);
        }
        if (c.length != (long) n * n) throw new IllegalArgumentException("syrk: accumulator of " + c.length + " elements is not " + n + " x " + n);
    }

    /** C's upper triangle in rows i0..i1 += the panel (rows i0..i1, columns i0..n, row-major, n - i0 wide). */
    private static void addPanel(java.util.function.IntToDoubleFunction panel, int i0, int i1, int n, double[] c) {
        int width = n - i0;
        for (int i = i0; i < i1; i++) {
            for (int j = i; j < n; j++) c[i * n + j] += panel.applyAsDouble((i - i0) * width + (j - i0));
        }
    }
}
