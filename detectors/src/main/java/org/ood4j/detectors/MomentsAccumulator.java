package org.ood4j.detectors;

import org.ood4j.engine.Tensor;

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

    /**
     * Adds the group means of {@code rows} (n, D) by {@code labels} (< 0: left out; null: one group) to
     * {@code m} (means only) through the engine's float64 grouped sum: the rows are read once in
     * their own dtype, never copied to float64.
     */
    static void addMeans(Moments m, Tensor rows, long[] labels) {
        long[] group = labels != null ? labels : new long[(int) rows.size(0)];
        int groups = 1;
        for (long g : group) groups = (int) Math.max(groups, g + 1);
        long[] counts = new long[groups];
        for (long g : group) if (g >= 0) counts[(int) g]++;   // a negative label: a row left out
        try (Tensor index = Tensor.of(group).movedTo(rows.device());
             Tensor sums = rows.groupSum(index, groups, org.ood4j.engine.DType.FLOAT64)) {
            m.addSums(sums.toDoubleArray(), counts);
        }
    }

    @Override
    protected void mergeFrom(ChunkAccumulator<D> other) {
        Moments[] theirs = ((MomentsAccumulator<D>) other).moments;
        for (int i = 0; i < moments.length; i++) moments[i].merge(theirs[i]);
    }

    /** The mean (1, D) of all fit rows, float64, one pass (NCI, fDBD, DICE); the detector installs what it derives from it. */
    static final class MeanFit<D extends AbstractDetector & StreamingFit> extends MomentsAccumulator<D> {
        private final transient java.util.function.BiConsumer<D, Tensor> install;   // the detector's, as the detector is

        MeanFit(D detector, java.util.function.BiConsumer<D, Tensor> install) {
            super(detector, 0, new Moments(Moments.Scatter.NONE));
            this.install = install;
        }

        @Override
        protected void addId(Tensor rows, long[] labels) {
            addMeans(moments[0], rows, null);
        }

        @Override
        protected void install(D detector) {
            install.accept(detector, Tensor.of(moments[0].mean(0), 1, moments[0].dim()));
        }
    }
}
