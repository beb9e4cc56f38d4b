package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** The triangle- and symmetry-aware products by halves against the plain products, past BLOCK and at odd orders. */
class BlockedCholeskyTest {
    private static final int N = 2 * BlockedCholesky.BLOCK + 73, M = 37;   // two levels of halves, odd splits

    @Test
    void productsWithALowerTriangleByHalvesAreThePlainProducts() {
        SplittableRandom rng = new SplittableRandom(11);
        try (Scope s = Scope.open()) {
            Tensor w = lower(Tensor.randn(rng, DType.FLOAT64, N, N));
            Tensor right = Tensor.randn(rng, DType.FLOAT64, N, M), left = Tensor.randn(rng, DType.FLOAT64, M, N);
            assertClose(w.matmul(right), BlockedCholesky.lowerTimes(w, right));
            assertClose(left.matmul(w), BlockedCholesky.timesLower(left, w));
            // on views, as the factorisation passes them: a transposed operand
            assertClose(w.matmul(left.t()), BlockedCholesky.lowerTimes(w, left.t()));
            assertClose(right.t().matmul(w), BlockedCholesky.timesLower(right.t(), w));
        }
    }

    @Test
    void outerProductByHalvesIsThePlainProductAndExactlySymmetric() {
        SplittableRandom rng = new SplittableRandom(12);
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(rng, DType.FLOAT64, N, M);
            Tensor outer = BlockedCholesky.outer(x);
            assertClose(x.matmul(x.t()), outer);
            double[][] o = outer.toDoubleMatrix();
            for (int i = 0; i < N; i++) {
                for (int j = 0; j < i; j++) assertEquals(o[i][j], o[j][i], "mirrored (" + i + ", " + j + ")");
            }
        }
    }

    @Test
    void gramOfTheTriangularInverseIsTheSpdInverse() {
        SplittableRandom rng = new SplittableRandom(13);
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(rng, DType.FLOAT64, N + 5, N);
            Tensor spd = x.t().matmul(x);
            Tensor[] lw = BlockedCholesky.factor(spd);
            assertNotNull(lw);
            assertClose(spd, lw[0].matmul(lw[0].t()));
            assertClose(lw[1].t().matmul(lw[1]), BlockedCholesky.gram(lw[1]));
        }
    }

    private static Tensor lower(Tensor a) {
        double[][] m = a.toDoubleMatrix();
        for (int i = 0; i < m.length; i++) java.util.Arrays.fill(m[i], i + 1, m.length, 0);
        return Tensor.of(m);
    }

    private static void assertClose(Tensor expected, Tensor actual) {
        assertArrayEquals(expected.shape(), actual.shape());
        double[] e = expected.toDoubleArray(), a = actual.toDoubleArray();
        double scale = 0;
        for (double v : e) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < e.length; i++) assertEquals(e[i], a[i], 1e-11 * scale, "element " + i);
    }
}
