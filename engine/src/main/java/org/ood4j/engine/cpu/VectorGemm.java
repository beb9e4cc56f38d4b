package org.ood4j.engine.cpu;

import java.util.stream.IntStream;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * C = A B on row-major heap arrays with a register-blocked micro-kernel on the Vector API: B is
 * packed once into panels of 2 vectors' width ([panel][p][2 L], zero-padded), C is computed with
 * its rows padded to whole panels (no masked loads or stores, which are slow), and each kernel
 * call keeps a 6 x 2L block of C in 12 vector accumulators while it walks a KC-long stretch of k,
 * with six broadcasts of A and two loads of B per twelve FMAs. Row blocks of A run in
 * parallel; a block's KC x 3L panel of B stays in L1 while its rows pass over it.
 *
 * <p>Sums along k are FMA chains per element of C, in k order within a KC block, then added to C:
 * the rounding differs from {@link Gemm}'s scalar loops by the fused multiply-adds only.
 */
final class VectorGemm implements Gemm.Kernels {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> DS = DoubleVector.SPECIES_PREFERRED;
    private static final int FL = FS.length(), DL = DS.length();
    /**
     * Rows of C per kernel call, and vectors of C per row: 12 accumulators, 2 vectors of B and
     * one broadcast of A, 15 of AVX2's 16 vector registers. (4 x 3 took all 16, and C2 then
     * spilled: 37 GFLOP/s per core here against 52 for 6 x 2, float32 2048^3.)
     */
    private static final int MR = 6, NV = 2;
    /** Depth of one pass over a panel; rows of A per parallel task. */
    private static final int KC = 256, MC = 72;   // MC a multiple of MR: no row of a block takes the one-row kernel
    /** Below this many multiply-adds the product runs on the calling thread. */
    private static final long PARALLEL_WORK = 1 << 20;

    @Override
    public int panelWidth() {
        return NV * FL;
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
            for (int r = 0, j = jp * nr; r < nr && j < nb; r++, j++) {
                long row = at + j * rowBytes;
                double s = 0;
                for (int p = 0, o = jp * d * nr + r; p < d; p++, o += nr) {
                    float v = seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, row + 4L * p);
                    bp[o] = v;
                    s += (double) v * v;
                }
                norms[j] = s;
            }
        });
        return new Gemm.PackedFloats(bp, nb, d, panels * nr, true, false);
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
        int blocks = (m + MC - 1) / MC;
        IntStream tasks = IntStream.range(0, blocks);
        if (blocks > 1 && (long) m * n * k >= PARALLEL_WORK) tasks = tasks.parallel();
        tasks.forEach(blk -> {
            int i0 = blk * MC, i1 = Math.min(m, i0 + MC);
            for (int p0 = 0; p0 < k; p0 += KC) {
                int p1 = Math.min(k, p0 + KC);
                boolean first = p0 == 0;   // the first stretch of k stores C, the later ones add to it: C needs no zeroing
                for (int jp = 0; jp < panels; jp++) {
                    int j0 = jp * nr, boff = b.offset() + (jp * k + p0) * nr;
                    // an upper-triangular B is zero below row j0 + nr - 1 in this panel: its depth ends there
                    int end = upper ? Math.min(p1, j0 + nr) : p1;
                    if (end <= p0) continue;   // never on the first stretch (p0 = 0 < j0 + nr), so C is stored before
                    int i = i0;
                    for (; i + MR <= i1; i += MR) sKernel6(a, k, i, p0, end, bp, boff, nr, c, width, j0, first);
                    for (; i < i1; i++) sKernel1(a, k, i, p0, end, bp, boff, nr, c, width, j0, first);
                }
            }
        });
    }

    private static void sKernel6(float[] a, int k, int i, int p0, int p1, float[] bp, int boff, int nr, float[] c, int n, int j0,
                                 boolean first) {
        FloatVector c00 = FloatVector.zero(FS), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        int a0 = i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k, a4 = a3 + k, a5 = a4 + k;
        int bo = boff;
        for (int p = p0; p < p1; p++, bo += nr) {
            FloatVector b0 = FloatVector.fromArray(FS, bp, bo);
            FloatVector b1 = FloatVector.fromArray(FS, bp, bo + FL);
            FloatVector x = FloatVector.broadcast(FS, a[a0 + p]);
            c00 = b0.fma(x, c00); c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(FS, a[a1 + p]);
            c10 = b0.fma(x, c10); c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(FS, a[a2 + p]);
            c20 = b0.fma(x, c20); c21 = b1.fma(x, c21);
            x = FloatVector.broadcast(FS, a[a3 + p]);
            c30 = b0.fma(x, c30); c31 = b1.fma(x, c31);
            x = FloatVector.broadcast(FS, a[a4 + p]);
            c40 = b0.fma(x, c40); c41 = b1.fma(x, c41);
            x = FloatVector.broadcast(FS, a[a5 + p]);
            c50 = b0.fma(x, c50); c51 = b1.fma(x, c51);
        }
        int o = i * n + j0;
        sAdd2(c, o, c00, c01, first);
        sAdd2(c, o + n, c10, c11, first);
        sAdd2(c, o + 2 * n, c20, c21, first);
        sAdd2(c, o + 3 * n, c30, c31, first);
        sAdd2(c, o + 4 * n, c40, c41, first);
        sAdd2(c, o + 5 * n, c50, c51, first);
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

    @Override
    public double[] dgemm(double[] a, double[] b, int m, int n, int k) {
        if (m == 0 || n == 0 || k == 0) return new double[m * n];
        int nr = NV * DL, panels = (n + nr - 1) / nr, width = panels * nr;
        double[] c = new double[m * width];     // rows padded to whole panels: the kernels never mask
        double[] bp = new double[panels * k * nr];
        for (int jp = 0; jp < panels; jp++) {
            int j0 = jp * nr, cols = Math.min(nr, n - j0);
            for (int p = 0; p < k; p++) System.arraycopy(b, p * n + j0, bp, (jp * k + p) * nr, cols);
        }
        int blocks = (m + MC - 1) / MC;
        IntStream tasks = IntStream.range(0, blocks);
        if (blocks > 1 && (long) m * n * k >= PARALLEL_WORK) tasks = tasks.parallel();
        tasks.forEach(blk -> {
            int i0 = blk * MC, i1 = Math.min(m, i0 + MC);
            for (int p0 = 0; p0 < k; p0 += KC) {
                int p1 = Math.min(k, p0 + KC);
                for (int jp = 0; jp < panels; jp++) {
                    int j0 = jp * nr, boff = (jp * k + p0) * nr;
                    int i = i0;
                    for (; i + MR <= i1; i += MR) dKernel6(a, k, i, p0, p1, bp, boff, nr, c, width, j0);
                    for (; i < i1; i++) dKernel1(a, k, i, p0, p1, bp, boff, nr, c, width, j0);
                }
            }
        });
        return width == n ? c : unpad(c, m, n, width);
    }

    private static void dKernel6(double[] a, int k, int i, int p0, int p1, double[] bp, int boff, int nr, double[] c, int n, int j0) {
        DoubleVector c00 = DoubleVector.zero(DS), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        DoubleVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        int a0 = i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k, a4 = a3 + k, a5 = a4 + k;
        int bo = boff;
        for (int p = p0; p < p1; p++, bo += nr) {
            DoubleVector b0 = DoubleVector.fromArray(DS, bp, bo);
            DoubleVector b1 = DoubleVector.fromArray(DS, bp, bo + DL);
            DoubleVector x = DoubleVector.broadcast(DS, a[a0 + p]);
            c00 = b0.fma(x, c00); c01 = b1.fma(x, c01);
            x = DoubleVector.broadcast(DS, a[a1 + p]);
            c10 = b0.fma(x, c10); c11 = b1.fma(x, c11);
            x = DoubleVector.broadcast(DS, a[a2 + p]);
            c20 = b0.fma(x, c20); c21 = b1.fma(x, c21);
            x = DoubleVector.broadcast(DS, a[a3 + p]);
            c30 = b0.fma(x, c30); c31 = b1.fma(x, c31);
            x = DoubleVector.broadcast(DS, a[a4 + p]);
            c40 = b0.fma(x, c40); c41 = b1.fma(x, c41);
            x = DoubleVector.broadcast(DS, a[a5 + p]);
            c50 = b0.fma(x, c50); c51 = b1.fma(x, c51);
        }
        int o = i * n + j0;
        dAdd2(c, o, c00, c01);
        dAdd2(c, o + n, c10, c11);
        dAdd2(c, o + 2 * n, c20, c21);
        dAdd2(c, o + 3 * n, c30, c31);
        dAdd2(c, o + 4 * n, c40, c41);
        dAdd2(c, o + 5 * n, c50, c51);
    }

    private static void dKernel1(double[] a, int k, int i, int p0, int p1, double[] bp, int boff, int nr, double[] c, int n, int j0) {
        DoubleVector c0 = DoubleVector.zero(DS), c1 = c0;
        int a0 = i * k, bo = boff;
        for (int p = p0; p < p1; p++, bo += nr) {
            DoubleVector x = DoubleVector.broadcast(DS, a[a0 + p]);
            c0 = DoubleVector.fromArray(DS, bp, bo).fma(x, c0);
            c1 = DoubleVector.fromArray(DS, bp, bo + DL).fma(x, c1);
        }
        dAdd2(c, i * n + j0, c0, c1);
    }

    private static void dAdd2(double[] c, int o, DoubleVector v0, DoubleVector v1) {
        v0.add(DoubleVector.fromArray(DS, c, o)).intoArray(c, o);
        v1.add(DoubleVector.fromArray(DS, c, o + DL)).intoArray(c, o + DL);
    }

    private static double[] unpad(double[] c, int m, int n, int width) {
        double[] out = new double[m * n];
        for (int i = 0; i < m; i++) System.arraycopy(c, i * width, out, i * n, n);
        return out;
    }
}
