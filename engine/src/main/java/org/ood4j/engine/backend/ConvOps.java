package org.ood4j.engine.backend;

import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/** 2-D convolution and pooling over NCHW tensors (forward). */
public interface ConvOps {
    /** weight (O, C, kh, kw), bias (O) or null; zero padding; groups = 1. */
    Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding, int dilation);

    /** Max pooling, no padding. */
    Tensor maxPool2d(Tensor x, int kernel, int stride);

    /** Average pooling to (outH, outW) with PyTorch's adaptive windows. */
    Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW);

    /**
     * The mean over H and W of clamp(x, lower, upper): (N, C, 1, 1), the fused form of
     * {@code adaptiveAvgPool2d(x.maximum(lower).minimum(upper), 1, 1)} (ReAct's and VRA's shaping
     * before a global-pooling head). {@code lower} and {@code upper} are null (unbounded) or
     * broadcast to (C, H, W); the result has the dtype of that composition. This default is the
     * composition itself; a backend may fuse it into one pass over x.
     */
    default Tensor clampedGlobalAvgPool(Tensor x, Tensor lower, Tensor upper) {
        requireNchw(x, "clampedGlobalAvgPool");
        Tensor low = lower == null ? null : x.maximum(lower);
        Tensor clamped = upper == null ? low : (low == null ? x : low).minimum(upper);
        try {
            return adaptiveAvgPool2d(clamped == null ? x : clamped, 1, 1);
        } finally {
            if (low != null) low.close();
            if (clamped != null && clamped != low) clamped.close();
        }
    }

    /**
     * {@link #clampedGlobalAvgPool}(x, lower, upper), or null when x holds NaN or an infinity: the
     * input check of a caller that refuses such maps, in the pooling pass where the backend fuses
     * it (the CPU does for float32). This default checks first, then pools.
     */
    default Tensor clampedGlobalAvgPoolIfFinite(Tensor x, Tensor lower, Tensor upper) {
        return x.allFinite() ? clampedGlobalAvgPool(x, lower, upper) : null;
    }

    /** The shape, channel, bias, geometry and dtype rules every backend checks first; returns the result dtype. */
    static DType check(Tensor x, Tensor weight, Tensor bias, int stride, int padding, int dilation) {
        requireNchw(x, "conv2d");
        if (weight.rank() != 4) {
            throw new IllegalArgumentException("conv2d needs weight (O, C, kh, kw), got " + Shape.toString(weight.shape()));
        }
        if (weight.size(1) != x.size(1)) {
            throw new IllegalArgumentException("conv2d input " + Shape.toString(x.shape()) + " has " + x.size(1)
                    + " channels but weight " + Shape.toString(weight.shape()) + " expects " + weight.size(1));
        }
        if (bias != null && (bias.rank() != 1 || bias.size(0) != weight.size(0))) {
            throw new IllegalArgumentException("conv2d bias must be (" + weight.size(0) + ") for weight "
                    + Shape.toString(weight.shape()) + ", got " + Shape.toString(bias.shape()));
        }
        if (stride < 1 || dilation < 1 || padding < 0) {
            throw new IllegalArgumentException("conv2d needs stride >= 1, dilation >= 1, padding >= 0; got stride "
                    + stride + ", padding " + padding + ", dilation " + dilation);
        }
        if (!weight.dtype().isFloating() || (bias != null && !bias.dtype().isFloating())) {
            throw new IllegalArgumentException("conv2d needs floating tensors, got weight " + weight.dtype()
                    + (bias != null ? ", bias " + bias.dtype() : ""));
        }
        return DType.promote(x.dtype(), weight.dtype());
    }

    /** Output size of one spatial dimension: (in + 2p - d(k-1) - 1) / s + 1, or 0 when the kernel does not fit. */
    static long outSize(long in, long k, int stride, int padding, int dilation) {
        long span = (long) dilation * (k - 1) + 1;
        long room = in + 2L * padding - span;
        return room < 0 ? 0 : room / stride + 1;
    }

    static void requireNchw(Tensor x, String op) {
        if (x.rank() != 4) throw new IllegalArgumentException(op + " needs input (N, C, H, W), got " + Shape.toString(x.shape()));
    }
}
