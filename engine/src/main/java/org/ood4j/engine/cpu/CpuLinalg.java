package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.decomposition.lu.LUDecompositionAlt_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.dense.row.linsol.lu.LinearSolverLu_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;
import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.LinalgOps;

/**
 * Dense linear algebra with EJML, in float64 whatever the input precision; results are stored
 * back in the input's dtype (float32 or float64; int64 input is refused).
 *
 * <p>Eigenvectors and singular vectors are only defined up to sign. So that results are
 * deterministic (and comparable across backends), each eigenvector, and each left singular
 * vector u_i, is flipped so that its component of largest magnitude is positive (the first
 * such component on a tie); the matching right singular vector v_i is flipped with u_i, which
 * keeps U diag(S) Vh unchanged.
 */
final class CpuLinalg implements LinalgOps {

    // ---------------------------------------------------------------- Cholesky, solve, inverse

    @Override
    public Tensor cholesky(Tensor a) {
        DType type = floatType(a, "cholesky");
        double[][] lw = factor(a, "cholesky");
        return Unpacking.tensor(lw[0], type, a.shape());
    }

    /** {L, L^-1} with A = L L^T, row-major ({@link BlockedCholesky}); refuses an A that is not positive definite. */
    private static double[][] factor(Tensor a, String op) {
        DMatrixRMaj m = square(a, op);                          // checks shape, emptiness and finiteness; ours to overwrite
        double[] w = new double[m.data.length];
        if (!BlockedCholesky.factor(m.data, w, m.numRows)) {
            throw new IllegalArgumentException(op + ": matrix " + Shape.toString(a.shape()) + " is not positive definite");
        }
        return new double[][] {m.data, w};
    }

    /** W = L^-1 from the same factorisation by halves as {@link #cholesky} ({@link BlockedCholesky}). */
    @Override
    public Tensor inverseCholesky(Tensor a) {
        DType type = floatType(a, "inverseCholesky");
        return Unpacking.tensor(factor(a, "inverseCholesky")[1], type, a.shape());
    }

    @Override
    public Tensor solve(Tensor a, Tensor b) {
        DType type = DType.promote(floatType(a, "solve"), floatType(b, "solve"));
        DMatrixRMaj am = square(a, "solve");
        int n = am.numRows;
        if (b.rank() < 1 || b.rank() > 2 || b.size(0) != n) {
            throw new IllegalArgumentException("solve: B must be (n,) or (n, m) for A " + Shape.toString(a.shape())
                    + ", got " + Shape.toString(b.shape()));
        }
        int cols = b.rank() == 1 ? 1 : (int) b.size(1);
        DMatrixRMaj bm = DMatrixRMaj.wrap(n, cols, finite(Packing.doubles(b), "solve", b));
        DMatrixRMaj x = new DMatrixRMaj(n, cols);
        lu(am, "solve", a).solve(bm, x);
        return Unpacking.tensor(x.data, type, b.shape());
    }

    @Override
    public Tensor inverse(Tensor a) {
        DType type = floatType(a, "inverse");
        DMatrixRMaj m = square(a, "inverse");
        DMatrixRMaj inv = new DMatrixRMaj(m.numRows, m.numRows);
        lu(m, "inverse", a).invert(inv);
        return Unpacking.tensor(inv.data, type, a.shape());
    }

    /**
     * A^-1 = W^T W with W = L^-1, L the Cholesky factor, all three by halves on the engine's
     * parallel GEMM ({@link BlockedCholesky}).
     */
    @Override
    public Tensor inverseSpd(Tensor a) {
        DType type = floatType(a, "inverse");
        double[] w = factor(a, "inverse")[1];
        BlockedCholesky.gram(w, (int) a.size(0));
        return Unpacking.tensor(w, type, a.shape());
    }

    /**
     * An LU solver for A, refusing a numerically singular A: one whose smallest pivot is at most
     * n * eps times its largest. (EJML's own test is an absolute 2.2e-16, which depends on the
     * matrix's scale; numpy only refuses an exactly zero pivot and returns garbage near it.)
     */
    private static LinearSolverLu_DDRM lu(DMatrixRMaj m, String op, Tensor a) {
        LUDecompositionAlt_DDRM decomposition = new LUDecompositionAlt_DDRM();
        LinearSolverLu_DDRM solver = new LinearSolverLu_DDRM(decomposition);
        solver.setA(m);
        double[] pivots = diagonal(decomposition.getLU());
        double max = 0, min = Double.POSITIVE_INFINITY;
        for (double p : pivots) {
            max = Math.max(max, Math.abs(p));
            min = Math.min(min, Math.abs(p));
        }
        if (!(min > pivots.length * Math.ulp(1.0) * max)) {
            throw new IllegalArgumentException(op + ": matrix is singular " + Shape.toString(a.shape()));
        }
        return solver;
    }

    // ---------------------------------------------------------------- SVD-based

    @Override
    public Tensor pinv(Tensor a, double rcond) {
        DType type = floatType(a, "pinv");
        if (!(rcond >= 0)) throw new IllegalArgumentException("pinv: rcond must be >= 0, got " + rcond);
        DMatrixRMaj m = matrix(a, "pinv");
        int rows = m.numRows, cols = m.numCols;
        Factors f = svd(m.data, 0, rows, cols, false);
        int k = f.s.length;
        double cutoff = k == 0 ? 0 : rcond * f.s[0];
        // pinv = V diag(1/s) U^T over the singular values above the cut-off: (cols, rows).
        double[] out = new double[cols * rows];
        for (int i = 0; i < k && f.s[i] > cutoff; i++) {
            double inv = 1 / f.s[i];
            for (int c = 0; c < cols; c++) {
                double v = f.vh[i * cols + c] * inv;
                if (v == 0) continue;
                int o = c * rows;
                for (int r = 0; r < rows; r++) out[o + r] += v * f.u[r * k + i];
            }
        }
        return Unpacking.tensor(out, type, cols, rows);
    }

    @Override
    public Tensor[] svd(Tensor a, boolean full) {
        DType type = floatType(a, "svd");
        if (a.rank() != 2 && a.rank() != 3) {
            throw new IllegalArgumentException("svd needs a 2-D matrix or a 3-D batch of matrices, got " + Shape.toString(a.shape()));
        }
        int batch = a.rank() == 3 ? (int) a.size(0) : 1;
        int rows = (int) a.size(-2), cols = (int) a.size(-1);
        requireNonEmpty(a, "svd");
        double[] data = finite(Packing.doubles(a), "svd", a);
        int k = Math.min(rows, cols);
        int uCols = full ? rows : k, vRows = full ? cols : k;
        double[] u = new double[batch * rows * uCols], s = new double[batch * k], vh = new double[batch * vRows * cols];
        // Batches of small matrices (RankFeat's C x HW features) run in parallel, one matrix per task.
        IntStream.range(0, batch).parallel().forEach(b -> {
            Factors f = svd(data, b * rows * cols, rows, cols, full);
            System.arraycopy(f.u, 0, u, b * rows * uCols, rows * uCols);
            System.arraycopy(f.s, 0, s, b * k, k);
            System.arraycopy(f.vh, 0, vh, b * vRows * cols, vRows * cols);
        });
        if (a.rank() == 2) {
            return new Tensor[] {Unpacking.tensor(u, type, rows, uCols), Unpacking.tensor(s, type, k),
                    Unpacking.tensor(vh, type, vRows, cols)};
        }
        return new Tensor[] {Unpacking.tensor(u, type, batch, rows, uCols), Unpacking.tensor(s, type, batch, k),
                Unpacking.tensor(vh, type, batch, vRows, cols)};
    }

    /** U (rows, uCols), S descending (k), Vh (vRows, cols), row-major. */
    private record Factors(double[] u, double[] s, double[] vh) {}

    /** The SVD of the rows x cols matrix at {@code data[offset..]}, sorted and sign-normalised. */
    private static Factors svd(double[] data, int offset, int rows, int cols, boolean full) {
        DMatrixRMaj m = new DMatrixRMaj(rows, cols);
        System.arraycopy(data, offset, m.data, 0, rows * cols);
        SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(rows, cols, true, true, !full);
        if (!svd.decompose(m)) {
            throw new IllegalArgumentException("svd did not converge for a " + rows + "x" + cols + " matrix");
        }
        DMatrixRMaj u = svd.getU(null, false);   // (rows, uCols)
        DMatrixRMaj vt = svd.getV(null, true);   // (vRows, cols)
        double[] sv = svd.getSingularValues();
        int k = Math.min(rows, cols);
        Integer[] order = descending(sv, k);
        int uCols = u.numCols, vRows = vt.numRows;
        double[] uo = new double[rows * uCols], s = new double[k], vo = new double[vRows * cols];
        // Columns of U and rows of Vh past k (full SVD only) span the null spaces; they keep their place.
        for (int c = 0; c < uCols; c++) {
            int from = c < k ? order[c] : c;
            for (int r = 0; r < rows; r++) uo[r * uCols + c] = u.get(r, from);
        }
        for (int r = 0; r < vRows; r++) {
            int from = r < k ? order[r] : r;
            for (int c = 0; c < cols; c++) vo[r * cols + c] = vt.get(from, c);
        }
        for (int i = 0; i < k; i++) {
            s[i] = sv[order[i]];
            if (largestIsNegative(uo, i, uCols, rows)) {
                negate(uo, i, uCols, rows);
                negate(vo, i * cols, 1, cols);
            }
        }
        for (int c = k; c < uCols; c++) {
            if (largestIsNegative(uo, c, uCols, rows)) negate(uo, c, uCols, rows);
        }
        for (int r = k; r < vRows; r++) {
            if (largestIsNegative(vo, r * cols, 1, cols)) negate(vo, r * cols, 1, cols);
        }
        return new Factors(uo, s, vo);
    }

    private static Integer[] descending(double[] values, int k) {
        Integer[] order = new Integer[k];
        for (int i = 0; i < k; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -values[i])); // stable: ties keep EJML's order
        return order;
    }

    // ---------------------------------------------------------------- rank-1 removal

    /** Per matrix, in parallel over the batch: {@link TopSingular#remove} on a float64 copy. */
    @Override
    public Tensor removeTopSingular(Tensor x) {
        LinalgOps.checkMatrixBatch(x, "removeTopSingular");
        if (x.numel() == 0) return x.copy();
        int batch = (int) x.size(0), rows = (int) x.size(1), cols = (int) x.size(2);
        double[] data = Packing.doubles(x);
        long[] failed = {Long.MAX_VALUE};
        IntStream.range(0, batch).parallel().forEach(b -> {
            if (!TopSingular.remove(data, b * rows * cols, rows, cols)) {
                synchronized (failed) { failed[0] = Math.min(failed[0], b); }
            }
        });
        if (failed[0] != Long.MAX_VALUE) {
            throw new IllegalArgumentException(LinalgOps.nonFiniteMessage("removeTopSingular", x, failed[0]));
        }
        return Unpacking.tensor(data, x.dtype(), x.shape());
    }

    /**
     * Per matrix, in parallel chunks: its values loaded in float64 into one buffer per chunk, the
     * top singular vector, then the row means of X' from X's ({@link TopSingular#removedRowMeans}):
     * one read of x, no full-size X' and no float64 copy of the batch.
     */
    @Override
    public Tensor removeTopSingularRowMeans(Tensor x) {
        LinalgOps.checkMatrixBatch(x, "removeTopSingularRowMeans");
        if (x.numel() == 0) return LinalgOps.super.removeTopSingularRowMeans(x);
        int batch = (int) x.size(0), rows = (int) x.size(1), cols = (int) x.size(2);
        double[] means = new double[batch * rows];
        long[] failed = {Long.MAX_VALUE};
        int chunks = Math.min(batch, 4 * Runtime.getRuntime().availableProcessors());
        try (Tensor xc = x.contiguous()) {
            MemorySegment seg = xc.storage().segment();
            IntStream.range(0, chunks).parallel().forEach(ch -> {
                double[] buf = new double[rows * cols];
                for (int b = batch * ch / chunks, end = batch * (ch + 1) / chunks; b < end; b++) {
                    HostRows.load(seg, xc.dtype(), xc.offset() + (long) b * rows * cols, 1, rows * cols, buf);
                    if (!TopSingular.removedRowMeans(buf, 0, rows, cols, means, b * rows)) {
                        synchronized (failed) { failed[0] = Math.min(failed[0], b); }
                    }
                }
            });
        }
        if (failed[0] != Long.MAX_VALUE) {
            throw new IllegalArgumentException(LinalgOps.nonFiniteMessage("removeTopSingularRowMeans", x, failed[0]));
        }
        return Unpacking.tensor(means, x.dtype(), batch, rows);
    }

    // ---------------------------------------------------------------- eigh, slogdet

    /**
     * Reads only the lower triangle (as torch.linalg.eigh's default), so a matrix that is
     * symmetric up to rounding gives exactly symmetric input to the solver.
     */
    @Override
    public Tensor[] eigh(Tensor a) {
        DType type = floatType(a, "eigh");
        DMatrixRMaj m = symmetricFromLower(a, "eigh");
        int n = m.numRows;
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, true, true);
        if (!eig.decompose(m)) {
            throw new IllegalArgumentException("eigh did not converge for " + Shape.toString(a.shape()));
        }
        double[] raw = new double[n];
        for (int i = 0; i < n; i++) raw[i] = eig.getEigenvalue(i).real;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> raw[i]));
        double[] values = new double[n], vectors = new double[n * n];
        for (int c = 0; c < n; c++) {
            values[c] = raw[order[c]];
            DMatrixRMaj v = eig.getEigenVector(order[c]);
            for (int r = 0; r < n; r++) vectors[r * n + c] = v.get(r, 0);
            if (largestIsNegative(vectors, c, n, n)) negate(vectors, c, n, n);
        }
        return new Tensor[] {Unpacking.tensor(values, type, n), Unpacking.tensor(vectors, type, n, n)};
    }

    /** {@link SymmetricEigen}: only the k wanted pairs, from the lower triangle. */
    @Override
    public Tensor[] eighLargest(Tensor a, int k) {
        DType type = floatType(a, "eighLargest");
        LinalgOps.checkEighLargest(a, k);
        DMatrixRMaj m = symmetricFromLower(a, "eighLargest");
        int n = m.numRows;
        SymmetricEigen.Pairs pairs = SymmetricEigen.largest(m.data, n, k);
        return new Tensor[] {Unpacking.tensor(pairs.values(), type, k), Unpacking.tensor(pairs.vectors(), type, n, k)};
    }

    /** A square matrix's lower triangle mirrored onto its upper one: exactly symmetric input for a symmetric solver. */
    private static DMatrixRMaj symmetricFromLower(Tensor a, String op) {
        DMatrixRMaj m = square(a, op);
        int n = m.numRows;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < i; j++) m.data[j * n + i] = m.data[i * n + j];
        }
        return m;
    }

    /**
     * From an LU factorisation: sign = parity of the row permutation times the signs of the
     * pivots, log|det| = sum log|pivot| (no overflow for large matrices). An exactly zero pivot
     * gives sign 0 and log|det| = -inf, as numpy.linalg.slogdet.
     */
    @Override
    public Tensor[] slogdet(Tensor a) {
        DType type = floatType(a, "slogdet");
        DMatrixRMaj m = square(a, "slogdet");
        LUDecompositionAlt_DDRM lu = new LUDecompositionAlt_DDRM();
        lu.decompose(m);
        double sign = permutationSign(lu.getPivot(), m.numRows), logAbs = 0;
        for (double p : diagonal(lu.getLU())) {
            if (!(p != 0)) {
                sign = 0;
                logAbs = Double.NEGATIVE_INFINITY;
                break;
            }
            sign *= Math.signum(p);
            logAbs += Math.log(Math.abs(p));
        }
        return new Tensor[] {Tensor.scalar(sign, type), Tensor.scalar(logAbs, type)};
    }

    /** +1 or -1: the parity of a permutation, from its cycles. */
    private static double permutationSign(int[] perm, int n) {
        boolean[] seen = new boolean[n];
        int cycles = 0;
        for (int i = 0; i < n; i++) {
            if (seen[i]) continue;
            cycles++;
            for (int j = i; !seen[j]; j = perm[j]) seen[j] = true;
        }
        return (n - cycles) % 2 == 0 ? 1 : -1;
    }

    // ---------------------------------------------------------------- helpers

    private static DType floatType(Tensor t, String op) {
        if (!t.dtype().isFloating()) {
            throw new IllegalArgumentException(op + " needs a floating tensor, got " + t.dtype() + Shape.toString(t.shape()));
        }
        return t.dtype();
    }

    /** A 2-D tensor as a fresh float64 EJML matrix (ours to overwrite), checked finite. */
    private static DMatrixRMaj matrix(Tensor a, String op) {
        if (a.rank() != 2) throw new IllegalArgumentException(op + " needs a 2-D matrix, got " + Shape.toString(a.shape()));
        requireNonEmpty(a, op);
        return DMatrixRMaj.wrap((int) a.size(0), (int) a.size(1), finite(Packing.doubles(a), op, a));
    }

    private static DMatrixRMaj square(Tensor a, String op) {
        if (a.rank() != 2 || a.size(0) != a.size(1)) {
            throw new IllegalArgumentException(op + " needs a square 2-D matrix, got " + Shape.toString(a.shape()));
        }
        return matrix(a, op);
    }

    private static void requireNonEmpty(Tensor a, String op) {
        if (a.numel() == 0) throw new IllegalArgumentException(op + " needs a non-empty matrix, got " + Shape.toString(a.shape()));
    }

    private static double[] finite(double[] data, String op, Tensor t) {
        for (double v : data) {
            if (!Double.isFinite(v)) {
                throw new IllegalArgumentException(op + ": matrix contains NaN or Inf " + Shape.toString(t.shape()));
            }
        }
        return data;
    }

    private static double[] diagonal(DMatrixRMaj m) {
        int n = Math.min(m.numRows, m.numCols);
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = m.get(i, i);
        return d;
    }

    /** Whether the component of largest |.| among data[start + i*stride], i < n, is negative (first one on a tie). */
    private static boolean largestIsNegative(double[] data, int start, int stride, int n) {
        double best = 0;
        for (int i = 0; i < n; i++) {
            double v = data[start + i * stride];
            if (Math.abs(v) > Math.abs(best)) best = v;
        }
        return best < 0;
    }

    private static void negate(double[] data, int start, int stride, int n) {
        for (int i = 0; i < n; i++) data[start + i * stride] = -data[start + i * stride];
    }
}
