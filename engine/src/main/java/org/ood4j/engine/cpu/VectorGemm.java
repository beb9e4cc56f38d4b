package org.ood4j.engine.cpu;

import java.util.stream.IntStream;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * C = A B on row-major heap arrays with a register-blocked micro-kernel on the Vector API: B is
 * packed once into panels of 3 vectors' width ([panel][p][3 L], zero-padded), C is computed with
 * its rows padded to whole panels (no masked loads or stores, which are slow), and each kernel
 * call keeps a 4 x 3L block of C in 12 vector accumulators while it walks a KC-long stretch of k,
 * with one broadcast of A and three loads of B per four FMAs-times-three. Row blocks of A run in
 * parallel; a block's KC x 3L panel of B stays in L1 while its rows pass over it.
 *
 * <p>Sums along k are FMA chains per element of C, in k order within a KC block, then added to C:
 * the rounding differs from {@link Gemm}'s scalar loops by the fused multiply-adds only.
 */
final class VectorGemm implements Gemm.Kernels {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> DS = DoubleVector.SPECIES_PREFERRED;
    private static final int FL = FS.length(), DL = DS.length();
    /** Rows of C per kernel call, and vectors of C per row. */
    private static final int MR = 4, NV = 3;
    /** Depth of one pass over a panel; rows of A per parallel task. */
    private static final int KC = 256, MC = 64;
    /** Below this many multiply-adds the product runs on the calling thread. */
    private static final long PARALLEL_WORK = 1 << 20;

    @Override
    public String name() {
        return "vector (" + FS.vectorBitSize() + "-bit)";
    }

    // ---------------------------------------------------------------- float32

    @Override
    public float[] sgemm(float[] a, float[] b, int m, int n, int k) {
        if (m == 0 || n == 0 || k == 0) return new float[m * n];
        int nr = NV * FL, panels = (n + nr - 1) / nr, width = panels * nr;
        float[] c = new float[m * width];     // rows padded to whole panels: the kernels never mask
        float[] bp = new float[panels * k * nr];
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
                    for (; i + MR <= i1; i += MR) sKernel4(a, k, i, p0, p1, bp, boff, nr, c, width, j0);
                    for (; i < i1; i++) sKernel1(a, k, i, p0, p1, bp, boff, nr, c, width, j0);
                }
            }
        });
        return width == n ? c : unpad(c, m, n, width);
    }

    private static void sKernel4(float[] a, int k, int i, int p0, int p1, float[] bp, int boff, int nr, float[] c, int n, int j0) {
        FloatVector c00 = FloatVector.zero(FS), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
        int a0 = i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
        int bo = boff;
        for (int p = p0; p < p1; p++, bo += nr) {
            FloatVector b0 = FloatVector.fromArray(FS, bp, bo);
            FloatVector b1 = FloatVector.fromArray(FS, bp, bo + FL);
            FloatVector b2 = FloatVector.fromArray(FS, bp, bo + 2 * FL);
            FloatVector x = FloatVector.broadcast(FS, a[a0 + p]);
            c00 = b0.fma(x, c00); c01 = b1.fma(x, c01); c02 = b2.fma(x, c02);
            x = FloatVector.broadcast(FS, a[a1 + p]);
            c10 = b0.fma(x, c10); c11 = b1.fma(x, c11); c12 = b2.fma(x, c12);
            x = FloatVector.broadcast(FS, a[a2 + p]);
            c20 = b0.fma(x, c20); c21 = b1.fma(x, c21); c22 = b2.fma(x, c22);
            x = FloatVector.broadcast(FS, a[a3 + p]);
            c30 = b0.fma(x, c30); c31 = b1.fma(x, c31); c32 = b2.fma(x, c32);
        }
        int o = i * n + j0;
        sAdd(c, o, c00, c01, c02);
        sAdd(c, o + n, c10, c11, c12);
        sAdd(c, o + 2 * n, c20, c21, c22);
        sAdd(c, o + 3 * n, c30, c31, c32);
    }

    private static void sKernel1(float[] a, int k, int i, int p0, int p1, float[] bp, int boff, int nr, float[] c, int n, int j0) {
        FloatVector c0 = FloatVector.zero(FS), c1 = c0, c2 = c0;
        int a0 = i * k, bo = boff;
        for (int p = p0; p < p1; p++, bo += nr) {
            FloatVector x = FloatVector.broadcast(FS, a[a0 + p]);
            c0 = FloatVector.fromArray(FS, bp, bo).fma(x, c0);
            c1 = FloatVector.fromArray(FS, bp, bo + FL).fma(x, c1);
            c2 = FloatVector.fromArray(FS, bp, bo + 2 * FL).fma(x, c2);
        }
        sAdd(c, i * n + j0, c0, c1, c2);
    }

    /** c[o .. o + 3L) += the three vectors. */
    private static void sAdd(float[] c, int o, FloatVector v0, FloatVector v1, FloatVector v2) {
        v0.add(FloatVector.fromArray(FS, c, o)).intoArray(c, o);
        v1.add(FloatVector.fromArray(FS, c, o + FL)).intoArray(c, o + FL);
        v2.add(FloatVector.fromArray(FS, c, o + 2 * FL)).intoArray(c, o + 2 * FL);
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
                    for (; i + MR <= i1; i += MR) dKernel4(a, k, i, p0, p1, bp, boff, nr, c, width, j0);
                    for (; i < i1; i++) dKernel1(a, k, i, p0, p1, bp, boff, nr, c, width, j0);
                }
            }
        });
        return width == n ? c : unpad(c, m, n, width);
    }

    private static void dKernel4(double[] a, int k, int i, int p0, int p1, double[] bp, int boff, int nr, double[] c, int n, int j0) {
        DoubleVector c00 = DoubleVector.zero(DS), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
        DoubleVector c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
        int a0 = i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
        int bo = boff;
        for (int p = p0; p < p1; p++, bo += nr) {
            DoubleVector b0 = DoubleVector.fromArray(DS, bp, bo);
            DoubleVector b1 = DoubleVector.fromArray(DS, bp, bo + DL);
            DoubleVector b2 = DoubleVector.fromArray(DS, bp, bo + 2 * DL);
            DoubleVector x = DoubleVector.broadcast(DS, a[a0 + p]);
            c00 = b0.fma(x, c00); c01 = b1.fma(x, c01); c02 = b2.fma(x, c02);
            x = DoubleVector.broadcast(DS, a[a1 + p]);
            c10 = b0.fma(x, c10); c11 = b1.fma(x, c11); c12 = b2.fma(x, c12);
            x = DoubleVector.broadcast(DS, a[a2 + p]);
            c20 = b0.fma(x, c20); c21 = b1.fma(x, c21); c22 = b2.fma(x, c22);
            x = DoubleVector.broadcast(DS, a[a3 + p]);
            c30 = b0.fma(x, c30); c31 = b1.fma(x, c31); c32 = b2.fma(x, c32);
        }
        int o = i * n + j0;
        dAdd(c, o, c00, c01, c02);
        dAdd(c, o + n, c10, c11, c12);
        dAdd(c, o + 2 * n, c20, c21, c22);
        dAdd(c, o + 3 * n, c30, c31, c32);
    }

    private static void dKernel1(double[] a, int k, int i, int p0, int p1, double[] bp, int boff, int nr, double[] c, int n, int j0) {
        DoubleVector c0 = DoubleVector.zero(DS), c1 = c0, c2 = c0;
        int a0 = i * k, bo = boff;
        for (int p = p0; p < p1; p++, bo += nr) {
            DoubleVector x = DoubleVector.broadcast(DS, a[a0 + p]);
            c0 = DoubleVector.fromArray(DS, bp, bo).fma(x, c0);
            c1 = DoubleVector.fromArray(DS, bp, bo + DL).fma(x, c1);
            c2 = DoubleVector.fromArray(DS, bp, bo + 2 * DL).fma(x, c2);
        }
        dAdd(c, i * n + j0, c0, c1, c2);
    }

    private static void dAdd(double[] c, int o, DoubleVector v0, DoubleVector v1, DoubleVector v2) {
        v0.add(DoubleVector.fromArray(DS, c, o)).intoArray(c, o);
        v1.add(DoubleVector.fromArray(DS, c, o + DL)).intoArray(c, o + DL);
        v2.add(DoubleVector.fromArray(DS, c, o + 2 * DL)).intoArray(c, o + 2 * DL);
    }

    private static double[] unpad(double[] c, int m, int n, int width) {
        double[] out = new double[m * n];
        for (int i = 0; i < m; i++) System.arraycopy(c, i * width, out, i * n, n);
        return out;
    }
}
