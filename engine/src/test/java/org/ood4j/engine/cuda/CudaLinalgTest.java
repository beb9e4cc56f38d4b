package org.ood4j.engine.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.ood4j.engine.cuda.CudaTesting.*;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Linalg;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.cuda.blas.Cusolver;

/**
 * linalg.cu's remove_top_singular through Linalg.removeTopSingular, and cuSOLVER's gesvd through
 * Linalg.svd and Linalg.pinv, against the CPU backend's ops.
 */
class CudaLinalgTest {
    private Scope scope;

    @BeforeEach
    void cuda() {
        assumeCuda();
        scope = Scope.open();
    }

    @AfterEach
    void close() {
        if (scope != null) scope.close();
    }

    /**
     * {B, R, C}: R < C, R > C, R = C, k = min(R, C) = 1 either way, B = 1 and 7; rows past the 8
     * warps and columns past the 256 threads; k = 64 both ways (the kernel's limit) and k > 64
     * (the CPU fallback); a batch larger than the grid, so that blocks loop over matrices.
     */
    static final int[][] SIZES = {
        {1, 5, 3}, {7, 3, 5}, {7, 4, 4}, {1, 1, 6}, {7, 6, 1}, {1, 1, 1}, {7, 13, 2}, {1, 2, 13},
        {3, 64, 49}, {2, 1000, 7}, {2, 10, 80}, {1, 3, 600}, {2, 64, 64}, {1, 64, 300}, {1, 300, 64},
        {1, 70, 66}, {2, 65, 200}, {600, 4, 3},
    };

    @Test
    void matchesTheCpuOp() {
        for (int[] size : SIZES) {
            for (DType type : new DType[] {DType.FLOAT64, DType.FLOAT32}) {
                Tensor host = withClearTop(new SplittableRandom(size[0] * 7919L + size[1] * 31L + size[2]), type, size);
                for (Layout layout : new Layout[] {Layout.CONTIGUOUS, Layout.TRANSPOSED, Layout.SLICED}) {
                    if (layout != Layout.CONTIGUOUS && size[0] * size[1] * size[2] > 20_000) continue;
                    String what = type + " " + layout + " " + Arrays.toString(size);
                    Tensor[] x = inLayout(host, layout);
                    double[] before = x[1].toDoubleArray();
                    try (Tensor expected = Linalg.removeTopSingular(x[0]); Tensor actual = Linalg.removeTopSingular(x[1])) {
                        assertMatches(expected, actual, type == DType.FLOAT64 ? 1e-10 : 1e-6, what);
                    }
                    assertArrayEquals(before, x[1].toDoubleArray(), 0, what + ": the input is left as it was");
                    closeAll(x);
                }
            }
        }
    }

    @Test
    void aRankOneMatrixLosesEverything() {
        double[] u = {1, -2, 3, 0.5}, v = {2, 1, -1, 4, 0.25, -3, 1};
        for (boolean wide : new boolean[] {false, true}) {
            int rows = wide ? u.length : v.length, cols = wide ? v.length : u.length;
            double[] x = new double[rows * cols];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) x[i * cols + j] = wide ? u[i] * v[j] : v[i] * u[j];
            }
            Tensor device = Tensor.of(x, 1, rows, cols).to(Device.CUDA);
            for (double w : Linalg.removeTopSingular(device).toDoubleArray()) assertEquals(0, w, 1e-12);
        }
    }

    @Test
    void tiesAndZerosAgreeWithTheCpu() {
        Tensor identity = Tensor.of(new double[] {1, 0, 0, 0, 1, 0, 0, 0, 1}, 1, 3, 3);
        Tensor zeros = Tensor.zeros(DType.FLOAT32, 3, 5, 2);
        for (Tensor h : new Tensor[] {identity, zeros}) {
            try (Tensor d = h.to(Device.CUDA); Tensor e = Linalg.removeTopSingular(h); Tensor a = Linalg.removeTopSingular(d)) {
                assertMatches(e, a, 1e-12, "ties " + Arrays.toString(h.shape()));
            }
        }
    }

    @Test
    void emptyInputStaysEmptyOnCuda() {
        for (long[] shape : new long[][] {{0, 3, 4}, {2, 0, 3}, {2, 3, 0}}) {
            Tensor r = Linalg.removeTopSingular(Tensor.zeros(DType.FLOAT32, Device.CUDA, shape));
            assertEquals(Device.CUDA, r.device());
            assertArrayEquals(shape, r.shape());
        }
    }

    @Test
    void refusesNonFiniteMatricesInTheKernelAndTheFallback() {
        for (int[] size : new int[][] {{3, 2, 5}, {3, 5, 2}, {3, 66, 70}}) {
            for (double bad : new double[] {Double.NaN, Double.NEGATIVE_INFINITY, 1e200}) {
                int n = size[1] * size[2];
                double[] x = new double[size[0] * n];
                Arrays.fill(x, 1);
                x[2 * n + n / 2] = bad;                                   // matrix 2
                Tensor d = Tensor.of(x, size[0], size[1], size[2]).to(Device.CUDA);
                var e = assertThrows(IllegalArgumentException.class, () -> Linalg.removeTopSingular(d));
                String expected = "matrix 2 of " + Arrays.toString(size);
                assertTrue(e.getMessage().contains(expected) && e.getMessage().contains("NaN or Inf"), e.getMessage());
            }
        }
        // the context is still usable after a refusal
        Tensor ok = Tensor.ones(DType.FLOAT64, 2, 3, 3).to(Device.CUDA);
        for (double w : Linalg.removeTopSingular(ok).toDoubleArray()) assertEquals(0, w, 1e-12);
    }

    @Test
    void refusesBadOperands() {
        Tensor flat = Tensor.zeros(DType.FLOAT32, Device.CUDA, 3, 4);
        assertThrows(IllegalArgumentException.class, () -> Linalg.removeTopSingular(flat));
        Tensor ints = Tensor.zeros(DType.INT64, Device.CUDA, 1, 3, 4);
        assertThrows(IllegalArgumentException.class, () -> Linalg.removeTopSingular(ints));
    }

    // ---------------------------------------------------------------- svd and pinv (gesvd)

    /** {B, M, N} (B = 0: a 2-D matrix): M > N, M < N, M = N, 1 x N, N x 1, 1 x 1, batches of each. */
    static final int[][] SVD_SIZES = {
        {0, 6, 4}, {0, 4, 6}, {0, 5, 5}, {0, 1, 7}, {0, 7, 1}, {0, 1, 1}, {0, 13, 2}, {0, 2, 13}, {0, 7, 6}, {0, 6, 7},
        {0, 40, 33}, {3, 5, 4}, {3, 4, 5}, {2, 1, 6}, {2, 6, 1}, {4, 3, 3}, {1, 5, 6},
    };

    @Test
    void svdMatchesTheCpuSignsIncluded() {
        for (int[] size : SVD_SIZES) {
            long[] shape = size[0] == 0 ? new long[] {size[1], size[2]} : new long[] {size[0], size[1], size[2]};
            for (DType type : new DType[] {DType.FLOAT64, DType.FLOAT32}) {
                for (Layout layout : new Layout[] {Layout.CONTIGUOUS, Layout.TRANSPOSED}) {
                    Tensor[] x = normal(size[1] * 101L + size[2], type, layout, 1, shape);
                    for (boolean full : new boolean[] {false, true}) {
                        String what = "svd " + type + " " + layout + " " + Arrays.toString(shape) + (full ? " full" : " economy");
                        try (Linalg.Svd e = Linalg.svd(x[0], full); Linalg.Svd a = Linalg.svd(x[1], full)) {
                            compareSvd(x[0], e, a, full, type == DType.FLOAT64 ? 1e-9 : 1e-5, what);
                        }
                    }
                    closeAll(x);
                }
            }
        }
    }

    /**
     * U, S, Vh of the CUDA result against the CPU's: S, and every singular vector that is unique
     * up to sign (all of economy U and Vh; the null-space part of a full U or Vh only when it is
     * one vector); a full U and Vh orthogonal; U diag(S) Vh = A.
     */
    private static void compareSvd(Tensor host, Linalg.Svd e, Linalg.Svd a, boolean full, double tol, String what) {
        for (Tensor t : new Tensor[] {a.u(), a.s(), a.vh()}) {
            assertEquals(Device.CUDA, t.device(), what);
            assertEquals(host.dtype(), t.dtype(), what);
        }
        assertMatches(e.s(), a.s(), tol, what + " S");
        long[] shape = host.shape();
        int rank = shape.length;
        long m = shape[rank - 2], n = shape[rank - 1], k = Math.min(m, n);
        assertArrayEquals(e.u().shape(), a.u().shape(), what + " U shape");
        assertArrayEquals(e.vh().shape(), a.vh().shape(), what + " Vh shape");
        boolean uUnique = !full || m - k <= 1, vUnique = !full || n - k <= 1;
        try (Tensor eu = uUnique ? e.u().copy() : e.u().slice(rank - 1, 0, k); Tensor au = uUnique ? a.u().copy() : a.u().slice(rank - 1, 0, k);
             Tensor ev = vUnique ? e.vh().copy() : e.vh().slice(rank - 2, 0, k); Tensor av = vUnique ? a.vh().copy() : a.vh().slice(rank - 2, 0, k)) {
            assertMatches(eu, au, tol * 10, what + " U");
            assertMatches(ev, av, tol * 10, what + " Vh");
        }
        double[] u = a.u().toDoubleArray(), s = a.s().toDoubleArray(), vh = a.vh().toDoubleArray(), x = host.toDoubleArray();
        long uCols = a.u().size(-1), vRows = a.vh().size(-2);
        long batch = rank == 3 ? shape[0] : 1;
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < k - 1; i++) assertTrue(s[(int) (b * k + i)] >= s[(int) (b * k + i + 1)], what + ": S descending");
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double r = 0;
                    for (int c = 0; c < k; c++) r += u[(int) ((b * m + i) * uCols + c)] * s[(int) (b * k + c)] * vh[(int) ((b * vRows + c) * n + j)];
                    assertEquals(x[(int) ((b * m + i) * n + j)], r, tol * 10 * Math.max(1, s[(int) (b * k)]), what + ": U diag(S) Vh = A");
                }
            }
            for (int p = 0; p < uCols; p++) {
                for (int q = 0; q < uCols; q++) {
                    double d = 0;
                    for (int i = 0; i < m; i++) d += u[(int) ((b * m + i) * uCols + p)] * u[(int) ((b * m + i) * uCols + q)];
                    assertEquals(p == q ? 1 : 0, d, tol * 10, what + ": U^T U = I");
                }
            }
            for (int p = 0; p < vRows; p++) {
                for (int q = 0; q < vRows; q++) {
                    double d = 0;
                    for (int j = 0; j < n; j++) d += vh[(int) ((b * vRows + p) * n + j)] * vh[(int) ((b * vRows + q) * n + j)];
                    assertEquals(p == q ? 1 : 0, d, tol * 10, what + ": Vh Vh^T = I");
                }
            }
        }
    }

    @Test
    void svdOfRankDeficientAndZeroMatricesReconstructs() {
        double[] u = {1, -2, 3, 0.5, 2}, v = {2, 1, -1, 4};
        for (boolean wide : new boolean[] {false, true}) {
            int rows = wide ? v.length : u.length, cols = wide ? u.length : v.length;
            double[] x = new double[rows * cols];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) x[i * cols + j] = wide ? v[i] * u[j] : u[i] * v[j];
            }
            for (double[] data : new double[][] {x, new double[rows * cols]}) {
                Tensor host = Tensor.of(data, rows, cols);
                for (boolean full : new boolean[] {false, true}) {
                    String what = (data == x ? "rank 1 " : "zero ") + rows + "x" + cols + (full ? " full" : "");
                    try (Tensor d = host.to(Device.CUDA); Linalg.Svd e = Linalg.svd(host, full); Linalg.Svd a = Linalg.svd(d, full)) {
                        assertMatches(e.s(), a.s(), 1e-12, what + " S");
                        double[] us = a.u().toDoubleArray(), s = a.s().toDoubleArray(), vh = a.vh().toDoubleArray();
                        int k = Math.min(rows, cols), uCols = (int) a.u().size(1), vRows = (int) a.vh().size(0);
                        for (int i = 0; i < rows; i++) {
                            for (int j = 0; j < cols; j++) {
                                double r = 0;
                                for (int c = 0; c < k; c++) r += us[i * uCols + c] * s[c] * vh[c * cols + j];
                                assertEquals(data[i * cols + j], r, 1e-12, what);
                            }
                        }
                        for (int p = 0; p < uCols; p++) {                 // the null space is completed orthonormally
                            for (int q = 0; q < uCols; q++) {
                                double dot = 0;
                                for (int i = 0; i < rows; i++) dot += us[i * uCols + p] * us[i * uCols + q];
                                assertEquals(p == q ? 1 : 0, dot, 1e-12, what + ": U^T U = I");
                            }
                        }
                        if (data == x) {                                   // the one defined pair agrees with the CPU
                            try (Tensor eu = e.u().slice(1, 0, 1); Tensor au = a.u().slice(1, 0, 1);
                                 Tensor ev = e.vh().slice(0, 0, 1); Tensor av = a.vh().slice(0, 0, 1)) {
                                assertMatches(eu, au, 1e-12, what + " u1");
                                assertMatches(ev, av, 1e-12, what + " v1");
                            }
                        }
                        assertEquals(vRows, full ? cols : k, what);
                    }
                }
            }
        }
    }

    @Test
    void pinvMatchesTheCpuForFullAndDeficientRank() {
        SplittableRandom rng = new SplittableRandom(17);
        int[][] sizes = {{6, 4, 4}, {4, 6, 4}, {5, 5, 5}, {6, 5, 2}, {5, 6, 2}, {4, 4, 3}, {1, 5, 1}, {5, 1, 1}, {7, 7, 0}};
        for (int[] size : sizes) {
            int rows = size[0], cols = size[1], r = size[2];
            double[] x = new double[rows * cols];
            for (int c = 0; c < r; c++) {                                  // a sum of r rank-1 terms: rank r
                double[] p = new double[rows], q = new double[cols];
                for (int i = 0; i < rows; i++) p[i] = rng.nextGaussian();
                for (int j = 0; j < cols; j++) q[j] = rng.nextGaussian();
                for (int i = 0; i < rows; i++) {
                    for (int j = 0; j < cols; j++) x[i * cols + j] += p[i] * q[j];
                }
            }
            for (DType type : new DType[] {DType.FLOAT64, DType.FLOAT32}) {
                for (Layout layout : new Layout[] {Layout.CONTIGUOUS, Layout.TRANSPOSED}) {
                    Tensor base = Tensor.of(x, rows, cols).to(type);
                    Tensor[] a = layout == Layout.TRANSPOSED ? pair(base.t().copy(), layout, new long[] {rows, cols}) : pair(base, layout, new long[] {rows, cols});
                    double tol = type == DType.FLOAT64 ? 1e-9 : 1e-4;
                    String what = "pinv " + type + " " + layout + " " + Arrays.toString(size);
                    same(a, Linalg::pinv, tol, what);
                    same(a, t -> Linalg.pinv(t, 0.3), tol, what + " rcond 0.3");
                    if (r == Math.min(rows, cols)) same(a, t -> Linalg.pinv(t, 0), tol, what + " rcond 0"); // else 1/noise
                    same(a, t -> Linalg.pinv(t, Double.POSITIVE_INFINITY), 0, what + " rcond inf");
                    // float32 input is of full rank up to its rounding: a float32-sized rcond cuts that off
                    try (Tensor p = type == DType.FLOAT64 ? Linalg.pinv(a[1]) : Linalg.pinv(a[1], 1e-5); Tensor ap = a[1].to(DType.FLOAT64).matmul(p.to(DType.FLOAT64));
                         Tensor apa = ap.matmul(a[1].to(DType.FLOAT64)); Tensor host = apa.to(Device.CPU);
                         Tensor expected = a[0].to(DType.FLOAT64)) {
                        assertArrayEquals(new long[] {cols, rows}, p.shape(), what);
                        double[] got = host.toDoubleArray(), want = expected.toDoubleArray();
                        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], tol * 100, what + ": A pinv(A) A = A");
                    }
                    closeAll(a);
                }
            }
        }
    }

    @Test
    void svdAndPinvRefuseBadOperandsAsTheCpu() {
        Tensor ints = Tensor.zeros(DType.INT64, Device.CUDA, 3, 4);
        Tensor flat = Tensor.zeros(DType.FLOAT64, Device.CUDA, 4);
        Tensor four = Tensor.zeros(DType.FLOAT64, Device.CUDA, 1, 2, 3, 4);
        Tensor batch = Tensor.zeros(DType.FLOAT64, Device.CUDA, 2, 3, 4);
        Tensor nan = Tensor.of(new double[] {1, 2, Double.NaN, 4, 5, 6}, 2, 3).to(Device.CUDA);
        for (Tensor t : new Tensor[] {ints, flat, four, nan}) {
            String cpu = assertThrows(IllegalArgumentException.class, () -> Linalg.svd(t.to(Device.CPU), false)).getMessage();
            String cuda = assertThrows(IllegalArgumentException.class, () -> Linalg.svd(t, false)).getMessage();
            assertEquals(cpu, cuda);
        }
        for (Tensor t : new Tensor[] {ints, flat, batch, nan}) {
            String cpu = assertThrows(IllegalArgumentException.class, () -> Linalg.pinv(t.to(Device.CPU))).getMessage();
            String cuda = assertThrows(IllegalArgumentException.class, () -> Linalg.pinv(t)).getMessage();
            assertEquals(cpu, cuda);
        }
        Tensor ok = Tensor.ones(DType.FLOAT64, 2, 3).to(Device.CUDA);
        for (double rcond : new double[] {-1, Double.NaN}) {
            var e = assertThrows(IllegalArgumentException.class, () -> Linalg.pinv(ok, rcond));
            assertTrue(e.getMessage().contains("rcond must be >= 0"), e.getMessage());
        }
        // the context is still usable after the refusals
        try (Linalg.Svd s = Linalg.svd(ok, false)) {
            assertArrayEquals(new double[] {Math.sqrt(6), 0}, s.s().toDoubleArray(), 1e-12);
        }
    }

    @Test
    void svdDevInfoIsChecked() {
        CudaLinalg.checkInfo(new int[] {0, 0, 0}, "svd", new long[] {3, 4, 5});
        var notConverged = assertThrows(IllegalArgumentException.class, () -> CudaLinalg.checkInfo(new int[] {0, 2, 1}, "svd", new long[] {3, 4, 5}));
        assertTrue(notConverged.getMessage().contains("svd: matrix 1 of [3, 4, 5] did not converge")
                && notConverged.getMessage().contains("devInfo = 2"), notConverged.getMessage());
        var single = assertThrows(IllegalArgumentException.class, () -> CudaLinalg.checkInfo(new int[] {3}, "pinv", new long[] {1, 4, 5}));
        assertTrue(single.getMessage().contains("pinv: the matrix [1, 4, 5] did not converge"), single.getMessage());
        var bad = assertThrows(IllegalStateException.class, () -> CudaLinalg.checkInfo(new int[] {-6}, "svd", new long[] {1, 4, 5}));
        assertTrue(bad.getMessage().contains("parameter 6"), bad.getMessage());
        // every routine's devInfo: potrf's negative one is a refused parameter, not a success,
        // and getrs (no positive meaning) fails on any non-zero value
        long[] shape = {3, 3};
        CudaLinalg.checkInfo(new int[] {0}, "cholesky", "cusolverDnDpotrf", shape, "is not positive definite");
        var notPd = assertThrows(IllegalArgumentException.class,
                () -> CudaLinalg.checkInfo(new int[] {2}, "cholesky", "cusolverDnDpotrf", shape, "is not positive definite"));
        assertTrue(notPd.getMessage().contains("cholesky: the matrix [3, 3] is not positive definite"), notPd.getMessage());
        var potrfBad = assertThrows(IllegalStateException.class,
                () -> CudaLinalg.checkInfo(new int[] {-4}, "cholesky", "cusolverDnDpotrf", shape, "is not positive definite"));
        assertTrue(potrfBad.getMessage().contains("cusolverDnDpotrf refused parameter 4"), potrfBad.getMessage());
        var getrs = assertThrows(IllegalStateException.class,
                () -> CudaLinalg.checkInfo(new int[] {1}, "solve", "cusolverDnDgetrs", shape, null));
        assertTrue(getrs.getMessage().contains("cusolverDnDgetrs returned devInfo = 1"), getrs.getMessage());
    }

    /**
     * The legacy 32-bit cuSOLVER API: a workspace size it cannot express comes back wrapped
     * (negative), which must be refused, not rounded up to one double; sizes beyond it go to the
     * CPU backend before any call (syevd's 1 + 6n + 2n^2 passes 2^31 - 1 from n = 32767).
     */
    @Test
    void sizesBeyondTheLegacy32BitApiAreNeverPassedOn() {
        assertTrue(CudaLinalg.legacyElements("eigh", 32766) <= Integer.MAX_VALUE);
        assertTrue(CudaLinalg.legacyElements("eigh", 32767) > Integer.MAX_VALUE);
        assertTrue(CudaLinalg.legacyElements("cholesky", 46340) <= Integer.MAX_VALUE);
        assertTrue(CudaLinalg.legacyElements("solve", 46341) > Integer.MAX_VALUE);
        Cusolver solver = Cusolver.get();
        assumeTrue(solver != null, "no cuSOLVER");
        long stream = CudaContext.get().stream().handle();
        var e = assertThrows(CudaException.class, () -> solver.syevdBufferSize(Cusolver.EIG_VECTORS, Cusolver.FILL_UPPER,
                40000, 0, 40000, 0, stream));
        assertTrue(e.getMessage().contains("workspace"), e.getMessage());
    }

    // ---------------------------------------------------------------- helpers

    /** Gaussian (B, R, C) plus a strong rank-1 term per matrix, so that s1 is well separated from s2. */
    private static Tensor withClearTop(SplittableRandom rng, DType type, int[] size) {
        int b = size[0], rows = size[1], cols = size[2];
        double[] x = new double[b * rows * cols];
        for (int m = 0; m < b; m++) {
            double[] u = new double[rows], v = new double[cols];
            for (int i = 0; i < rows; i++) u[i] = rng.nextGaussian();
            for (int j = 0; j < cols; j++) v[j] = rng.nextGaussian();
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) x[(m * rows + i) * cols + j] = rng.nextGaussian() + 0.5 * u[i] * v[j];
            }
        }
        try (Tensor t = Tensor.of(x, b, rows, cols)) {
            return t.to(type);
        }
    }

    /** The values of host (B, R, C) as {cpu, cuda} views in a layout: transposed and sliced ones are strided. */
    private static Tensor[] inLayout(Tensor host, Layout layout) {
        long[] shape = host.shape();
        Tensor base = switch (layout) {
            case TRANSPOSED -> host.permute(2, 1, 0).copy();
            case SLICED -> {
                Tensor wide = Tensor.zeros(host.dtype(), shape[0], shape[1], shape[2] + 3);
                try (Tensor window = wide.slice(2, 2, 2 + shape[2])) {
                    window.copyFrom(host);
                }
                yield wide;
            }
            default -> host;
        };
        return pair(base, layout, shape);
    }

    /** Linalg.inverseCholesky through the backend's default (cuSOLVER's Cholesky, then L W = I) against the CPU's by halves. */
    @Test
    void inverseCholeskyMatchesTheCpu() {
        for (int n : new int[] {1, 9, 200}) {
            Tensor x = Tensor.randn(new SplittableRandom(n), DType.FLOAT64, n + 3, n);
            Tensor spd = x.t().matmul(x).add(Tensor.scalar(1e-2, DType.FLOAT64));
            try (Tensor onCuda = spd.to(Device.CUDA); Tensor expected = Linalg.inverseCholesky(spd);
                 Tensor actual = Linalg.inverseCholesky(onCuda)) {
                assertMatches(expected, actual, 1e-8, "inverseCholesky " + n);
            }
        }
    }

    /** Linalg.inverseSpd through the backend's default (LU, averaged with its transpose): exactly symmetric, and the CPU's by halves. */
    @Test
    void inverseSpdIsExactlySymmetricAndMatchesTheCpu() {
        for (int n : new int[] {1, 9, 200}) {
            Tensor x = Tensor.randn(new SplittableRandom(n + 1), DType.FLOAT64, n + 3, n);
            Tensor spd = x.t().matmul(x).add(Tensor.scalar(1e-2, DType.FLOAT64));
            try (Tensor onCuda = spd.to(Device.CUDA); Tensor expected = Linalg.inverseSpd(spd);
                 Tensor actual = Linalg.inverseSpd(onCuda)) {
                assertMatches(expected, actual, 1e-8, "inverseSpd " + n);
                double[][] m = actual.toDoubleMatrix();
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < i; j++) assertEquals(m[i][j], m[j][i], "inverseSpd " + n + " at (" + i + ", " + j + ")");
                }
            }
        }
    }
}
