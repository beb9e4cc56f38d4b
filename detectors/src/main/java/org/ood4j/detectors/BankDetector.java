package org.ood4j.detectors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Knn;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.KnnOps;
import org.ood4j.engine.io.SpillFile;

/**
 * A detector that scores by a nearest-neighbour search in a bank of fit rows (KNN, NNGuide), at any
 * bank size: a bank of up to {@link #bankMemory} bytes (256 MiB) is kept in memory; a larger one is appended to a
 * {@link SpillFile} a chunk of {@link Inputs#CHUNK_ROWS} rows at a time and mapped back read-only,
 * so a bank of ImageNet's size (1.28M x 2048 float32, 10.5 GB) costs page cache, not heap or
 * malloc'd memory; saving streams it
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
 * {@code bench/results/2026-12-06-knn-16bit-bank.md}. A spilled bank lives in the spill folder
 * until saved: {@link #spillFolder(Path)}, else {@link SpillFile#folder()}.
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
    /**
     * The default of {@link #bankMemory}: {@code -Dood4j.bank.memoryBytes}, else 256 MiB. In memory,
     * a fit of 10,000 x 512 float32 rows is a copy; through the file it also paid the write and the
     * page faults (3x the time).
     */
    static final long MEMORY_BYTES = Long.getLong("ood4j.bank.memoryBytes", 256L << 20);
    private volatile long bankMemory = MEMORY_BYTES;
    private final String bankDtype;
    private volatile Path spillFolder;
    /** The bank packed for searches once, not per predict (a bank state replaced by a fit or load is a new tensor). */
    private volatile Knn.Bank prepared;

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

    /**
     * The largest bank (bytes) the next fit keeps in memory; a larger one goes to a spill file and is
     * mapped back (0: always spill). Default {@link #MEMORY_BYTES}.
     */
    public BankDetector bankMemory(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("bankMemory must be >= 0 bytes, got " + bytes);
        this.bankMemory = bytes;
        return this;
    }

    @Override public boolean requiresFit() { return true; }

    /** The bank rows of in-distribution feature rows (n, D): the rows themselves, or a transform of them. */
    protected abstract Tensor bankRows(Tensor features);

    /**
     * {@link #bankRows} written into {@code into} (n, D), a block of the bank held in memory, in the
     * bank's dtype; inside a scope. By default a copy of them; a detector that computes its bank rows
     * writes them there directly (NNGuide), with no tensor of them made first.
     */
    protected void bankRowsInto(Tensor features, Tensor into) {
        Tensor rows = bankRows(features);   // maybe the features themselves: the scope, not this method, closes what it made
        try (Tensor typed = rows.to(into.dtype())) {
            into.copyFrom(typed);
        }
    }

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
        Knn.Bank bank = preparedBank();
        return bank.search(features.to(bank.rows().dtype().computeType()), count, metric());
    }

    /** The bank as its backend prepared it for searches, made again when the bank changed (a fit, a load, a move). */
    private Knn.Bank preparedBank() {
        Tensor bank = state(BANK);
        Knn.Bank prepared = this.prepared;
        if (prepared != null && prepared.rows() == bank) return prepared;
        synchronized (this) {
            if (this.prepared == null || this.prepared.rows() != bank) this.prepared = Knn.prepare(bank, metric());
            return this.prepared;
        }
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
     * The fit's one pass: the bank rows of the in-distribution rows, in fit order, kept in memory
     * while the bank is at most {@link #bankMemory} bytes (one allocation for an array fit, whose size
     * {@link #rowsComing} tells; doubling for a stream of batches), and moved to a spill file at the
     * first chunk that would take it past that, so a bank of any size costs page cache instead.
     * A merge appends the other accumulator's rows after these, as a fit of the rows in that order
     * would store them. The rows are off-heap (a tensor, or a file reached through its open
     * channel), so unlike the statistic accumulators this one is not meant to be serialised: it
     * merges within one process, and {@link #close} frees its rows when the fit fails.
     */
    static final class BankFit extends ChunkAccumulator<BankDetector> {
        private transient Tensor held;       // rows [0, heldRows) are the bank so far, while it is in memory
        private transient long heldRows;
        private transient SpillFile spill;   // every row, once the bank outgrew memory (held is then null)
        private final long memoryBytes;

        BankFit(BankDetector detector) {
            super(detector, 0);
            this.memoryBytes = detector.bankMemory;
        }

        @Override
        protected void addId(Tensor rows, long[] labels) {
            DType type = detector().bankType(rows.dtype());
            long n = rows.size(0);
            if (type != DType.FLOAT16 && spill == null && reserve(type, rows.size(1), Math.max(rowsComing(), n))) {
                // in memory: the bank rows go straight into their block of the held bank
                try (Tensor into = held.slice(0, heldRows, heldRows + n)) {
                    detector().bankRowsInto(rows, into);
                }
                heldRows += n;
                return;
            }
            Tensor bank = detector().bankRows(rows);
            if (type == DType.FLOAT16) requireFloat16Range(bank);
            try (Tensor typed = bank.to(type)) {
                append(typed, rowsComing());
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
            BankFit theirs = (BankFit) other;
            if (theirs.held != null) {
                try (Tensor rows = theirs.held.slice(0, 0, theirs.heldRows)) {
                    append(rows, rows.size(0));
                }
            }
            if (theirs.spill == null) return;
            try {
                spill(theirs.spill.dtype(), theirs.spill.dim()).appendAll(theirs.spill);
            } catch (IOException e) {
                throw failed(e);
            }
        }

        /** Appends bank rows: in memory while {@code coming} rows (these and what follows them) still fit there, else to the spill. */
        private void append(Tensor rows, long coming) {
            long n = rows.size(0);
            if (spill == null && reserve(rows.dtype(), rows.size(1), Math.max(coming, n))) {
                try (Tensor into = held.slice(0, heldRows, heldRows + n)) {
                    into.copyFrom(rows);
                }
                heldRows += n;
                return;
            }
            try {
                spill(rows.dtype(), rows.size(1)).append(rows);
            } catch (IOException e) {
                throw failed(e);
            }
        }

        /**
         * Room in memory for {@code coming} more rows of {@code dim} values of {@code dtype}: grows the held rows to what is
         * needed, or to twice what there is, within the memory limit; false when they would not fit.
         */
        private boolean reserve(DType dtype, long dim, long coming) {
            long rowBytes = Math.max(1, dim * dtype.byteSize()), limit = memoryBytes / rowBytes;
            long need = heldRows + coming, capacity = held == null ? 0 : held.size(0);
            if (need > limit) return false;
            if (need <= capacity) return true;
            // rows past heldRows are written before the bank's view reaches them: no zero fill
            Tensor larger = Scope.release(Tensor.empty(dtype, Math.min(Math.max(need, 2 * capacity), limit), dim));
            if (held != null) {
                try (Tensor from = held.slice(0, 0, heldRows); Tensor to = larger.slice(0, 0, heldRows)) {
                    to.copyFrom(from);
                }
                held.close();
            }
            held = larger;
            return true;
        }

        /** The bank (N, D), in memory or mapped read-only, refused when it has fewer than k rows. */
        @Override
        protected void install(BankDetector d) {
            try {
                Inputs.requireNeighbours(d.name(), spill != null ? spill.rows() : heldRows, Device.CPU, d.k);
                if (spill != null) {
                    d.putState(BANK, spill.finish());
                } else {
                    d.putState(BANK, Scope.release(held.slice(0, 0, heldRows)));   // a view: the storage lives while the bank does
                }
            } catch (IOException e) {
                throw failed(e);
            } finally {
                close();   // the held tensor's reference (the bank's view keeps its storage), or the spill when refused
            }
        }

        /** The spill, opened by the first rows that outgrow memory: the rows held so far go first, and memory is freed. */
        private SpillFile spill(DType dtype, long dim) throws IOException {
            if (spill != null) return spill;
            spill = SpillFile.create(detector().spillFolder, dtype, dim);
            if (held != null) {
                try (Tensor rows = held.slice(0, 0, heldRows)) {
                    spill.append(rows);
                }
                held.close();
                held = null;
                heldRows = 0;
            }
            return spill;
        }

        /** Frees the rows of an unfinished fit (after {@link #finish}, the bank is the detector's and nothing is freed). */
        @Override
        public void close() {
            if (held != null) {
                held.close();
                held = null;
            }
            if (spill == null) return;
            try {
                spill.close();   // a no-op once finished: the mapping outlives the channel
            } catch (IOException e) {
                throw failed(e);
            }
        }

        private UncheckedIOException failed(IOException e) {
            return new UncheckedIOException(detector().name() + ": " + e.getMessage(), e);
        }
    }
}
