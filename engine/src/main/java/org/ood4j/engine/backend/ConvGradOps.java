package org.ood4j.engine.backend;

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
}
