package org.ood4j.detectors;

import org.ood4j.engine.Tensor;

/**
 * One pass of a streaming fit: the statistics a detector's fit needs, gathered over row chunks
 * of any size in memory bounded by the statistics (not by the number of rows), so one fit runs
 * over an {@code Iterable<Batch>}, a memory-mapped file, several threads or a cluster alike.
 * Made by {@link StreamingFit#fitAccumulator}.
 *
 * <p>Accumulators of the same pass of the same detector {@link #merge} exactly (Chan et al.'s
 * pairwise update of counts, means and centred scatters, float64 throughout), so a fit may be
 * split over partitions, each accumulated on its own, and merged in a fixed order: the result
 * depends on that order only through float64 round-off. Their state is plain Java arrays and
 * they are {@link java.io.Serializable}; the detector that made them is not serialised with
 * them, so on another machine one merges the received accumulators into one made by the
 * detector there and finishes that.
 */
public interface FitAccumulator extends java.io.Serializable, AutoCloseable {
    /**
     * Adds a chunk of fit rows: the detector's fit input (features (n, D), logits (n, C), ...)
     * and int64 labels (n,), or null labels where the detector needs none. Rows with a label
     * below 0 are out-of-distribution and skipped. Chunks are validated as the whole-array fit
     * validates its input; rows are numbered across chunks in the order they were added.
     */
    void add(Tensor rows, Tensor labels);

    /** Folds another accumulator of the same pass of the same kind of detector into this one; {@code other} is unchanged. */
    void merge(FitAccumulator other);

    /**
     * Ends the pass: computes the fitted state from the statistics and installs it in the
     * detector that made this accumulator (the last pass also marks it fitted). Throws when no
     * in-distribution row was added.
     */
    void finish();

    /**
     * Frees what an unfinished accumulator holds off the heap (a kNN bank's rows, in memory or in
     * a spill file); after {@link #finish} it is a no-op, the detector owning the state. Whoever
     * makes an accumulator closes it, also when the fit fails ({@link StreamingFit#fitStreaming}
     * does), so native memory goes when the fit goes. The statistic accumulators hold only arrays.
     */
    @Override
    default void close() {}
}
