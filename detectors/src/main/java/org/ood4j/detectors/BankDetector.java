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
 * <p>The bank keeps the fit features' precision (float32 features, a float32 bank). It lives in the
 * spill folder until saved: {@link #spillFolder(Path)}, else {@link SpillFile#folder()}.
 */
public abstract class BankDetector extends FeaturesDetector implements StreamingFit {
    /** The state tensor of the bank. */
    static final String BANK = "bank";
    protected final int k;
    private volatile Path spillFolder;

    protected BankDetector(Function<Tensor, Tensor> encoder, int k) {
        super(encoder);
        this.k = Params.positive("k", k);
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
        Tensor bank = state(BANK);
        return Knn.search(features.to(bank.dtype()), bank, k, metric());
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
            Tensor bank = state(BANK);
            Knn.Result r = Knn.search(features.to(bank.dtype()), bank, (int) Math.min(Params.positive("count", count), bank.size(0)), metric());
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
            try {
                spill(rows.dtype(), rows.size(1)).append(detector().bankRows(rows));
            } catch (IOException e) {
                throw failed(e);
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
