package org.ood4j.engine.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.ood4j.engine.cuda.CudaTesting.*;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.Conv;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Knn;
import org.ood4j.engine.Linalg;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.KnnOps;

class CudaKnnMatmulConvTest {
    @BeforeEach
    void cuda() { assumeCuda(); }

    @Test
    void knnMatchesTheCpuForBothMetrics() {
        int[][] sizes = {{1, 1000, 3}, {7, 257, 64}, {257, 5000, 257}, {100, 100_000, 16}};
        for (int[] s : sizes) {
            for (DType dtype : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                Tensor[] q = normal(s[0], dtype, Layout.CONTIGUOUS, 1, s[0], s[2]);
                Tensor[] b = normal(s[1], dtype, Layout.SLICED, 1, s[1], s[2]);
                try {
                    for (KnnOps.Metric metric : KnnOps.Metric.values()) {
                        for (int k : new int[] {1, 5, 32, 40}) {
                            if (k > s[1]) continue;
                            try (Knn.Result e = Knn.search(q[0], b[0], k, metric); Knn.Result a = Knn.search(q[1], b[1], k, metric)) {
                                String what = metric + " k=" + k + " " + dtype + " " + java.util.Arrays.toString(s);
                                assertMatches(e.values(), a.values(), dtype == DType.FLOAT32 ? 1e-4 : 1e-10, what + " values");
                                // Indices agree except where two candidates tie within rounding.
                                long[] ei = e.indices().toLongArray(), ai = a.indices().toLongArray();
                                double[] ev = e.values().toDoubleArray();
                                for (int i = 0; i < ei.length; i++) {
                                    boolean tie = (i + 1 < ev.length && Math.abs(ev[i + 1] - ev[i]) < 1e-4 * Math.max(1, Math.abs(ev[i])))
                                            || (i > 0 && Math.abs(ev[i - 1] - ev[i]) < 1e-4 * Math.max(1, Math.abs(ev[i])));
                                    if (!tie) assertEquals(ei[i], ai[i], what + " index " + i);
                                }
                            }
                        }
                    }
                } finally {
                    closeAll(q);
                    closeAll(b);
                }
            }
        }
    }

    /**
     * A 16-bit bank on the device (kept in 16 bits there; decoded on the host to a float32 copy
     * for each search, no kernel decodes it) gives the CPU's search of the same 16-bit bank:
     * values within float32 tolerance, k <= 32 on the kernels and k > 32 on the CPU fallback.
     */
    @Test
    void knnOverA16BitBankMatchesTheCpu() {
        for (DType half : new DType[] {DType.BFLOAT16, DType.FLOAT16}) {
            try (Tensor q = Tensor.randn(new java.util.SplittableRandom(3), DType.FLOAT32, 40, 33);
                 Tensor b32 = Tensor.randn(new java.util.SplittableRandom(4), DType.FLOAT32, 700, 33);
                 Tensor b = b32.to(half); Tensor dq = q.to(Device.CUDA); Tensor db = b.to(Device.CUDA)) {
                assertEquals(half, db.dtype(), "the bank stays 16-bit on the device");
                for (KnnOps.Metric metric : KnnOps.Metric.values()) {
                    for (int k : new int[] {1, 10, 40}) {
                        try (Knn.Result e = Knn.search(q, b, k, metric); Knn.Result a = Knn.search(dq, db, k, metric)) {
                            assertMatches(e.values(), a.values(), 1e-4, half + " " + metric + " k=" + k);
                        }
                    }
                }
            }
        }
    }

    @Test
    void knnRefusesNonFiniteRows() {
        try (Tensor q = Tensor.of(new float[][] {{1, 2}, {Float.NaN, 0}}); Tensor dq = q.to(Device.CUDA);
             Tensor b = Tensor.of(new float[][] {{0, 0}}); Tensor db = b.to(Device.CUDA)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Knn.search(dq, db, 1, KnnOps.Metric.L2));
            assertTrue(e.getMessage().contains("row 1"), e.getMessage());
        }
    }

    @Test
    void matmulOf2dBatchedTransposedAndBroadcastOperands() {
        long[][][] cases = {{{7, 257}, {257, 1}}, {{1, 1}, {1, 1000}}, {{3, 7, 5}, {3, 5, 257}}, {{3, 7, 5}, {5, 4}}, {{1, 7, 5}, {3, 5, 4}}};
        for (long[][] c : cases) {
            for (DType dtype : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                for (Layout la : new Layout[] {Layout.CONTIGUOUS, Layout.TRANSPOSED, Layout.SLICED}) {
                    Tensor[] a = normal(1, dtype, la, 1, c[0]);
                    Tensor[] b = normal(2, dtype, Layout.TRANSPOSED, 1, c[1]);
                    try (Tensor e = a[0].matmul(b[0]); Tensor r = a[1].matmul(b[1])) {
                        assertMatches(e, r, dtype == DType.FLOAT32 ? 1e-4 : 1e-10, "matmul " + la + " " + dtype + " "
                                + java.util.Arrays.deepToString(c));
                    } finally {
                        closeAll(a);
                        closeAll(b);
                    }
                }
            }
        }
    }

    @Test
    void convAndPoolingMatchTheCpu() {
        for (DType dtype : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            Tensor[] x = normal(1, dtype, Layout.CONTIGUOUS, 1, 2, 3, 17, 13);
            Tensor[] w = normal(2, dtype, Layout.CONTIGUOUS, 1, 5, 3, 3, 3);
            Tensor[] bias = normal(3, dtype, Layout.CONTIGUOUS, 1, 5);
            try {
                for (int[] p : new int[][] {{1, 0, 1}, {2, 1, 1}, {1, 2, 2}}) {
                    try (Tensor e = Conv.conv2d(x[0], w[0], bias[0], p[0], p[1], p[2]);
                         Tensor a = Conv.conv2d(x[1], w[1], bias[1], p[0], p[1], p[2])) {
                        assertMatches(e, a, dtype == DType.FLOAT32 ? 1e-4 : 1e-10, "conv2d " + dtype + " " + java.util.Arrays.toString(p));
                    }
                }
                try (Tensor e = Conv.conv2d(x[0], w[0], null, 1, 1, 1); Tensor a = Conv.conv2d(x[1], w[1], null, 1, 1, 1)) {
                    assertMatches(e, a, dtype == DType.FLOAT32 ? 1e-4 : 1e-10, "conv2d without bias");
                }
                same(x, t -> Conv.maxPool2d(t, 2, 2), 0, "maxPool2d");
                same(x, t -> Conv.maxPool2d(t, 3, 1), 0, "maxPool2d 3/1");
                same(x, t -> Conv.adaptiveAvgPool2d(t, 1, 1), 1e-6, "adaptiveAvgPool2d 1x1");
                same(x, t -> Conv.adaptiveAvgPool2d(t, 5, 4), 1e-6, "adaptiveAvgPool2d 5x4");
            } finally {
                closeAll(x);
                closeAll(w);
                closeAll(bias);
            }
        }
    }

    @Test
    void linearAlgebraAgreesWithTheCpu() {
        for (DType dtype : new DType[] {DType.FLOAT64, DType.FLOAT32}) {
            for (int n : new int[] {1, 6, 257}) {
                Tensor[] a = normal(n, dtype, Layout.CONTIGUOUS, 1, n, n);
                Tensor[] b = normal(n + 1, dtype, Layout.TRANSPOSED, 1, n, 3);
                double tol = dtype == DType.FLOAT32 ? 1e-3 : 1e-8;
                try (Tensor gram = a[0].matmul(a[0].t()); Tensor spdHost = gram.add(0.5 * n); Tensor spd = spdHost.to(Device.CUDA)) {
                    Tensor[] p = {spdHost, spd};
                    String what = dtype + " n=" + n;
                    same(p, Linalg::cholesky, tol, "cholesky " + what);
                    same(p, Linalg::inverse, tol, "inverse " + what);
                    same(p, t -> Linalg.pinv(t), tol, "pinv " + what);
                    same(p, t -> { try (Linalg.Eigh e = Linalg.eigh(t)) { return e.values().copy(); } }, tol, "eigh values " + what);
                    same(p, t -> { try (Linalg.Eigh e = Linalg.eigh(t)) { return e.vectors().copy(); } }, tol * 100, "eigh vectors " + what);
                    same(p, t -> { try (Linalg.Svd s = Linalg.svd(t, false)) { return s.s().copy(); } }, tol, "svd values " + what);
                    try (Tensor e = Linalg.solve(spdHost, b[0]); Tensor r = Linalg.solve(spd, b[1])) {
                        assertMatches(e, r, tol, "solve " + what);
                    }
                    try (Tensor v = b[0].select(1, 0); Tensor dv = b[1].select(1, 0);
                         Tensor e = Linalg.solve(spdHost, v); Tensor r = Linalg.solve(spd, dv)) {
                        assertMatches(e, r, tol, "solve vector " + what);
                    }
                    Linalg.SlogDet e = Linalg.slogdet(spdHost), r = Linalg.slogdet(spd);
                    assertEquals(e.sign(), r.sign(), what);
                    assertEquals(e.logAbsDet(), r.logAbsDet(), tol * Math.max(1, Math.abs(e.logAbsDet())), what);
                } finally {
                    closeAll(a);
                    closeAll(b);
                }
            }
        }
        try (Tensor singular = Tensor.of(new double[][] {{1, 2}, {2, 4}}); Tensor s = singular.to(Device.CUDA);
             Tensor notSpd = Tensor.of(new double[][] {{1, 2}, {2, 1}}); Tensor ns = notSpd.to(Device.CUDA)) {
            assertThrows(IllegalArgumentException.class, () -> Linalg.inverse(s));
            assertThrows(IllegalArgumentException.class, () -> Linalg.cholesky(ns));
            assertEquals(0, Linalg.slogdet(s).sign());
        }
    }
}
