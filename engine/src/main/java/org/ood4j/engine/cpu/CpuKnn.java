package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

import org.ood4j.engine.DType;
import org.ood4j.engine.HalfFloats;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.KnnOps;

/**
 * Exact k-NN by tiles: a block of query rows times a block of bank rows is one GEMM (in the
 * operands' precision), whose scores feed a bounded per-query candidate heap. Memory is a few
 * tiles and the heaps, never a Q x N matrix.
 *
 * <p>L2 scores come from |q|^2 - 2 q.b + |b|^2, which loses precision to cancellation (an exact
 * duplicate may score 1e-3 instead of 0 in float32). So each query keeps {@link #SLACK} more
 * candidates than asked, and these are re-ranked by their distance recomputed directly in
 * float64 from the input rows. The values returned are those exact distances (exactly 0 for a
 * duplicate), or exact inner products; ties go to the lower bank index.
 *
 * <p>The bank may be stored in 16 bits (BFLOAT16, FLOAT16): its tiles are decoded to float32 as
 * they are loaded, and the re-ranking reads its rows decoded, so the result is that of the
 * float32 bank of the decoded rows, bit for bit.
 *
 * <p>Loop order: bank blocks outside (each packed transposed, (D, Nb), once), query blocks
 * inside and in parallel; a query block belongs to one task at a time, so its heaps need no lock.
 */
final class CpuKnn implements KnnOps {
    /**
     * Query rows per tile: about 256, a whole number of the float32 GEMM's row blocks (252 with
     * AVX-512's 12-row kernel, 3 x 80 with 5 rows), so that no query row falls to the GEMM's one-row
     * kernel (256 rows left 4 of every tile to it, 9% of a search's time).
     */
    static final int QUERY_BLOCK = Math.max(1, Math.round(256f / Gemm.floatRowBlock())) * Gemm.floatRowBlock();
    /** Bank rows per tile: 256 x 4096 float scores = 4 MiB per running tile. */
    static final int BANK_BLOCK = 4096;
    /** Bank columns scored and scanned at a time with packed queries: the scores of a query block stay in L2 (252 x 256 floats). */
    static final int COLUMN_GROUP = 256;
    /** Packed operands stay under this many elements, for very wide rows. */
    private static final int MAX_PACKED = 1 << 24;
    /** Candidates kept beyond k, re-ranked exactly at the end. */
    static final int SLACK = 8;

    /**
     * A float32 (or 16-bit) bank of up to this many values keeps its packed tiles between searches:
     * 64M values (256 MB), and at most an eighth of the JVM's heap, where the tiles live. Packing a
     * 10,000 x 512 bank took 4% of each search. A larger bank is packed tile by tile per search:
     * keeping a second copy of it is what its size rules out.
     */
    static final long PREPARED_MAX_VALUES = Math.min(64L << 20, Runtime.getRuntime().maxMemory() / 8 / Float.BYTES);

    @Override
    public Tensor[] search(Tensor queries, Tensor bank, int k, Metric metric) {
        return search(queries, bank, k, metric, null);
    }

    @Override
    public Prepared prepare(Tensor bank) {
        bank.checkOpen();
        boolean float32Tiles = bank.dtype() == DType.FLOAT32 || bank.dtype().isStorageOnly();
        if (bank.rank() != 2 || bank.size(0) * bank.size(1) > PREPARED_MAX_VALUES || !float32Tiles) {
            return KnnOps.super.prepare(bank);
        }
        int n = (int) bank.size(0), d = (int) bank.size(1), bankBlock = blockRows(BANK_BLOCK, d);
        Tile[] tiles = new Tile[(n + bankBlock - 1) / bankBlock];
        for (int t = 0; t < tiles.length; t++) tiles[t] = Tile.of(bank, t * bankBlock, Math.min(bankBlock, n - t * bankBlock), d, DType.FLOAT32);
        return (queries, k, metric) -> search(queries, bank, k, metric, tiles);
    }

    /** The search, with the bank's float32 tiles made already (null: made here, one at a time). */
    private Tensor[] search(Tensor queries, Tensor bank, int k, Metric metric, Tile[] prepared) {
        check(queries, bank, k, metric);
        DType type = DType.promote(DType.promote(queries.dtype(), bank.dtype()), DType.FLOAT32);
        int q = (int) queries.size(0), n = (int) bank.size(0), d = (int) queries.size(1);
        double[] queryNorms = finiteRowNorms(queries, "queries");
        Candidates[] best = new Candidates[q];
        int pool = Math.min(n, k + SLACK);
        for (int i = 0; i < q; i++) best[i] = new Candidates(pool);

        int queryBlock = blockRows(QUERY_BLOCK, d), bankBlock = blockRows(BANK_BLOCK, d);
        int queryBlocks = (q + queryBlock - 1) / queryBlock;
        Object[] packedQueries = new Object[queryBlocks];   // each block packed once, for every bank tile
        IntStream.range(0, queryBlocks).parallel().forEach(blk -> {
            try (Tensor block = queries.slice(0, blk * queryBlock, Math.min(q, (blk + 1) * queryBlock))) {
                packedQueries[blk] = type == DType.FLOAT32 ? packFloats(block) : Packing.doubles(block);
            }
        });
        for (int n0 = 0, t = 0; n0 < n; n0 += bankBlock, t++) {
            int nb = Math.min(bankBlock, n - n0);
            Tile tile = prepared != null && type == DType.FLOAT32 ? prepared[t] : Tile.of(bank, n0, nb, d, type);
            IntStream.range(0, queryBlocks).parallel().forEach(blk -> {
                int q0 = blk * queryBlock, q1 = Math.min(q, q0 + queryBlock);
                score(packedQueries[blk], q0, q1, tile, queryNorms, metric, best);
            });
        }

        double[] values = new double[q * k];
        long[] indices = new long[q * k];
        IntStream.range(0, queryBlocks).parallel().forEach(blk -> {
            double[] qRow = new double[d], bRow = new double[d];
            for (int i = blk * queryBlock; i < Math.min(q, (blk + 1) * queryBlock); i++) {
                refine(queries, bank, i, best[i], metric, k, qRow, bRow, values, indices);
            }
        });
        return new Tensor[] {Unpacking.tensor(values, type, q, k), Tensor.of(indices, q, k)};
    }

    /** A float32 query block as the GEMM's packed rows (the vector kernels), else as plain rows. */
    private static Object packFloats(Tensor block) {
        float[] rows = Packing.floats(block);
        Gemm.PackedRows packed = Gemm.packRows(rows, (int) block.size(0), (int) block.size(1));
        return packed != null ? packed : rows;
    }

    /** The shared checks, then this backend's own limit: the result is two Java arrays. */
    private static void check(Tensor queries, Tensor bank, int k, Metric metric) {
        KnnOps.check(queries, bank, k, metric);
        if (queries.size(0) * (long) k > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("knn result of " + queries.size(0) + " x " + k + " is too large; split the queries");
        }
    }

    /** Rows per block: the preferred count, fewer for rows so wide that a block would pass MAX_PACKED. */
    private static int blockRows(int preferred, int d) {
        return Math.max(1, Math.min(preferred, MAX_PACKED / Math.max(1, d)));
    }

    /** |row|^2 of each row in float64, refusing NaN and Inf. */
    private static double[] finiteRowNorms(Tensor t, String what) {
        int rows = (int) t.size(0), d = (int) t.size(1);
        double[] norms = new double[rows];
        double[] buf = new double[d];
        MemorySegment seg = t.storage().segment();
        long[] st = t.strides();
        for (int i = 0; i < rows; i++) {
            HostRows.load(seg, t.dtype(), t.offset() + i * st[0], st[1], d, buf);
            double s = 0;
            for (int p = 0; p < d; p++) s += buf[p] * buf[p];
            if (!Double.isFinite(s)) throw nonFinite(t, what, i);
            norms[i] = s;
        }
        return norms;
    }

    private static IllegalArgumentException nonFinite(Tensor t, String what, int row) {
        return new IllegalArgumentException("knn " + what + " " + Shape.toString(t.shape()) + " contain NaN or Inf (row " + row + ")");
    }

    /**
     * A bank block transposed, (D, nb): float32 packed once for the GEMM kernels (every query block
     * multiplies the same tile; a float32 bank of contiguous rows is packed straight from its rows,
     * in parallel), float64 row-major; with its rows' squared norms.
     */
    private record Tile(int n0, int nb, int d, Gemm.PackedFloats floats, double[] doubles, double[] norms, float[] halfNorms,
                        double maxHalfNorm) {
        /** With a float32 tile, its norms / 2 as floats and their largest: the L2 scan's float32 filter. */
        Tile(int n0, int nb, int d, Gemm.PackedFloats floats, double[] doubles, double[] norms) {
            this(n0, nb, d, floats, doubles, norms, floats == null ? null : halves(norms), java.util.Arrays.stream(norms).max().orElse(0) / 2);
        }

        private static float[] halves(double[] norms) {
            float[] h = new float[norms.length];
            for (int j = 0; j < h.length; j++) h[j] = (float) (norms[j] / 2);
            return h;
        }

        static Tile of(Tensor bank, int n0, int nb, int d, DType type) {
            boolean half = bank.dtype().isStorageOnly();
            if (type == DType.FLOAT32 && (half || bank.dtype() == DType.FLOAT32 && bank.strides()[1] == 1)) {
                double[] norms = new double[nb];
                Gemm.PackedFloats packed = half
                        ? Gemm.packTransposed(MemorySegment.ofArray(decodedRows(bank, n0, nb, d)), 0, 4L * d, nb, d, norms)
                        : Gemm.packTransposed(bank.storage().segment(), 4 * (bank.offset() + n0 * bank.strides()[0]), 4 * bank.strides()[0], nb, d, norms);
                requireFinite(bank, n0, norms);
                return new Tile(n0, nb, d, packed, null, norms);
            }
            float[] f = null;
            double[] g = null;
            try (Tensor block = bank.slice(0, n0, n0 + nb); Tensor bt = block.t()) {
                if (type == DType.FLOAT32) f = Packing.floats(bt);
                else g = Packing.doubles(bt);
            }
            double[] norms = new double[nb];
            for (int p = 0; p < d; p++) {
                int o = p * nb;
                if (f != null) for (int j = 0; j < nb; j++) norms[j] += (double) f[o + j] * f[o + j];
                else for (int j = 0; j < nb; j++) norms[j] += g[o + j] * g[o + j];
            }
            requireFinite(bank, n0, norms);
            return new Tile(n0, nb, d, f == null ? null : Gemm.pack(f, nb, d), g, norms);
        }

        /**
         * The decoding tile loader: rows n0..n0+nb-1 of a 16-bit bank decoded exactly to float32
         * ({@link HalfFloats}), row-major (nb, D) — what a float32 bank holds, packed by the same
         * {@link Gemm#packTransposed}: a 16-bit bank is searched exactly as the float32 bank of its
         * decoded rows would be.
         */
        private static float[] decodedRows(Tensor bank, int n0, int nb, int d) {
            float[] rows = new float[nb * d];
            MemorySegment seg = bank.storage().segment();
            long[] st = bank.strides();
            for (int j = 0; j < nb; j++) HalfFloats.decode(seg, bank.dtype(), bank.offset() + (n0 + j) * st[0], st[1], d, rows, j * d);
            return rows;
        }

        private static void requireFinite(Tensor bank, int n0, double[] norms) {
            for (int j = 0; j < norms.length; j++) {
                if (!Double.isFinite(norms[j])) throw nonFinite(bank, "bank", n0 + j);
            }
        }
    }

    /** Each worker thread's float32 score tile (QUERY_BLOCK x BANK_BLOCK, padded: ~4 MiB), reused for every product. */
    private static final ThreadLocal<float[]> SCORES = new ThreadLocal<>();

    /**
     * Scores queries q0..q1-1 (packed: float[] or double[] rows) against one tile and offers them to
     * the heaps. Heap keys are "smaller is better": the squared L2 distance, or the negated inner product.
     */
    private static void score(Object packedQueries, int q0, int q1, Tile tile, double[] queryNorms, Metric metric,
                              Candidates[] best) {
        if (packedQueries instanceof Gemm.PackedRows rows && tile.floats.panels()) {
            scoreByColumnGroups(rows, q0, tile, queryNorms, metric, best);
            return;
        }
        int m = q1 - q0, nb = tile.nb, width;
        float[] fs = null;
        double[] ds = null;
        if (tile.floats != null) {
            fs = Gemm.sgemm((float[]) packedQueries, m, tile.floats, SCORES.get());
            SCORES.set(fs);
            width = tile.floats.width();
        } else {
            ds = Gemm.dgemm((double[]) packedQueries, tile.doubles, m, nb, tile.d);
            width = nb;
        }
        double[] norms = metric == Metric.L2 ? tile.norms : null;
        for (int r = 0; r < m; r++) {
            Candidates c = best[q0 + r];
            double qn = queryNorms[q0 + r];
            int o = r * width;
            if (fs != null) {   // float32 scores: most are rejected a vector at a time
                int j = MathKernels.INSTANCE.firstKeyAtMost(fs, o, 0, nb, qn, norms, c.bar());
                while (j < nb) {
                    c.offer(key(fs[o + j], j, qn, norms), tile.n0 + j);
                    j = MathKernels.INSTANCE.firstKeyAtMost(fs, o, j + 1, nb, qn, norms, c.bar());
                }
                continue;
            }
            double bar = c.bar();
            for (int j = 0; j < nb; j++) {
                double key = key(ds[o + j], j, qn, norms);
                if (key <= bar) {
                    c.offer(key, tile.n0 + j);
                    bar = c.bar();
                }
            }
        }
    }

    /**
     * {@link #score} with packed query rows: the tile's columns in groups of COLUMN_GROUP, each
     * group's scores (the block's rows x the group's columns: 256 KB) computed and scanned while they
     * are in L2. A whole tile's scores (4 MB) went to L3 between the GEMM's stretches of k and again
     * for the scan.
     */
    private static void scoreByColumnGroups(Gemm.PackedRows queries, int q0, Tile tile, double[] queryNorms, Metric metric,
                                            Candidates[] best) {
        int nr = Gemm.panelWidth(), groupPanels = Math.max(1, COLUMN_GROUP / nr), panels = tile.floats.width() / nr;
        int ldc = groupPanels * nr;
        float[] fs = SCORES.get();
        if (fs == null || fs.length < queries.rows() * ldc) SCORES.set(fs = new float[queries.rows() * ldc]);
        double[] norms = metric == Metric.L2 ? tile.norms : null;
        for (int jp0 = 0; jp0 < panels; jp0 += groupPanels) {
            int jp1 = Math.min(panels, jp0 + groupPanels), j0 = jp0 * nr, j1 = Math.min(tile.nb, jp1 * nr);
            Gemm.sgemm(queries, tile.floats, jp0, jp1, fs, ldc);
            for (int r = 0; r < queries.m(); r++) {
                Candidates c = best[q0 + r];
                double qn = queryNorms[q0 + r];
                int at = r * ldc - j0;   // column j's score at fs[at + j], its norm at norms[j]
                if (norms == null) {
                    for (int j = MathKernels.INSTANCE.firstKeyAtMost(fs, at, j0, j1, qn, null, c.bar()); j < j1;
                         j = MathKernels.INSTANCE.firstKeyAtMost(fs, at, j + 1, j1, qn, null, c.bar())) {
                        c.offer(key(fs[at + j], j, qn, null), tile.n0 + j);
                    }
                    continue;
                }
                // L2: the float32 filter dot - |b|^2/2 >= threshold passes every candidate; each that passes
                // is tested by its exact float64 key
                float threshold = l2Threshold(qn, c.bar(), tile.maxHalfNorm);
                for (int j = MathKernels.INSTANCE.firstAtLeast(fs, at, j0, j1, tile.halfNorms, threshold); j < j1;
                     j = MathKernels.INSTANCE.firstAtLeast(fs, at, j + 1, j1, tile.halfNorms, threshold)) {
                    double key = key(fs[at + j], j, qn, norms);
                    if (key <= c.bar()) {
                        c.offer(key, tile.n0 + j);
                        threshold = l2Threshold(qn, c.bar(), tile.maxHalfNorm);
                    }
                }
            }
        }
    }

    /**
     * A float32 threshold t that every L2 candidate passes: key = (qn - 2 dot) + |b|^2 <= bar means
     * dot - |b|^2/2 >= (qn - bar)/2 = T, and the float32 difference of dot and the rounded |b|^2/2
     * is within 2^-23 (|dot| + max |b|^2/2) of the exact one, |dot| <= sqrt(qn 2 max |b|^2/2) (Cauchy-
     * Schwarz, plus the GEMM's rounding): t = T less 8 times that bound (and a float64 rounding's
     * worth of T), rounded down. -infinity while the heap has room.
     */
    static float l2Threshold(double qn, double bar, double maxHalfNorm) {
        if (bar == Double.POSITIVE_INFINITY) return Float.NEGATIVE_INFINITY;
        double t = (qn - bar) / 2, slack = 0x1p-20 * (maxHalfNorm + 1.01 * Math.sqrt(2 * qn * maxHalfNorm) + Math.abs(t));
        return Math.nextDown((float) (t - slack));
    }

    /** The heap key of inner product dot with bank row j: (qn - 2 dot) + |row j|^2 (squared L2) with norms, else -dot. */
    static double key(double dot, int j, double qn, double[] norms) {
        return norms != null ? qn - 2 * dot + norms[j] : -dot;
    }

    /** Recomputes query i's candidates exactly in float64 and writes the best k, ordered, to the outputs. */
    private static void refine(Tensor queries, Tensor bank, int i, Candidates c, Metric metric, int k,
                               double[] qRow, double[] bRow, double[] values, long[] indices) {
        int d = qRow.length;
        long[] qs = queries.strides(), bs = bank.strides();
        MemorySegment bankSeg = bank.storage().segment();
        HostRows.load(queries.storage().segment(), queries.dtype(), queries.offset() + i * qs[0], qs[1], d, qRow);
        double[] exact = new double[c.size];
        for (int e = 0; e < c.size; e++) {
            HostRows.load(bankSeg, bank.dtype(), bank.offset() + c.ids[e] * bs[0], bs[1], d, bRow);
            if (metric == Metric.L2) {
                for (int p = 0; p < d; p++) bRow[p] = qRow[p] - bRow[p];
                exact[e] = Math.sqrt(MathKernels.INSTANCE.dot(bRow, bRow, d));
            } else {
                exact[e] = MathKernels.INSTANCE.dot(qRow, bRow, d);
            }
        }
        Integer[] order = new Integer[c.size];
        for (int e = 0; e < order.length; e++) order[e] = e;
        Comparator<Integer> byValue = metric == Metric.L2
                ? Comparator.comparingDouble(e -> exact[e])
                : Comparator.comparingDouble(e -> -exact[e]);
        Arrays.sort(order, byValue.thenComparingInt(e -> c.ids[e]));
        for (int r = 0; r < k; r++) {
            values[i * k + r] = exact[order[r]];
            indices[i * k + r] = c.ids[order[r]];
        }
    }

    /**
     * The best {@code capacity} (key, bank index) pairs seen so far, smaller key first and the
     * lower index on equal keys: a max-heap whose root is the worst kept pair.
     */
    static final class Candidates {
        final double[] keys;
        final int[] ids;
        int size;

        Candidates(int capacity) {
            keys = new double[capacity];
            ids = new int[capacity];
        }

        /** A newcomer with a larger key cannot enter. */
        double bar() {
            return size < keys.length ? Double.POSITIVE_INFINITY : keys[0];
        }

        void offer(double key, int id) {
            if (size < keys.length) {
                keys[size] = key;
                ids[size] = id;
                siftUp(size++);
            } else if (worse(keys[0], ids[0], key, id)) {
                keys[0] = key;
                ids[0] = id;
                siftDown(0);
            }
        }

        private static boolean worse(double ka, int ia, double kb, int ib) {
            return ka > kb || (ka == kb && ia > ib);
        }

        private boolean worse(int a, int b) {
            return worse(keys[a], ids[a], keys[b], ids[b]);
        }

        private void siftUp(int i) {
            while (i > 0) {
                int parent = (i - 1) / 2;
                if (!worse(i, parent)) return;
                swap(i, parent);
                i = parent;
            }
        }

        private void siftDown(int i) {
            while (true) {
                int l = 2 * i + 1, r = l + 1, top = i;
                if (l < size && worse(l, top)) top = l;
                if (r < size && worse(r, top)) top = r;
                if (top == i) return;
                swap(i, top);
                i = top;
            }
        }

        private void swap(int a, int b) {
            double k = keys[a];
            keys[a] = keys[b];
            keys[b] = k;
            int id = ids[a];
            ids[a] = ids[b];
            ids[b] = id;
        }
    }
}
