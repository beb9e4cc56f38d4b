package org.ood4j.detectors;

import java.util.Arrays;
import java.util.function.Function;
import java.util.stream.IntStream;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;

/**
 * Activation shaping, from Djurisic et al., "Extremely Simple Activation Shaping for
 * Out-of-Distribution Detection" (ICLR 2023). Per sample, of the n = C*H*W activations a the
 * k = n - round_half_even(n * percentile) largest are kept and the rest set to 0 (ash-p); ash-b
 * gives every kept position sum(a)/k; ash-s multiplies the pruned map by exp(sum(a) / sum(pruned)).
 * Score: {@code detector(head(shaped maps))}.
 *
 * <p>Ties at the cut keep the lower positions (a stable order), so exactly k positions are kept.
 * A pruned map summing to 0 (all kept activations 0) has nothing to rescale: ash-s leaves it at 0.
 */
public final class ASH extends FeatureMapsDetector {
    private final String variant;
    private final double percentile;

    public ASH(Function<Tensor, Tensor> backbone, Function<Tensor, Tensor> head, String variant, double percentile,
               Function<Tensor, Tensor> detector) {
        super(backbone, head, detector);
        if (!Arrays.asList("ash-p", "ash-b", "ash-s").contains(variant)) {
            throw new IllegalArgumentException("ASH variant must be ash-p, ash-b or ash-s, got '" + variant + "'");
        }
        this.variant = variant;
        this.percentile = Params.inRange("percentile", percentile, 0, 1);
    }

    @Override public boolean requiresFit() { return false; }

    @Override
    protected Tensor shape(Tensor maps) {
        long[] shape = maps.shape();
        int n = (int) (shape[1] * shape[2] * shape[3]);
        int k = keptCount(n);
        // intermediates are left to the caller's scope (the chunk's)
        return maps.reshape(shape[0], n).mapRows(n, (a, scratch, len, out) -> {
            if (k > 0) shapeRow(a, len, k, out);
        }).reshape(shape);
    }

    /**
     * The global average pool of the shaped maps, (N, C, 1, 1) float64, without them: per channel
     * the mean of its kept (shaped) activations, each sample's map read once.
     */
    @Override
    protected Tensor pooledShape(Tensor maps) {
        long[] shape = maps.shape();
        int channels = (int) shape[1], plane = (int) (shape[2] * shape[3]), n = channels * plane;
        int k = keptCount(n);
        Tensor sums = maps.reshape(shape[0], n).mapRows(channels, (a, scratch, len, out) -> {
            if (k == 0) return;
            shapeRow(a, len, k, scratch);
            // channel by channel over the shaped row (0 where pruned, which adds nothing): no division per position
            for (int c = 0, j = 0; c < channels; c++) {
                double sum = 0;
                for (int end = j + plane; j < end; j++) sum += scratch[j];
                out[c] = sum;
            }
        });
        return sums.div(plane).reshape(shape[0], channels, 1, 1);
    }

    private int keptCount(int n) {
        return n - (int) Math.rint(n * percentile);
    }

    /**
     * Shapes one sample's n activations a[0..n) (k >= 1 kept) into shaped[0..n): the shaped value
     * at a kept position, 0 elsewhere. shaped (n doubles) first takes a copy of a for the selection.
     */
    private void shapeRow(double[] a, int n, int k, double[] shaped) {
        System.arraycopy(a, 0, shaped, 0, n);
        // the k-th largest value, then every value above it and the first (lowest-index) ties at it:
        // exactly the k positions a stable descending sort would keep
        double cut = kthLargest(shaped, n, k);
        int above = 0;
        double total = 0, keptSum = 0;
        for (int j = 0; j < n; j++) {
            double v = a[j];
            total += v;
            if (v > cut) {
                above++;
                keptSum += v;
            }
        }
        int ties = k - above;
        keptSum += ties * cut;
        double scale = switch (variant) {
            case "ash-s" -> keptSum == 0 ? 1 : Math.exp(total / keptSum);
            default -> 1;
        };
        boolean binary = variant.equals("ash-b");
        for (int j = 0; j < n; j++) {
            double v = a[j];
            shaped[j] = v > cut || (v == cut && ties-- > 0) ? (binary ? total / k : v * scale) : 0;
        }
    }

    /** The k-th largest of v[0..n) (1 <= k <= n), by quickselect; v is reordered. */
    static double kthLargest(double[] v, int n, int k) {
        int lo = 0, hi = n - 1, target = k - 1;   // position in descending order
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            // median of three as the pivot
            double a = v[lo], b = v[mid], c = v[hi];
            double pivot = a > b ? (b > c ? b : Math.min(a, c)) : (a > c ? a : Math.min(b, c));
            int i = lo, j = hi;
            while (i <= j) {
                while (v[i] > pivot) i++;
                while (v[j] < pivot) j--;
                if (i <= j) {
                    double t = v[i];
                    v[i] = v[j];
                    v[j] = t;
                    i++;
                    j--;
                }
            }
            if (target <= j) hi = j;
            else if (target >= i) lo = i;
            else return v[target];
        }
        return v[target];
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("variant", variant, "percentile", percentile, "detector", detectorName());
    }
}
