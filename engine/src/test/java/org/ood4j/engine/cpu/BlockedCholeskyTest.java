package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * The in-place factorisation by halves against plain products, past BLOCK and at an odd order
 * (two levels of halves, odd splits): every triangular product (X W^T, X W and W X in the
 * factor, W^T X in the Gram) and both symmetric updates (Y Y^T of a block, of a transposed block).
 */
class BlockedCholeskyTest {
    private static final int N = 2 * BlockedCholesky.BLOCK + 73;

    @Test
    void factorIsLowerTriangularWithItsInverse() {
        try (Scope s = Scope.open()) {
            Tensor spd = spd(new SplittableRandom(13));
            double[] l = spd.toDoubleArray(), w = new double[N * N];
            assertTrue(BlockedCholesky.factor(l, w, N));
            for (int i = 0; i < N; i++) {
                for (int j = i + 1; j < N; j++) {
                    assertEquals(0, l[i * N + j], "L upper (" + i + ", " + j + ")");
                    assertEquals(0, w[i * N + j], "W upper (" + i + ", " + j + ")");
                }
            }
            Tensor lt = Tensor.of(l, N, N), wt = Tensor.of(w, N, N);
            assertClose(spd, lt.matmul(lt.t()));
            assertClose(identity(), wt.matmul(lt));
        }
    }

    @Test
    void gramOfTheTriangularInverseIsTheSpdInverseAndExactlySymmetric() {
        try (Scope s = Scope.open()) {
            Tensor spd = spd(new SplittableRandom(14));
            double[] l = spd.toDoubleArray(), w = new double[N * N];
            assertTrue(BlockedCholesky.factor(l, w, N));
            Tensor wt = Tensor.of(w.clone(), N, N);
            BlockedCholesky.gram(w, N);
            assertClose(wt.t().matmul(wt), Tensor.of(w, N, N));
            for (int i = 0; i < N; i++) {
                for (int j = 0; j < i; j++) assertEquals(w[i * N + j], w[j * N + i], "mirrored (" + i + ", " + j + ")");
            }
        }
    }

    @Test
    void aMatrixThatIsNotPositiveDefiniteIsRefusedPastTheFirstLeaf() {
        try (Scope s = Scope.open()) {
            double[] a = spd(new SplittableRandom(15)).toDoubleArray();
            a[(N - 1) * N + N - 1] = -1;   // the last pivot, in the second half's last leaf
            assertFalse(BlockedCholesky.factor(a, new double[N * N], N));
        }
    }

    private static Tensor identity() {
        double[] e = new double[N * N];
        for (int i = 0; i < N; i++) e[i * N + i] = 1;
        return Tensor.of(e, N, N);
    }

    /** X^T X for a random X with more rows than columns: symmetric positive definite. */
    private static Tensor spd(SplittableRandom rng) {
        Tensor x = Tensor.randn(rng, DType.FLOAT64, N + 5, N);
        return x.t().matmul(x);
    }

    private static void assertClose(Tensor expected, Tensor actual) {
        assertArrayEquals(expected.shape(), actual.shape());
        double[] e = expected.toDoubleArray(), a = actual.toDoubleArray();
        double scale = 0;
        for (double v : e) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < e.length; i++) assertEquals(e[i], a[i], 1e-10 * scale, "element " + i);
    }
}
