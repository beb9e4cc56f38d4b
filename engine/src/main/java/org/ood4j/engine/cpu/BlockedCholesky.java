package org.ood4j.engine.cpu;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.decomposition.TriangularSolver_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.CholeskyDecomposition_F64;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * Cholesky factor, triangular inverse and SPD inverse of float64 matrices by halves, so that
 * almost all of the work is the engine's parallel GEMM (EJML's loops, single-threaded and
 * column-walking, below {@link #BLOCK}). With A = [[A11, A21^T], [A21, A22]]:
 * <pre>
 *   L11 = chol(A11),  W11 = L11^-1,  L21 = A21 W11^T,  L22 = chol(A22 - L21 L21^T)
 *   W = L^-1 = [[W11, 0], [-W22 L21 W11, W22]]
 *   A^-1 = W^T W = [[G(W11) + B^T B, B^T W22], [W22^T B, G(W22)]],  B = -W22 L21 W11,  G(X) = X^T X
 * </pre>
 * (Golub and Van Loan, 4.2.4 and 3.1.4, recursive form.) Every product with a triangular factor
 * ({@link #lowerTimes}, {@link #timesLower}) and every symmetric one ({@link #outer}) is itself
 * taken by halves, so the zero and the mirrored halves cost no flops: the factor and W are
 * 2n^3/3 flops and the Gram n^3/3, n^3 in all, half of numpy's LU inverse (2n^3). With full
 * products at every level it was 2n^3 (4.9 s at n = 4096 here against numpy's 3.6 s).
 */
final class BlockedCholesky {
    /** Orders at or below this are EJML's loops (its own blocked Cholesky starts at 1000 rows, single-threaded). */
    static final int BLOCK = 192;

    private BlockedCholesky() {}

    /** {L, W = L^-1} of the SPD float64 (n, n) matrix a; null when a is not positive definite. */
    static Tensor[] factor(Tensor a) {
        int n = (int) a.size(0);
        if (n <= BLOCK) return factorSmall(a, n);
        int h = n / 2;
        try (Scope s = Scope.open()) {
            Tensor[] top = factor(block(a, 0, h, 0, h).contiguous());
            if (top == null) return null;
            Tensor l21 = lowerTimes(top[1], block(a, h, n, 0, h).t()).t();          // A21 W11^T = (W11 A21^T)^T
            Tensor schur = block(a, h, n, h, n).sub(outer(l21));
            Tensor[] bottom = factor(schur);
            if (bottom == null) return null;
            Tensor l = Tensor.zeros(DType.FLOAT64, n, n), w = Tensor.zeros(DType.FLOAT64, n, n);
            place(l, top[0], bottom[0], l21);
            place(w, top[1], bottom[1], lowerTimes(bottom[1], timesLower(l21, top[1])).neg());
            return new Tensor[] {s.keep(l), s.keep(w)};
        }
    }

    /** W^T W for a lower-triangular float64 (n, n) W: the SPD inverse A^-1 from W = L^-1. */
    static Tensor gram(Tensor w) {
        int n = (int) w.size(0);
        if (n <= BLOCK) return w.t().matmul(w);
        int h = n / 2;
        try (Scope s = Scope.open()) {
            Tensor b = block(w, h, n, 0, h), c = block(w, h, n, h, n).contiguous();
            Tensor corner = gram(block(w, 0, h, 0, h).contiguous()).add(outer(b.t()));
            Tensor side = timesLower(b.t(), c).t();             // C^T B = (B^T C)^T, (n - h, h): rows h.., columns ..h
            return s.keep(symmetric(corner, side, gram(c)));
        }
    }

    /** W X for a lower-triangular W (n, n) and any X (n, m): [[Wa, 0], [Wb, Wc]] X by halves, n^2 m flops. */
    static Tensor lowerTimes(Tensor w, Tensor x) {
        int n = (int) w.size(0);
        if (n <= BLOCK) return w.matmul(x);
        int h = n / 2;
        try (Scope s = Scope.open()) {
            Tensor x1 = x.slice(0, 0, h), x2 = x.slice(0, h, n);
            Tensor top = lowerTimes(block(w, 0, h, 0, h), x1);
            Tensor bottom = block(w, h, n, 0, h).matmul(x1).add(lowerTimes(block(w, h, n, h, n), x2));
            return s.keep(Tensor.cat(java.util.List.of(top, bottom), 0));
        }
    }

    /** X W for any X (m, n) and a lower-triangular W (n, n): X [[Wa, 0], [Wb, Wc]] by halves, m n^2 flops. */
    static Tensor timesLower(Tensor x, Tensor w) {
        int n = (int) w.size(0);
        if (n <= BLOCK) return x.matmul(w);
        int h = n / 2;
        try (Scope s = Scope.open()) {
            Tensor x1 = x.slice(1, 0, h), x2 = x.slice(1, h, n);
            Tensor left = timesLower(x1, block(w, 0, h, 0, h)).add(x2.matmul(block(w, h, n, 0, h)));
            Tensor right = timesLower(x2, block(w, h, n, h, n));
            return s.keep(Tensor.cat(java.util.List.of(left, right), 1));
        }
    }

    /** X X^T (m, m) for any X (m, k): the lower blocks by halves, mirrored, m^2 k flops. */
    static Tensor outer(Tensor x) {
        int m = (int) x.size(0);
        if (m <= BLOCK) return x.matmul(x.t());
        int h = m / 2;
        try (Scope s = Scope.open()) {
            Tensor x1 = x.slice(0, 0, h), x2 = x.slice(0, h, m);
            return s.keep(symmetric(outer(x1), x2.matmul(x1.t()), outer(x2)));
        }
    }

    /** [[corner, side^T], [side, bottom]]: the lower blocks as {@link #place} puts them, then the mirror of side. */
    private static Tensor symmetric(Tensor corner, Tensor side, Tensor bottom) {
        int h = (int) corner.size(0), n = h + (int) bottom.size(0);
        Tensor out = Tensor.empty(DType.FLOAT64, n, n);
        place(out, corner, bottom, side);
        block(out, 0, h, h, n).copyFrom(side.t());
        return out;
    }

    /** The view a[r0:r1, c0:c1]. */
    private static Tensor block(Tensor a, int r0, int r1, int c0, int c1) {
        return a.slice(0, r0, r1).slice(1, c0, c1);
    }

    /** top, below and bottom into out's blocks [[top, .], [below, bottom]] (the upper right one left as it is). */
    private static void place(Tensor out, Tensor top, Tensor bottom, Tensor below) {
        int n = (int) out.size(0), h = (int) top.size(0);
        block(out, 0, h, 0, h).copyFrom(top);
        block(out, h, n, 0, h).copyFrom(below);
        block(out, h, n, h, n).copyFrom(bottom);
    }

    private static Tensor[] factorSmall(Tensor a, int n) {
        DMatrixRMaj m = DMatrixRMaj.wrap(n, n, a.toDoubleArray());
        CholeskyDecomposition_F64<DMatrixRMaj> chol = DecompositionFactory_DDRM.chol(n, true);
        if (!chol.decompose(m)) return null;
        double[] lower = java.util.Arrays.copyOf(chol.getT(null).data, n * n);
        for (int i = 0; i < n; i++) java.util.Arrays.fill(lower, i * n + i + 1, (i + 1) * n, 0);
        double[] inverse = lower.clone();
        TriangularSolver_DDRM.invertLower(inverse, n);
        return new Tensor[] {Tensor.of(lower, n, n), Tensor.of(inverse, n, n)};
    }
}
