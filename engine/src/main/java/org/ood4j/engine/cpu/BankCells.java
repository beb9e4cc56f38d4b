package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * A k-NN bank's rows grouped into cells of nearby rows, so that a search can skip a whole tile of
 * rows whose bounding ball is too far from a block of queries ({@link CpuKnn}). The cells are a few
 * Lloyd iterations of k-means on an evenly spaced sample of the rows, then every row goes to its
 * nearest centre. Any grouping keeps the search exact (its bounds hold for the rows a tile actually
 * holds); a good one lets it skip more. Deterministic: the same bank gives the same cells.
 *
 * <p>The cells are numbered along a nearest-neighbour chain of their centres, so that cells with
 * close numbers are close: queries sorted by their nearest cell then form blocks that need few cells.
 */
final class BankCells {
    /** Rows per cell aimed at: balls of a few hundred rows, tiles the GEMM still fills (a panel's padding is under 6%). */
    static final int CELL_ROWS = 512;
    /**
     * At most this many cells: assigning the bank's rows to them costs what a search of as many
     * queries does (N x cells x d multiply-adds), paid once per bank.
     */
    static final int MAX_CELLS = 256;
    /** Sample rows per cell for the Lloyd iterations; the full bank is read once, to assign its rows. */
    private static final int SAMPLE_PER_CELL = 16;
    private static final int ITERATIONS = 5;
    /** Sample rows per cell that k-means++ draws its seeds from. */
    private static final int SEED_ROWS = 8;
    /** Rows assigned per task. */
    private static final int CHUNK = 2048;

    /** The bank's rows as float32 (decoded if stored in 16 bits). */
    interface Rows {
        /** Row {@code row} into dst from {@code at}. */
        void load(int row, float[] dst, int at);

        /** Rows r0..r0+m-1 as the GEMM's packed operand (d, m); their squared norms, in float64, into norms[r0..]. */
        Gemm.PackedFloats pack(int r0, int m, double[] norms);
    }

    /** The bank's rows, cell by cell (each cell's rows in ascending order). */
    final int[] order;
    /** Cell g holds order[starts[g] .. starts[g + 1]); no cell is empty. */
    final int[] starts;
    /** Cell g's centre is centre number centreOf[g]. */
    final int[] centreOf;
    /** The centres, float32 row-major (centre count x d), and their squared norms in float64. */
    final float[] centres;
    final double[] centreNorms;
    /** Each row's squared norm (float64; NaN or infinite for a row that is not finite) and its float32 dot with its centre. */
    final double[] norms;
    final float[] dots;

    private BankCells(int[] order, int[] starts, int[] centreOf, float[] centres, double[] centreNorms, double[] norms, float[] dots) {
        this.order = order;
        this.starts = starts;
        this.centreOf = centreOf;
        this.centres = centres;
        this.centreNorms = centreNorms;
        this.norms = norms;
        this.dots = dots;
    }

    int count() {
        return starts.length - 1;
    }

    /**
     * The n rows of d values in about n / CELL_ROWS cells, at most MAX_CELLS. The rows are read twice:
     * a sample for the centres, then every row, packed for one GEMM with the centres, which gives
     * each row's cell, its norm and its dot with its centre (from which its distance to the centre
     * follows: the balls need no pass of their own). Needs the vector kernels (packed rows).
     */
    static BankCells of(Rows rows, int n, int d) {
        int cells = Math.clamp(Math.round((float) n / CELL_ROWS), 1, MAX_CELLS);
        float[] centres = lloyd(sample(rows, n, d, Math.min(n, SAMPLE_PER_CELL * cells)), d, cells);
        Centres packed = Centres.of(centres, cells, d);
        Gemm.PackedRows centreRows = Gemm.packRows(centres, cells, d);
        int[] cellOf = new int[n];
        float[] dots = new float[n];
        double[] norms = new double[n];
        int nr = Gemm.panelWidth();
        IntStream.range(0, (n + CHUNK - 1) / CHUNK).parallel().forEach(chunk -> {
            int r0 = chunk * CHUNK, m = Math.min(CHUNK, n - r0);
            Gemm.PackedFloats block = rows.pack(r0, m, norms);
            int width = block.width();
            float[] c = new float[centreRows.rows() * width];   // c[centre width + j]: row r0 + j's dot with the centre
            Gemm.sgemm(centreRows, block, 0, width / nr, c, width);
            for (int j = 0; j < m; j++) {
                int best = packed.nearest(c, j, width);
                cellOf[r0 + j] = best;
                dots[r0 + j] = c[best * width + j];
            }
        });
        int[] rank = chain(centres, packed, cells);
        int[] counts = new int[cells + 1];
        for (int c : cellOf) counts[rank[c] + 1]++;
        for (int c = 0; c < cells; c++) counts[c + 1] += counts[c];
        int[] fill = Arrays.copyOf(counts, cells);
        int[] order = new int[n];   // a counting sort by the cell's rank: each cell's rows stay ascending
        for (int r = 0; r < n; r++) order[fill[rank[cellOf[r]]]++] = r;
        int[] byRank = new int[cells];
        for (int c = 0; c < cells; c++) byRank[rank[c]] = c;
        int[] kept = IntStream.range(0, cells).filter(r -> counts[r + 1] > counts[r]).toArray();   // empty cells dropped
        int[] starts = IntStream.concat(Arrays.stream(kept).map(r -> counts[r]), IntStream.of(n)).toArray();
        int[] centreOf = Arrays.stream(kept).map(r -> byRank[r]).toArray();
        return new BankCells(order, starts, centreOf, centres, packed.norms, norms, dots);
    }

    /** s rows at evenly spaced indices, row-major. */
    private static float[] sample(Rows rows, int n, int d, int s) {
        float[] out = new float[s * d];
        for (int j = 0; j < s; j++) rows.load((int) ((long) j * n / s), out, j * d);
        return out;
    }

    /** Lloyd's k-means on the sample, from {@link #seeds}; a centre left with no rows stays where it was. */
    private static float[] lloyd(float[] sample, int d, int cells) {
        int s = sample.length / d;
        float[] centres = seeds(sample, d, cells);
        int[] cellOf = new int[s];
        for (int it = 0; it < ITERATIONS; it++) {
            nearest(sample, s, Centres.of(centres, cells, d), cellOf, 0);
            double[] sums = new double[cells * d];
            int[] counts = new int[cells];
            for (int r = 0; r < s; r++) {
                int c = cellOf[r];
                counts[c]++;
                for (int p = 0; p < d; p++) sums[c * d + p] += sample[r * d + p];
            }
            for (int c = 0; c < cells; c++) {
                if (counts[c] == 0) continue;
                for (int p = 0; p < d; p++) centres[c * d + p] = (float) (sums[c * d + p] / counts[c]);
            }
        }
        return centres;
    }

    /**
     * The first centres by k-means++ (Arthur and Vassilvitskii, 2007) on every few sample rows (about
     * SEED_ROWS per cell): each next centre is a row drawn with probability proportional to its squared
     * distance to the nearest centre so far. Evenly spaced rows as seeds put several centres in a large
     * cluster and leave two small ones to share a cell, whose ball then spans both; Lloyd's steps do
     * not undo that. A fixed seed: the same bank, the same cells.
     */
    private static float[] seeds(float[] sample, int d, int cells) {
        int s = sample.length / d, step = Math.max(1, s / (SEED_ROWS * cells)), rows = (s + step - 1) / step;
        SplittableRandom rng = new SplittableRandom(0x0dd4_ce11L);
        float[] centres = new float[cells * d];
        double[] nearest = new double[rows];
        Arrays.fill(nearest, Double.POSITIVE_INFINITY);
        int pick = rng.nextInt(rows);
        for (int c = 0; c < cells; c++) {
            System.arraycopy(sample, pick * step * d, centres, c * d, d);
            double total = 0;
            for (int r = 0; r < rows; r++) {
                nearest[r] = Math.min(nearest[r], squaredDistance(sample, r * step * d, centres, c * d, d));
                total += nearest[r];
            }
            double target = rng.nextDouble() * total;
            pick = rows - 1;
            for (int r = 0; r < rows; r++) {
                target -= nearest[r];
                if (target < 0) {
                    pick = r;
                    break;
                }
            }
        }
        return centres;
    }

    private static double squaredDistance(float[] a, int at, float[] b, int bt, int d) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;   // four sums: independent adds, not one chain
        int p = 0;
        for (; p + 4 <= d; p += 4) {
            float x0 = a[at + p] - b[bt + p], x1 = a[at + p + 1] - b[bt + p + 1];
            float x2 = a[at + p + 2] - b[bt + p + 2], x3 = a[at + p + 3] - b[bt + p + 3];
            s0 += x0 * x0;
            s1 += x1 * x1;
            s2 += x2 * x2;
            s3 += x3 * x3;
        }
        for (; p < d; p++) {
            float x = a[at + p] - b[bt + p];
            s0 += x * x;
        }
        return (double) s0 + s1 + s2 + s3;
    }

    /** Centres as the GEMM's packed operand (d, cells), with their squared norms. */
    private record Centres(Gemm.PackedFloats packed, double[] norms) {
        static Centres of(float[] centres, int cells, int d) {
            double[] norms = new double[cells];
            return new Centres(Gemm.packTransposed(MemorySegment.ofArray(centres), 0, 4L * d, cells, d, norms), norms);
        }

        /** The centre c of least |c|^2 - 2 r.c, a row's dot with centre c at dots[at + c step] (a NaN row: centre 0). */
        int nearest(float[] dots, int at, int step) {
            int best = 0;
            double bestKey = Double.POSITIVE_INFINITY;
            for (int c = 0; c < norms.length; c++) {
                double key = norms[c] - 2.0 * dots[at + c * step];
                if (key < bestKey) {
                    bestKey = key;
                    best = c;
                }
            }
            return best;
        }
    }

    /** cellOf[at + r] = the centre nearest row r of the m rows. */
    private static void nearest(float[] rows, int m, Centres centres, int[] cellOf, int at) {
        float[] dots = Gemm.sgemm(rows, m, centres.packed, null);
        for (int r = 0; r < m; r++) cellOf[at + r] = centres.nearest(dots, r * centres.packed.width(), 1);
    }

    /**
     * A numbering of the cells along a greedy nearest-neighbour chain of their centres, from cell 0;
     * the distances from one GEMM of the centres with themselves.
     */
    private static int[] chain(float[] centres, Centres packed, int cells) {
        float[] dots = Gemm.sgemm(centres, cells, packed.packed, null);
        int width = packed.packed.width();
        int[] rank = new int[cells];
        boolean[] placed = new boolean[cells];
        int at = 0;
        for (int r = 0; r < cells; r++) {
            rank[at] = r;
            placed[at] = true;
            int next = -1;
            double nextDist = Double.POSITIVE_INFINITY;
            for (int c = 0; c < cells; c++) {
                double dist = packed.norms[at] + packed.norms[c] - 2.0 * dots[at * width + c];
                if (!placed[c] && dist < nextDist) {
                    nextDist = dist;
                    next = c;
                }
            }
            if (next < 0) break;
            at = next;
        }
        return rank;
    }
}
