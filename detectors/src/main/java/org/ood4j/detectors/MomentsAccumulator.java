package org.ood4j.detectors;

/**
 * A fit pass whose statistics are {@link Moments} (counts, means, scatters by group): the merge
 * is theirs, one by one; a detector's subclass says which rows go into which.
 */
abstract class MomentsAccumulator<D extends AbstractDetector & StreamingFit> extends ChunkAccumulator<D> {
    final Moments[] moments;

    MomentsAccumulator(D detector, int pass, Moments... moments) {
        super(detector, pass);
        this.moments = moments;
    }

    @Override
    protected void mergeFrom(ChunkAccumulator<D> other) {
        Moments[] theirs = ((MomentsAccumulator<D>) other).moments;
        for (int i = 0; i < moments.length; i++) moments[i].merge(theirs[i]);
    }
}
