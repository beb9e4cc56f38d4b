package org.ood4j.engine.cpu;

/**
 * Rank-k updates of a symmetric float64 accumulator, C += A^T A, SYRK-shaped: C is computed in
 * panels of {@link #TILE} rows, each from its diagonal block rightwards (rows i0..i1, columns
 * i0..n) by one call of the engine's blocked GEMM ({@link Gemm}) — about half the flops of the
 * full product — and {@link #mirror} copies the upper half down once at the end. A (rows x n,
 * row-major) is a block of centred rows; a float64 panel reads A where it is, a float32 one gathers
 * its operands as contiguous copies (its columns transposed, the rows right of its diagonal), and
 * the panels run in parallel ({@link #forPanels}); C is n x n row-major.
 *
 * <p>Two precisions of the products, one precision of the sums: float64 products are exact to
 * float64 round-off; float32 products run at the float32 GEMM rate, each over at most
 * {@link #FLOAT32_DEPTH} rows (an FMA chain per entry, relative error about
 * sqrt(FLOAT32_DEPTH) 2^-24 of sum |a_ki a_kj| for centred data), and every such partial product is
 * added to C in float64, so the error does not grow with the number of rows accumulated.
 */
public final class Syrk {
    /**
     * Rows of C per GEMM call: each call computes the panel of those rows right of the diagonal, so
     * the diagonal blocks' lower halves are the flops spent beyond the triangle — 1.18 x n^2 / 2 per
     * row of A at n = 512 with 96 (1.5 x with 256). 96 is a multiple of the GEMM's packed panels'
     * width (16 floats with AVX2, 32 with AVX-512): each panel's columns start at a packed panel of
     * the block, so one packing of the block serves every panel. (Of its rows, 95 are the GEMM's
     * five-row micro-panels and one takes the one-row kernel.)
     */
    static final int TILE = 96;
    /** Rows per float32 partial product before it is added to the float64 accumulator. */
    public static final int FLOAT32_DEPTH = 512;

    private Syrk() {}

    /**
     * C (n x n, upper triangle) += A^T A for A (rows x n) in float64; products and sums in float64.
     * Each panel reads A where it is ({@link Gemm#dgemmAdd}: its columns as a transposed block):
     * the part right of its diagonal block is added straight into C, the diagonal block through a
     * scratch block of which only the upper triangle is added (C's lower triangle is left alone).
     */
    public static void accumulate(double[] a, int rows, int n, double[] c) {
        check(a.length, rows, n, c);
        if (rows == 0) return;
        forPanels(n, (i0, i1) -> {
            int m = i1 - i0;
            Gemm.Block columns = new Gemm.Block(a, i0, n, true);          // A[:, i0:i1]^T, (m, rows)
            double[] diagonal = new double[m * m];
            Gemm.dgemmAdd(columns, new Gemm.Block(a, i0, n, false), 1, diagonal, 0, m, m, m, rows, null);
            addPanel(k -> diagonal[k], m, i0, i1, i1, n, c);
            if (i1 < n) Gemm.dgemmAdd(columns, new Gemm.Block(a, i1, n, false), 1, c, i0 * n + i1, n, m, n - i1, rows, null);
        });
    }

    /**
     * C (n x n, upper triangle) += A^T A for A (rows x n) in float32: products in float32 over
     * blocks of {@link #FLOAT32_DEPTH} rows, each block's product added to C in float64.
     */
    public static void accumulate(float[] a, int rows, int n, double[] c) {
        check(a.length, rows, n, c);
        if (rows == 0) return;
        float[] columns = new float[n * Math.min(FLOAT32_DEPTH, rows)];
        for (int r0 = 0; r0 < rows; r0 += FLOAT32_DEPTH) {
            int depth = Math.min(FLOAT32_DEPTH, rows - r0), offset = r0 * n;
            // once per block, for every panel: its columns transposed, and its rows packed for the GEMM
            forPanels(n, (c0, c1) -> transpose(a, offset + c0, n, depth, c1 - c0, columns, c0 * depth));
            Gemm.PackedFloats block = Gemm.pack(a, offset, n, n, depth);
            forPanels(n, (i0, i1) -> {
                // the rows right of the diagonal: the block's packed columns from i0 on (panels of 96 start at a packed panel)
                Gemm.PackedFloats right = Gemm.columnsFrom(block, i0);
                if (right == null) right = Gemm.pack(a, offset + i0, n, n - i0, depth);
                float[] left = java.util.Arrays.copyOfRange(columns, i0 * depth, i1 * depth);
                float[] product = Gemm.sgemm(left, i1 - i0, right, null);
                addPanel(k -> product[k], right.width(), i0, i1, n, n, c);
            });
        }
    }

    /**
     * to (cols x rows, row-major, from index {@code at}) = the transpose of the rows x cols block of {@code from} at
     * {@code offset} with rows {@code stride} apart, by tiles of {@link #TRANSPOSE_TILE} squared:
     * each tile's reads and writes stay in a few cache lines (row by row, every write of a long
     * row went to another line: 6.5 ns an element measured, a third of the float32 scatter's time).
     */
    static void transpose(float[] from, int offset, int stride, int rows, int cols, float[] to, int at) {
        for (int r0 = 0; r0 < rows; r0 += TRANSPOSE_TILE) {
            int r1 = Math.min(rows, r0 + TRANSPOSE_TILE);
            for (int c0 = 0; c0 < cols; c0 += TRANSPOSE_TILE) {
                int c1 = Math.min(cols, c0 + TRANSPOSE_TILE);
                for (int r = r0; r < r1; r++) {
                    int o = offset + r * stride;
                    for (int c = c0; c < c1; c++) to[at + c * rows + r] = from[o + c];
                }
            }
        }
    }

    private static final int TRANSPOSE_TILE = 16;

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
        mirror(c, n, true);
    }

    /**
     * Copies one triangle of C (n x n) onto the other, the upper onto the lower or the lower onto
     * the upper, in tiles of {@link #MIRROR_TILE} squared: one side of the copy walks columns, and
     * at n = 4096 a column walk missed the cache on every element.
     */
    static void mirror(double[] c, int n, boolean upperToLower) {
        for (int i0 = 0; i0 < n; i0 += MIRROR_TILE) {
            for (int j0 = 0; j0 <= i0; j0 += MIRROR_TILE) {
                for (int i = i0; i < Math.min(n, i0 + MIRROR_TILE); i++) {
                    for (int j = j0; j < Math.min(i, j0 + MIRROR_TILE); j++) {   // (i, j) in the lower triangle
                        if (upperToLower) c[i * n + j] = c[j * n + i];
                        else c[j * n + i] = c[i * n + j];
                    }
                }
            }
        }
    }

    private static final int MIRROR_TILE = 64;

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

    /**
     * C's upper triangle in rows i0..i1, columns up to {@code end}, += the panel (rows i0..i1,
     * columns i0..end, row-major, rows {@code stride} apart); C is n x n.
     */
    private static void addPanel(java.util.function.IntToDoubleFunction panel, int stride, int i0, int i1, int end, int n, double[] c) {
        for (int i = i0; i < i1; i++) {
            for (int j = i, at = (i - i0) * stride + (i - i0); j < end; j++, at++) c[i * n + j] += panel.applyAsDouble(at);
        }
    }
}
