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
 * (Golub and Van Loan, 4.2.4 and 3.1.4, recursive form.) The Gram of the triangular W by halves is
 * 2n^3/3 flops where a full product W^T W is 2n^3: at n = 4096 that is the difference between
 * numpy's inv time and three times it.
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
            Tensor[] top = factor(a.slice(0, 0, h).slice(1, 0, h).contiguous());
            if (top == null) return null;
            Tensor l21 = a.slice(0, h, n).slice(1, 0, h).matmul(top[1].t());
            Tensor schur = a.slice(0, h, n).slice(1, h, n).sub(l21.matmul(l21.t()));
            Tensor[] bottom = factor(schur);
            if (bottom == null) return null;
            Tensor l = Tensor.zeros(DType.FLOAT64, n, n), w = Tensor.zeros(DType.FLOAT64, n, n);
            place(l, top[0], bottom[0], l21);
            place(w, top[1], bottom[1], bottom[1].matmul(l21).matmul(top[1]).neg());
            return new Tensor[] {s.keep(l), s.keep(w)};
        }
    }

    /** W^T W for a lower-triangular float64 (n, n) W: the SPD inverse A^-1 from W = L^-1. */
    static Tensor gram(Tensor w) {
        int n = (int) w.size(0);
        if (n <= BLOCK) return w.t().matmul(w);
        int h = n / 2;
        try (Scope s = Scope.open()) {
            Tensor b = w.slice(0, h, n).slice(1, 0, h), c = w.slice(0, h, n).slice(1, h, n).contiguous();
            Tensor corner = gram(w.slice(0, 0, h).slice(1, 0, h).contiguous()).add(b.t().matmul(b));
            Tensor side = c.t().matmul(b);                       // (n - h, h): rows h.., columns ..h
            Tensor out = Tensor.zeros(DType.FLOAT64, n, n);
            out.slice(0, 0, h).slice(1, 0, h).copyFrom(corner);
            out.slice(0, h, n).slice(1, 0, h).copyFrom(side);
            out.slice(0, 0, h).slice(1, h, n).copyFrom(side.t());
            out.slice(0, h, n).slice(1, h, n).copyFrom(gram(c));
            return s.keep(out);
        }
    }

    /** [[top, 0], [below, bottom]] into the zeroed out. */
    private static void place(Tensor out, Tensor top, Tensor bottom, Tensor below) {
        int n = (int) out.size(0), h = (int) top.size(0);
        out.slice(0, 0, h).slice(1, 0, h).copyFrom(top);
        out.slice(0, h, n).slice(1, 0, h).copyFrom(below);
        out.slice(0, h, n).slice(1, h, n).copyFrom(bottom);
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
