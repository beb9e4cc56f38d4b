package org.ood4j.engine.backend;

import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Norm;

/**
 * Gradients of 2-D convolution and pooling over NCHW tensors, for the autodiff tape. For
 * y = conv2d(x, W) with x_i unfolded into its column matrix U_i (C kh kw, L), L = Hout Wout, and
 * the output gradient of sample i viewed as δ_i (O, L):
 * <ul>
 *   <li>dL/dx_i = col2im(Wᵀ δ_i), W viewed as (O, C kh kw);</li>
 *   <li>dL/dW = Σ_i G_i with the per-sample gradient G_i = δ_i U_iᵀ (O, C kh kw).</li>
 * </ul>
 */
public interface ConvGradOps {
    /** dL/dx (shape {@code inputShape}) from dL/dy (N, O, Hout, Wout) and weight (O, C, kh, kw). */
    Tensor conv2dInputGrad(Tensor gradOut, Tensor weight, long[] inputShape, int stride, int padding, int dilation);

    /** dL/dW (O, C, kh, kw) = Σ_i δ_i U_iᵀ. */
    Tensor conv2dWeightGrad(Tensor x, Tensor gradOut, int kh, int kw, int stride, int padding, int dilation);

    /** The per-sample weight gradients G_i (N, O, C, kh, kw). */
    Tensor conv2dWeightGradPerSample(Tensor x, Tensor gradOut, int kh, int kw, int stride, int padding, int dilation);

    /**
     * Per-sample norms of G_i (float64, (N,)), each G_i formed and reduced on its own so no
     * (N, O, C kh kw) block is ever held. A backend may take ‖G_i‖² = Σ (δ_iᵀδ_i) ⊙ (U_iᵀU_i)
     * through L × L Gram matrices where that is cheaper (small output planes).
     */
    Tensor conv2dWeightGradNorms(Tensor x, Tensor gradOut, int kh, int kw, int stride, int padding, int dilation, Norm norm);

    /** dL/dx of max pooling: each window's gradient goes to its first maximum (NaN counts as the maximum). */
    Tensor maxPool2dGrad(Tensor x, Tensor gradOut, int kernel, int stride);

    /** dL/dx of adaptive average pooling: each window's gradient spread evenly over the window. */
    Tensor adaptiveAvgPool2dGrad(Tensor gradOut, long[] inputShape);

    // ---------------------------------------------------------------- the checks every backend makes first

    /** conv2dInputGrad's shape, geometry and dtype rules; returns the result dtype (gradOut's and weight's promoted). */
    static DType checkInputGrad(Tensor gradOut, Tensor weight, long[] inputShape, int stride, int padding, int dilation) {
        if (inputShape.length != 4) {
            throw new IllegalArgumentException("conv2d input gradient needs an (N, C, H, W) input shape, got " + Shape.toString(inputShape));
        }
        if (weight.rank() != 4) {
            throw new IllegalArgumentException("conv2d input gradient needs weight (O, C, kh, kw), got " + Shape.toString(weight.shape()));
        }
        checkGeometry(weight.size(2), weight.size(3), stride, padding, dilation);
        checkGradOut(gradOut, inputShape, weight.size(0), weight.size(2), weight.size(3), stride, padding, dilation);
        if (weight.size(1) != inputShape[1]) {
            throw new IllegalArgumentException("conv2d weight " + Shape.toString(weight.shape()) + " does not fit input "
                    + Shape.toString(inputShape));
        }
        return floating(DType.promote(gradOut.dtype(), weight.dtype()), "conv2d input gradient");
    }

    /** The weight-gradient methods' rules; returns the result dtype (x's and gradOut's promoted). */
    static DType checkWeightGrad(Tensor x, Tensor gradOut, int kh, int kw, int stride, int padding, int dilation) {
        ConvOps.requireNchw(x, "conv2d weight gradient");
        checkGeometry(kh, kw, stride, padding, dilation);
        checkGradOut(gradOut, x.shape(), gradOut.rank() == 4 ? gradOut.size(1) : -1, kh, kw, stride, padding, dilation);
        return floating(DType.promote(x.dtype(), gradOut.dtype()), "conv2d weight gradient");
    }

    /** maxPool2dGrad's rules; returns the result dtype (x's and gradOut's promoted). */
    static DType checkMaxPoolGrad(Tensor x, Tensor gradOut, int kernel, int stride) {
        ConvOps.requireNchw(x, "maxPool2d gradient");
        long h = x.size(2), w = x.size(3);
        if (kernel < 1 || stride < 1 || kernel > h || kernel > w) {
            throw new IllegalArgumentException("maxPool2d kernel " + kernel + ", stride " + stride + " do not fit input "
                    + Shape.toString(x.shape()));
        }
        requirePoolGradShape(gradOut, x.size(0), x.size(1), (h - kernel) / stride + 1, (w - kernel) / stride + 1);
        floating(gradOut.dtype(), "pooling gradient");
        return DType.promote(x.dtype(), gradOut.dtype());
    }

    /** adaptiveAvgPool2dGrad's rules (the output size is gradOut's); the result has gradOut's dtype. */
    static void checkAdaptiveAvgPoolGrad(Tensor gradOut, long[] inputShape) {
        if (inputShape.length != 4 || gradOut.rank() != 4) {
            throw new IllegalArgumentException("adaptiveAvgPool2d gradient needs NCHW shapes, got input " + Shape.toString(inputShape)
                    + " and gradient " + Shape.toString(gradOut.shape()));
        }
        requirePoolGradShape(gradOut, inputShape[0], inputShape[1], gradOut.size(2), gradOut.size(3));
        floating(gradOut.dtype(), "pooling gradient");
    }

    private static void checkGeometry(long kh, long kw, int stride, int padding, int dilation) {
        if (stride < 1 || dilation < 1 || padding < 0 || kh < 1 || kw < 1) {
            throw new IllegalArgumentException("conv2d gradient needs kernel >= 1, stride >= 1, dilation >= 1, padding >= 0; got kernel "
                    + kh + "x" + kw + ", stride " + stride + ", padding " + padding + ", dilation " + dilation);
        }
    }

    private static void checkGradOut(Tensor gradOut, long[] in, long o, long kh, long kw, int stride, int padding, int dilation) {
        long outH = ConvOps.outSize(in[2], kh, stride, padding, dilation), outW = ConvOps.outSize(in[3], kw, stride, padding, dilation);
        if (gradOut.rank() != 4 || gradOut.size(0) != in[0] || gradOut.size(1) != o || gradOut.size(2) != outH
                || gradOut.size(3) != outW) {
            throw new IllegalArgumentException("conv2d output gradient " + Shape.toString(gradOut.shape()) + " should be ["
                    + in[0] + ", " + (o < 0 ? "O" : o) + ", " + outH + ", " + outW + "]");
        }
    }

    private static void requirePoolGradShape(Tensor gradOut, long n, long c, long h, long w) {
        if (gradOut.rank() != 4 || gradOut.size(0) != n || gradOut.size(1) != c || gradOut.size(2) != h || gradOut.size(3) != w) {
            throw new IllegalArgumentException("pooling output gradient " + Shape.toString(gradOut.shape()) + " should be ["
                    + n + ", " + c + ", " + h + ", " + w + "]");
        }
    }

    private static DType floating(DType type, String op) {
        if (!type.isFloating()) throw new IllegalArgumentException(op + " needs floating tensors, got " + type);
        return type;
    }
}
