package org.ood4j.engine.cpu;

/**
 * Rank-k updates of a symmetric float64 accumulator, C += A^T A, SYRK-shaped: only the tiles on
 * and above the diagonal are computed (half the flops of a GEMM), each by the engine's blocked
 * GEMM ({@link Gemm}), and {@link #mirror} copies the upper half down once at the end. The
 * operand A (rows x n, row-major) is a block of centred rows; C is n x n row-major.
 *
 * <p>Two precisions of the products, one precision of the sums: float64 products are exact to
 * float64 round-off; float32 products run at the float32 GEMM rate, each over at most
 * {@link #FLOAT32_DEPTH} rows (an FMA chain per entry, relative error about
 * sqrt(FLOAT32_DEPTH) 2^-24 of sum |a_ki a_kj| for centred data), and every such partial product is
 * added to C in float64, so the error does not grow with the number of rows accumulated.
 */
public final class Syrk {
    /** Column tile width: a 256 x 256 float64 tile is 512 KiB, the GEMM's own panel scale. */
    static final int TILE = 256;
    /** Rows per float32 partial product before it is added to the float64 accumulator. */
    public static final int FLOAT32_DEPTH = 512;

    private Syrk() {}

    /** C (n x n, upper triangle) += A^T A for A (rows x n) in float64; products and sums in float64. */
    public static void accumulate(double[] a, int rows, int n, double[] c) {
        check(a.length, rows, n, c);
        tiles(n).forEach(pair -> {
            int i0 = pair[0], i1 = pair[1], j0 = pair[2], j1 = pair[3];
            double[] at = new double[(i1 - i0) * rows], b = new double[rows * (j1 - j0)];
            for (int i = i0; i < i1; i++) {
                for (int r = 0; r < rows; r++) at[(i - i0) * rows + r] = a[r * n + i];
            }
            for (int r = 0; r < rows; r++) System.arraycopy(a, r * n + j0, b, r * (j1 - j0), j1 - j0);
            double[] tile = Gemm.dgemm(at, b, i1 - i0, j1 - j0, rows);
            addTile(i -> tile[i], i0, i1, j0, j1, n, c);
        });
    }

    /**
     * C (n x n, upper triangle) += A^T A for A (rows x n) in float32: products in float32 over
     * blocks of {@link #FLOAT32_DEPTH} rows, each block's product added to C in float64.
     */
    public static void accumulate(float[] a, int rows, int n, double[] c) {
        check(a.length, rows, n, c);
        tiles(n).forEach(pair -> {
            int i0 = pair[0], i1 = pair[1], j0 = pair[2], j1 = pair[3];
            for (int r0 = 0; r0 < rows; r0 += FLOAT32_DEPTH) {
                int depth = Math.min(FLOAT32_DEPTH, rows - r0);
                float[] at = new float[(i1 - i0) * depth], b = new float[depth * (j1 - j0)];
                for (int i = i0; i < i1; i++) {
                    for (int r = 0; r < depth; r++) at[(i - i0) * depth + r] = a[(r0 + r) * n + i];
                }
                for (int r = 0; r < depth; r++) System.arraycopy(a, (r0 + r) * n + j0, b, r * (j1 - j0), j1 - j0);
                float[] tile = Gemm.sgemm(at, b, i1 - i0, j1 - j0, depth);
                addTile(i -> tile[i], i0, i1, j0, j1, n, c);
            }
        });
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

    /** The tile pairs {i0, i1, j0, j1} with i0 <= j0, in parallel: each writes its own tile of C. */
    private static java.util.stream.Stream<int[]> tiles(int n) {
        java.util.List<int[]> pairs = new java.util.ArrayList<>();
        for (int i0 = 0; i0 < n; i0 += TILE) {
            for (int j0 = i0; j0 < n; j0 += TILE) pairs.add(new int[] {i0, Math.min(n, i0 + TILE), j0, Math.min(n, j0 + TILE)});
        }
        return pairs.size() > 1 ? pairs.parallelStream() : pairs.stream();
    }

    /** C's upper-triangle part of tile (i0..i1) x (j0..j1) += the tile (row-major, j1 - j0 wide). */
    private static void addTile(java.util.function.IntToDoubleFunction tile, int i0, int i1, int j0, int j1, int n, double[] c) {
        for (int i = i0; i < i1; i++) {
            int from = Math.max(i, j0);   // upper triangle only
            for (int j = from; j < j1; j++) c[i * n + j] += tile.applyAsDouble((i - i0) * (j1 - j0) + (j - j0));
        }
    }
}
