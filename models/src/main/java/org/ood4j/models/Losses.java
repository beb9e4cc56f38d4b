package org.ood4j.models;

import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Var;

/** Loss functions on logits. */
public final class Losses {
    private Losses() {}

    /**
     * Mean cross-entropy of logits (N, C) against int64 class labels (N,), as
     * F.cross_entropy: L = -(1/N) Σ_i log_softmax(z_i)_{y_i}.
     */
    public static Var crossEntropy(Var logits, Tensor labels) {
        return crossEntropySum(logits, labels).div(logits.size(0));
    }

    /** Σ_i -log_softmax(z_i)_{y_i}: a sum of per-sample losses (for per-sample gradients). */
    public static Var crossEntropySum(Var logits, Tensor labels) {
        Tensor hot = oneHot(labels, logits.shape(), logits.dtype());
        Var picked = logits.logSoftmax(1).mul(logits.tape().constant(logits.tape().own(hot)));
        return picked.sum().neg();
    }

    /** Mean cross-entropy without a tape. */
    public static double crossEntropy(Tensor logits, Tensor labels) {
        try (Scope s = Scope.open()) {
            Tensor hot = oneHot(labels, logits.shape(), logits.dtype());
            return -logits.logSoftmax(1).mul(hot).sum().item() / logits.size(0);
        }
    }

    /** Rows of a one-hot matrix (N, C) for labels (N,) in [0, C). */
    static Tensor oneHot(Tensor labels, long[] logitsShape, DType dtype) {
        if (logitsShape.length != 2) throw new IllegalArgumentException("logits must be (N, C), got " + Shape.toString(logitsShape));
        long n = logitsShape[0], c = logitsShape[1];
        if (labels.dtype() != DType.INT64 || labels.rank() != 1 || labels.size(0) != n) {
            throw new IllegalArgumentException("labels must be int64 (" + n + "), got " + labels.dtype() + Shape.toString(labels.shape()));
        }
        for (long y : labels.toLongArray()) {
            if (y < 0 || y >= c) throw new IllegalArgumentException("label " + y + " outside [0, " + c + ")");
        }
        try (Tensor classes = Tensor.arange(c, labels.device()); Tensor row = classes.reshape(1, c); Tensor col = labels.reshape(n, 1);
             Tensor eq = row.eq(col)) {
            return eq.to(dtype);
        }
    }
}
