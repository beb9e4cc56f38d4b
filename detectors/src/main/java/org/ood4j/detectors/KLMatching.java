package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.cpu.RowMath;

/**
 * KL-Matching, from Hendrycks et al., "Scaling Out-of-Distribution Detection for Real-World
 * Settings" (ICML 2022). Fit: for each class c the typical posterior
 * <pre>  d_c = mean of softmax(f(x)) over fit samples whose PREDICTED class is c</pre>
 * (labels only mark OOD rows to skip). Score: {@code KL(p || d_yhat) = sum_j p_j (log p_j - log d_yhat,j)}
 * with 0 log 0 = 0 and yhat = argmax p.
 *
 * <p>A sample predicted as a class that no fit sample was predicted as has no typical posterior
 * to match; its score is +infinity (as far from every fitted posterior as can be), never NaN.
 */
public final class KLMatching extends LogitsDetector {
    public KLMatching(Function<Tensor, Tensor> model) {
        super(model);
    }

    @Override public boolean requiresFit() { return true; }

    @Override
    protected void fitOnId(Tensor logits, Tensor labels) {
        // The group sums and the log table scoring reads on the heap; the sums, means and table as tensors.
        Inputs.requireClassTables("KLMatching", logits, 2, 3);
        int classes = Math.toIntExact(logits.size(1));
        Tensor p = logits.to(DType.FLOAT64).softmax(1);
        Tensor predicted = p.argmax(1);
        Tensor counts = Tensor.groupCount(predicted, classes);
        // Classes never predicted get a mean of 0/0; replace those rows by 1 (never read: scored +inf).
        Tensor seen = counts.gt(Tensor.scalar(0, DType.INT64)).unsqueeze(1);
        Tensor dists = Tensor.where(seen, p.groupMean(predicted, classes), Tensor.scalar(1, DType.FLOAT64));
        putState("dists", dists);
        putState("counts", counts);
    }

    /** log d_c (C x C) and which classes have a typical posterior, read from the state once per fit. */
    private record Fitted(double[][] logDists, boolean[] seen) {}

    private volatile Fitted cache;

    private Fitted fitted() {
        Fitted f = cache;
        if (f == null) {
            double[][] logD = state("dists").toDoubleMatrix();
            for (double[] row : logD) for (int j = 0; j < row.length; j++) row[j] = Math.log(row[j]);
            long[] counts = state("counts").toLongArray();
            boolean[] seen = new boolean[counts.length];
            for (int c = 0; c < counts.length; c++) seen[c] = counts[c] > 0;
            f = cache = new Fitted(logD, seen);
        }
        return f;
    }

    @Override
    protected void clearState() {
        super.clearState();
        cache = null;
    }

    /**
     * One fused pass per row: with m = max z, e_j = exp(z_j - m) and s = sum e_j (p = e / s),
     * KL = sum_j p_j (log p_j - log d_j) = (sum_j e_j (z_j - m) - sum_{e_j > 0} e_j log d_j) / s - log s.
     */
    @Override
    protected Tensor scoreChunk(Tensor logits) {
        Fitted f = fitted();
        return logits.reduceRows((z, e, n) -> {
            int predicted = RowMath.argmax(z, n);
            if (!f.seen()[predicted]) return Double.POSITIVE_INFINITY;
            double m = z[predicted];
            System.arraycopy(z, 0, e, 0, n);
            double sum = RowMath.expShiftedSum(e, n, m, true);
            double[] logD = f.logDists()[predicted];
            double ez = 0, ed = 0;
            for (int j = 0; j < n; j++) {
                double ej = e[j];
                if (ej > 0) {
                    ez += ej * (z[j] - m);
                    ed += ej * logD[j];
                }
            }
            return (ez - ed) / sum - Math.log(sum);
        });
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of();
    }
}
