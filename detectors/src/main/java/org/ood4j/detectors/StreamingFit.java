package org.ood4j.detectors;

/**
 * A detector whose fit is a statistic of its fit rows, computed by {@link FitAccumulator}s in
 * one or more passes over the data. Pass p > 0 reads what pass p - 1's {@link FitAccumulator#finish}
 * installed (e.g. ViM's principal space before its alpha, OpenMax's class centres before the
 * tails of the distances to them), so the passes run in order, each over all the data.
 *
 * <p>{@code fit(Iterable<Batch>)} and the array fits ({@code fitFeatures}, {@code fitLogits})
 * of such a detector run through its accumulators in chunks of bounded size.
 */
public interface StreamingFit {
    /** How many passes over the fit data the fit takes (1 or 2). */
    default int fitPasses() { return 1; }

    /**
     * A fresh accumulator of pass {@code pass} (0-based). For pass p > 0, pass p - 1 must have
     * finished on this detector.
     */
    FitAccumulator fitAccumulator(int pass);

    /**
     * The whole streaming fit: for each pass in order, {@code feed} adds all the fit data to a
     * fresh accumulator of that pass (e.g. every chunk of a file, or every shard's merged
     * accumulators), which is then finished; the accumulator is closed, also when the fit fails.
     */
    default void fitStreaming(java.util.function.Consumer<FitAccumulator> feed) {
        for (int pass = 0; pass < fitPasses(); pass++) {
            try (FitAccumulator acc = fitAccumulator(pass)) {
                feed.accept(acc);
                acc.finish();
            }
        }
    }
}
