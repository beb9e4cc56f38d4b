package org.ood4j.detectors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Knn;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.KnnOps;
import org.ood4j.engine.io.SpillFile;

/**
 * A detector that scores by a nearest-neighbour search in a bank of fit rows (KNN, NNGuide), at any
 * bank size: the fit appends the bank's rows to a {@link SpillFile} a chunk of
 * {@link Inputs#CHUNK_ROWS} rows at a time and maps it back read-only, so a bank of ImageNet's size
 * (1.28M x 2048 float32, 10.5 GB) costs page cache, not heap or malloc'd memory; saving streams it
 * into the state file, and loading maps it from there ({@link DetectorFiles}). Scoring is the
 * engine's exact blocked search ({@link Knn}), which already walks the bank in blocks against
 * blocks of queries with one bounded candidate heap per query across all bank blocks.
 *
 * <p>The bank keeps the fit features' precision (float32 features, a float32 bank), or the one the
 * parameter {@code bank_dtype} names: {@code features} (the default), {@code float32},
 * {@code float64}, or a 16-bit one — {@code bfloat16} or {@code float16}, half the bytes of
 * float32 (on disk, in the page cache, in the state file). A 16-bit bank stores each value
 * rounded to nearest even, so a bank row b is kept as b + e with |e_p| <= u |b_p| per component
 * and ||e|| <= u ||b||: u = 2^-8 for bfloat16 (8 significant bits), 2^-11 for float16 (11 bits;
 * float16 holds |x| <= 65504 only, a larger bank value is refused at the fit). The search stays
 * the exact search, over the rounded rows (decoded to float32 tile by tile), so by the triangle
 * inequality each L2 distance, hence KNN's k-th distance, moves by at most u max_i ||b_i||, and
 * each inner product <z, b_i> by at most u ||z|| max_i ||b_i|| (for L2-normalised rows: 2^-8
 * on a cosine similarity or a distance in bfloat16). Measured effect on the scores:
 * {@code bench/results/2026-12-06-knn-16bit-bank.md}. The bank lives in the spill folder until
 * saved: {@link #spillFolder(Path)}, else {@link SpillFile#folder()}.
 */
public abstract class BankDetector extends FeaturesDetector implements StreamingFit {
    /** The state tensor of the bank. */
    static final String BANK = "bank";
    /** The parameter naming the bank's dtype, and its default (the fit features' own precision). */
    static final String BANK_DTYPE = "bank_dtype", FEATURES = "features";
    private static final java.util.List<String> BANK_DTYPES = java.util.List.of(FEATURES, "float32", "float64", "bfloat16", "float16");
    /** float16's largest finite value: a larger bank value would be stored as infinity. */
    private static final double FLOAT16_MAX = 65504;
    protected final int k;
    private final String bankDtype;
    private volatile Path spillFolder;

    /** @param bankDtype the bank's dtype: features, float32, float64, bfloat16 or float16 (see the class comment) */
    protected BankDetector(Function<Tensor, Tensor> encoder, int k, String bankDtype) {
        super(encoder);
        this.k = Params.positive("k", k);
        if (!BANK_DTYPES.contains(bankDtype)) {
            throw new IllegalArgumentException(name() + ": bank_dtype must be one of " + String.join(", ", BANK_DTYPES)
                    + ", got '" + bankDtype + "'");
        }
        this.bankDtype = bankDtype;
    }

    /** The bank_dtype parameter as given: features, float32, float64, bfloat16 or float16. */
    public String bankDtype() { return bankDtype; }

    /** The bank's dtype for fit features of {@code features}' dtype (its bytes per value: a broadcast's size). */
    public DType bankType(DType features) {
        return bankDtype.equals(FEATURES) ? features : DType.valueOf(bankDtype.toUpperCase(java.util.Locale.ROOT));
    }

    /** The parameters every bank detector has (k, bank_dtype) with the detector's own. */
    protected java.util.Map<String, Object> params(java.util.Map<String, Object> own) {
        java.util.Map<String, Object> all = new java.util.LinkedHashMap<>(own);
        all.put("k", k);
        all.put(BANK_DTYPE, bankDtype);
        return all;
    }

    /** Where the next fit spills its bank (null: {@link SpillFile#folder()}); e.g. beside the state file it will be saved to. */
    public BankDetector spillFolder(Path folder) {
        this.spillFolder = folder;
        return this;
    }

    @Override public boolean requiresFit() { return true; }

    /** The bank rows of in-distribution feature rows (n, D): the rows themselves, or a transform of them. */
    protected abstract Tensor bankRows(Tensor features);

    /** The search's metric. */
    protected abstract KnnOps.Metric metric();

    @Override
    public FitAccumulator fitAccumulator(int pass) {
        return new BankFit(this);
    }

    /** The k nearest bank rows of each feature row: values (n, k) and indices. */
    protected Knn.Result search(Tensor features) {
        return search(features, k);
    }

    /**
     * The {@code count} nearest bank rows of each feature row, the queries in the precision the
     * bank computes in (a 16-bit bank: float32, its rows decoded as the search reads them).
     */
    private Knn.Result search(Tensor features, int count) {
        Tensor bank = state(BANK);
        return Knn.search(features.to(bank.dtype().computeType()), bank, count, metric());
    }

    /** Scores one chunk: the search, then {@link #scoreNeighbours}. */
    @Override
    protected Tensor scoreChunk(Tensor features) {
        try (Knn.Result r = search(features)) {
            return scoreNeighbours(features, r.values());
        }
    }

    /**
     * The scores (n,) float64 of feature rows (n, D) from the values of their k nearest bank rows
     * (n, k), nearest first (L2 distances ascending, inner products descending) in the bank's
     * precision or float64 — what a search of the whole bank gives, or the best k of the
     * candidates of several banks that together hold its rows (a bank sharded over a cluster).
     */
    public abstract Tensor scoreNeighbours(Tensor features, Tensor values);

    /**
     * The values of each feature row's {@code count} nearest bank rows (n, min(count, bank rows)),
     * nearest first, in the bank's precision: one shard's candidates for {@link #scoreNeighbours}
     * (count = the k of the detector that scores them). The features are validated as
     * {@link #predictFeatures} validates them.
     */
    public Tensor neighbourValues(Tensor features, int count) {
        checkFeatures(features);
        try (org.ood4j.engine.Scope s = org.ood4j.engine.Scope.open()) {
            Knn.Result r = search(features, (int) Math.min(Params.positive("count", count), state(BANK).size(0)));
            return s.keep(r.values());
        }
    }

    /** The number of neighbours the score reads. */
    public int k() { return k; }

    /** Whether nearer means a smaller value (a distance) rather than a larger one (a similarity). */
    public boolean smallerIsNearer() { return metric() == KnnOps.Metric.L2; }

    /**
     * The fit's one pass: the bank rows of the in-distribution rows appended to a spill file as
     * the chunks arrive ({@link #addId}); a merge appends the other accumulator's rows after these
     * (as a fit of the rows in that order would store them); the end maps the file and installs it
     * as the bank. Memory holds one chunk. The rows live in a file reached through its open
     * channel, so unlike the statistic accumulators this one is not meant to be serialised: it
     * merges within one process (e.g. per-thread accumulators of one fit).
     */
    static final class BankFit extends ChunkAccumulator<BankDetector> {
        private transient SpillFile spill;   // made by the first ID rows (their dtype and width) or merge

        BankFit(BankDetector detector) {
            super(detector, 0);
        }

        @Override
        protected void addId(Tensor rows, long[] labels) {
            DType type = detector().bankType(rows.dtype());
            Tensor bank = detector().bankRows(rows);
            if (type == DType.FLOAT16) requireFloat16Range(bank);
            try {
                spill(type, rows.size(1)).append(bank);
            } catch (IOException e) {
                throw failed(e);
            }
        }

        /** Refuses bank values float16 cannot hold (they would be stored as infinity). */
        private void requireFloat16Range(Tensor bank) {
            try (Tensor abs = bank.abs(); Tensor max = abs.max()) {
                double largest = max.item();
                if (largest > FLOAT16_MAX) {
                    throw new IllegalArgumentException(detector().name() + ": bank_dtype float16 cannot hold the bank value "
                            + largest + " (its largest is 65504); use bank_dtype bfloat16 or float32");
                }
            }
        }

        @Override
        protected void mergeFrom(ChunkAccumulator<BankDetector> other) {
            SpillFile theirs = ((BankFit) other).spill;
            if (theirs == null) return;
            try {
                spill(theirs.dtype(), theirs.dim()).appendAll(theirs);
            } catch (IOException e) {
                throw failed(e);
            }
        }

        /** The bank (N, D), mapped read-only, refused when it has fewer than k rows. */
        @Override
        protected void install(BankDetector d) {
            try (SpillFile rows = spill) {   // closed (its rows gone) when refused; after finish, closing is a no-op
                Inputs.requireNeighbours(d.name(), rows.rows(), Device.CPU, d.k);
                d.putState(BANK, rows.finish());
            } catch (IOException e) {
                throw failed(e);
            }
        }

        private SpillFile spill(DType dtype, long dim) throws IOException {
            if (spill == null) spill = SpillFile.create(detector().spillFolder, dtype, dim);
            return spill;
        }

        private UncheckedIOException failed(IOException e) {
            return new UncheckedIOException(detector().name() + ": " + e.getMessage(), e);
        }
    }
}
