package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.IntStream;

/**
 * C = A B on row-major heap arrays, blocked for the caches and parallel over row blocks: the
 * register-blocked {@link VectorGemm} when the Vector API is present, else the scalar loops below.
 *
 * <p>The inner loop is an axpy over a row of B into four rows of C at once ({@code c_r[j] += a_r * b[j]}):
 * every access is at index j of its own array, the shape C2's superword pass turns into vector
 * FMAs, and each loaded element of B serves four rows. Blocks of KB rows of B by NB columns
 * (128 KiB of floats) stay in L2 while a block of MB rows of A passes over them.
 */
final class Gemm {
    private static final int MB = 64, KB = 256, NB = 512;

    /** A GEMM implementation: {@link VectorGemm} when the Vector API is present, else the scalar loops here. */
    interface Kernels {
        float[] sgemm(float[] a, float[] b, int m, int n, int k);

        /** Columns of B per packed panel. */
        int panelWidth();

        /** Rows of A per task of a float32 product: a product of a multiple of these rows never takes the one-row kernel. */
        int floatRowBlock();

        /** Rows of C per kernel call (a register tile's rows). */
        int kernelRows();

        /**
         * B (k, n) in the layout this implementation's products read; B's row p, column j is
         * b[offset + p ldb + j]. With {@code upper}, B is upper triangular (B[p][j] = 0 for p > j) and
         * a product may skip those zeros.
         */
        PackedFloats pack(float[] b, int offset, int ldb, int n, int k, boolean upper);

        /**
         * B = R^T (d, nb) packed from nb float32 rows R of d values, row j at byte {@code at + j rowBytes}
         * of {@code seg}; norms[j] = |row j|^2 in float64, summed over the row in order.
         */
        PackedFloats packTransposed(java.lang.foreign.MemorySegment seg, long at, long rowBytes, int nb, int d, double[] norms);

        /** Rows 0..m-1 of C = A B into {@code c} (m rows of {@code b.width()}; the first n of each are the product), overwritten. */
        void sgemm(float[] a, int m, PackedFloats b, float[] c);

        /** A (m, k) row-major packed once for products with many packed Bs (see {@link PackedRows}). */
        PackedRows packRows(float[] a, int m, int k);

        /**
         * C = A B for B's panels jp0..jp1-1 (columns jp0 w.. of B, w = {@link #panelWidth}) on the
         * calling thread: row r of C at c[r ldc], column jp0 w + j at c[r ldc + j], for all of A's
         * padded rows (the padding rows are zeros times B), overwritten.
         */
        void sgemm(PackedRows a, PackedFloats b, int jp0, int jp1, float[] c, int ldc);

        /** C += alpha op(A) op(B) in place (see {@link Gemm#dgemmAdd}); B's packing in {@code scratch} when given. */
        void dgemmAdd(Block a, Block b, double alpha, double[] c, int cOff, int ldc, int m, int n, int k, Scratch scratch);

        String name();
    }

    /** The vector kernels, or null: without {@code --add-modules jdk.incubator.vector}, or with -Dood4j.scalarGemm=true. */
    static final Kernels VECTOR = VectorApi.load(Kernels.class, "org.ood4j.engine.cpu.VectorGemm", "ood4j.scalarGemm");

    private Gemm() {}

    /**
     * B (k, n) prepared once for many products A B with different A — a k-NN bank tile against
     * every block of queries — so that the packing is not redone per product. C's rows are
     * {@code width} floats (n, or n padded to the kernel's panels). {@code upper}: B is upper
     * triangular and the vector kernels stop each panel's depth at its last column (a triangular
     * product at about half the flops of a full one).
     */
    record PackedFloats(float[] data, int n, int k, int width, boolean panels, boolean upper, int offset) {
        /** Packed from column 0: the panels start at data[0]. */
        PackedFloats(float[] data, int n, int k, int width, boolean panels, boolean upper) {
            this(data, n, k, width, panels, upper, 0);
        }
    }

    /**
     * A (m, k) in the layout the vector kernels read, packed once for products with many Bs or
     * column ranges of one (a k-NN query block against every column group of every bank tile):
     * {@code rows} is m padded with zero rows to whole register tiles, so no row takes a one-row
     * kernel. Made by {@link Kernels#packRows}, read only by the same implementation.
     */
    record PackedRows(float[] data, int m, int rows, int k) {}

    /**
     * Columns j0.. of a packed B (not upper triangular), sharing its packed data — one packing of a
     * block for products with each of its column ranges (Syrk's panels) — or null where j0 is not
     * at a panel's start, or B is not in panels (the scalar loops): pack those columns then.
     */
    static PackedFloats columnsFrom(PackedFloats b, int j0) {
        if (j0 == 0) return b;
        if (!b.panels() || b.upper() || j0 >= b.n()) return null;
        if (j0 % VECTOR.panelWidth() != 0) return null;   // panels of B exist only with the vector kernels
        return new PackedFloats(b.data(), b.n() - j0, b.k(), b.width() - j0, true, false, b.offset() + j0 * b.k());
    }

    /** B packed for {@link #sgemm(float[], int, PackedFloats, float[])}. */
    static PackedFloats pack(float[] b, int n, int k) {
        return pack(b, 0, n, n, k);
    }

    /**
     * B (k, n) packed from a block of a larger row-major matrix: B's row p, column j is
     * b[offset + p ldb + j] — e.g. some columns of some rows — with no contiguous copy of it first.
     */
    static PackedFloats pack(float[] b, int offset, int ldb, int n, int k) {
        return pack(b, offset, ldb, n, k, false);
    }

    /**
     * As {@link #pack(float[], int, int, int, int)}; with {@code upper}, for a B known to be upper
     * triangular (zeros below its diagonal, as stored): the vector kernels skip the zero rows of
     * each panel; the scalar loops multiply them (same result).
     */
    static PackedFloats pack(float[] b, int offset, int ldb, int n, int k, boolean upper) {
        if (vectorFits(1, n, k)) return VECTOR.pack(b, offset, ldb, n, k, upper);
        if (offset == 0 && ldb == n) return new PackedFloats(b, n, k, n, false, false);
        float[] dense = new float[n * k];
        for (int p = 0; p < k; p++) System.arraycopy(b, offset + p * ldb, dense, p * n, n);
        return new PackedFloats(dense, n, k, n, false, false);
    }

    /**
     * B = R^T (d, nb) for nb float32 rows R of d contiguous values, row j at byte {@code at + j rowBytes}
     * of {@code seg} (a k-NN bank block: each row is a column of B), packed in one pass over the rows
     * — no transposed copy of the whole first; norms[j] = |row j|^2 in float64 (the vector kernels sum by
     * lanes, {@link MathKernels#sumSquares}).
     */
    static PackedFloats packTransposed(java.lang.foreign.MemorySegment seg, long at, long rowBytes, int nb, int d, double[] norms) {
        if (vectorFits(1, nb, d)) return VECTOR.packTransposed(seg, at, rowBytes, nb, d, norms);
        float[] b = new float[d * nb];
        for (int j = 0; j < nb; j++) {
            double s = 0;
            for (int p = 0; p < d; p++) {
                float v = seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, at + j * rowBytes + 4L * p);
                b[p * nb + j] = v;
                s += (double) v * v;
            }
            norms[j] = s;
        }
        return new PackedFloats(b, nb, d, nb, false, false);
    }

    /**
     * C = A B with a packed B, into {@code c} when it holds m rows of {@code b.width()} (else a new
     * array): a caller that multiplies many blocks reuses one C, not a fresh zeroed array each time.
     */
    static float[] sgemm(float[] a, int m, PackedFloats b, float[] c) {
        if (c == null || c.length < m * b.width()) c = new float[m * b.width()];
        if (b.panels()) {
            VECTOR.sgemm(a, m, b, c);
        } else {
            System.arraycopy(scalarSgemm(a, b.data(), m, b.n(), b.k()), 0, c, 0, m * b.n());
        }
        return c;
    }

    /** A packed for {@link #sgemm(PackedRows, PackedFloats, int, int, float[], int)}, or null without the vector kernels. */
    static PackedRows packRows(float[] a, int m, int k) {
        return VECTOR != null ? VECTOR.packRows(a, m, k) : null;
    }

    /**
     * C = A B for the panels jp0..jp1-1 of a B packed in panels, on the calling thread (see
     * {@link Kernels#sgemm(PackedRows, PackedFloats, int, int, float[], int)}).
     */
    static void sgemm(PackedRows a, PackedFloats b, int jp0, int jp1, float[] c, int ldc) {
        if (!b.panels() || b.upper() || a.k() != b.k()) throw new IllegalArgumentException("packed rows need a full B of depth " + a.k() + " in panels");
        VECTOR.sgemm(a, b, jp0, jp1, c, ldc);
    }

    /** Columns per panel of a packed B: 2 vectors with the vector kernels (B has no panels without them). */
    static int panelWidth() {
        return VECTOR != null ? VECTOR.panelWidth() : 1;
    }

    /** Rows of C per call of the vector kernels (12 with AVX-512, 5 below); 1 for the scalar loops. */
    static int kernelRows() {
        return VECTOR != null ? VECTOR.kernelRows() : 1;
    }

    /** Rows of A that a float32 product takes in whole register tiles ({@link Kernels#floatRowBlock}); 64 for the scalar loops. */
    static int floatRowBlock() {
        return VECTOR != null ? VECTOR.floatRowBlock() : MB;
    }

    /** Which implementation runs, for diagnostics. */
    static String implementation() {
        return VECTOR != null ? VECTOR.name() : "scalar";
    }

    /**
     * A block of a row-major float64 array as a GEMM operand: element (i, p) at
     * data[offset + i ld + p]; {@code transposed}, the block's transpose, element (i, p) at
     * data[offset + p ld + i]: a transposed operand is read where it is, not copied first. Or
     * float32 rows in memory ({@link #ofFloatRows}): element (i, p) the float at index
     * offset + i ld + p of {@code floats}.
     */
    record Block(double[] data, MemorySegment floats, int offset, int ld, boolean transposed) {
        Block(double[] data, int offset, int ld, boolean transposed) {
            this(data, null, offset, ld, transposed);
        }

        /**
         * Row-major float32 rows as a float64 operand, widened as the product packs them: float32
         * rows times a float64 matrix (ViM's features times its principal space) read where they
         * lie, a tensor's own memory, with no copy first (for 2000 x 512 rows, a float64 copy is an
         * 8 MB array written and read again; a float32 one, a 4 MB array to fault in and fill).
         */
        static Block ofFloatRows(MemorySegment floats, int ld) {
            return new Block(null, floats, 0, ld, false);
        }

        double get(int i, int p) {
            int at = transposed ? offset + p * ld + i : offset + i * ld + p;
            return floats != null ? floats.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, at) : data[at];
        }
    }

    /**
     * One array for the packed B of a sequence of products on one thread, grown as needed: the
     * blocked Cholesky's hundreds of products would otherwise each take a fresh array of up to
     * (n/2)^2 doubles, which a fresh JVM pays for in page faults while its heap grows.
     */
    static final class Scratch {
        private double[] panels = new double[0];

        /** At least {@code size} doubles, their contents left over from earlier products. */
        double[] panels(int size) {
            if (panels.length < size) panels = new double[size];
            return panels;
        }
    }

    /**
     * C += alpha op(A) op(B) in place, on blocks of row-major float64 arrays: op(A) (m, k), op(B)
     * (k, n), C (m, n) at c[cOff + i ldc + j] (a block of a larger matrix: the blocked Cholesky's
     * updates). The vector kernels, packing B into {@code scratch} when it is given (one caller
     * thread's); without the Vector API, the scalar blocked loops on row-major copies of the
     * operands, their product added into C.
     */
    static void dgemmAdd(Block a, Block b, double alpha, double[] c, int cOff, int ldc, int m, int n, int k, Scratch scratch) {
        if (vectorFits(m, n, k)) {
            VECTOR.dgemmAdd(a, b, alpha, c, cOff, ldc, m, n, k, scratch);
            return;
        }
        double[] product = scalarDgemm(rowMajor(a, m, k), rowMajor(b, k, n), m, n, k);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) c[cOff + i * ldc + j] += alpha * product[i * n + j];
        }
    }

    /** The operand's (rows, cols) elements as a dense row-major array. */
    private static double[] rowMajor(Block x, int rows, int cols) {
        double[] out = new double[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int p = 0; p < cols; p++) out[i * cols + p] = x.get(i, p);
        }
        return out;
    }

    /** Packed B and padded C must fit Java arrays (the vector kernels pad n up to a panel width). */
    private static boolean vectorFits(int m, int n, int k) {
        long padded = n + 64L, limit = Integer.MAX_VALUE - 8;
        return VECTOR != null && padded * k < limit && padded * m < limit;
    }

    static float[] sgemm(float[] a, float[] b, int m, int n, int k) {
        if (vectorFits(m, n, k)) return VECTOR.sgemm(a, b, m, n, k);
        return scalarSgemm(a, b, m, n, k);
    }

    static double[] dgemm(double[] a, double[] b, int m, int n, int k) {
        if (!vectorFits(m, n, k)) return scalarDgemm(a, b, m, n, k);
        return dgemm(new Block(a, 0, k, false), b, m, n, k);
    }

    /** A B for a row-major (m, k) block A, float64 or float32 ({@link Block#ofFloatRows}), and a row-major (k, n) float64 B. */
    static double[] dgemm(Block a, double[] b, int m, int n, int k) {
        double[] c = new double[m * n];
        dgemmAdd(a, new Block(b, 0, n, false), 1, c, 0, n, m, n, k, null);
        return c;
    }

    static float[] scalarSgemm(float[] a, float[] b, int m, int n, int k) {
        float[][] c = new float[m][n];
        int blocks = (m + MB - 1) / MB;
        IntStream.range(0, blocks).parallel().forEach(blk -> {
            int i0 = blk * MB, i1 = Math.min(m, i0 + MB);
            for (int j0 = 0; j0 < n; j0 += NB) {
                int j1 = Math.min(n, j0 + NB);
                for (int k0 = 0; k0 < k; k0 += KB) {
                    int k1 = Math.min(k, k0 + KB);
                    int i = i0;
                    for (; i + 4 <= i1; i += 4) {
                        float[] c0 = c[i], c1 = c[i + 1], c2 = c[i + 2], c3 = c[i + 3];
                        for (int p = k0; p < k1; p++) {
                            float a0 = a[i * k + p], a1 = a[(i + 1) * k + p], a2 = a[(i + 2) * k + p], a3 = a[(i + 3) * k + p];
                            int bo = p * n;
                            for (int j = j0; j < j1; j++) {
                                float bj = b[bo + j];
                                c0[j] += a0 * bj;
                                c1[j] += a1 * bj;
                                c2[j] += a2 * bj;
                                c3[j] += a3 * bj;
                            }
                        }
                    }
                    for (; i < i1; i++) {
                        float[] ci = c[i];
                        for (int p = k0; p < k1; p++) {
                            float ai = a[i * k + p];
                            int bo = p * n;
                            for (int j = j0; j < j1; j++) ci[j] += ai * b[bo + j];
                        }
                    }
                }
            }
        });
        float[] flat = new float[m * n];
        for (int i = 0; i < m; i++) System.arraycopy(c[i], 0, flat, i * n, n);
        return flat;
    }

    static double[] scalarDgemm(double[] a, double[] b, int m, int n, int k) {
        double[][] c = new double[m][n];
        int blocks = (m + MB - 1) / MB;
        IntStream.range(0, blocks).parallel().forEach(blk -> {
            int i0 = blk * MB, i1 = Math.min(m, i0 + MB);
            for (int j0 = 0; j0 < n; j0 += NB) {
                int j1 = Math.min(n, j0 + NB);
                for (int k0 = 0; k0 < k; k0 += KB) {
                    int k1 = Math.min(k, k0 + KB);
                    int i = i0;
                    for (; i + 4 <= i1; i += 4) {
                        double[] c0 = c[i], c1 = c[i + 1], c2 = c[i + 2], c3 = c[i + 3];
                        for (int p = k0; p < k1; p++) {
                            double a0 = a[i * k + p], a1 = a[(i + 1) * k + p], a2 = a[(i + 2) * k + p], a3 = a[(i + 3) * k + p];
                            int bo = p * n;
                            for (int j = j0; j < j1; j++) {
                                double bj = b[bo + j];
                                c0[j] += a0 * bj;
                                c1[j] += a1 * bj;
                                c2[j] += a2 * bj;
                                c3[j] += a3 * bj;
                            }
                        }
                    }
                    for (; i < i1; i++) {
                        double[] ci = c[i];
                        for (int p = k0; p < k1; p++) {
                            double ai = a[i * k + p];
                            int bo = p * n;
                            for (int j = j0; j < j1; j++) ci[j] += ai * b[bo + j];
                        }
                    }
                }
            }
        });
        double[] flat = new double[m * n];
        for (int i = 0; i < m; i++) System.arraycopy(c[i], 0, flat, i * n, n);
        return flat;
    }
}
