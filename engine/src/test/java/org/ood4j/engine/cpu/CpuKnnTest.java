package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Knn;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.KnnOps.Metric;

/** k-NN against brute force over all pairwise distances in float64. */
class CpuKnnTest {
    private Scope scope;
    private final SplittableRandom rng = new SplittableRandom(11);

    @BeforeEach void open() { scope = Scope.open(); }
    @AfterEach void close() { scope.close(); }

    @Test
    void blocksNotMultipleOfTileSizes() {
        Tensor queries = Tensor.randn(rng, DType.FLOAT32, 1000, 33);
        Tensor bank = Tensor.randn(rng, DType.FLOAT32, 5000, 33);
        for (Metric metric : Metric.values()) {
            for (int k : new int[] {1, 5}) check(queries, bank, k, metric);
        }
    }

    @Test
    void deepRowsAcrossStretchesOfKAndColumnGroups() {
        // depth 600: three stretches of the packed query rows (256, 256, 88); 263 queries: a block of 252
        // and one of 11 padded to a register tile; 1000 bank rows: column groups of 256 and a partial last one
        Tensor queries = Tensor.randn(rng, DType.FLOAT32, 263, 600);
        Tensor bank = Tensor.randn(rng, DType.FLOAT32, 1000, 600);
        for (Metric metric : Metric.values()) check(queries, bank, 3, metric);
    }

    @Test
    void aPreparedBankSearchesAsTheBankItself() {
        // two bank tiles (float32 and bfloat16 storage), float32 queries on the prepared tiles, float64
        // queries on tiles made per search; the same indices and the same bits as the plain search
        Tensor bank32 = Tensor.randn(rng, DType.FLOAT32, CpuKnn.BANK_BLOCK + 300, 40);
        for (Tensor bank : new Tensor[] {bank32, bank32.to(DType.BFLOAT16)}) {
            Knn.Bank prepared = Knn.prepare(bank);
            for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                Tensor queries = Tensor.randn(rng, type, 270, 40);
                for (Metric metric : Metric.values()) {
                    try (Knn.Result want = Knn.search(queries, bank, 4, metric); Knn.Result got = prepared.search(queries, 4, metric)) {
                        assertArrayEquals(want.indices().toLongArray(), got.indices().toLongArray(), bank.dtype() + " " + type + " " + metric);
                        assertArrayEquals(want.values().toDoubleArray(), got.values().toDoubleArray());
                    }
                }
            }
        }
        check(Tensor.randn(rng, DType.FLOAT32, 50, 40), bank32, 2, Metric.L2);   // still the exact search
        Tensor nanBank = Tensor.randn(rng, DType.FLOAT32, 5, 3);
        nanBank.set(Double.NaN, 4, 0);
        var e = assertThrows(IllegalArgumentException.class, () -> Knn.prepare(nanBank).search(Tensor.randn(rng, DType.FLOAT32, 2, 3), 1, Metric.L2));
        assertTrue(e.getMessage().contains("NaN"), e.getMessage());
        Tensor closed = Tensor.randn(rng, DType.FLOAT32, 5, 3);
        Knn.Bank ofClosed = Knn.prepare(closed);
        closed.close();
        assertThrows(IllegalStateException.class, () -> ofClosed.search(Tensor.randn(rng, DType.FLOAT32, 2, 3), 1, Metric.L2));
    }

    @Test
    void aBankInCellsSkipsFarTilesAndFindsWhatThePlainSearchFinds() {
        // 12 tight clusters (one of 5000 rows: a cell of more than one tile) in 64 dimensions; queries in
        // the clusters, between two clusters, far from all, and exact copies of bank rows (ties across cells)
        int d = 64, n = 9000;
        double[][] centres = new double[12][d];
        for (double[] c : centres) for (int p = 0; p < d; p++) c[p] = 4 * rng.nextGaussian();
        Tensor bank32 = Tensor.zeros(DType.FLOAT32, n, d);
        for (int j = 0; j < n; j++) {
            double[] c = centres[j < 5000 ? 0 : 1 + j % 11];
            for (int p = 0; p < d; p++) bank32.set(c[p] + 0.5 * rng.nextGaussian(), j, p);
        }
        Tensor queries = Tensor.zeros(DType.FLOAT32, 3000, d);
        for (int i = 0; i < 3000; i++) {
            double[] a = centres[i % 12], b = centres[(i / 12) % 12];
            double mix = i < 2600 ? 0 : i < 2800 ? 0.5 : 3;
            for (int p = 0; p < d; p++) queries.set((1 - mix) * a[p] + mix * b[p] + 0.6 * rng.nextGaussian(), i, p);
        }
        for (int i = 2980; i < 3000; i++) for (int p = 0; p < d; p++) queries.set(bank32.getDouble(i * 431 % n, p), i, p);
        for (Tensor bank : new Tensor[] {bank32, bank32.to(DType.BFLOAT16)}) {
            CpuKnn.CellBank cells = (CpuKnn.CellBank) new CpuKnn().prepare(bank);
            assertTrue(cells.tileCount() >= 12, "tiles " + cells.tileCount());
            for (Metric metric : Metric.values()) {
                for (int k : new int[] {1, 7, 60}) {
                    long scored = cells.pairsScored.get(), skipped = cells.pairsSkipped.get();
                    String what = bank.dtype() + " " + metric + " k=" + k;
                    assertSearchesAsThePlainOne(queries, bank, k, metric, cells.search(queries, k, metric), what);
                    // the clusters are far apart against their radii: a block of queries of one cluster skips
                    // most tiles (the blocks of queries far from all scan the whole bank)
                    scored = cells.pairsScored.get() - scored;
                    skipped = cells.pairsSkipped.get() - skipped;
                    assertEquals(3000L * n, scored + skipped, what);
                    assertTrue(skipped > 2 * scored, what + ": " + skipped + " skipped, " + scored + " scored");
                }
            }
        }
        try (Tensor some = queries.slice(0, 2500, 3000)) {
            check(some, bank32, 3, Metric.L2);   // and the plain search is the brute force's
        }
        // more queries than a search in cells takes at a time (16384): the second run lands at its rows
        Tensor many = Tensor.zeros(DType.FLOAT32, 16_500, d);
        for (int i = 0; i < 16_500; i++) for (int p = 0; p < d; p++) many.set(centres[i % 12][p] + 0.6 * rng.nextGaussian(), i, p);
        CpuKnn.CellBank cells = (CpuKnn.CellBank) new CpuKnn().prepare(bank32);
        assertSearchesAsThePlainOne(many, bank32, 2, Metric.L2, cells.search(many, 2, Metric.L2), "16500 queries");
        assertEquals(16_500L * n, cells.pairsScored.get() + cells.pairsSkipped.get());
    }

    @Test
    void aBankInCellsOfUnclusteredRowsAndBadRows() {
        Tensor bank = Tensor.randn(rng, DType.FLOAT32, 3000, 20);
        Tensor queries = Tensor.randn(rng, DType.FLOAT32, 300, 20);
        Knn.Bank prepared = Knn.prepare(bank);
        for (Metric metric : Metric.values()) {
            try (Knn.Result want = check(queries, bank, 5, metric); Knn.Result got = prepared.search(queries, 5, metric)) {
                assertArrayEquals(want.indices().toLongArray(), got.indices().toLongArray(), metric.toString());
                assertArrayEquals(want.values().toDoubleArray(), got.values().toDoubleArray());
            }
        }
        // a bank prepared for the inner product keeps its tiles in bank order (no cells), for L2 in cells
        assertTrue(!(new CpuKnn().prepare(bank, Metric.INNER_PRODUCT) instanceof CpuKnn.CellBank));
        assertTrue(new CpuKnn().prepare(bank, Metric.L2) instanceof CpuKnn.CellBank);
        Knn.Result ip = Knn.prepare(bank, Metric.INNER_PRODUCT).search(queries, 5, Metric.INNER_PRODUCT);
        assertSearchesAsThePlainOne(queries, bank, 5, Metric.INNER_PRODUCT, new Tensor[] {ip.values(), ip.indices()}, "inner product");
        // rows spread evenly: every query needs most tiles, so the search scores them all, as the plain one
        CpuKnn.CellBank cells = (CpuKnn.CellBank) new CpuKnn().prepare(bank);
        Tensor[] got = cells.search(queries, 3, Metric.L2);
        got[0].close();
        got[1].close();
        assertEquals(0, cells.pairsScored.get() + cells.pairsSkipped.get());
        bank.set(Double.POSITIVE_INFINITY, 2500, 3);
        bank.set(Double.NaN, 1700, 0);
        var e = assertThrows(IllegalArgumentException.class, () -> Knn.prepare(bank));
        assertTrue(e.getMessage().contains("row 1700"), e.getMessage());
    }

    @Test
    void theL2FilterPassesEveryRowWhoseKeyIsAtTheBar() {
        // the float32 filter dot - |b|^2/2 >= t must pass a row whose exact key equals the bar, at any scale
        for (double scale : new double[] {1e-3, 1, 1e3}) {
            int d = 512, n = 200;
            float[] q = new float[d];
            for (int p = 0; p < d; p++) q[p] = (float) (scale * rng.nextGaussian());
            double qn = 0;
            for (float v : q) qn += (double) v * v;
            float[][] b = new float[n][d];
            double[] norms = new double[n];
            float[] dots = new float[n], halves = new float[n];
            for (int j = 0; j < n; j++) {
                float dot = 0;
                for (int p = 0; p < d; p++) {
                    // near q; near 2q, where dot - |b|^2/2 is near 0 and the rounding of |b|^2/2 dominates; anywhere
                    double noise = 1e-3 * scale * rng.nextGaussian();
                    b[j][p] = (float) (j % 3 == 0 ? q[p] + noise : j % 3 == 1 ? 2 * q[p] + noise : scale * rng.nextGaussian());
                    norms[j] += (double) b[j][p] * b[j][p];
                    dot = Math.fma(q[p], b[j][p], dot);
                }
                dots[j] = dot;
                halves[j] = (float) (norms[j] / 2);
            }
            double maxHalf = java.util.Arrays.stream(norms).max().orElseThrow() / 2;
            for (int j = 0; j < n; j++) {
                double bar = CpuKnn.key(dots[j], j, qn, norms);
                float t = CpuKnn.l2Threshold(qn, bar, maxHalf);
                assertTrue(dots[j] - halves[j] >= t, () -> "scale " + scale + ": a row at the bar is filtered out");
            }
        }
    }

    @Test
    void float64AcrossTwoBankBlocks() {
        Tensor queries = Tensor.randn(rng, DType.FLOAT64, 300, 17);
        Tensor bank = Tensor.randn(rng, DType.FLOAT64, CpuKnn.BANK_BLOCK + 4, 17);
        for (Metric metric : Metric.values()) {
            try (Knn.Result r = check(queries, bank, 5, metric)) {
                assertEquals(DType.FLOAT64, r.values().dtype());
            }
        }
    }

    @Test
    void singleRowBank() {
        Tensor queries = Tensor.randn(rng, DType.FLOAT32, 7, 3);
        Tensor bank = Tensor.randn(rng, DType.FLOAT32, 1, 3);
        for (Metric metric : Metric.values()) {
            try (Knn.Result r = check(queries, bank, 1, metric)) {
                assertArrayEquals(new long[7], r.indices().toLongArray());
            }
        }
    }

    @Test
    void kEqualsBankSizeReturnsEveryRowInOrder() {
        Tensor queries = Tensor.randn(rng, DType.FLOAT32, 9, 4);
        Tensor bank = Tensor.randn(rng, DType.FLOAT32, 7, 4);
        for (Metric metric : Metric.values()) check(queries, bank, 7, metric);
    }

    @Test
    void exactDuplicatesHaveDistanceZeroAndLowerIndexFirst() {
        // Large norms make |q|^2 - 2 q.b + |b|^2 cancel badly in float32.
        int n = 700, d = 33;
        Tensor bank = Tensor.randn(rng, DType.FLOAT32, n, d).mul(50).add(100);
        Tensor queries = Tensor.zeros(DType.FLOAT32, 20, d);
        for (int i = 0; i < 20; i++) {
            int row = 17 * i;
            for (int p = 0; p < d; p++) {
                double v = bank.getDouble(row, p);
                queries.set(v, i, p);
                bank.set(v, row + 300, p); // a second copy, further down the bank
            }
        }
        try (Knn.Result r = Knn.search(queries, bank, 3, Metric.L2)) {
            float[] v = r.values().toFloatArray();
            long[] idx = r.indices().toLongArray();
            for (int i = 0; i < 20; i++) {
                assertEquals(0f, v[i * 3]);
                assertEquals(0f, v[i * 3 + 1]);
                assertEquals(17L * i, idx[i * 3]);
                assertEquals(17L * i + 300, idx[i * 3 + 1]);
                assertTrue(v[i * 3 + 2] > 0);
            }
        }
        check(queries, bank, 3, Metric.L2);
    }

    @Test
    void innerProductTiesGoToLowerIndex() {
        float[][] rows = {{1, 0}, {0, 1}, {1, 0}, {2, 0}, {1, 0}};
        Tensor bank = Tensor.of(rows);
        Tensor q = Tensor.of(new float[][] {{1, 0}});
        try (Knn.Result r = Knn.search(q, bank, 4, Metric.INNER_PRODUCT)) {
            assertArrayEquals(new long[] {3, 0, 2, 4}, r.indices().toLongArray());
            assertArrayEquals(new float[] {2, 1, 1, 1}, r.values().toFloatArray());
        }
        try (Knn.Result r = Knn.search(q, bank, 5, Metric.L2)) {
            assertArrayEquals(new long[] {0, 2, 4, 3, 1}, r.indices().toLongArray());
            assertArrayEquals(new float[] {0, 0, 0, 1, (float) Math.sqrt(2)}, r.values().toFloatArray());
        }
    }

    @Test
    void stridedAndMixedDtypeOperands() {
        Tensor bankT = Tensor.randn(rng, DType.FLOAT64, 12, 700);           // (D, N): the bank is its transpose
        Tensor wide = Tensor.randn(rng, DType.FLOAT32, 50, 20);
        try (Tensor bank = bankT.t(); Tensor queries = wide.slice(1, 3, 15)) {   // (700, 12) and (50, 12), strided
            for (Metric metric : Metric.values()) {
                try (Knn.Result r = check(queries, bank, 5, metric)) {
                    assertEquals(DType.FLOAT64, r.values().dtype());
                    assertEquals(DType.INT64, r.indices().dtype());
                }
            }
        }
    }

    @Test
    void refusesBadArguments() {
        Tensor q = Tensor.randn(rng, DType.FLOAT32, 4, 3);
        Tensor bank = Tensor.randn(rng, DType.FLOAT32, 5, 3);
        assertThrows(IllegalArgumentException.class, () -> Knn.search(q, bank, 6, Metric.L2));
        assertThrows(IllegalArgumentException.class, () -> Knn.search(q, bank, 0, Metric.L2));
        var e = assertThrows(IllegalArgumentException.class,
                () -> Knn.search(q, Tensor.randn(rng, DType.FLOAT32, 5, 4), 1, Metric.L2));
        assertTrue(e.getMessage().contains("[4, 3]") && e.getMessage().contains("[5, 4]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Knn.search(Tensor.randn(rng, DType.FLOAT32, 3), bank, 1, Metric.L2));

        Tensor nanQuery = Tensor.randn(rng, DType.FLOAT32, 4, 3);
        nanQuery.set(Double.NaN, 2, 1);
        e = assertThrows(IllegalArgumentException.class, () -> Knn.search(nanQuery, bank, 1, Metric.L2));
        assertTrue(e.getMessage().contains("NaN"), e.getMessage());
        Tensor nanBank = Tensor.randn(rng, DType.FLOAT32, 5, 3);
        nanBank.set(Double.NaN, 4, 0);
        e = assertThrows(IllegalArgumentException.class, () -> Knn.search(q, nanBank, 1, Metric.INNER_PRODUCT));
        assertTrue(e.getMessage().contains("NaN"), e.getMessage());
    }

    /** A search's {values, indices} (closed here) are the plain search's: the same indices and the same bits. */
    private static void assertSearchesAsThePlainOne(Tensor queries, Tensor bank, int k, Metric metric, Tensor[] got, String what) {
        try (Knn.Result want = Knn.search(queries, bank, k, metric); Knn.Result result = new Knn.Result(got[0], got[1])) {
            assertArrayEquals(want.indices().toLongArray(), result.indices().toLongArray(), what);
            assertArrayEquals(want.values().toDoubleArray(), result.values().toDoubleArray(), what);
        }
    }

    // ---------------------------------------------------------------- brute force

    /** Runs the search and compares indices exactly and values to within float rounding. */
    private static Knn.Result check(Tensor queries, Tensor bank, int k, Metric metric) {
        double[][] qs = queries.toDoubleMatrix(), bs = bank.toDoubleMatrix();
        Knn.Result r = Knn.search(queries, bank, k, metric);
        assertArrayEquals(new long[] {qs.length, k}, r.values().shape());
        assertArrayEquals(new long[] {qs.length, k}, r.indices().shape());
        double[] values = r.values().toDoubleArray();
        long[] indices = r.indices().toLongArray();
        double tol = r.values().dtype() == DType.FLOAT32 ? 1e-6 : 1e-15;
        for (int i = 0; i < qs.length; i++) {
            double[] scores = new double[bs.length];
            for (int j = 0; j < bs.length; j++) scores[j] = metric == Metric.L2 ? distance(qs[i], bs[j]) : dot(qs[i], bs[j]);
            int[] expected = best(scores, k, metric == Metric.L2);
            for (int r0 = 0; r0 < k; r0++) {
                int at = i * k + r0, want = expected[r0];
                assertEquals(want, indices[at], () -> "query " + at / k + " rank " + at % k);
                assertEquals(scores[want], values[at], tol * Math.max(1, Math.abs(scores[want])));
            }
        }
        return r;
    }

    private static double distance(double[] a, double[] b) {
        double s = 0;
        for (int p = 0; p < a.length; p++) s += (a[p] - b[p]) * (a[p] - b[p]);
        return Math.sqrt(s);
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int p = 0; p < a.length; p++) s += a[p] * b[p];
        return s;
    }

    /** Indices of the k best scores (smallest or largest), the lower index first on ties. */
    private static int[] best(double[] scores, int k, boolean smallest) {
        int[] out = new int[k];
        boolean[] taken = new boolean[scores.length];
        for (int r = 0; r < k; r++) {
            int pick = -1;
            for (int j = 0; j < scores.length; j++) {
                if (taken[j]) continue;
                if (pick < 0 || (smallest ? scores[j] < scores[pick] : scores[j] > scores[pick])) pick = j;
            }
            taken[pick] = true;
            out[r] = pick;
        }
        return out;
    }
}
