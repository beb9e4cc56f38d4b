package org.ood4j.engine.cuda;

import java.util.ArrayList;
import java.util.List;

import jcuda.Pointer;
import jcuda.driver.JCudaDriver;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.LinalgOps;
import org.ood4j.engine.cuda.blas.Cusolver;
import org.ood4j.kernels.Kernels;

/**
 * Dense linear algebra in float64 with cuSOLVER (FFM): Cholesky (potrf), solve and inverse
 * (getrf + getrs), slogdet (getrf), symmetric eigen (syevd); results in the input's dtype, with
 * the CPU backend's conventions (lower-triangular L, eigenvalues ascending, each eigenvector's
 * largest component positive, singularity when the smallest LU pivot is at most n eps times the
 * largest). cuSOLVER is column-major: a row-major matrix is its transpose there, which these ops
 * account for (A symmetric needs nothing; A X = B is solved as (A^T)^T X = B). SVD and pinv use
 * gesvd (m >= n only: see {@link #gesvd}), with the CPU backend's sign convention and pinv
 * cut-off. Empty matrices, and every op when cuSOLVER is missing, run on the CPU backend.
 * {@link #removeTopSingular} (RankFeat's rank-1 removal) is linalg.cu's own kernel, no cuSOLVER.
 */
final class CudaLinalg implements LinalgOps {

    private static Cusolver solver() { return Cusolver.get(); }

    private static String missing() { return "cuSOLVER " + Cusolver.status(); }

    @Override
    public Tensor cholesky(Tensor a) {
        String cpu = cpuReason(a, "cholesky");
        if (cpu != null) {
            return CpuFallback.run1("cholesky", cpu, h -> CpuFallback.cpu().linalg().cholesky(h[0]), a);
        }
        int n = square(a, "cholesky");
        try (Work w = new Work(); Tensor m = w.add(float64Copy(a, "cholesky"))) {
            long stream = CudaContext.get().stream().handle();
            // Row-major lower triangle = column-major upper: potrf(UPPER) leaves L there.
            int lwork = solver().potrfBufferSize(Cusolver.FILL_UPPER, n, DeviceTensors.address(m), n, stream);
            Tensor work = w.add(DeviceTensors.empty(DType.FLOAT64, lwork));
            Tensor info = w.add(DeviceTensors.zeros(DType.INT64, 1));
            solver().potrf(Cusolver.FILL_UPPER, n, DeviceTensors.address(m), n, DeviceTensors.address(work), lwork,
                    DeviceTensors.address(info), stream);
            checkInfo(readInts(info, 1), "cholesky", "cusolverDnDpotrf", a.shape(), "is not positive definite");
            Tensor lower = w.add(lowerMask(n, w));
            Tensor zero = w.add(scalar(0));
            Tensor l = w.add(Tensor.where(lower, m, zero));
            return l.to(a.dtype());
        }
    }

    @Override
    public Tensor solve(Tensor a, Tensor b) {
        String cpu = b.numel() == 0 ? "empty right-hand side " + Shape.toString(b.shape())
                : b.numel() > Integer.MAX_VALUE ? "right-hand side " + Shape.toString(b.shape()) + " beyond cuSOLVER's 32-bit sizes"
                : cpuReason(a, "solve");
        if (cpu != null) {
            return CpuFallback.run1("solve", cpu, h -> CpuFallback.cpu().linalg().solve(h[0], h[1]), a, b);
        }
        int n = square(a, "solve");
        if (!b.dtype().isFloating()) throw new IllegalArgumentException("solve needs a floating tensor, got " + b.dtype() + Shape.toString(b.shape()));
        if (b.rank() < 1 || b.rank() > 2 || b.size(0) != n) {
            throw new IllegalArgumentException("solve: B must be (n,) or (n, m) for A " + Shape.toString(a.shape())
                    + ", got " + Shape.toString(b.shape()));
        }
        requireFinite(b, "solve");
        DType type = DType.promote(a.dtype(), b.dtype());
        try (Work w = new Work()) {
            // B column-major (n x m) is B^T row-major.
            Tensor bt = w.add(b.rank() == 1 ? b.reshape(1, n) : b.t());
            Tensor rhs = w.add(float64Copy(bt, null));
            Tensor x = w.add(luSolve(a, n, rhs, b.rank() == 1 ? 1 : (int) b.size(1), "solve", w));
            Tensor xt = w.add(x.t());                          // X column-major: back to row-major
            Tensor shaped = w.add(b.rank() == 1 ? xt.reshape(n) : xt.copy());
            return shaped.to(type);
        }
    }

    @Override
    public Tensor inverse(Tensor a) {
        String cpu = cpuReason(a, "inverse");
        if (cpu != null) {
            return CpuFallback.run1("inverse", cpu, h -> CpuFallback.cpu().linalg().inverse(h[0]), a);
        }
        int n = square(a, "inverse");
        try (Work w = new Work()) {
            Tensor rows = w.add(index(n, w, true)), cols = w.add(index(n, w, false));
            Tensor eq = w.add(rows.eq(cols));
            Tensor identity = w.add(eq.to(DType.FLOAT64));
            Tensor x = w.add(luSolve(a, n, identity, n, "inverse", w));
            Tensor xt = w.add(x.t());
            Tensor inv = w.add(xt.copy());
            return inv.to(a.dtype());
        }
    }

    /** Factors A (LU of A^T in column-major terms), refuses a singular A, solves A X = B in place of rhs. */
    private static Tensor luSolve(Tensor a, int n, Tensor rhs, int nrhs, String op, Work w) {
        Tensor m = w.add(float64Copy(a, op));
        Lu lu = factor(m, n, w);
        double[] diag = lu.diagonal;
        double max = 0, min = Double.POSITIVE_INFINITY;
        for (double p : diag) {
            max = Math.max(max, Math.abs(p));
            min = Math.min(min, Math.abs(p));
        }
        if (lu.info > 0 || !(min > diag.length * Math.ulp(1.0) * max)) {
            throw new IllegalArgumentException(op + ": matrix is singular " + Shape.toString(a.shape()));
        }
        Tensor b = w.add(rhs.copy());
        long stream = CudaContext.get().stream().handle();
        Tensor info = w.add(DeviceTensors.zeros(DType.INT64, 1));
        solver().getrs(Cusolver.OP_T, n, nrhs, DeviceTensors.address(m), n, DeviceTensors.address(lu.ipiv),
                DeviceTensors.address(b), n, DeviceTensors.address(info), stream);
        checkInfo(readInts(info, 1), op, "cusolverDnDgetrs", a.shape(), null);
        return b.copy();
    }

    private record Lu(Tensor ipiv, double[] diagonal, int[] pivots, int info) {}

    /** getrf over m (n x n, column-major view of A^T) in place; the pivots and U's diagonal come to the host. */
    private static Lu factor(Tensor m, int n, Work w) {
        long stream = CudaContext.get().stream().handle();
        long am = DeviceTensors.address(m);
        int lwork = solver().getrfBufferSize(n, n, am, n, stream);
        Tensor work = w.add(DeviceTensors.empty(DType.FLOAT64, lwork));
        Tensor ipiv = w.add(DeviceTensors.zeros(DType.INT64, (n + 1) / 2));   // n ints
        Tensor info = w.add(DeviceTensors.zeros(DType.INT64, 1));
        solver().getrf(n, n, am, n, DeviceTensors.address(work), DeviceTensors.address(ipiv), DeviceTensors.address(info), stream);
        int status = readInts(info, 1)[0];
        if (status < 0) checkInfo(new int[] {status}, "LU factorisation", "cusolverDnDgetrf", m.shape(), null);
        int[] pivots = readInts(ipiv, n);
        Tensor flat = w.add(m.reshape(-1));
        long[] at = new long[n];
        for (int i = 0; i < n; i++) at[i] = (long) i * (n + 1);      // the diagonal sits at i*(n+1) in either order
        Tensor atHost = w.add(Tensor.of(at));
        Tensor atDevice = w.add(atHost.to(Device.CUDA));
        Tensor diag = w.add(flat.indexSelect(0, atDevice));
        return new Lu(ipiv, diag.toDoubleArray(), pivots, status);
    }

    /**
     * sign = parity of the row interchanges times the pivots' signs, log|det| = sum log|pivot|;
     * an exactly zero pivot gives sign 0 and -inf, as the CPU backend and numpy.
     */
    @Override
    public Tensor[] slogdet(Tensor a) {
        String cpu = cpuReason(a, "slogdet");
        if (cpu != null) {
            return CpuFallback.run("slogdet", cpu, h -> CpuFallback.cpu().linalg().slogdet(h[0]), a);
        }
        int n = square(a, "slogdet");
        double sign = 1, logAbs = 0;
        try (Work w = new Work()) {
            Tensor m = w.add(float64Copy(a, "slogdet"));
            Lu lu = factor(m, n, w);
            for (int i = 0; i < n; i++) {
                if (lu.pivots[i] != i + 1) sign = -sign;
            }
            for (double p : lu.diagonal) {
                if (!(p != 0)) {
                    sign = 0;
                    logAbs = Double.NEGATIVE_INFINITY;
                    break;
                }
                sign *= Math.signum(p);
                logAbs += Math.log(Math.abs(p));
            }
        }
        try (Tensor s = Tensor.scalar(sign, a.dtype()); Tensor l = Tensor.scalar(logAbs, a.dtype())) {
            return new Tensor[] {s.to(Device.CUDA), l.to(Device.CUDA)};
        }
    }

    /** Reads only the lower triangle (row-major), as the CPU backend: that is syevd's UPPER in column-major. */
    @Override
    public Tensor[] eigh(Tensor a) {
        String cpu = cpuReason(a, "eigh");
        if (cpu != null) {
            return CpuFallback.run("eigh", cpu, h -> CpuFallback.cpu().linalg().eigh(h[0]), a);
        }
        int n = square(a, "eigh");
        try (Work w = new Work()) {
            Tensor m = w.add(float64Copy(a, "eigh"));
            Tensor values = w.add(DeviceTensors.empty(DType.FLOAT64, n));
            long stream = CudaContext.get().stream().handle();
            int lwork = solver().syevdBufferSize(Cusolver.EIG_VECTORS, Cusolver.FILL_UPPER, n, DeviceTensors.address(m), n,
                    DeviceTensors.address(values), stream);
            Tensor work = w.add(DeviceTensors.empty(DType.FLOAT64, lwork));
            Tensor info = w.add(DeviceTensors.zeros(DType.INT64, 1));
            solver().syevd(Cusolver.EIG_VECTORS, Cusolver.FILL_UPPER, n, DeviceTensors.address(m), n,
                    DeviceTensors.address(values), DeviceTensors.address(work), lwork, DeviceTensors.address(info), stream);
            checkInfo(readInts(info, 1), "eigh", "cusolverDnDsyevd", a.shape(), "did not converge");
            // The buffer holds the eigenvectors as columns, column-major: row-major it is V^T.
            Tensor v = w.add(m.t());
            Tensor abs = w.add(v.abs());
            Tensor largest = w.add(abs.argmax(0, true));                // first largest |component| per column
            Tensor picked = w.add(v.gather(0, largest));
            Tensor flip = w.add(picked.sign());
            Tensor normalised = w.add(v.mul(flip));
            return new Tensor[] {values.to(a.dtype()), normalised.to(a.dtype())};
        }
    }

    /**
     * V diag(1/s) U^T over the singular values s > rcond * s_max (the others count as zero), as
     * the CPU backend: the economy SVD on the device, the cut-off on the host (k values), two
     * products on the device. Needs a 2-D matrix.
     */
    @Override
    public Tensor pinv(Tensor a, double rcond) {
        if (solver() == null || a.numel() == 0) {
            return CpuFallback.run1("pinv", why(a), h -> CpuFallback.cpu().linalg().pinv(h[0], rcond), a);
        }
        floating(a, "pinv");
        if (!(rcond >= 0)) throw new IllegalArgumentException("pinv: rcond must be >= 0, got " + rcond);
        if (a.rank() != 2) throw new IllegalArgumentException("pinv needs a 2-D matrix, got " + Shape.toString(a.shape()));
        requireFinite(a, "pinv");
        try (Work w = new Work()) {
            Tensor[] usv = gesvd(a, false, "pinv", w);
            Tensor s = w.add(usv[1].reshape(-1));
            double[] sv = s.toDoubleArray();
            int k = sv.length;
            double cutoff = rcond * sv[0];
            double[] inverse = new double[k];
            for (int i = 0; i < k && sv[i] > cutoff; i++) inverse[i] = 1 / sv[i];
            Tensor invHost = w.add(Tensor.of(inverse, 1, k));
            Tensor inv = w.add(invHost.to(Device.CUDA));
            Tensor u = w.add(usv[0].select(0, 0)), vh = w.add(usv[2].select(0, 0));   // (m, k), (k, n)
            Tensor v = w.add(vh.t());
            Tensor scaled = w.add(v.mul(inv));                                        // V diag(1/s): (n, k)
            Tensor ut = w.add(u.t());
            Tensor p = w.add(scaled.matmul(ut));                                      // (n, m)
            return p.to(a.dtype());
        }
    }

    /**
     * cuSOLVER's gesvd per matrix (batched input loops over its matrices with one workspace), in
     * float64; results in the input's dtype, signs fixed as the CPU backend does: each column u_i
     * of U has its largest-magnitude component (the first on a tie) positive, and row i of Vh
     * flips with it; U's columns and Vh's rows past min(m, n) (full SVD) are fixed on their own.
     */
    @Override
    public Tensor[] svd(Tensor a, boolean full) {
        if (solver() == null || a.numel() == 0) {
            return CpuFallback.run("svd", why(a), h -> CpuFallback.cpu().linalg().svd(h[0], full), a);
        }
        floating(a, "svd");
        if (a.rank() != 2 && a.rank() != 3) {
            throw new IllegalArgumentException("svd needs a 2-D matrix or a 3-D batch of matrices, got " + Shape.toString(a.shape()));
        }
        requireFinite(a, "svd");
        try (Work w = new Work()) {
            Tensor[] usv = gesvd(a, full, "svd", w);
            Tensor u = usv[0], s = usv[1], vh = usv[2];
            int k = (int) s.size(1);
            long vRows = vh.size(1);
            Tensor flipU = w.add(signFix(u, 1, w));                                   // (B, 1, uCols)
            Tensor firstK = w.add(flipU.slice(2, 0, k));
            Tensor flipFromU = w.add(firstK.transpose(1, 2));                         // (B, k, 1)
            Tensor flipV = flipFromU;
            if (vRows > k) {
                Tensor own = w.add(signFix(vh, 2, w));                                // (B, vRows, 1)
                Tensor tail = w.add(own.slice(1, k, vRows));
                flipV = w.add(Tensor.cat(List.of(flipFromU, tail), 1));
            }
            Tensor un = w.add(u.mul(flipU)), vn = w.add(vh.mul(flipV));
            Tensor[] out = {un, s, vn};
            Tensor[] typed = new Tensor[3];
            try {
                for (int i = 0; i < 3; i++) {
                    Tensor t = w.add(out[i].to(a.dtype()));
                    long[] shape = out[i].shape();
                    typed[i] = a.rank() == 3 ? t.reshape(shape) : t.reshape(java.util.Arrays.copyOfRange(shape, 1, shape.length));
                }
            } catch (RuntimeException e) {
                for (Tensor t : typed) {
                    if (t != null) t.close();
                }
                throw e;
            }
            return typed;
        }
    }

    /**
     * gesvd over each (m, n) matrix of a, (m, n) or (B, m, n), row-major: {U (B, m, uCols), S (B, k), Vh (B,
     * vRows, n)} in float64 on CUDA, signs as cuSOLVER left them, k = min(m, n). A row-major
     * (m, n) matrix is the column-major (n, m) matrix A^T, which gesvd takes as it is when m <= n:
     * A^T = U' S V'^T gives A = V' S U'^T, and U' (column-major) read row-major is U'^T = Vh, VT'
     * read row-major is V' = U: no copy either way. When m > n, gesvd needs A itself: the input is
     * copied transposed (column-major A), and U and VT come back as the transposes of the
     * buffers (views). devInfo is read once for the batch.
     */
    private static Tensor[] gesvd(Tensor a, boolean full, String op, Work w) {
        Tensor a3 = w.add(a.rank() == 3 ? a.reshape(a.shape()) : a.reshape(1, a.size(0), a.size(1)));
        long batch = a3.size(0), m = a3.size(1), n = a3.size(2);
        if (m > Integer.MAX_VALUE || n > Integer.MAX_VALUE || m * n > Integer.MAX_VALUE || batch > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(op + ": matrix too large for cuSOLVER " + Shape.toString(a.shape()));
        }
        boolean wide = m <= n;
        int rows = (int) (wide ? n : m), cols = (int) (wide ? m : n);                // the column-major matrix gesvd factors
        int k = cols, uCols = full ? rows : cols;
        if ((long) rows * uCols > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(op + ": U too large for cuSOLVER " + Shape.toString(a.shape()));
        }
        Tensor in = wide ? a3 : w.add(a3.transpose(1, 2));
        Tensor x = w.add(float64Copy(in, null));                                      // (B, cols, rows): gesvd's A, column-major
        Tensor s = w.add(DeviceTensors.empty(DType.FLOAT64, batch, k));
        Tensor ub = w.add(DeviceTensors.empty(DType.FLOAT64, batch, uCols, rows));   // U', column-major rows x uCols
        Tensor vtb = w.add(DeviceTensors.empty(DType.FLOAT64, batch, cols, cols));   // VT', column-major cols x cols
        long stream = CudaContext.get().stream().handle();
        int lwork = solver().gesvdBufferSize(rows, cols, stream);
        Tensor work = w.add(DeviceTensors.empty(DType.FLOAT64, lwork));
        Tensor rwork = w.add(DeviceTensors.empty(DType.FLOAT64, Math.max(1, k)));
        Tensor info = w.add(DeviceTensors.zeros(DType.INT64, (batch + 1) / 2));      // batch ints
        byte jobu = full ? Cusolver.SVD_ALL : Cusolver.SVD_SOME, jobvt = full ? Cusolver.SVD_ALL : Cusolver.SVD_SOME;
        long ax = DeviceTensors.address(x), as = DeviceTensors.address(s), au = DeviceTensors.address(ub),
                avt = DeviceTensors.address(vtb), ainfo = DeviceTensors.address(info);
        for (long b = 0; b < batch; b++) {
            solver().gesvd(jobu, jobvt, rows, cols, ax + 8 * b * rows * cols, rows, as + 8 * b * k, au + 8 * b * rows * uCols, rows,
                    avt + 8 * b * cols * cols, cols, DeviceTensors.address(work), lwork, DeviceTensors.address(rwork),
                    ainfo + 4 * b, stream);
        }
        checkInfo(readInts(info, (int) batch), op, a.shape());
        if (wide) return new Tensor[] {vtb, s, ub};
        return new Tensor[] {w.add(ub.transpose(1, 2)), s, w.add(vtb.transpose(1, 2))};
    }

    /** Refuses a matrix whose gesvd did not converge (devInfo > 0); a negative devInfo is a bad argument (a bug here). */
    static void checkInfo(int[] info, String op, long[] shape) {
        checkInfo(info, op, "cusolverDnDgesvd", shape,
                "did not converge (superdiagonals of the bidiagonal form left unconverged)");
    }

    /**
     * Checks every devInfo of a cuSOLVER routine (one per matrix of a batch): 0 is success; a
     * positive value is the matrix's failure, refused as {@code op} + {@code positive}
     * (IllegalArgumentException), or, where the routine defines none (positive null), a bug; a
     * negative value -i is parameter i refused, a bug here (IllegalStateException).
     */
    static void checkInfo(int[] info, String op, String routine, long[] shape, String positive) {
        for (int b = 0; b < info.length; b++) {
            if (info[b] == 0) continue;
            String which = info.length == 1 ? "the matrix" : "matrix " + b + " of";
            if (info[b] > 0 && positive != null) {
                throw new IllegalArgumentException(op + ": " + which + " " + Shape.toString(shape) + " " + positive
                        + " (" + routine + " devInfo = " + info[b] + ")");
            }
            throw new IllegalStateException(op + ": " + routine + (info[b] < 0 ? " refused parameter " + -info[b]
                    : " returned devInfo = " + info[b]) + " for " + which + " " + Shape.toString(shape));
        }
    }

    /**
     * +1 or -1 per vector of f (B, R, C) along dim (1: columns, 2: rows), keeping dim as size 1:
     * -1 where the vector's first component of largest magnitude is negative.
     */
    private static Tensor signFix(Tensor f, int dim, Work w) {
        Tensor abs = w.add(f.abs());
        Tensor largest = w.add(abs.argmax(dim, true));
        Tensor picked = w.add(f.gather(dim, largest));
        Tensor zero = w.add(scalar(0)), minus = w.add(scalar(-1)), plus = w.add(scalar(1));
        Tensor negative = w.add(picked.lt(zero));
        return Tensor.where(negative, minus, plus);
    }

    // ---------------------------------------------------------------- rank-1 removal

    /** The largest Gram side linalg.cu handles: the k x k double matrix fills 32 KiB of shared memory. */
    static final int MAX_TOP_SINGULAR_K = 64;

    /**
     * linalg.cu's remove_top_singular: one 256-thread block per matrix at a time (grid at most
     * 4 blocks per SM, each looping over matrices), the Gram matrix and cyclic Jacobi in shared
     * memory, the eigenvectors in a k^2 float64 scratch per block. A strided input is first copied
     * contiguous, and that copy is then updated in place; a contiguous one gets a fresh output.
     * k = min(R, C) above 64 runs on the CPU backend. Non-finite matrices are flagged by the
     * kernel (one wait for the stream to read the flag) and refused as on the CPU.
     */
    @Override
    public Tensor removeTopSingular(Tensor x) {
        String op = "removeTopSingular";
        LinalgOps.checkMatrixBatch(x, op);
        if (x.numel() == 0) return x.copy();
        long batch = x.size(0);
        int rows = (int) x.size(1), cols = (int) x.size(2), k = Math.min(rows, cols);
        if (k > MAX_TOP_SINGULAR_K) {
            return CpuFallback.run1(op, "min(R, C) = " + k + " > " + MAX_TOP_SINGULAR_K + " (the Gram matrix would not fit in shared memory)",
                    h -> CpuFallback.cpu().linalg().removeTopSingular(h[0]), x);
        }
        CudaContext context = CudaContext.get();
        int grid = (int) Math.min(batch, 4L * context.multiprocessors());
        Tensor in = x.isContiguous() ? x : x.copy();
        Tensor out = in == x ? DeviceTensors.empty(x.dtype(), x.shape()) : in;
        boolean done = false;
        try (Tensor scratch = DeviceTensors.empty(DType.FLOAT64, (long) grid * k * k); ErrorFlag err = new ErrorFlag()) {
            DeviceTensors.use(in);
            Launch.of(Kernels.Module.LINALG, x.dtype() == DType.FLOAT32 ? "remove_top_singular_f" : "remove_top_singular_d")
                    .ptr(DeviceTensors.address(in)).ptr(DeviceTensors.address(out)).i64(batch).i32(rows).i32(cols)
                    .ptr(DeviceTensors.address(scratch)).ptr(err.address())
                    .run(grid, 1, Launch.BLOCK, 0, op);
            Long bad = err.check();
            if (bad != null) throw new IllegalArgumentException(LinalgOps.nonFiniteMessage(op, x, bad));
            done = true;
            return out;
        } finally {
            if (!done) out.close();
        }
    }

    // ---------------------------------------------------------------- helpers

    /** Temporaries closed together at the end of an op. */
    private static final class Work implements AutoCloseable {
        private final List<Tensor> tensors = new ArrayList<>();

        Tensor add(Tensor t) {
            tensors.add(t);
            return t;
        }

        @Override
        public void close() {
            for (Tensor t : tensors) {
                if (!t.isClosed()) t.close();
            }
        }
    }

    private static String why(Tensor a) {
        return solver() == null ? missing() : "empty matrix " + Shape.toString(a.shape());
    }

    /**
     * Why cuSOLVER cannot take this matrix, so that op runs on the CPU backend (which takes it or
     * refuses it with its own limits), or null: no cuSOLVER, an empty matrix, or a size beyond
     * the legacy 32-bit API (int n, lda and lwork; CUDA 13 removed the 64-bit generic calls our
     * binding would need on both majors).
     */
    private static String cpuReason(Tensor a, String op) {
        if (solver() == null || a.numel() == 0) return why(a);
        long n = a.rank() == 2 ? Math.max(a.size(0), a.size(1)) : 0;
        if (legacyElements(op, n) > Integer.MAX_VALUE) {
            return "n = " + n + " is beyond cuSOLVER's 32-bit sizes (" + legacyElements(op, n) + " elements > 2^31 - 1)";
        }
        return null;
    }

    /**
     * The most elements a legacy cuSOLVER routine of op indexes or asks workspace for with an
     * int: the n x n matrix, and for eigh syevd's workspace, 1 + 6n + 2n^2 doubles (LAPACK dsyevd
     * with eigenvectors), which passes 2^31 - 1 from n = 32767.
     */
    static long legacyElements(String op, long n) {
        long matrix = n * n;
        return op.equals("eigh") ? Math.max(matrix, 1 + 6 * n + 2 * matrix) : matrix;
    }

    private static void floating(Tensor a, String op) {
        if (!a.dtype().isFloating()) {
            throw new IllegalArgumentException(op + " needs a floating tensor, got " + a.dtype() + Shape.toString(a.shape()));
        }
    }

    /** Checks a floating, square, finite 2-D matrix; returns n. */
    private static int square(Tensor a, String op) {
        floating(a, op);
        if (a.rank() != 2 || a.size(0) != a.size(1)) {
            throw new IllegalArgumentException(op + " needs a square 2-D matrix, got " + Shape.toString(a.shape()));
        }
        if (a.size(0) > Integer.MAX_VALUE / 2) throw new IllegalArgumentException(op + ": matrix too large " + Shape.toString(a.shape()));
        requireFinite(a, op);
        return (int) a.size(0);
    }

    /**
     * Counts per row first (a block per row), then sums the counts: one count over all n^2
     * elements would be one row, so one block for the whole matrix.
     */
    private static void requireFinite(Tensor t, String op) {
        try (Tensor rows = t.reshape(t.rank() == 0 ? 1 : t.size(0), -1); Tensor perRow = rows.countNonFinite(1);
             Tensor count = perRow.sum(); Tensor host = count.to(Device.CPU)) {
            if (host.item() > 0) {
                throw new IllegalArgumentException(op + ": matrix contains NaN or Inf " + Shape.toString(t.shape()));
            }
        }
    }

    /** A contiguous float64 copy that a routine may overwrite. */
    private static Tensor float64Copy(Tensor a, String op) {
        return a.dtype() == DType.FLOAT64 ? a.copy() : a.to(DType.FLOAT64); // to() of another dtype is a fresh contiguous tensor
    }

    /** (n, 1) row indices or (1, n) column indices on CUDA. */
    private static Tensor index(int n, Work w, boolean rows) {
        Tensor host = w.add(Tensor.arange(n));
        Tensor device = w.add(host.to(Device.CUDA));
        return rows ? device.reshape(n, 1) : device.reshape(1, n);
    }

    /** 1 on and below the diagonal (row-major), as int64. */
    private static Tensor lowerMask(int n, Work w) {
        Tensor rows = w.add(index(n, w, true)), cols = w.add(index(n, w, false));
        return rows.ge(cols);
    }

    private static Tensor scalar(double v) {
        try (Tensor h = Tensor.scalar(v, DType.FLOAT64)) {
            return h.to(Device.CUDA);
        }
    }

    /** The first n 32-bit ints of a device tensor's memory. */
    private static int[] readInts(Tensor t, int n) {
        int[] host = new int[n];
        if (n == 0) return host;
        CudaContext context = CudaContext.get();
        CudaStorage s = DeviceTensors.storage(t);
        // Wait for the stream, then a synchronous copy: an async copy into a Java array could land after JCuda released it.
        context.synchronize("reading cuSOLVER results");
        CudaContext.check(JCudaDriver.cuMemcpyDtoH(Pointer.to(host), s.pointer().withByteOffset(DeviceTensors.address(t) - s.address()),
                4L * n), "cuMemcpyDtoH (cuSOLVER info)");
        return host;
    }
}
