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
public abstract class BankDetector extends FeaturesDetector {
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
    protected void fitOnId(Tensor features, Tensor labels) {
        try (Bank bank = new Bank(features.dtype(), features.size(1), features.device())) {
            for (long start = 0; start < features.size(0); start += Inputs.CHUNK_ROWS) {
                try (Scope s = Scope.open()) {
                    bank.add(features.slice(0, start, Math.min(features.size(0), start + Inputs.CHUNK_ROWS)));
                }
            }
            putState(BANK, bank.finish());
        }
    }

    /** The k nearest bank rows of each feature row: values (n, k) and indices. */
    protected Knn.Result search(Tensor features) {
        Tensor bank = state(BANK);
        return Knn.search(features.to(bank.dtype()), bank, k, metric());
    }

    /**
     * A bank being built: ID rows appended in chunks to a spill file ({@link #add}), two banks
     * joined ({@link #merge}: the other's rows after this one's, as a fit of the rows in that order
     * would store them), and the mapped result ({@link #finish}). Closing an unfinished bank
     * deletes its file.
     */
    final class Bank implements AutoCloseable {
        private final SpillFile spill;
        private final Device device;

        /** An empty bank of rows of {@code dim} elements of {@code dtype}, fitted from input on {@code device}. */
        Bank(DType dtype, long dim, Device device) {
            this.device = device;
            try {
                this.spill = SpillFile.create(spillFolder, dtype, dim);
            } catch (IOException e) {
                throw new UncheckedIOException(name() + ": " + e.getMessage(), e);
            }
        }

        /** Appends the bank rows of in-distribution feature rows (n, D). */
        void add(Tensor features) {
            try (Scope s = Scope.open()) {
                spill.append(bankRows(features));
            } catch (IOException e) {
                throw new UncheckedIOException(name() + ": " + e.getMessage(), e);
            }
        }

        /** Appends the other bank's rows after these and closes it. */
        void merge(Bank other) {
            try {
                spill.appendAll(other.spill);
            } catch (IOException e) {
                throw new UncheckedIOException(name() + ": " + e.getMessage(), e);
            }
        }

        /** The bank (N, D), mapped read-only; refused when it has fewer than k rows. */
        Tensor finish() {
            Inputs.requireNeighbours(name(), spill.rows(), device, k);
            try {
                return spill.finish();
            } catch (IOException e) {
                throw new UncheckedIOException(name() + ": " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            try {
                spill.close();
            } catch (IOException e) {
                throw new UncheckedIOException(name() + ": " + e.getMessage(), e);
            }
        }
    }
}
