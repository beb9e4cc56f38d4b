package org.ood4j.engine.cpu;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.decomposition.TriangularSolver_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.CholeskyDecomposition_F64;

/**
 * Cholesky factor, triangular inverse and SPD inverse of a float64 (n, n) row-major matrix, in
 * place and by halves, so that almost all of the work is the engine's parallel GEMM
 * ({@link Gemm#dgemmAdd} on blocks of the one array; EJML's loops at and below {@link #BLOCK}).
 * With A = [[A11, .], [A21, A22]] (only the lower triangle is read):
 * <pre>
 *   L11 = chol(A11),  W11 = L11^-1,  L21 = A21 W11^T,  L22 = chol(A22 - L21 L21^T)
 *   W = L^-1 = [[W11, 0], [-W22 L21 W11, W22]]
 *   A^-1 = W^T W = [[G(W11) + W21^T W21, .], [W22^T W21, G(W22)]],  G(X) = X^T X
 * </pre>
 * (Golub and Van Loan, 4.2.4 and 3.1.4, recursive form; LAPACK's potrf, trtri and lauum.) Each
 * product with a triangle ({@link #multiply}) and each symmetric update ({@link #symmetricAdd})
 * is itself taken by halves, so the zero and the mirrored halves cost no flops: the factor and W
 * are 2n^3/3 flops and the Gram n^3/3, n^3 in all, half of numpy's LU inverse (2n^3). Every step
 * writes into the blocks of the two arrays, with no copy of a block and no temporary matrix
 * outside the leaves.
 */
final class BlockedCholesky {
    /** Orders at or below this are leaves: EJML's loops for the factor, one dense GEMM for a product. */
    static final int BLOCK = 96;

    private BlockedCholesky() {}

    /**
     * Factors the SPD matrix a (n, n) in place: its lower triangle becomes L (A = L L^T) and its
     * upper triangle zero; w (n, n, zeros) receives W = L^-1, lower triangular. False when A is not
     * positive definite (a and w then hold partial results).
     */
    static boolean factor(double[] a, double[] w, int n) {
        if (!factor(a, w, n, 0, n, new Gemm.Scratch())) return false;
        for (int i = 0; i < n; i++) java.util.Arrays.fill(a, i * n + i + 1, (i + 1) * n, 0);
        return true;
    }

    /** A^-1 in place of W = L^-1 (lower triangular, (n, n)): W^T W's lower triangle by halves, then mirrored. */
    static void gram(double[] w, int n) {
        gram(w, n, 0, n, new Gemm.Scratch());
        Syrk.mirror(w, n, false);
    }

    /** The diagonal block [o, o + n) of a and w (row stride ld). */
    private static boolean factor(double[] a, double[] w, int ld, int o, int n, Gemm.Scratch scratch) {
        if (n <= BLOCK) return factorLeaf(a, w, ld, o, n);
        int h = n / 2, o2 = o + h, m = n - h;
        if (!factor(a, w, ld, o, h, scratch)) return false;
        multiply(false, true, w, ld, o, h, a, o2 * ld + o, m, scratch);                        // L21 = A21 W11^T
        symmetricAdd(a, ld, o2, m, new Gemm.Block(a, o2 * ld + o, ld, false), h, -1, scratch); // A22 - L21 L21^T
        if (!factor(a, w, ld, o2, m, scratch)) return false;
        for (int i = o2; i < o2 + m; i++) {                                          // W21 = -W22 L21 W11
            for (int j = o; j < o2; j++) w[i * ld + j] = -a[i * ld + j];
        }
        multiply(false, false, w, ld, o, h, w, o2 * ld + o, m, scratch);
        multiply(true, false, w, ld, o2, m, w, o2 * ld + o, h, scratch);
        return true;
    }

    /** W^T W in place of the lower-triangular diagonal block [o, o + n) of w: its lower triangle (a leaf writes both). */
    private static void gram(double[] w, int ld, int o, int n, Gemm.Scratch scratch) {
        if (n <= BLOCK) {
            double[] g = new double[n * n];
            Gemm.Block t = new Gemm.Block(w, o * ld + o, ld, false);
            Gemm.dgemmAdd(new Gemm.Block(w, o * ld + o, ld, true), t, 1, g, 0, n, n, n, n, scratch);
            for (int i = 0; i < n; i++) System.arraycopy(g, i * n, w, (o + i) * ld + o, n);
            return;
        }
        int h = n / 2, o2 = o + h, m = n - h;
        gram(w, ld, o, h, scratch);                                                           // G(W11)
        symmetricAdd(w, ld, o, h, new Gemm.Block(w, o2 * ld + o, ld, true), m, 1, scratch);   // + W21^T W21
        multiply(true, true, w, ld, o2, m, w, o2 * ld + o, h, scratch);                       // W22^T W21
        gram(w, ld, o2, m, scratch);                                                          // G(W22)
    }

    /**
     * X := op(T) X ({@code left}) or X op(T), in place, for the lower-triangular diagonal block T
     * of t at [o, o + n) and X a block of x at xOff (row stride ld): n rows of {@code width} when
     * left, else {@code width} rows of n; op(T) = T^T when {@code transposed}. By halves
     * T = [[Ta, 0], [Tb, Tc]], each half of X updated after the products that still read it:
     * <pre>
     *   T X:   X2 = Tc X2 + Tb X1,    X1 = Ta X1          T^T X: X1 = Ta^T X1 + Tb^T X2,  X2 = Tc^T X2
     *   X T:   X1 = X1 Ta + X2 Tb,    X2 = X2 Tc          X T^T: X2 = X2 Tc^T + X1 Tb^T,  X1 = X1 Ta^T
     * </pre>
     * A leaf is one dense GEMM into a scratch block (T's upper triangle is stored as zeros).
     */
    private static void multiply(boolean left, boolean transposed, double[] t, int ld, int o, int n, double[] x, int xOff, int width,
                                 Gemm.Scratch scratch) {
        int rows = left ? n : width, cols = left ? width : n;
        if (n <= BLOCK) {
            double[] product = new double[rows * cols];
            Gemm.Block tb = new Gemm.Block(t, o * ld + o, ld, transposed), xb = new Gemm.Block(x, xOff, ld, false);
            Gemm.dgemmAdd(left ? tb : xb, left ? xb : tb, 1, product, 0, cols, rows, cols, n, scratch);
            for (int i = 0; i < rows; i++) System.arraycopy(product, i * cols, x, xOff + i * ld, cols);
            return;
        }
        int h = n / 2, o2 = o + h, m = n - h;
        // X's halves along T's order: rows of X when T is on the left, columns when on the right
        int x1 = xOff, x2 = left ? xOff + h * ld : xOff + h;
        Gemm.Block tb = new Gemm.Block(t, o2 * ld + o, ld, transposed);             // Tb (m, h), or Tb^T (h, m)
        boolean firstHalfLast = left != transposed;   // T X and X T^T update X2 first, from the X1 they read
        if (firstHalfLast) {
            multiply(left, transposed, t, ld, o2, m, x, x2, width, scratch);
            if (left) Gemm.dgemmAdd(tb, new Gemm.Block(x, x1, ld, false), 1, x, x2, ld, m, width, h, scratch);
            else Gemm.dgemmAdd(new Gemm.Block(x, x1, ld, false), tb, 1, x, x2, ld, width, m, h, scratch);
            multiply(left, transposed, t, ld, o, h, x, x1, width, scratch);
        } else {
            multiply(left, transposed, t, ld, o, h, x, x1, width, scratch);
            if (left) Gemm.dgemmAdd(tb, new Gemm.Block(x, x2, ld, false), 1, x, x1, ld, h, width, m, scratch);
            else Gemm.dgemmAdd(new Gemm.Block(x, x2, ld, false), tb, 1, x, x1, ld, width, h, m, scratch);
            multiply(left, transposed, t, ld, o2, m, x, x2, width, scratch);
        }
    }

    /**
     * C += alpha Y Y^T on the lower blocks of the diagonal block [o, o + n) of c, for Y = op(X)
     * (n, depth): by halves of C's order, C11 += a Y1 Y1^T, C21 += a Y2 Y1^T, C22 += a Y2 Y2^T;
     * a leaf is one dense GEMM on its diagonal block (both of its triangles).
     */
    private static void symmetricAdd(double[] c, int ld, int o, int n, Gemm.Block y, int depth, double alpha, Gemm.Scratch scratch) {
        Gemm.Block yT = new Gemm.Block(y.data(), y.offset(), y.ld(), !y.transposed());
        if (n <= BLOCK) {
            Gemm.dgemmAdd(y, yT, alpha, c, o * ld + o, ld, n, n, depth, scratch);
            return;
        }
        int h = n / 2, m = n - h;
        Gemm.Block y2 = rowsFrom(y, h);
        symmetricAdd(c, ld, o, h, y, depth, alpha, scratch);
        Gemm.dgemmAdd(y2, yT, alpha, c, (o + h) * ld + o, ld, m, h, depth, scratch);
        symmetricAdd(c, ld, o + h, m, y2, depth, alpha, scratch);
    }

    /** op(Y)'s rows from r on, as a block of the same array. */
    private static Gemm.Block rowsFrom(Gemm.Block y, int r) {
        return new Gemm.Block(y.data(), y.offset() + (y.transposed() ? r : r * y.ld()), y.ld(), y.transposed());
    }

    /** EJML's Cholesky of the leaf (its lower triangle, mirrored) and its triangular inverse, written back. */
    private static boolean factorLeaf(double[] a, double[] w, int ld, int o, int n) {
        double[] block = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) block[i * n + j] = block[j * n + i] = a[(o + i) * ld + o + j];
        }
        CholeskyDecomposition_F64<DMatrixRMaj> chol = DecompositionFactory_DDRM.chol(n, true);
        if (!chol.decompose(DMatrixRMaj.wrap(n, n, block))) return false;
        double[] lower = chol.getT(null).data, inverse = new double[n * n];
        for (int i = 0; i < n; i++) System.arraycopy(lower, i * n, inverse, i * n, i + 1);
        TriangularSolver_DDRM.invertLower(inverse, n);
        for (int i = 0; i < n; i++) {
            System.arraycopy(inverse, i * n, w, (o + i) * ld + o, i + 1);
            System.arraycopy(lower, i * n, a, (o + i) * ld + o, i + 1);
        }
        return true;
    }
}
