package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

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

    @Override
    protected Tensor scoreChunk(Tensor logits) {
        Tensor z = logits.to(DType.FLOAT64);
        Tensor p = z.softmax(1);
        Tensor logp = z.logSoftmax(1);
        Tensor predicted = p.argmax(1);
        Tensor d = state("dists").indexSelect(0, predicted);
        Tensor terms = Tensor.where(p.gt(Tensor.scalar(0, DType.FLOAT64)), p.mul(logp.sub(d.log())), Tensor.scalar(0, DType.FLOAT64));
        Tensor kl = terms.sum(1);
        Tensor seen = state("counts").indexSelect(0, predicted).gt(Tensor.scalar(0, DType.INT64));
        return Tensor.where(seen, kl, Tensor.scalar(Double.POSITIVE_INFINITY, DType.FLOAT64));
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of();
    }
}
