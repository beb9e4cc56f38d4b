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
    /** The fewest query rows a block of a search in cells ends at: 4 register tiles (48 rows with AVX-512). */
    static final int MIN_BLOCK_ROWS = 4 * Gemm.kernelRows();
    /** A search in cells whose sample of queries needs more than this share of the bank on average scores every tile, as the plain search. */
    private static final double PLAIN_ABOVE = 0.7;
    /** Queries whose needs decide whether a search in cells skips: a sample's estimate, for a few percent of a search's cost at most. */
    private static final int SAMPLE = 64;
    /** Queries searched at a time in a bank of cells: up to 16384, and their bounds (queries x tiles) up to 4M (32 MB). */
    private static final int BOUNDS_PER_CHUNK = 1 << 22;
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

    /**
     * An L2 bank in cells ({@link CellBank}); for the inner product (NNGuide's bank of rows scaled by
     * their energy) the Cauchy-Schwarz bounds skipped little on the benchmark's bank while the cells
     * cost 30-50 ms to make, more than they saved in a fit followed by one predict: its tiles as they are.
     */
    @Override
    public Prepared prepare(Tensor bank, Metric metric) {
        return metric == Metric.L2 ? prepare(bank) : plainTiles(bank);
    }

    @Override
    public Prepared prepare(Tensor bank) {
        if (keepsTiles(bank) && Gemm.panelWidth() > 1 && bank.size(0) >= 2 * BankCells.CELL_ROWS) {
            int n = (int) bank.size(0), d = (int) bank.size(1);
            return new CellBank(bank, cellTiles(bank, n, d, blockRows(BANK_BLOCK, d)));
        }
        return plainTiles(bank);
    }

    /** Whether the bank's float32 tiles are kept between searches: a 2-D float32 or 16-bit bank of up to PREPARED_MAX_VALUES. */
    private static boolean keepsTiles(Tensor bank) {
        bank.checkOpen();
        boolean float32Tiles = bank.dtype() == DType.FLOAT32 || bank.dtype().isStorageOnly();
        return bank.rank() == 2 && bank.size(0) * bank.size(1) <= PREPARED_MAX_VALUES && float32Tiles;
    }

    /** The bank's float32 tiles in bank order, kept where {@link #keepsTiles}; else nothing prepared. */
    private Prepared plainTiles(Tensor bank) {
        if (!keepsTiles(bank)) return KnnOps.super.prepare(bank);
        int n = (int) bank.size(0), d = (int) bank.size(1), bankBlock = blockRows(BANK_BLOCK, d);
        Tile[] tiles = new Tile[(n + bankBlock - 1) / bankBlock];
        for (int t = 0; t < tiles.length; t++) tiles[t] = Tile.of(bank, t * bankBlock, Math.min(bankBlock, n - t * bankBlock), d, DType.FLOAT32);
        return (queries, k, metric) -> search(queries, bank, k, metric, tiles);
    }

    /** Row {@code row} of a float32 or 16-bit bank as float32 (decoded exactly) into dst from {@code at}. */
    private static void loadRow(Tensor bank, int row, int d, float[] dst, int at) {
        MemorySegment seg = bank.storage().segment();
        long[] st = bank.strides();
        long base = bank.offset() + row * st[0];
        if (bank.dtype().isStorageOnly()) HalfFloats.decode(seg, bank.dtype(), base, st[1], d, dst, at);
        else HostRows.loadFloats(seg, base, st[1], d, dst, at);
    }

    /**
     * The bank's tiles cell by cell ({@link BankCells}), a cell of more than bankBlock rows in several
     * tiles, each with its bounding ball. The rows' finiteness is checked in bank order, so a bad bank
     * names its first bad row.
     */
    private static Tile[] cellTiles(Tensor bank, int n, int d, int bankBlock) {
        BankCells cells = BankCells.of(new BankCells.Rows() {
            @Override public void load(int row, float[] dst, int at) { loadRow(bank, row, d, dst, at); }
            @Override public Gemm.PackedFloats pack(int r0, int m, double[] norms) { return packedRows(bank, r0, m, d, norms, r0); }
        }, n, d);
        for (int j = 0; j < n; j++) {
            if (!Double.isFinite(cells.norms[j])) throw nonFinite(bank, "bank", j);
        }
        java.util.List<int[]> ranges = new java.util.ArrayList<>();
        java.util.List<Integer> cellOfRange = new java.util.ArrayList<>();
        for (int c = 0; c < cells.count(); c++) {
            for (int a = cells.starts[c]; a < cells.starts[c + 1]; a += bankBlock) {
                ranges.add(Arrays.copyOfRange(cells.order, a, Math.min(cells.starts[c + 1], a + bankBlock)));
                cellOfRange.add(c);
            }
        }
        return IntStream.range(0, ranges.size()).parallel()
                .mapToObj(r -> Tile.ofRows(bank, ranges.get(r), d, Ball.of(cells, cellOfRange.get(r), ranges.get(r), d)))
                .toArray(Tile[]::new);
    }

    /**
     * Rows r0..r0+m-1 of a float32 or 16-bit bank as the GEMM's packed operand (d, m), their squared
     * norms into norms[at..] (not checked): straight from a float32 bank's contiguous rows, else from
     * the rows read (decoded) first.
     */
    private static Gemm.PackedFloats packedRows(Tensor bank, int r0, int m, int d, double[] norms, int at) {
        double[] own = new double[m];
        Gemm.PackedFloats packed = bank.dtype() == DType.FLOAT32 && bank.strides()[1] == 1
                ? Gemm.packTransposed(bank.storage().segment(), 4 * (bank.offset() + r0 * bank.strides()[0]), 4 * bank.strides()[0], m, d, own)
                : Gemm.packTransposed(MemorySegment.ofArray(Tile.readRows(bank, r0, m, d)), 0, 4L * d, m, d, own);
        System.arraycopy(own, 0, norms, at, m);
        return packed;
    }

    /**
     * A bank in cells: a search that skips, for each block of queries, the tiles whose balls hold no
     * candidate for any of its queries (see {@link Ball#lowerKey}). Exact, and bit for bit the plain
     * search's result: a skipped row's key is above its query's bar then, hence at the end, so it
     * would not have been among the candidates kept. The counts say how much was skipped.
     */
    final class CellBank implements Prepared {
        private final Tensor bank;
        private final Tile[] tiles;
        /** The tiles' centres as the float32 GEMM's packed operand (d, tiles). */
        private final Gemm.PackedFloats centres;
        /** (query, bank row) pairs scored and skipped by the searches so far. */
        final java.util.concurrent.atomic.AtomicLong pairsScored = new java.util.concurrent.atomic.AtomicLong();
        final java.util.concurrent.atomic.AtomicLong pairsSkipped = new java.util.concurrent.atomic.AtomicLong();

        CellBank(Tensor bank, Tile[] tiles) {
            this.bank = bank;
            this.tiles = tiles;
            int d = (int) bank.size(1);
            float[] rows = new float[tiles.length * d];
            for (int t = 0; t < tiles.length; t++) System.arraycopy(tiles[t].ball.centre, 0, rows, t * d, d);
            this.centres = Gemm.packTransposed(MemorySegment.ofArray(rows), 0, 4L * d, tiles.length, d, new double[tiles.length]);
        }

        int tileCount() {
            return tiles.length;
        }

        @Override
        public Tensor[] search(Tensor queries, int k, Metric metric) {
            check(queries, bank, k, metric);
            DType type = DType.promote(DType.promote(queries.dtype(), bank.dtype()), DType.FLOAT32);
            if (type != DType.FLOAT32) return CpuKnn.this.search(queries, bank, k, metric, null);
            if (!skippingPays(queries, k, metric)) return CpuKnn.this.search(queries, bank, k, metric, tiles);
            int q = (int) queries.size(0), d = (int) queries.size(1);
            double[] values = new double[q * k];
            long[] indices = new long[q * k];
            int chunk = Math.max(QUERY_BLOCK, Math.min(1 << 14, BOUNDS_PER_CHUNK / tiles.length));
            for (int q0 = 0; q0 < q; q0 += chunk) {
                try (Tensor part = queries.slice(0, q0, Math.min(q, q0 + chunk))) {
                    Candidates[] best = candidates(part, k, metric);
                    int offset = q0;
                    refineAll(part, bank, best, metric, k, values, indices, offset);
                }
            }
            return new Tensor[] {Unpacking.tensor(values, type, q, k), Tensor.of(indices, q, k)};
        }

        /**
         * Each query's candidates: the queries in the order of {@link #sortKey} (so that a block's queries
         * need the same few tiles), cut into {@link #blocks}, the blocks in parallel, each visiting the
         * tiles from the nearest (least bound over its queries), so that its bars fall early.
         */
        private Candidates[] candidates(Tensor queries, int k, Metric metric) {
            int q = (int) queries.size(0), d = (int) queries.size(1), tileCount = tiles.length;
            double[] queryNorms = finiteRowNorms(queries, "queries");
            float[] rows = Packing.floats(queries);
            float[] qc = Gemm.sgemm(rows, q, centres, null);   // q.c for every query and tile, row length centres.width()
            double[] lower = new double[q * tileCount];
            int pool = Math.min((int) bank.size(0), k + SLACK);
            int[][] sortKeys = new int[q][];
            double[] uppers = new double[q];
            IntStream.range(0, q).parallel().forEach(i -> sortKeys[i] = sortKey(qc, lower, uppers, i, queryNorms[i], metric, pool));
            Integer[] byKey = IntStream.range(0, q).boxed().toArray(Integer[]::new);
            Arrays.sort(byKey, (x, y) -> Arrays.compare(sortKeys[x], sortKeys[y]));
            Candidates[] best = new Candidates[q];
            Blocks blocks = blocks(byKey, lower, uppers, blockRows(QUERY_BLOCK, d));
            int[] cuts = blocks.cuts;
            blocks.forEach(blk -> {
                int b0 = cuts[blk], m = cuts[blk + 1] - b0;
                int[] ids = new int[m];
                float[] blockRows = new float[m * d];
                Candidates[] blockBest = new Candidates[m];
                double[] blockNorms = new double[m];
                for (int r = 0; r < m; r++) {
                    ids[r] = byKey[b0 + r];
                    System.arraycopy(rows, ids[r] * d, blockRows, r * d, d);
                    blockBest[r] = best[ids[r]] = new Candidates(pool);
                    blockNorms[r] = queryNorms[ids[r]];
                }
                Gemm.PackedRows packed = Gemm.packRows(blockRows, m, d);
                for (int t : visitOrder(lower, ids)) {
                    if (holdsNone(lower, ids, t, blockBest)) {
                        pairsSkipped.addAndGet((long) m * tiles[t].nb);
                        continue;
                    }
                    pairsScored.addAndGet((long) m * tiles[t].nb);
                    scoreByColumnGroups(packed, 0, tiles[t], blockNorms, metric, blockBest);
                }
            });
            return best;
        }

        /**
         * Fills row i of {@code lower} with the query's bounds (from its q.c), and gives its place in the search
         * order: {far, ceil(log2(tiles needed)), nearest tile, second-nearest tile, i}. The queries of a
         * block are searched against every tile that one of them needs, so a block should hold queries
         * that need the same few: those that need one tile, by that tile; then those that need two
         * (between two clusters), by the nearest and the second; and so on. Sorted by the nearest tile
         * alone, a few queries of a larger need in each run of queries that need one tile made every
         * block score the union of their needs. A query far from every tile (one an OOD detector exists
         * for) needs most of them: such queries form blocks of their own. "Needed" uses a bound from
         * above of the query's final bar, from its nearest tile.
         */
        private int[] sortKey(float[] qcs, double[] lower, double[] uppers, int i, double qn, Metric metric, int pool) {
            Need need = need(qcs, i, qn, metric, pool, lower, i * tiles.length);
            uppers[i] = need.upper;
            int far = need.tiles > Math.max(2, tiles.length / 4) ? 1 : 0, scale = 32 - Integer.numberOfLeadingZeros(need.tiles - 1);
            return new int[] {far, scale, need.nearest, need.second, i};
        }

        /**
         * What a query needs: its nearest tile (least bound) and second-nearest, an estimate from above
         * of its final bar (from the nearest tile, where that holds a pool of rows), and the tiles (and
         * their rows) whose bound is within it.
         */
        private record Need(int nearest, int second, double upper, int tiles, long rows) {}

        /** The Need of the query in row i of qcs (its q.c for every tile), its bounds written to lower[at..]. */
        private Need need(float[] qcs, int i, double qn, Metric metric, int pool, double[] lower, int at) {
            int tileCount = tiles.length, nearest = 0, second = -1, needed = 0;
            double qLength = Math.sqrt(qn);
            for (int t = 0; t < tileCount; t++) {
                lower[at + t] = tiles[t].ball.lowerKey(metric, qn, qLength, qcs[i * centres.width() + t]);
                if (lower[at + t] < lower[at + nearest]) nearest = t;
            }
            double upper = tiles[nearest].nb >= pool
                    ? tiles[nearest].ball.upperKey(metric, qn, qLength, qcs[i * centres.width() + nearest]) : Double.POSITIVE_INFINITY;
            long rows = 0;
            for (int t = 0; t < tileCount; t++) {
                if (lower[at + t] > upper) continue;
                needed++;
                rows += tiles[t].nb;
                if (t != nearest && (second < 0 || lower[at + t] < lower[at + second])) second = t;
            }
            return new Need(nearest, second, upper, needed, rows);
        }

        /**
         * Whether skipping can pay: the rows that up to SAMPLE evenly spaced queries need, on average,
         * are at most PLAIN_ABOVE of the bank. Else (rows spread evenly: no cell is far from a query)
         * the plain search over the same tiles runs, without the sort, blocks and bounds of every
         * query, which cost 5-10% of such a search.
         */
        private boolean skippingPays(Tensor queries, int k, Metric metric) {
            int q = (int) queries.size(0), d = (int) queries.size(1), s = Math.min(q, SAMPLE);
            float[] rows = new float[s * d];
            double[] norms = new double[s], lower = new double[tiles.length];
            for (int j = 0; j < s; j++) {
                loadRow(queries, (int) ((long) j * q / s), d, rows, j * d);
                norms[j] = MathKernels.INSTANCE.sumSquares(rows, j * d, d);
            }
            float[] qc = Gemm.sgemm(rows, s, centres, null);
            int pool = Math.min((int) bank.size(0), k + SLACK);
            double needed = 0;
            for (int j = 0; j < s; j++) needed += need(qc, j, norms[j], metric, pool, lower, 0).rows;
            return needed <= PLAIN_ABOVE * s * bank.size(0);
        }

        /**
         * The sorted queries cut into blocks: block b is byKey[cuts[b] .. cuts[b + 1]). A block ends at
         * maxRows, or, once it has MIN_BLOCK_ROWS, where the next query needs a tile (bound within its
         * estimated bar) that none of the block's queries needs: a block scores the union of its
         * queries' tiles, so it grows while that union does not; the GEMM wants long blocks (a tile's
         * panel is read into L1 once per block: 153 GFLOP/s a thread with 252 rows, 122 with 96).
         * Each block's work is estimated as its rows times its union's rows.
         */
        private Blocks blocks(Integer[] byKey, double[] lower, double[] uppers, int maxRows) {
            int tileCount = tiles.length, minRows = Math.min(maxRows, MIN_BLOCK_ROWS);
            boolean[] union = new boolean[tileCount];
            int[] cuts = new int[byKey.length + 1];
            long[] work = new long[byKey.length];
            int blocks = 0;
            long unionRows = 0;
            for (int x = 0; x < byKey.length; x++) {
                int at = byKey[x] * tileCount, rows = x - cuts[blocks];
                boolean grows = false;
                for (int t = 0; t < tileCount && !grows; t++) grows = lower[at + t] <= uppers[byKey[x]] && !union[t];
                if (rows == maxRows || (grows && rows >= minRows)) {
                    work[blocks++] = rows * unionRows;
                    cuts[blocks] = x;
                    unionRows = 0;
                    Arrays.fill(union, false);
                }
                for (int t = 0; t < tileCount; t++) {
                    if (union[t] || !(lower[at + t] <= uppers[byKey[x]])) continue;
                    union[t] = true;
                    unionRows += tiles[t].nb;
                }
            }
            work[blocks] = (byKey.length - cuts[blocks]) * unionRows;
            cuts[++blocks] = byKey.length;
            return new Blocks(Arrays.copyOf(cuts, blocks + 1), Arrays.copyOf(work, blocks));
        }

        /** The tiles by their least bound over the block's queries. */
        private int[] visitOrder(double[] lower, int[] ids) {
            int tileCount = tiles.length;
            double[] least = new double[tileCount];
            Arrays.fill(least, Double.POSITIVE_INFINITY);
            for (int i : ids) for (int t = 0; t < tileCount; t++) least[t] = Math.min(least[t], lower[i * tileCount + t]);
            return IntStream.range(0, tileCount).boxed()
                    .sorted(Comparator.<Integer>comparingDouble(t -> least[t]).thenComparingInt(t -> t))
                    .mapToInt(Integer::intValue).toArray();
        }

        /** Whether tile t's bound is above every one of the block's bars. */
        private boolean holdsNone(double[] lower, int[] ids, int t, Candidates[] blockBest) {
            for (int r = 0; r < ids.length; r++) {
                if (!(lower[ids[r] * tiles.length + t] > blockBest[r].bar())) return false;
            }
            return true;
        }
    }

    /** The search, with the bank's float32 tiles made already (in any order: each knows its rows; null: made here, one at a time). */
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
        boolean usePrepared = prepared != null && type == DType.FLOAT32;
        for (int t = 0, tiles = usePrepared ? prepared.length : (n + bankBlock - 1) / bankBlock; t < tiles; t++) {
            Tile tile = usePrepared ? prepared[t] : Tile.of(bank, t * bankBlock, Math.min(bankBlock, n - t * bankBlock), d, type);
            IntStream.range(0, queryBlocks).parallel().forEach(blk -> {
                int q0 = blk * queryBlock, q1 = Math.min(q, q0 + queryBlock);
                score(packedQueries[blk], q0, q1, tile, queryNorms, metric, best);
            });
        }

        double[] values = new double[q * k];
        long[] indices = new long[q * k];
        refineAll(queries, bank, best, metric, k, values, indices, 0);
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
                        double maxHalfNorm, int[] ids, Ball ball) {
        /** With a float32 tile, its norms / 2 as floats and their largest: the L2 scan's float32 filter. */
        Tile(int n0, int nb, int d, Gemm.PackedFloats floats, double[] doubles, double[] norms) {
            this(n0, nb, d, floats, doubles, norms, null, null);
        }

        /** Of the bank rows ids (null: rows n0..n0+nb-1), bounded by a ball (null: none). */
        Tile(int n0, int nb, int d, Gemm.PackedFloats floats, double[] doubles, double[] norms, int[] ids, Ball ball) {
            this(n0, nb, d, floats, doubles, norms, floats == null ? null : halves(norms), Arrays.stream(norms).max().orElse(0) / 2, ids, ball);
        }

        /** The bank index of the tile's column j. */
        int id(int j) {
            return ids == null ? n0 + j : ids[j];
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
                Gemm.PackedFloats packed = packedRows(bank, n0, nb, d, norms, 0);
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
         * Rows n0..n0+nb-1 of a 16-bit bank decoded exactly to float32 (of a float32 bank, read)
         * ({@link HalfFloats}), row-major (nb, D) — what a float32 bank holds, packed by the same
         * {@link Gemm#packTransposed}: a 16-bit bank is searched exactly as the float32 bank of its
         * decoded rows would be.
         */
        static float[] readRows(Tensor bank, int n0, int nb, int d) {
            float[] rows = new float[nb * d];
            for (int j = 0; j < nb; j++) loadRow(bank, n0 + j, d, rows, j * d);
            return rows;
        }

        /**
         * The bank rows ids (of one cell of {@link BankCells}) as a float32 tile, with their bounding
         * ball. The rows' finiteness was checked in bank order before.
         */
        static Tile ofRows(Tensor bank, int[] ids, int d, Ball ball) {
            int nb = ids.length;
            float[] rows = new float[nb * d];
            for (int j = 0; j < nb; j++) loadRow(bank, ids[j], d, rows, j * d);
            double[] norms = new double[nb];
            Gemm.PackedFloats packed = Gemm.packTransposed(MemorySegment.ofArray(rows), 0, 4L * d, nb, d, norms);
            return new Tile(0, nb, d, packed, null, norms, ids, ball);
        }

        private static void requireFinite(Tensor bank, int n0, double[] norms) {
            for (int j = 0; j < norms.length; j++) {
                if (!Double.isFinite(norms[j])) throw nonFinite(bank, "bank", n0 + j);
            }
        }
    }

    /**
     * Blocks of sorted queries (block b: positions cuts[b] .. cuts[b + 1]) and an estimate of each one's
     * work. Their work differs by a factor of ten and more (queries far from every tile need most of
     * them), so they are handed out largest first, one at a time, to as many workers as there are
     * cores: halving the range of blocks between threads left one thread with the far blocks.
     */
    private record Blocks(int[] cuts, long[] work) {
        void forEach(java.util.function.IntConsumer block) {
            int[] byWork = IntStream.range(0, work.length).boxed()
                    .sorted(Comparator.<Integer>comparingLong(b -> -work[b]).thenComparingInt(b -> b))
                    .mapToInt(Integer::intValue).toArray();
            java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
            int workers = Math.min(byWork.length, java.util.concurrent.ForkJoinPool.getCommonPoolParallelism() + 1);
            IntStream.range(0, workers).parallel().forEach(w -> {
                for (int b = next.getAndIncrement(); b < byWork.length; b = next.getAndIncrement()) block.accept(byWork[b]);
            });
        }
    }

    /**
     * A tile's bounding ball: centre c (its cell's centre, float32: queries meet it in the float32 GEMM)
     * and radius r >= max |b - c| over its rows; and its longest row's length.
     */
    record Ball(float[] centre, double centreLength, double radius, double maxRowLength) {
        /**
         * The ball of rows ids of cell g: |b - c|^2 = |b|^2 + |c|^2 - 2 b.c from each row's norm and its
         * float32 dot with the centre (from the cells' GEMM), raised by twice gamma_d |b| |c| for that
         * dot's rounding and (d + 8) 2^-50 (|b|^2 + |c|^2) for the float64 sums (see {@link #lowerKey}).
         */
        static Ball of(BankCells cells, int g, int[] ids, int d) {
            int centre = cells.centreOf[g];
            double cn = cells.centreNorms[centre], gamma = 2 * (d + 2) * 0x1p-24, r2 = 0, maxNorm = 0;
            for (int id : ids) {
                double bn = cells.norms[id], slack = gamma * Math.sqrt(bn * cn) + (d + 8) * 0x1p-50 * (bn + cn);
                r2 = Math.max(r2, bn + cn - 2.0 * cells.dots[id] + 2 * slack);
                maxNorm = Math.max(maxNorm, bn);
            }
            return new Ball(Arrays.copyOfRange(cells.centres, centre * d, (centre + 1) * d), Math.sqrt(cn), Math.sqrt(r2), Math.sqrt(maxNorm));
        }

        /**
         * The least heap key any row of the ball can score for a query q (|q|^2 = qn, |q| = qLength, and
         * q.c = qc from the float32 GEMM), less what the float32 GEMM's rounding can take off a key: a
         * tile whose bound exceeds a query's bar holds no candidate for it.
         * <ul>
         * <li>L2: |q - b| >= |q - c| - r (the triangle inequality), so key >= (|q - c| - r)^2 where positive;</li>
         * <li>inner product: q.b = q.c + q.(b - c) <= q.c + |q| r (Cauchy-Schwarz), so -q.b >= -(q.c + |q| r).</li>
         * </ul>
         * A float32 dot of d products is within gamma_d |x| |y| of the exact one, gamma_d = d u / (1 - d u),
         * u = 2^-24 (Higham, Accuracy and Stability, 3.5): the allowance takes twice that for q.b (each
         * key's dot) and for q.c, and (d + 8) 2^-50 (|q|^2 + |c|^2 + |b|^2) for the float64 sums.
         */
        double lowerKey(Metric metric, double qn, double qLength, double qc) {
            int d = centre.length;
            double gamma = 2 * (d + 2) * 0x1p-24, dotRounding = gamma * qLength * maxRowLength, qcRounding = gamma * qLength * centreLength;
            double float64Rounding = (d + 8) * 0x1p-50 * (qn + centreLength * centreLength + maxRowLength * maxRowLength);
            if (metric == Metric.L2) {
                double gap = Math.sqrt(Math.max(0, qn - 2 * qc + centreLength * centreLength - 2 * qcRounding - float64Rounding)) - radius;
                return (gap > 0 ? gap * gap : 0) - 2 * dotRounding - float64Rounding;   // key = |q|^2 - 2 dot + |b|^2
            }
            return -(qc + qLength * radius) - qcRounding - dotRounding - float64Rounding;
        }

        /**
         * An estimate, from above, of the key of every row of the ball for the query (|q - b| <= |q - c| + r;
         * q.b >= q.c - |q| r): with at least a pool of rows, no better than the query's bar at the end.
         * Only orders the queries, so it needs no allowance for rounding.
         */
        double upperKey(Metric metric, double qn, double qLength, double qc) {
            if (metric == Metric.L2) {
                double reach = Math.sqrt(Math.max(0, qn - 2 * qc + centreLength * centreLength)) + radius;
                return reach * reach;
            }
            return -(qc - qLength * radius);
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
                    c.offer(key(fs[o + j], j, qn, norms), tile.id(j));
                    j = MathKernels.INSTANCE.firstKeyAtMost(fs, o, j + 1, nb, qn, norms, c.bar());
                }
                continue;
            }
            double bar = c.bar();
            for (int j = 0; j < nb; j++) {
                double key = key(ds[o + j], j, qn, norms);
                if (key <= bar) {
                    c.offer(key, tile.id(j));
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
                        c.offer(key(fs[at + j], j, qn, null), tile.id(j));
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
                        c.offer(key, tile.id(j));
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

    /** {@link #refine} for every query, in parallel runs of 64 that share their row buffers. */
    private static void refineAll(Tensor queries, Tensor bank, Candidates[] best, Metric metric, int k, double[] values, long[] indices, int offset) {
        int q = best.length, d = (int) queries.size(1), run = 64;
        IntStream.range(0, (q + run - 1) / run).parallel().forEach(r -> {
            RowBuffers rows = new RowBuffers(new double[d], new double[d], new float[d], new double[d]);
            for (int i = r * run; i < Math.min(q, (r + 1) * run); i++) refine(queries, bank, i, best[i], metric, k, rows, values, indices, offset);
        });
    }

    /** A query row in float64; a bank row in float64, or as float32 (a float32 or 16-bit bank); zeros. */
    private record RowBuffers(double[] query, double[] bank, float[] bankFloats, double[] zeros) {}

    /**
     * Recomputes query i's candidates exactly in float64 and writes the best k, ordered, to the outputs'
     * row offset + i. A float32 or 16-bit bank's rows are read as float32 and widened inside the float64
     * sum ({@link MathKernels#centredSquares}, {@link MathKernels#centredDot}): the same exact terms, no
     * float64 copy of each row first.
     */
    private static void refine(Tensor queries, Tensor bank, int i, Candidates c, Metric metric, int k,
                               RowBuffers rows, double[] values, long[] indices, int offset) {
        double[] qRow = rows.query, bRow = rows.bank;
        int d = qRow.length;
        long[] qs = queries.strides(), bs = bank.strides();
        MemorySegment bankSeg = bank.storage().segment();
        boolean floats = bank.dtype() == DType.FLOAT32 || bank.dtype().isStorageOnly();
        HostRows.load(queries.storage().segment(), queries.dtype(), queries.offset() + i * qs[0], qs[1], d, qRow);
        double[] exact = new double[c.size];
        for (int e = 0; e < c.size; e++) {
            if (floats) {
                loadRow(bank, c.ids[e], d, rows.bankFloats, 0);
                exact[e] = metric == Metric.L2
                        ? Math.sqrt(MathKernels.INSTANCE.centredSquares(rows.bankFloats, qRow, d))
                        : MathKernels.INSTANCE.centredDot(rows.bankFloats, rows.zeros, qRow, d);
                continue;
            }
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
            values[(offset + i) * k + r] = exact[order[r]];
            indices[(offset + i) * k + r] = c.ids[order[r]];
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
