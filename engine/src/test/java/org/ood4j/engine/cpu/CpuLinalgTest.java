package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Linalg;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** Decompositions checked by what they must satisfy (reconstruction, orthonormality), not against EJML. */
class CpuLinalgTest {
    private Scope scope;
    private final SplittableRandom rng = new SplittableRandom(7);

    @BeforeEach void open() { scope = Scope.open(); }
    @AfterEach void close() { scope.close(); }

    // ---------------------------------------------------------------- Cholesky

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 100})
    void choleskyReconstructs(int n) {
        for (DType type : DType.values()) {
            if (!type.isFloating()) continue;
            double[][] a = spd(n);
            Tensor l = Linalg.cholesky(Tensor.of(a).to(type));
            assertEquals(type, l.dtype());
            double[][] lm = l.toDoubleMatrix();
            for (int i = 0; i < n; i++) {
                for (int j = i + 1; j < n; j++) assertEquals(0.0, lm[i][j], "upper triangle must be zero");
            }
            assertClose(a, mul(lm, transpose(lm)), tol(type) * norm(a));
        }
    }

    @Test
    void choleskyRefusesIndefinite() {
        var e = assertThrows(IllegalArgumentException.class, () -> Linalg.cholesky(Tensor.of(new double[][] {{1, 2}, {2, 1}})));
        assertTrue(e.getMessage().contains("not positive definite"), e.getMessage());
    }

    // ---------------------------------------------------------------- solve, inverse

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 100})
    void solveSatisfiesSystem(int n) {
        for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            Tensor a = Tensor.randn(rng, type, n, n);
            Tensor b = Tensor.randn(rng, type, n, 3);
            Tensor x = Linalg.solve(a, b);
            assertEquals(type, x.dtype());
            assertArrayEquals(new long[] {n, 3}, x.shape());
            double[][] am = a.toDoubleMatrix(), xm = x.toDoubleMatrix();
            assertClose(b.toDoubleMatrix(), mul(am, xm), tol(type) * norm(am) * norm(xm));

            Tensor bv = Tensor.randn(rng, type, n);
            Tensor xv = Linalg.solve(a, bv);
            assertArrayEquals(new long[] {n}, xv.shape());
            double[][] col = mul(am, column(xv.toDoubleArray()));
            double[] bd = bv.toDoubleArray();
            for (int i = 0; i < n; i++) assertEquals(bd[i], col[i][0], tol(type) * norm(am) * norm(column(xv.toDoubleArray())));
        }
    }

    @Test
    void solveAndInverseRefuseSingular() {
        Tensor[] singular = {
            Tensor.of(new double[][] {{1, 2}, {2, 4}}),
            Tensor.of(new double[][] {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}),
            Tensor.zeros(DType.FLOAT32, 3, 3),
        };
        for (Tensor a : singular) {
            var e = assertThrows(IllegalArgumentException.class, () -> Linalg.solve(a, Tensor.ones(DType.FLOAT64, a.size(0))));
            assertTrue(e.getMessage().contains("matrix is singular"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Linalg.inverse(a));
            assertTrue(e.getMessage().contains("matrix is singular"), e.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 100, 1100})   // 1100: EJML's blocked Cholesky
    void spdInverseThroughCholeskyAgreesWithLu(int n) {
        Tensor x = Tensor.randn(rng, DType.FLOAT64, n + 5, n);
        Tensor spd = x.t().matmul(x).add(Tensor.scalar(1e-3, DType.FLOAT64));
        Tensor viaCholesky = Linalg.inverseSpd(spd), viaLu = Linalg.inverse(spd);
        double[][] c = viaCholesky.toDoubleMatrix(), l = viaLu.toDoubleMatrix(), a = spd.toDoubleMatrix();
        double t = 1e-12 * norm(a) * norm(l);
        assertClose(identity(n), mul(a, c), t);
        assertClose(l, c, 1e-9 * norm(l));
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < i; j++) assertEquals(c[i][j], c[j][i], "exactly symmetric at (" + i + ", " + j + ")");
        }
        assertEquals(DType.FLOAT32, Linalg.inverseSpd(spd.to(DType.FLOAT32)).dtype());
        Tensor indefinite = Tensor.of(new double[][] {{1, 2}, {2, 1}});
        var e = assertThrows(IllegalArgumentException.class, () -> Linalg.inverseSpd(indefinite));
        assertTrue(e.getMessage().contains("not positive definite"), e.getMessage());
    }

    /** W = L^-1: lower triangular, W A W^T = I (so A^-1 = W^T W), its diagonal 1 / L's; past BlockedCholesky.BLOCK too. */
    @ParameterizedTest
    @ValueSource(ints = {1, 7, 300})
    void inverseCholeskyWhitens(int n) {
        Tensor x = Tensor.randn(rng, DType.FLOAT64, n + 5, n);
        Tensor spd = x.t().matmul(x).add(Tensor.scalar(1e-3, DType.FLOAT64));
        double[][] w = Linalg.inverseCholesky(spd).toDoubleMatrix(), l = Linalg.cholesky(spd).toDoubleMatrix(), a = spd.toDoubleMatrix();
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) assertEquals(0.0, w[i][j], "upper triangle must be zero");
            assertEquals(1 / l[i][i], w[i][i], 1e-12 / l[i][i], "diagonal " + i);
        }
        assertClose(identity(n), mul(mul(w, a), transpose(w)), 1e-10 * norm(a) * norm(w) * norm(w));
        var e = assertThrows(IllegalArgumentException.class, () -> Linalg.inverseCholesky(Tensor.of(new double[][] {{1, 2}, {2, 1}})));
        assertEquals("inverseCholesky: matrix [2, 2] is not positive definite", e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 100})
    void inverseIsTwoSided(int n) {
        for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            Tensor a = Tensor.randn(rng, type, n, n);
            Tensor inv = Linalg.inverse(a);
            assertEquals(type, inv.dtype());
            double[][] am = a.toDoubleMatrix(), im = inv.toDoubleMatrix();
            double t = tol(type) * norm(am) * norm(im);
            assertClose(identity(n), mul(am, im), t);
            assertClose(identity(n), mul(im, am), t);
        }
    }

    @Test
    void solveChecksShapes() {
        Tensor a = Tensor.randn(rng, DType.FLOAT64, 3, 3);
        var e = assertThrows(IllegalArgumentException.class, () -> Linalg.solve(a, Tensor.ones(DType.FLOAT64, 4, 2)));
        assertTrue(e.getMessage().contains("[4, 2]") && e.getMessage().contains("[3, 3]"), e.getMessage());
    }

    // ---------------------------------------------------------------- pinv

    @Test
    void pinvSatisfiesPenroseConditions() {
        double[][][] cases = {
            random(20, 7), random(7, 20), random(7, 7), random(1, 1),
            mul(random(10, 3), random(3, 8)),   // rank 3
            mul(random(6, 2), random(2, 9)),    // rank 2, wide
            new double[4][3],                   // zero matrix: pinv is zero
        };
        for (double[][] a : cases) {
            for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                Tensor p = Linalg.pinv(Tensor.of(a).to(type), type == DType.FLOAT32 ? 1e-5 : 1e-10);
                assertEquals(type, p.dtype());
                assertArrayEquals(new long[] {a[0].length, a.length}, p.shape());
                double[][] pm = p.toDoubleMatrix();
                double[][] ap = mul(a, pm), pa = mul(pm, a);
                double t = tol(type) * Math.max(1, norm(a)) * Math.max(1, norm(pm)) * 10;
                assertClose(a, mul(ap, a), t * Math.max(1, norm(a)));
                assertClose(pm, mul(pa, pm), t * Math.max(1, norm(pm)));
                assertClose(ap, transpose(ap), t);
                assertClose(pa, transpose(pa), t);
            }
        }
    }

    @Test
    void pinvDefaultRcondHandlesRankDeficiency() {
        double[][] a = mul(random(12, 4), random(4, 9));
        double[][] pm = Linalg.pinv(Tensor.of(a)).toDoubleMatrix();
        double t = 1e-9 * norm(a) * norm(pm);
        assertClose(a, mul(mul(a, pm), a), t * norm(a));
        assertClose(pm, mul(mul(pm, a), pm), t * norm(pm));
    }

    @Test
    void pinvCutsSmallSingularValues() {
        Tensor a = Tensor.of(new double[][] {{1, 0}, {0, 1e-3}});
        assertClose(new double[][] {{1, 0}, {0, 0}}, Linalg.pinv(a, 1e-2).toDoubleMatrix(), 1e-15);
        assertClose(new double[][] {{1, 0}, {0, 1e3}}, Linalg.pinv(a, 1e-4).toDoubleMatrix(), 1e-9);
    }

    // ---------------------------------------------------------------- eigh

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 100})
    void eighDecomposes(int n) {
        for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            double[][] a = symmetric(n);
            try (Linalg.Eigh e = Linalg.eigh(Tensor.of(a).to(type))) {
                checkEigh(a, e, type);
            }
        }
    }

    @Test
    void eighWithRepeatedEigenvalues() {
        double[][] q;
        try (Linalg.Svd s = Linalg.svd(Tensor.of(random(5, 5)), true)) {
            q = s.u().toDoubleMatrix();
        }
        double[][] d = {{1, 0, 0, 0, 0}, {0, 1, 0, 0, 0}, {0, 0, 3, 0, 0}, {0, 0, 0, 3, 0}, {0, 0, 0, 0, 3}};
        double[][] a = mul(mul(q, d), transpose(q));
        symmetrise(a);
        try (Linalg.Eigh e = Linalg.eigh(Tensor.of(a))) {
            checkEigh(a, e, DType.FLOAT64);
            assertArrayEquals(new double[] {1, 1, 3, 3, 3}, e.values().toDoubleArray(), 1e-12);
        }
    }

    @Test
    void eighReadsTheLowerTriangle() {
        double[][] a = symmetric(6);
        double[][] garbage = copy(a);
        for (int i = 0; i < 6; i++) {
            for (int j = i + 1; j < 6; j++) garbage[i][j] = 100 + i + j;
        }
        try (Linalg.Eigh e1 = Linalg.eigh(Tensor.of(a)); Linalg.Eigh e2 = Linalg.eigh(Tensor.of(garbage))) {
            assertArrayEquals(e1.values().toDoubleArray(), e2.values().toDoubleArray(), 0);
            assertArrayEquals(e1.vectors().toDoubleArray(), e2.vectors().toDoubleArray(), 0);
        }
    }

    private static void checkEigh(double[][] a, Linalg.Eigh e, DType type) {
        int n = a.length;
        assertEquals(type, e.values().dtype());
        assertEquals(type, e.vectors().dtype());
        double[] w = e.values().toDoubleArray();
        double[][] v = e.vectors().toDoubleMatrix();
        for (int i = 1; i < n; i++) assertTrue(w[i - 1] <= w[i], "eigenvalues ascending");
        double[][] vw = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) vw[i][j] = v[i][j] * w[j];
        }
        assertClose(mul(a, v), vw, tol(type) * norm(a) * 10);
        assertClose(identity(n), mul(transpose(v), v), tol(type) * 10);
        for (int j = 0; j < n; j++) assertLargestPositive(column(v, j), type);
    }

    // ---------------------------------------------------------------- SVD

    @Test
    void svdReconstructsTallWideAndSquare() {
        int[][] shapes = {{7, 7}, {20, 7}, {7, 20}, {1, 1}, {1, 5}, {5, 1}, {100, 37}, {37, 100}};
        for (int[] sh : shapes) {
            double[][] a = random(sh[0], sh[1]);
            for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                for (boolean full : new boolean[] {true, false}) {
                    try (Linalg.Svd s = Linalg.svd(Tensor.of(a).to(type), full)) {
                        checkSvd(a, s.u().toDoubleMatrix(), s.s().toDoubleArray(), s.vh().toDoubleMatrix(), full, type);
                        assertEquals(type, s.u().dtype());
                    }
                }
            }
        }
    }

    @Test
    void svdOfRankDeficientMatrix() {
        double[][] a = mul(random(9, 2), random(2, 6));
        try (Linalg.Svd s = Linalg.svd(Tensor.of(a), true)) {
            double[] sv = s.s().toDoubleArray();
            checkSvd(a, s.u().toDoubleMatrix(), sv, s.vh().toDoubleMatrix(), true, DType.FLOAT64);
            for (int i = 2; i < sv.length; i++) assertEquals(0, sv[i], 1e-12 * sv[0]);
        }
    }

    @Test
    void batchedSvdMatchesPerItem() {
        int[][] shapes = {{5, 7, 12}, {4, 12, 7}, {1, 3, 3}, {33, 4, 49}};
        for (int[] sh : shapes) {
            for (boolean full : new boolean[] {true, false}) {
                Tensor a = Tensor.randn(rng, DType.FLOAT32, sh[0], sh[1], sh[2]);
                try (Linalg.Svd s = Linalg.svd(a, full)) {
                    int k = Math.min(sh[1], sh[2]);
                    assertArrayEquals(new long[] {sh[0], sh[1], full ? sh[1] : k}, s.u().shape());
                    assertArrayEquals(new long[] {sh[0], k}, s.s().shape());
                    assertArrayEquals(new long[] {sh[0], full ? sh[2] : k, sh[2]}, s.vh().shape());
                    for (int b = 0; b < sh[0]; b++) {
                        try (Tensor item = a.select(0, b); Linalg.Svd one = Linalg.svd(item, full);
                             Tensor ub = s.u().select(0, b); Tensor sb = s.s().select(0, b); Tensor vb = s.vh().select(0, b)) {
                            // deterministic: the batched result is exactly the per-item one
                            assertArrayEquals(one.u().toFloatArray(), ub.toFloatArray());
                            assertArrayEquals(one.s().toFloatArray(), sb.toFloatArray());
                            assertArrayEquals(one.vh().toFloatArray(), vb.toFloatArray());
                            checkSvd(item.toDoubleMatrix(), ub.toDoubleMatrix(), sb.toDoubleArray(), vb.toDoubleMatrix(),
                                    full, DType.FLOAT32);
                        }
                    }
                }
            }
        }
    }

    @Test
    void svdOfTransposedView() {
        double[][] a = random(6, 9);
        Tensor t = Tensor.of(a).t();
        try (Linalg.Svd s = Linalg.svd(t, false)) {
            checkSvd(transpose(a), s.u().toDoubleMatrix(), s.s().toDoubleArray(), s.vh().toDoubleMatrix(), false, DType.FLOAT64);
        }
    }

    private static void checkSvd(double[][] a, double[][] u, double[] s, double[][] vh, boolean full, DType type) {
        int m = a.length, n = a[0].length, k = Math.min(m, n);
        assertEquals(k, s.length);
        assertEquals(m, u.length);
        assertEquals(full ? m : k, u[0].length);
        assertEquals(full ? n : k, vh.length);
        assertEquals(n, vh[0].length);
        for (int i = 0; i < k; i++) {
            assertTrue(s[i] >= 0, "singular values non-negative");
            if (i > 0) assertTrue(s[i - 1] >= s[i], "singular values descending");
        }
        double[][] us = new double[m][n];
        for (int r = 0; r < m; r++) {
            for (int c = 0; c < n; c++) {
                double sum = 0;
                for (int i = 0; i < k; i++) sum += u[r][i] * s[i] * vh[i][c];
                us[r][c] = sum;
            }
        }
        double t = tol(type) * 10;
        assertClose(a, us, t * Math.max(1, norm(a)));
        assertClose(identity(u[0].length), mul(transpose(u), u), t);
        assertClose(identity(vh.length), mul(vh, transpose(vh)), t);
        for (int i = 0; i < u[0].length; i++) assertLargestPositive(column(u, i), type);
    }

    // ---------------------------------------------------------------- slogdet

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 100})
    void slogdetOfSpdMatchesEigenvalues(int n) {
        double[][] a = spd(n);
        double expected = 0;
        try (Linalg.Eigh e = Linalg.eigh(Tensor.of(a))) {
            for (double w : e.values().toDoubleArray()) expected += Math.log(w);
        }
        Linalg.SlogDet d = Linalg.slogdet(Tensor.of(a));
        assertEquals(1.0, d.sign());
        assertEquals(expected, d.logAbsDet(), 1e-9 * Math.max(1, Math.abs(expected)));
        Linalg.SlogDet f = Linalg.slogdet(Tensor.of(a).to(DType.FLOAT32));
        assertEquals(1.0, f.sign());
        assertEquals(expected, f.logAbsDet(), 1e-4 * Math.max(1, Math.abs(expected)));
    }

    @Test
    void slogdetOfKnownMatrices() {
        Linalg.SlogDet d = Linalg.slogdet(Tensor.of(new double[][] {{1, 2}, {3, 4}}));   // det = -2
        assertEquals(-1.0, d.sign());
        assertEquals(Math.log(2), d.logAbsDet(), 1e-15);
        d = Linalg.slogdet(Tensor.of(new double[][] {{0, 1}, {1, 0}}));                 // a swap: det = -1
        assertEquals(-1.0, d.sign());
        assertEquals(0.0, d.logAbsDet(), 1e-15);
        d = Linalg.slogdet(Tensor.of(new double[][] {{2, 0, 0}, {0, -3, 0}, {0, 0, -1}}));
        assertEquals(1.0, d.sign());
        assertEquals(Math.log(6), d.logAbsDet(), 1e-15);
        d = Linalg.slogdet(Tensor.of(new double[][] {{1, 2}, {2, 4}}));                 // singular
        assertEquals(0.0, d.sign());
        assertEquals(Double.NEGATIVE_INFINITY, d.logAbsDet());
        // det = 1e900 overflows a double; its log does not.
        double[][] big = identity(300);
        for (int i = 0; i < 300; i++) big[i][i] = 1e3;
        d = Linalg.slogdet(Tensor.of(big));
        assertEquals(1.0, d.sign());
        assertEquals(300 * Math.log(1e3), d.logAbsDet(), 1e-9);
    }

    @Test
    void slogdetOfRandomMatrixMatchesLuProduct() {
        // det(A B) = det(A) det(B): signs multiply, logs add.
        double[][] a = random(9, 9), b = random(9, 9);
        Linalg.SlogDet da = Linalg.slogdet(Tensor.of(a)), db = Linalg.slogdet(Tensor.of(b));
        Linalg.SlogDet dab = Linalg.slogdet(Tensor.of(mul(a, b)));
        assertEquals(da.sign() * db.sign(), dab.sign());
        assertEquals(da.logAbsDet() + db.logAbsDet(), dab.logAbsDet(), 1e-9);
    }

    // ---------------------------------------------------------------- validation

    @Test
    void refusesBadInput() {
        Tensor rect = Tensor.randn(rng, DType.FLOAT64, 3, 4);
        for (var op : new java.util.function.Function[] {
                x -> Linalg.cholesky((Tensor) x), x -> Linalg.inverse((Tensor) x),
                x -> Linalg.eigh((Tensor) x), x -> Linalg.slogdet((Tensor) x)}) {
            var e = assertThrows(IllegalArgumentException.class, () -> op.apply(rect));
            assertTrue(e.getMessage().contains("[3, 4]") && e.getMessage().contains("square"), e.getMessage());
        }
        Tensor ints = Tensor.arange(4).reshape(2, 2);
        assertThrows(IllegalArgumentException.class, () -> Linalg.inverse(ints));
        assertThrows(IllegalArgumentException.class, () -> Linalg.svd(ints, false));
        assertThrows(IllegalArgumentException.class, () -> Linalg.svd(Tensor.zeros(DType.FLOAT64, 2, 2, 2, 2), false));

        Tensor nan = Tensor.of(new double[][] {{1, Double.NaN}, {0, 1}});
        for (var op : new java.util.function.Function[] {
                x -> Linalg.cholesky((Tensor) x), x -> Linalg.inverse((Tensor) x), x -> Linalg.pinv((Tensor) x),
                x -> Linalg.eigh((Tensor) x), x -> Linalg.svd((Tensor) x, true), x -> Linalg.slogdet((Tensor) x)}) {
            var e = assertThrows(IllegalArgumentException.class, () -> op.apply(nan));
            assertTrue(e.getMessage().contains("matrix contains NaN"), e.getMessage());
        }
        Tensor inf = Tensor.of(new double[][] {{1, Double.POSITIVE_INFINITY}, {0, 1}});
        assertThrows(IllegalArgumentException.class, () -> Linalg.solve(inf, Tensor.ones(DType.FLOAT64, 2)));
    }

    // ---------------------------------------------------------------- helpers

    private double[][] random(int m, int n) {
        double[][] a = new double[m][n];
        for (double[] row : a) {
            for (int j = 0; j < n; j++) row[j] = rng.nextGaussian();
        }
        return a;
    }

    /** X X^T + n I: symmetric positive definite and well conditioned. */
    private double[][] spd(int n) {
        double[][] x = random(n, n);
        double[][] a = mul(x, transpose(x));
        for (int i = 0; i < n; i++) a[i][i] += n;
        symmetrise(a);
        return a;
    }

    private double[][] symmetric(int n) {
        double[][] a = random(n, n);
        symmetrise(a);
        return a;
    }

    private static void symmetrise(double[][] a) {
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < i; j++) {
                double m = (a[i][j] + a[j][i]) / 2;
                a[i][j] = m;
                a[j][i] = m;
            }
        }
    }

    static double[][] mul(double[][] a, double[][] b) {
        int m = a.length, k = b.length, n = b[0].length;
        double[][] c = new double[m][n];
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) {
                double v = a[i][p];
                for (int j = 0; j < n; j++) c[i][j] += v * b[p][j];
            }
        }
        return c;
    }

    static double[][] transpose(double[][] a) {
        double[][] t = new double[a[0].length][a.length];
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[0].length; j++) t[j][i] = a[i][j];
        }
        return t;
    }

    static double[][] identity(int n) {
        double[][] id = new double[n][n];
        for (int i = 0; i < n; i++) id[i][i] = 1;
        return id;
    }

    private static double[][] copy(double[][] a) {
        double[][] c = new double[a.length][];
        for (int i = 0; i < a.length; i++) c[i] = a[i].clone();
        return c;
    }

    private static double[][] column(double[] v) {
        double[][] c = new double[v.length][1];
        for (int i = 0; i < v.length; i++) c[i][0] = v[i];
        return c;
    }

    private static double[] column(double[][] a, int j) {
        double[] c = new double[a.length];
        for (int i = 0; i < a.length; i++) c[i] = a[i][j];
        return c;
    }

    /** Largest absolute entry (max norm), a cheap scale for tolerances. */
    static double norm(double[][] a) {
        double m = 0;
        for (double[] row : a) {
            for (double v : row) m = Math.max(m, Math.abs(v));
        }
        return m * Math.sqrt(Math.max(a.length, a[0].length));
    }

    private static double tol(DType type) {
        return type == DType.FLOAT32 ? 2e-6 : 1e-13;
    }

    static void assertClose(double[][] expected, double[][] actual, double tol) {
        assertEquals(expected.length, actual.length, "rows");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i].length, actual[i].length, "columns");
            for (int j = 0; j < expected[i].length; j++) {
                int r = i, c = j;
                assertEquals(expected[i][j], actual[i][j], tol, () -> "at [" + r + ", " + c + "]");
            }
        }
    }

    /** The sign convention: each vector's component of largest magnitude is positive (ignoring float ties). */
    private static void assertLargestPositive(double[] v, DType type) {
        double best = 0;
        for (double x : v) best = Math.max(best, Math.abs(x));
        for (double x : v) {
            if (x < 0 && Math.abs(x) > best * (1 - tol(type) * 10)) {
                // a negative component as large as the largest: only a tie within rounding is allowed
                boolean positiveTwin = false;
                for (double y : v) positiveTwin |= y > 0 && Math.abs(y - best) <= best * tol(type) * 10;
                assertTrue(positiveTwin, "largest component must be positive");
            }
        }
    }
}
