package org.ood4j.engine.cpu;

/**
 * Rank-k updates of a symmetric float64 accumulator, C += A^T A, SYRK-shaped: C is computed in
 * panels of {@link #TILE} rows, each from its diagonal block rightwards (rows i0..i1, columns
 * i0..n) by one call of the engine's blocked GEMM ({@link Gemm}) — about half the flops of the
 * full product — and {@link #mirror} copies the upper half down once at the end. A (rows x n,
 * row-major) is a block of centred rows; each panel gathers its own operands as contiguous copies
 * (its columns transposed, the rows right of its diagonal), and the panels run in parallel
 * ({@link #forPanels}); C is n x n row-major.
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
    /** Rows per float32 partial product before it is added to the float64 accumulator. */
    public static final int FLOAT32_DEPTH = 512;

    private Syrk() {}

    /** C (n x n, upper triangle) += A^T A for A (rows x n) in float64; products and sums in float64. */
    public static void accumulate(double[] a, int rows, int n, double[] c) {
        check(a.length, rows, n, c);
        if (rows == 0) return;
        forPanels(n, (i0, i1) -> {
            int width = n - i0, m = i1 - i0;
            double[] left = new double[m * rows], right = i0 == 0 ? a : new double[rows * width];
            for (int r = 0; r < rows; r++) {
                int o = r * n + i0;
                if (i0 > 0) System.arraycopy(a, o, right, r * width, width);
                for (int i = 0; i < m; i++) left[i * rows + r] = a[o + i];   // the panel's columns, transposed
            }
            double[] panel = Gemm.dgemm(left, right, m, width, rows, true);   // addPanel reads its upper triangle only
            addPanel(k -> panel[k], i0, i1, n, c);
        });
    }

    /**
     * C (n x n, upper triangle) += A^T A for A (rows x n) in float32: products in float32 over
     * blocks of {@link #FLOAT32_DEPTH} rows, each block's product added to C in float64.
     */
    public static void accumulate(float[] a, int rows, int n, double[] c) {
        check(a.length, rows, n, c);
        if (rows == 0) return;
        forPanels(n, (i0, i1) -> {
            int width = n - i0, m = i1 - i0;
            for (int r0 = 0; r0 < rows; r0 += FLOAT32_DEPTH) {
                int depth = Math.min(FLOAT32_DEPTH, rows - r0);
                float[] left = new float[m * depth], right = new float[depth * width];
                for (int r = 0; r < depth; r++) {
                    int o = (r0 + r) * n + i0;
                    System.arraycopy(a, o, right, r * width, width);
                    for (int i = 0; i < m; i++) left[i * depth + r] = a[o + i];   // the panel's columns, transposed
                }
                float[] panel = Gemm.sgemm(left, right, m, width, depth);
                addPanel(k -> panel[k], i0, i1, n, c);
            }
        });
    }

    /** A panel's work: rows i0..i1 of C, right of the diagonal. */
    private interface Panel {
        void run(int i0, int i1);
    }

    /**
     * Runs the panels of {@link #TILE} rows in parallel, widest first: each writes only its own
     * rows of C, so the gathering of its operands (the transposed columns, the rows right of the
     * diagonal) and the float64 sums of its products run on all cores, not only the GEMM inside
     * (one task per panel; the widest, most work, start first so the narrow ones fill the end).
     * Each entry of C is summed by one task in a fixed order: the same bits on every run.
     */
    private static void forPanels(int n, Panel panel) {
        int panels = (n + TILE - 1) / TILE;
        if (panels == 1) {
            panel.run(0, n);
            return;
        }
        java.util.concurrent.ForkJoinTask<?>[] tasks = new java.util.concurrent.ForkJoinTask<?>[panels];
        for (int p = 0; p < panels; p++) {
            int i0 = p * TILE, i1 = Math.min(n, i0 + TILE);
            tasks[p] = java.util.concurrent.ForkJoinTask.adapt(() -> panel.run(i0, i1));
        }
        java.util.concurrent.ForkJoinTask.invokeAll(tasks);
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
