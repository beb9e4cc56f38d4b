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
        int k = n - (int) Math.rint(n * percentile);
        double[][] rows = maps.reshape(shape[0], n).to(DType.FLOAT64).toDoubleMatrix();
        double[] out = new double[rows.length * n];
        IntStream.range(0, rows.length).parallel().forEach(i -> shapeRow(rows[i], k, out, i * n));
        return Tensor.of(out, shape);
    }

    private void shapeRow(double[] a, int k, double[] out, int at) {
        if (k == 0) return;
        int n = a.length;
        // the k-th largest value, then every value above it and the first (lowest-index) ties at it:
        // exactly the k positions a stable descending sort would keep
        double cut = kthLargest(a.clone(), k);
        int above = 0;
        double total = 0, kept = 0;
        for (double v : a) {
            total += v;
            if (v > cut) {
                above++;
                kept += v;
            }
        }
        int ties = k - above;
        kept += ties * cut;
        double scale = switch (variant) {
            case "ash-s" -> kept == 0 ? 1 : Math.exp(total / kept);
            default -> 1;
        };
        boolean binary = variant.equals("ash-b");
        for (int j = 0; j < n; j++) {
            double v = a[j];
            boolean keep = v > cut || (v == cut && ties-- > 0);
            if (keep) out[at + j] = binary ? total / k : v * scale;
        }
    }

    /** The k-th largest of v (1 <= k <= v.length), by quickselect; v is reordered. */
    static double kthLargest(double[] v, int k) {
        int lo = 0, hi = v.length - 1, target = k - 1;   // position in descending order
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
