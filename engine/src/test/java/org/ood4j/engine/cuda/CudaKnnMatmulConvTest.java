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
        Tensor[] a = normal(1, DType.FLOAT64, Layout.CONTIGUOUS, 1, 6, 6);
        try (Tensor spdHost = a[0].matmul(a[0].t()).add(0.5); Tensor spd = spdHost.to(Device.CUDA)) {
            Tensor[] p = {spdHost, spd};
            same(p, Linalg::cholesky, 1e-12, "cholesky");
            same(p, Linalg::inverse, 1e-12, "inverse");
            same(p, t -> Linalg.pinv(t), 1e-10, "pinv");
            same(p, t -> Linalg.eigh(t).values(), 1e-12, "eigh values");
            same(p, t -> Linalg.svd(t, false).s(), 1e-12, "svd values");
            assertEquals(Linalg.slogdet(spdHost).logAbsDet(), Linalg.slogdet(spd).logAbsDet(), 1e-12);
        } finally {
            closeAll(a);
        }
    }
}
