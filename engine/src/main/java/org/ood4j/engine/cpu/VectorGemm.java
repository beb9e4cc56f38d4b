package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;

import java.util.stream.IntStream;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * C = A B on row-major heap arrays with a register-blocked micro-kernel on the Vector API: B is
 * packed once into panels of 2 vectors' width ([panel][p][2 L], zero-padded), C is computed with
 * its rows padded to whole panels (no masked loads or stores, which are slow), and each kernel
 * call keeps a KR x 2L block of C in 2 KR vector accumulators while it walks a KC-long stretch of
 * k, with KR broadcasts of A and two loads of B per 2 KR FMAs (KR = 5 with 16 vector registers,
 * 12 with AVX-512's 32). Row blocks of A run in parallel;
 * each copies its MC x KC block of A into micro-panels of KR rows ([panel][p][KR]), so that the
 * kernel's broadcasts read one sequential stream, and a KC x 2L panel of B stays in L1 while the
 * block's micro-panels pass over it.
 *
 * <p>Sums along k are FMA chains per element of C, in k order within a KC block, then added to C:
 * the rounding differs from {@link Gemm}'s scalar loops by the fused multiply-adds only.
 */
final class VectorGemm implements Gemm.Kernels {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final java.lang.foreign.ValueLayout.OfFloat FLOAT_ROWS = java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final VectorSpecies<Double> DS = DoubleVector.SPECIES_PREFERRED;
    private static final int FL = FS.length(), DL = DS.length();
    /**
     * Rows of C per kernel call, and vectors of C per row: 10 accumulators, 2 vectors of B and the
     * broadcasts of A in AVX2's 16 vector registers. 6 x 2 (12 accumulators) looks like it fits in
     * 15, but C2 keeps up to three broadcasts live and then spills one accumulator to the stack
     * every step, a store-to-load chain through memory: 35-38 GFLOP/s per core here against
     * 50-85 for 5 x 2 with A in micro-panels (float32, A 60 x 256 and B panels in cache; 4 x 3
     * took all 16 and spilled too: 37).
     */
    private static final int MR = 5, NV = 2;
    /**
     * With AVX-512's 32 vector registers, the float32 kernel takes 12 rows of C (24 accumulators, 2
     * vectors of B, a broadcast): 14 loads per 24 FMAs instead of 7 per 10, and one loop's overhead
     * per 24 FMAs. Measured on one thread, A and B in cache (Xeon, 512-bit): 195-201 GFLOP/s against
     * 160-165 for 5 x 2, where the FMA rate allows 205. With 16 registers it would spill: 5 x 2 there.
     */
    private static final boolean WIDE = FS.vectorBitSize() >= 512;
    /** Rows of C per kernel call, float32 and float64 alike (the float64 kernel is the same shape for the same reason). */
    private static final int KR = WIDE ? 12 : MR;
    /** Depth of one pass over a panel; rows of A per parallel task (a multiple of KR: only a product's last rows take the one-row kernel). */
    private static final int KC = 256, MC = WIDE ? 84 : 80, SMC = WIDE ? 252 : MC;
    /** Below this many multiply-adds the product runs on the calling thread. */
    private static final long PARALLEL_WORK = 1 << 20;

    @Override
    public int panelWidth() {
        return NV * FL;
    }

    @Override
    public int floatRowBlock() {
        return SMC;
    }

    @Override
    public int kernelRows() {
        return KR;
    }


    @Override
    public String name() {
        return "vector (" + FS.vectorBitSize() + "-bit)";
    }

    // ---------------------------------------------------------------- float32

    @Override
    public float[] sgemm(float[] a, float[] b, int m, int n, int k) {
        if (m == 0 || n == 0 || k == 0) return new float[m * n];
        Gemm.PackedFloats packed = pack(b, 0, n, n, k, false);
        float[] c = new float[m * packed.width()];     // rows padded to whole panels: the kernels never mask
        sgemm(a, m, packed, c);
        return packed.width() == n ? c : unpad(c, m, n, packed.width());
    }

    @Override
    public Gemm.PackedFloats pack(float[] b, int offset, int ldb, int n, int k, boolean upper) {
        int nr = NV * FL, panels = (n + nr - 1) / nr;
        float[] bp = new float[panels * k * nr];
        for (int jp = 0; jp < panels; jp++) {
            int j0 = jp * nr, cols = Math.min(nr, n - j0);
            for (int p = 0; p < k; p++) System.arraycopy(b, offset + p * ldb + j0, bp, (jp * k + p) * nr, cols);
        }
        return new Gemm.PackedFloats(bp, n, k, panels * nr, true, upper);
    }

    /**
     * Each panel of 2L columns of B is 2L rows of R: read row by row, in order, each value stored
     * into its place in the panel (2L floats apart, one cache line); the panels in parallel.
     */
    @Override
    public Gemm.PackedFloats packTransposed(java.lang.foreign.MemorySegment seg, long at, long rowBytes, int nb, int d, double[] norms) {
        int nr = NV * FL, panels = (nb + nr - 1) / nr;
        float[] bp = new float[panels * d * nr];
        IntStream tasks = IntStream.range(0, panels);
        if ((long) nb * d >= PARALLEL_WORK) tasks = tasks.parallel();
        tasks.forEach(jp -> {
            // the panel's rows copied out whole first (their norms by the vector kernel, float64 sums),
            // then transposed from that copy: element by element from the rows, with a chain of float64
            // adds per row, the packing took 3 ns a value, and a tenth of a first search in cells
            int j0 = jp * nr, rows = Math.min(nr, nb - j0);
            float[] panelRows = panelScratch(nr * d);
            for (int r = 0; r < rows; r++) {
                MemorySegment.copy(seg, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, at + (j0 + r) * rowBytes, panelRows, r * d, d);
                norms[j0 + r] = MathKernels.INSTANCE.sumSquares(panelRows, r * d, d);
            }
            for (int p = 0, o = jp * d * nr; p < d; p++, o += nr) {
                for (int r = 0; r < rows; r++) bp[o + r] = panelRows[r * d + p];
            }
        });
        return new Gemm.PackedFloats(bp, nb, d, panels * nr, true, false);
    }

    /** Each thread's copy of a panel's rows for {@link #packTransposed}, grown as needed: not a fresh zeroed array per panel. */
    private static final ThreadLocal<float[][]> PANEL_ROWS = ThreadLocal.withInitial(() -> new float[1][0]);

    private static float[] panelScratch(int size) {
        float[][] holder = PANEL_ROWS.get();
        if (holder[0].length < size) holder[0] = new float[size];
        return holder[0];
    }

    @Override
    public void sgemm(float[] a, int m, Gemm.PackedFloats b, float[] c) {
        int n = b.n(), k = b.k(), nr = NV * FL, panels = b.width() / nr, width = b.width();
        boolean upper = b.upper();
        float[] bp = b.data();
        if (m == 0 || n == 0) return;
        if (k == 0) {
            java.util.Arrays.fill(c, 0, m * width, 0f);
            return;
        }
        int blocks = (m + SMC - 1) / SMC;
        IntStream tasks = IntStream.range(0, blocks);
        if (blocks > 1 && (long) m * n * k >= PARALLEL_WORK) tasks = tasks.parallel();
        tasks.forEach(blk -> {
            int i0 = blk * SMC, i1 = Math.min(m, i0 + SMC), panelRows = (i1 - i0) / KR * KR;
            float[] ap = new float[panelRows * Math.min(k, KC)];
            for (int p0 = 0; p0 < k; p0 += KC) {
                int p1 = Math.min(k, p0 + KC), len = p1 - p0;
                boolean first = p0 == 0;   // the first stretch of k stores C, the later ones add to it: C needs no zeroing
                packRows(a, k, i0, panelRows, p0, len, ap);
                for (int jp = 0; jp < panels; jp++) {
                    int j0 = jp * nr, boff = b.offset() + (jp * k + p0) * nr;
                    // an upper-triangular B is zero below row j0 + nr - 1 in this panel: its depth ends there
                    int end = upper ? Math.min(p1, j0 + nr) : p1;
                    if (end <= p0) continue;   // never on the first stretch (p0 = 0 < j0 + nr), so C is stored before
                    for (int r = 0; r < panelRows; r += KR) sKernel(ap, r * len, end - p0, bp, boff, c, (i0 + r) * width + j0, width, first);
                    for (int i = i0 + panelRows; i < i1; i++) sKernel1(a, k, i, p0, end, bp, boff, nr, c, width, j0, first);
                }
            }
        });
    }

    /** Rows i0..i0+rows-1 of A (row length k), columns p0..p0+len-1, into micro-panels of KR rows: ap[(r / KR) KR len + p KR + r % KR]. */
    private static void packRows(float[] a, int k, int i0, int rows, int p0, int len, float[] ap) {
        packRows(a, k, i0, rows, p0, len, ap, 0);
    }

    /** As above from ap[at]; a last group of fewer than KR rows leaves its other places as they are (zeros in a new array). */
    private static void packRows(float[] a, int k, int i0, int rows, int p0, int len, float[] ap, int at) {
        // row by row: each a sequential read into every KR-th place (an inner loop over the KR rows
        // at each p cost more than the product of a 10-column B)
        for (int q = 0, dst = at; q * KR < rows; q++, dst += KR * len) {
            for (int r = 0, src = (i0 + q * KR) * k + p0; r < Math.min(KR, rows - q * KR); r++, src += k) {
                for (int p = 0, o = dst + r; p < len; p++, o += KR) ap[o] = a[src + p];
            }
        }
    }

    /** Each KC stretch of k after the other ([stretch][group][p][KR], the stretch at p0 from ap[rows p0]), rows padded with zeros. */
    @Override
    public Gemm.PackedRows packRows(float[] a, int m, int k) {
        int rows = (m + KR - 1) / KR * KR;
        float[] ap = new float[rows * k];
        for (int p0 = 0; p0 < k; p0 += KC) packRows(a, k, 0, m, p0, Math.min(KC, k - p0), ap, rows * p0);
        return new Gemm.PackedRows(ap, m, rows, k);
    }

    /**
     * The loops of {@link #sgemm(float[], int, Gemm.PackedFloats, float[])} over one row block, A
     * packed already: a k-NN search runs them per column group of a bank tile, so that C (the
     * block's rows x the group's columns) stays in L2 between the stretches of k and for the scan
     * that follows, where the whole tile's C went to L3 and back.
     */
    @Override
    public void sgemm(Gemm.PackedRows a, Gemm.PackedFloats b, int jp0, int jp1, float[] c, int ldc) {
        int k = a.k(), rows = a.rows(), nr = NV * FL;
        float[] ap = a.data(), bp = b.data();
        for (int p0 = 0; p0 < k; p0 += KC) {
            int len = Math.min(KC, k - p0), at = rows * p0;
            boolean first = p0 == 0;
            for (int jp = jp0; jp < jp1; jp++) {
                int boff = b.offset() + (jp * k + p0) * nr, o = (jp - jp0) * nr;
                for (int r = 0; r < rows; r += KR) sKernel(ap, at + r * len, len, bp, boff, c, r * ldc + o, ldc, first);
            }
        }
    }

    /** The 5 rows of C from c[o] (row length n), 2L columns, over depth steps of A's micro-panel at ap[ao] and B's panel at bp[boff]. */
    private static void sKernel5(float[] ap, int ao, int depth, float[] bp, int boff, float[] c, int o, int n, boolean first) {
        FloatVector c00 = FloatVector.zero(FS), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00;
        int bo = boff, nr = NV * FL;
        for (int x = ao, end = ao + MR * depth; x < end; x += MR, bo += nr) {
            FloatVector b0 = FloatVector.fromArray(FS, bp, bo);
            FloatVector b1 = FloatVector.fromArray(FS, bp, bo + FL);
            FloatVector av = FloatVector.broadcast(FS, ap[x]);
            c00 = b0.fma(av, c00); c01 = b1.fma(av, c01);
            av = FloatVector.broadcast(FS, ap[x + 1]);
            c10 = b0.fma(av, c10); c11 = b1.fma(av, c11);
            av = FloatVector.broadcast(FS, ap[x + 2]);
            c20 = b0.fma(av, c20); c21 = b1.fma(av, c21);
            av = FloatVector.broadcast(FS, ap[x + 3]);
            c30 = b0.fma(av, c30); c31 = b1.fma(av, c31);
            av = FloatVector.broadcast(FS, ap[x + 4]);
            c40 = b0.fma(av, c40); c41 = b1.fma(av, c41);
        }
        sAdd2(c, o, c00, c01, first);
        sAdd2(c, o + n, c10, c11, first);
        sAdd2(c, o + 2 * n, c20, c21, first);
        sAdd2(c, o + 3 * n, c30, c31, first);
        sAdd2(c, o + 4 * n, c40, c41, first);
    }

    /** The float32 kernel of this machine's shape: KR rows of C from c[o] (row length n), stored or added ({@code first}). */
    private static void sKernel(float[] ap, int ao, int depth, float[] bp, int boff, float[] c, int o, int n, boolean first) {
        if (WIDE) sKernel12(ap, ao, depth, bp, boff, c, o, n, first);
        else sKernel5(ap, ao, depth, bp, boff, c, o, n, first);
    }

    /** sKernel5 for 12 rows of C (AVX-512 only: 24 accumulators need 32 registers). */
    private static void sKernel12(float[] ap, int ao, int depth, float[] bp, int boff, float[] c, int o, int n, boolean first) {
        FloatVector c00 = FloatVector.zero(FS), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        FloatVector c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        FloatVector c80 = c00, c81 = c00, c90 = c00, c91 = c00, ca0 = c00, ca1 = c00, cb0 = c00, cb1 = c00;
        int bo = boff, nr = NV * FL;
        for (int x = ao, end = ao + 12 * depth; x < end; x += 12, bo += nr) {
            FloatVector b0 = FloatVector.fromArray(FS, bp, bo);
            FloatVector b1 = FloatVector.fromArray(FS, bp, bo + FL);
            FloatVector av = FloatVector.broadcast(FS, ap[x]);
            c00 = b0.fma(av, c00); c01 = b1.fma(av, c01);
            av = FloatVector.broadcast(FS, ap[x + 1]);
            c10 = b0.fma(av, c10); c11 = b1.fma(av, c11);
            av = FloatVector.broadcast(FS, ap[x + 2]);
            c20 = b0.fma(av, c20); c21 = b1.fma(av, c21);
            av = FloatVector.broadcast(FS, ap[x + 3]);
            c30 = b0.fma(av, c30); c31 = b1.fma(av, c31);
            av = FloatVector.broadcast(FS, ap[x + 4]);
            c40 = b0.fma(av, c40); c41 = b1.fma(av, c41);
            av = FloatVector.broadcast(FS, ap[x + 5]);
            c50 = b0.fma(av, c50); c51 = b1.fma(av, c51);
            av = FloatVector.broadcast(FS, ap[x + 6]);
            c60 = b0.fma(av, c60); c61 = b1.fma(av, c61);
            av = FloatVector.broadcast(FS, ap[x + 7]);
            c70 = b0.fma(av, c70); c71 = b1.fma(av, c71);
            av = FloatVector.broadcast(FS, ap[x + 8]);
            c80 = b0.fma(av, c80); c81 = b1.fma(av, c81);
            av = FloatVector.broadcast(FS, ap[x + 9]);
            c90 = b0.fma(av, c90); c91 = b1.fma(av, c91);
            av = FloatVector.broadcast(FS, ap[x + 10]);
            ca0 = b0.fma(av, ca0); ca1 = b1.fma(av, ca1);
            av = FloatVector.broadcast(FS, ap[x + 11]);
            cb0 = b0.fma(av, cb0); cb1 = b1.fma(av, cb1);
        }
        // written out, not through sAdd2: C2 does not inline a twelfth call into a kernel this size, and a
        // call taking vectors boxes them (the whole product ran 10x slower)
        if (!first) {
            c00 = c00.add(FloatVector.fromArray(FS, c, o)); c01 = c01.add(FloatVector.fromArray(FS, c, o + FL));
            c10 = c10.add(FloatVector.fromArray(FS, c, o + n)); c11 = c11.add(FloatVector.fromArray(FS, c, o + n + FL));
            c20 = c20.add(FloatVector.fromArray(FS, c, o + 2 * n)); c21 = c21.add(FloatVector.fromArray(FS, c, o + 2 * n + FL));
            c30 = c30.add(FloatVector.fromArray(FS, c, o + 3 * n)); c31 = c31.add(FloatVector.fromArray(FS, c, o + 3 * n + FL));
            c40 = c40.add(FloatVector.fromArray(FS, c, o + 4 * n)); c41 = c41.add(FloatVector.fromArray(FS, c, o + 4 * n + FL));
            c50 = c50.add(FloatVector.fromArray(FS, c, o + 5 * n)); c51 = c51.add(FloatVector.fromArray(FS, c, o + 5 * n + FL));
            c60 = c60.add(FloatVector.fromArray(FS, c, o + 6 * n)); c61 = c61.add(FloatVector.fromArray(FS, c, o + 6 * n + FL));
            c70 = c70.add(FloatVector.fromArray(FS, c, o + 7 * n)); c71 = c71.add(FloatVector.fromArray(FS, c, o + 7 * n + FL));
            c80 = c80.add(FloatVector.fromArray(FS, c, o + 8 * n)); c81 = c81.add(FloatVector.fromArray(FS, c, o + 8 * n + FL));
            c90 = c90.add(FloatVector.fromArray(FS, c, o + 9 * n)); c91 = c91.add(FloatVector.fromArray(FS, c, o + 9 * n + FL));
            ca0 = ca0.add(FloatVector.fromArray(FS, c, o + 10 * n)); ca1 = ca1.add(FloatVector.fromArray(FS, c, o + 10 * n + FL));
            cb0 = cb0.add(FloatVector.fromArray(FS, c, o + 11 * n)); cb1 = cb1.add(FloatVector.fromArray(FS, c, o + 11 * n + FL));
        }
        c00.intoArray(c, o); c01.intoArray(c, o + FL);
        c10.intoArray(c, o + n); c11.intoArray(c, o + n + FL);
        c20.intoArray(c, o + 2 * n); c21.intoArray(c, o + 2 * n + FL);
        c30.intoArray(c, o + 3 * n); c31.intoArray(c, o + 3 * n + FL);
        c40.intoArray(c, o + 4 * n); c41.intoArray(c, o + 4 * n + FL);
        c50.intoArray(c, o + 5 * n); c51.intoArray(c, o + 5 * n + FL);
        c60.intoArray(c, o + 6 * n); c61.intoArray(c, o + 6 * n + FL);
        c70.intoArray(c, o + 7 * n); c71.intoArray(c, o + 7 * n + FL);
        c80.intoArray(c, o + 8 * n); c81.intoArray(c, o + 8 * n + FL);
        c90.intoArray(c, o + 9 * n); c91.intoArray(c, o + 9 * n + FL);
        ca0.intoArray(c, o + 10 * n); ca1.intoArray(c, o + 10 * n + FL);
        cb0.intoArray(c, o + 11 * n); cb1.intoArray(c, o + 11 * n + FL);
    }

    /** C[o..o+2L) = (v0, v1), or += when not the first stretch of k. */
    private static void sAdd2(float[] c, int o, FloatVector v0, FloatVector v1, boolean first) {
        if (!first) {
            v0 = v0.add(FloatVector.fromArray(FS, c, o));
            v1 = v1.add(FloatVector.fromArray(FS, c, o + FL));
        }
        v0.intoArray(c, o);
        v1.intoArray(c, o + FL);
    }

    private static void sKernel1(float[] a, int k, int i, int p0, int p1, float[] bp, int boff, int nr, float[] c, int n, int j0,
                                 boolean first) {
        FloatVector c0 = FloatVector.zero(FS), c1 = c0;
        int a0 = i * k, bo = boff;
        for (int p = p0; p < p1; p++, bo += nr) {
            FloatVector x = FloatVector.broadcast(FS, a[a0 + p]);
            c0 = FloatVector.fromArray(FS, bp, bo).fma(x, c0);
            c1 = FloatVector.fromArray(FS, bp, bo + FL).fma(x, c1);
        }
        sAdd2(c, i * n + j0, c0, c1, first);
    }

    private static float[] unpad(float[] c, int m, int n, int width) {
        float[] out = new float[m * n];
        for (int i = 0; i < m; i++) System.arraycopy(c, i * width, out, i * n, n);
        return out;
    }

    // ---------------------------------------------------------------- float64

    /**
     * C += alpha op(A) op(B) in place: B packed into panels as for float32, A's row blocks in
     * parallel, each packed into micro-panels of KR rows (zero rows past m, so every row goes
     * through the one KR-row kernel), each kernel tile added into C at its row stride; a tile past
     * C's last row or column goes through a scratch tile and only its part inside C is added.
     */
    @Override
    public void dgemmAdd(Gemm.Block a, Gemm.Block b, double alpha, double[] c, int cOff, int ldc, int m, int n, int k, Gemm.Scratch scratch) {
        if (m == 0 || n == 0 || k == 0) return;
        int nr = NV * DL, panels = (n + nr - 1) / nr;
        double[] bp = packPanels(b, n, k, scratch);
        int blocks = (m + MC - 1) / MC;
        IntStream tasks = IntStream.range(0, blocks);
        if (blocks > 1 && (long) m * n * k >= PARALLEL_WORK) tasks = tasks.parallel();
        tasks.forEach(blk -> {
            int i0 = blk * MC, rows = Math.min(MC, m - i0), panelRows = (rows + KR - 1) / KR * KR;
            double[] ap = borrowRowPanels(panelRows * Math.min(k, KC)), tile = new double[KR * nr];
            for (int p0 = 0; p0 < k; p0 += KC) {
                int len = Math.min(KC, k - p0);
                packRows(a, i0, rows, panelRows, p0, len, ap);
                for (int jp = 0; jp < panels; jp++) {
                    int j0 = jp * nr, cols = Math.min(nr, n - j0), boff = (jp * k + p0) * nr;
                    for (int r = 0; r < panelRows; r += KR) {
                        int inside = Math.min(KR, rows - r), at = cOff + (i0 + r) * ldc + j0;
                        if (inside == KR && cols == nr) {
                            dKernel(ap, r * len, len, bp, boff, c, at, ldc, alpha);
                            continue;
                        }
                        java.util.Arrays.fill(tile, 0);
                        dKernel(ap, r * len, len, bp, boff, tile, 0, nr, 1);
                        for (int x = 0; x < inside; x++) {
                            for (int y = 0; y < cols; y++) c[at + x * ldc + y] += alpha * tile[x * nr + y];
                        }
                    }
                }
            }
            ROW_PANELS.get()[0] = ap;
        });
    }

    /**
     * Each thread's array for A's micro-panels: a row block's (84 x 256 doubles, 172 KB) would
     * otherwise be a fresh zeroed array per task. Taken out of its holder while in use and put back
     * after, so a product nested in a task on the same thread gets an array of its own.
     */
    private static final double[] NO_PANELS = new double[0];
    private static final ThreadLocal<double[][]> ROW_PANELS = ThreadLocal.withInitial(() -> new double[][] {NO_PANELS});

    private static double[] borrowRowPanels(int size) {
        double[][] holder = ROW_PANELS.get();
        double[] panels = holder[0];
        holder[0] = NO_PANELS;
        return panels.length >= size ? panels : new double[size];
    }

    /**
     * op(B) (k, n) into zero-padded panels of 2L columns, [panel][p][2 L], the panels in parallel
     * (a 2048 x 2048 B is 32 MB to move: on one thread, the other would wait); a transposed B is
     * read along its rows. In a reused {@code scratch}, the padding columns keep stale values:
     * they only reach the columns of a scratch tile that are never added to C.
     */
    private static double[] packPanels(Gemm.Block b, int n, int k, Gemm.Scratch scratch) {
        int nr = NV * DL, panels = (n + nr - 1) / nr, ld = b.ld();
        double[] bp = scratch != null ? scratch.panels(panels * k * nr) : new double[panels * k * nr], data = b.data();
        IntStream tasks = IntStream.range(0, panels);
        if ((long) n * k >= PARALLEL_WORK) tasks = tasks.parallel();
        tasks.forEach(jp -> {
            int j0 = jp * nr, cols = Math.min(nr, n - j0);
            if (!b.transposed() && cols == nr) {   // a whole panel: two vectors a row (an arraycopy call per 16 doubles cost more than the copy)
                for (int p = 0, src = b.offset() + j0, dst = jp * k * nr; p < k; p++, src += ld, dst += nr) {
                    DoubleVector.fromArray(DS, data, src).intoArray(bp, dst);
                    DoubleVector.fromArray(DS, data, src + DL).intoArray(bp, dst + DL);
                }
                return;
            }
            if (!b.transposed()) {
                for (int p = 0; p < k; p++) System.arraycopy(data, b.offset() + p * ld + j0, bp, (jp * k + p) * nr, cols);
                return;
            }
            for (int jj = 0; jj < cols; jj++) {
                for (int p = 0, src = b.offset() + (j0 + jj) * ld, dst = jp * k * nr + jj; p < k; p++, dst += nr) bp[dst] = data[src + p];
            }
        });
        return bp;
    }

    /**
     * Rows i0.. of op(A), columns p0..p0+len-1, into micro-panels of KR rows,
     * ap[(r / KR) KR len + p KR + r % KR], rows past the block's {@code rows} zero: a row-major A
     * row by row, a transposed A KR adjacent values at a time.
     */
    private static void packRows(Gemm.Block a, int i0, int rows, int panelRows, int p0, int len, double[] ap) {
        double[] data = a.data();
        java.lang.foreign.MemorySegment floats = a.floats();   // a float32 A (Block.ofFloatRows) is widened here, as it is packed
        int ld = a.ld(), rowStep = a.transposed() ? 1 : ld, colStep = a.transposed() ? ld : 1;
        for (int q = 0, dst = 0; q < panelRows / KR; q++, dst += KR * len) {
            int inside = Math.min(KR, rows - q * KR), first = a.offset() + (i0 + q * KR) * rowStep + p0 * colStep;
            if (!a.transposed()) {   // row by row: each a sequential read (the per-element form cost as much as the product here)
                for (int r = 0; r < KR; r++) {
                    int src = first + r * ld;
                    if (r >= inside) {
                        for (int p = 0, o = dst + r; p < len; p++, o += KR) ap[o] = 0;
                    } else if (floats != null) {
                        for (int p = 0, o = dst + r; p < len; p++, o += KR) ap[o] = floats.getAtIndex(FLOAT_ROWS, src + p);
                    } else {
                        for (int p = 0, o = dst + r; p < len; p++, o += KR) ap[o] = data[src + p];
                    }
                }
                continue;
            }
            for (int p = 0, o = dst; p < len; p++, o += KR) {
                for (int r = 0; r < KR; r++) ap[o + r] = r < inside ? data[first + p * colStep + r] : 0;
            }
        }
    }

    /** C's 5 rows from c[o] (row stride ldc), 2L columns, += alpha times the product over depth steps of A's micro-panel and B's panel. */
    private static void dKernel5(double[] ap, int ao, int depth, double[] bp, int boff, double[] c, int o, int ldc, double alpha) {
        DoubleVector c00 = DoubleVector.zero(DS), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        DoubleVector c30 = c00, c31 = c00, c40 = c00, c41 = c00;
        int bo = boff, nr = NV * DL;
        for (int x = ao, end = ao + MR * depth; x < end; x += MR, bo += nr) {
            DoubleVector b0 = DoubleVector.fromArray(DS, bp, bo);
            DoubleVector b1 = DoubleVector.fromArray(DS, bp, bo + DL);
            DoubleVector av = DoubleVector.broadcast(DS, ap[x]);
            c00 = b0.fma(av, c00); c01 = b1.fma(av, c01);
            av = DoubleVector.broadcast(DS, ap[x + 1]);
            c10 = b0.fma(av, c10); c11 = b1.fma(av, c11);
            av = DoubleVector.broadcast(DS, ap[x + 2]);
            c20 = b0.fma(av, c20); c21 = b1.fma(av, c21);
            av = DoubleVector.broadcast(DS, ap[x + 3]);
            c30 = b0.fma(av, c30); c31 = b1.fma(av, c31);
            av = DoubleVector.broadcast(DS, ap[x + 4]);
            c40 = b0.fma(av, c40); c41 = b1.fma(av, c41);
        }
        DoubleVector scale = DoubleVector.broadcast(DS, alpha);
        dAdd2(c, o, c00, c01, scale);
        dAdd2(c, o + ldc, c10, c11, scale);
        dAdd2(c, o + 2 * ldc, c20, c21, scale);
        dAdd2(c, o + 3 * ldc, c30, c31, scale);
        dAdd2(c, o + 4 * ldc, c40, c41, scale);
    }

    /** The float64 kernel of this machine's shape: KR rows of C += alpha times the product over depth steps. */
    private static void dKernel(double[] ap, int ao, int depth, double[] bp, int boff, double[] c, int o, int ldc, double alpha) {
        if (WIDE) dKernel12(ap, ao, depth, bp, boff, c, o, ldc, alpha);
        else dKernel5(ap, ao, depth, bp, boff, c, o, ldc, alpha);
    }

    /** dKernel5 for 12 rows of C (AVX-512 only: 24 accumulators need 32 registers). */
    private static void dKernel12(double[] ap, int ao, int depth, double[] bp, int boff, double[] c, int o, int ldc, double alpha) {
        DoubleVector c00 = DoubleVector.zero(DS), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        DoubleVector c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        DoubleVector c80 = c00, c81 = c00, c90 = c00, c91 = c00, ca0 = c00, ca1 = c00, cb0 = c00, cb1 = c00;
        int bo = boff, nr = NV * DL;
        for (int x = ao, end = ao + 12 * depth; x < end; x += 12, bo += nr) {
            DoubleVector b0 = DoubleVector.fromArray(DS, bp, bo);
            DoubleVector b1 = DoubleVector.fromArray(DS, bp, bo + DL);
            DoubleVector av = DoubleVector.broadcast(DS, ap[x]);
            c00 = b0.fma(av, c00); c01 = b1.fma(av, c01);
            av = DoubleVector.broadcast(DS, ap[x + 1]);
            c10 = b0.fma(av, c10); c11 = b1.fma(av, c11);
            av = DoubleVector.broadcast(DS, ap[x + 2]);
            c20 = b0.fma(av, c20); c21 = b1.fma(av, c21);
            av = DoubleVector.broadcast(DS, ap[x + 3]);
            c30 = b0.fma(av, c30); c31 = b1.fma(av, c31);
            av = DoubleVector.broadcast(DS, ap[x + 4]);
            c40 = b0.fma(av, c40); c41 = b1.fma(av, c41);
            av = DoubleVector.broadcast(DS, ap[x + 5]);
            c50 = b0.fma(av, c50); c51 = b1.fma(av, c51);
            av = DoubleVector.broadcast(DS, ap[x + 6]);
            c60 = b0.fma(av, c60); c61 = b1.fma(av, c61);
            av = DoubleVector.broadcast(DS, ap[x + 7]);
            c70 = b0.fma(av, c70); c71 = b1.fma(av, c71);
            av = DoubleVector.broadcast(DS, ap[x + 8]);
            c80 = b0.fma(av, c80); c81 = b1.fma(av, c81);
            av = DoubleVector.broadcast(DS, ap[x + 9]);
            c90 = b0.fma(av, c90); c91 = b1.fma(av, c91);
            av = DoubleVector.broadcast(DS, ap[x + 10]);
            ca0 = b0.fma(av, ca0); ca1 = b1.fma(av, ca1);
            av = DoubleVector.broadcast(DS, ap[x + 11]);
            cb0 = b0.fma(av, cb0); cb1 = b1.fma(av, cb1);
        }
        // written out, not through dAdd2: as in sKernel12, a call taking vectors would box them
        DoubleVector scale = DoubleVector.broadcast(DS, alpha);
        c00.fma(scale, DoubleVector.fromArray(DS, c, o)).intoArray(c, o);
        c01.fma(scale, DoubleVector.fromArray(DS, c, o + DL)).intoArray(c, o + DL);
        c10.fma(scale, DoubleVector.fromArray(DS, c, o + ldc)).intoArray(c, o + ldc);
        c11.fma(scale, DoubleVector.fromArray(DS, c, o + ldc + DL)).intoArray(c, o + ldc + DL);
        c20.fma(scale, DoubleVector.fromArray(DS, c, o + 2 * ldc)).intoArray(c, o + 2 * ldc);
        c21.fma(scale, DoubleVector.fromArray(DS, c, o + 2 * ldc + DL)).intoArray(c, o + 2 * ldc + DL);
        c30.fma(scale, DoubleVector.fromArray(DS, c, o + 3 * ldc)).intoArray(c, o + 3 * ldc);
        c31.fma(scale, DoubleVector.fromArray(DS, c, o + 3 * ldc + DL)).intoArray(c, o + 3 * ldc + DL);
        c40.fma(scale, DoubleVector.fromArray(DS, c, o + 4 * ldc)).intoArray(c, o + 4 * ldc);
        c41.fma(scale, DoubleVector.fromArray(DS, c, o + 4 * ldc + DL)).intoArray(c, o + 4 * ldc + DL);
        c50.fma(scale, DoubleVector.fromArray(DS, c, o + 5 * ldc)).intoArray(c, o + 5 * ldc);
        c51.fma(scale, DoubleVector.fromArray(DS, c, o + 5 * ldc + DL)).intoArray(c, o + 5 * ldc + DL);
        c60.fma(scale, DoubleVector.fromArray(DS, c, o + 6 * ldc)).intoArray(c, o + 6 * ldc);
        c61.fma(scale, DoubleVector.fromArray(DS, c, o + 6 * ldc + DL)).intoArray(c, o + 6 * ldc + DL);
        c70.fma(scale, DoubleVector.fromArray(DS, c, o + 7 * ldc)).intoArray(c, o + 7 * ldc);
        c71.fma(scale, DoubleVector.fromArray(DS, c, o + 7 * ldc + DL)).intoArray(c, o + 7 * ldc + DL);
        c80.fma(scale, DoubleVector.fromArray(DS, c, o + 8 * ldc)).intoArray(c, o + 8 * ldc);
        c81.fma(scale, DoubleVector.fromArray(DS, c, o + 8 * ldc + DL)).intoArray(c, o + 8 * ldc + DL);
        c90.fma(scale, DoubleVector.fromArray(DS, c, o + 9 * ldc)).intoArray(c, o + 9 * ldc);
        c91.fma(scale, DoubleVector.fromArray(DS, c, o + 9 * ldc + DL)).intoArray(c, o + 9 * ldc + DL);
        ca0.fma(scale, DoubleVector.fromArray(DS, c, o + 10 * ldc)).intoArray(c, o + 10 * ldc);
        ca1.fma(scale, DoubleVector.fromArray(DS, c, o + 10 * ldc + DL)).intoArray(c, o + 10 * ldc + DL);
        cb0.fma(scale, DoubleVector.fromArray(DS, c, o + 11 * ldc)).intoArray(c, o + 11 * ldc);
        cb1.fma(scale, DoubleVector.fromArray(DS, c, o + 11 * ldc + DL)).intoArray(c, o + 11 * ldc + DL);
    }

    /** C[o..o+2L) += alpha (v0, v1), one rounding per element. */
    private static void dAdd2(double[] c, int o, DoubleVector v0, DoubleVector v1, DoubleVector alpha) {
        v0.fma(alpha, DoubleVector.fromArray(DS, c, o)).intoArray(c, o);
        v1.fma(alpha, DoubleVector.fromArray(DS, c, o + DL)).intoArray(c, o + DL);
    }
}
