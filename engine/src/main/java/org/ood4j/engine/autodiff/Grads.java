package org.ood4j.engine.autodiff;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;

/** Helpers of the backward functions; they run inside the tape's backward scope. */
final class Grads {
    private Grads() {}

    /**
     * The adjoint of broadcasting {@code shape} up to g's shape: sums g over the leading
     * dimensions broadcasting added and over the dimensions that were stretched from 1.
     */
    static Tensor sumTo(Tensor g, long[] shape) {
        Tensor r = g;
        while (r.rank() > shape.length) r = r.sum(0);
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] == 1 && r.size(d) != 1) r = r.sum(d, true);
        }
        return r.reshape(shape);
    }

    /** g with a dimension of size 1 put back at {@code dim} when a reduction dropped it. */
    static Tensor restoreDim(Tensor g, int dim, boolean keepdim) {
        return keepdim ? g : g.unsqueeze(dim);
    }

    /** 1 where {@code x} > 0, else 0, in x's dtype. */
    static Tensor positive(Tensor x) {
        return x.sign().clampMin(0);
    }

    /** 1 where lo <= x <= hi (clamp leaves x as it is), else 0 (NaN too), in x's dtype. */
    static Tensor within(Tensor x, double lo, double hi) {
        return x.clamp(lo, hi).eq(x).to(x.dtype());
    }

    /** A one-hot mask of x's shape: 1 at {@code index} (keepdim shape, int64) along dim. */
    static Tensor oneHot(Tensor index, long[] shape, int dim, DType dtype) {
        long[] s = new long[shape.length];
        java.util.Arrays.fill(s, 1);
        s[dim] = shape[dim];
        return Tensor.arange(shape[dim], index.device()).reshape(s).eq(index).to(dtype);
    }

    static int[] inverse(int[] order) {
        int[] inv = new int[order.length];
        for (int i = 0; i < order.length; i++) inv[order[i]] = i;
        return inv;
    }
}
