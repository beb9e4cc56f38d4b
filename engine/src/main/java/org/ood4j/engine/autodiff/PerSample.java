package org.ood4j.engine.autodiff;

import org.ood4j.engine.Backends;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/**
 * Per-sample parameter gradients of the common layers from one batched backward pass. When the
 * loss is a sum of per-sample losses, L = Σ_i ℓ_i, and samples do not interact (evaluation mode),
 * row i of δ = dL/d(layer output) is dℓ_i/d(output_i), so each sample's parameter gradient follows
 * from its own input a_i and δ_i:
 * <ul>
 *   <li>Linear, y = W a + b: G_i = δ_i a_iᵀ, bias δ_i. The outer product is never formed:
 *       ‖δ_i a_iᵀ‖₂² = ‖δ_i‖₂² ‖a_i‖₂² and ‖δ_i a_iᵀ‖₁ = ‖δ_i‖₁ ‖a_i‖₁.</li>
 *   <li>Conv2d: G_i = δ_i U_iᵀ with U_i the unfolded input (C kh kw, L), δ_i viewed as (O, L);
 *       bias Σ_hw δ_i.</li>
 *   <li>BatchNorm (evaluation): weight Σ_hw δ_i x̂_i with x̂ = (x - μ) / √(σ² + eps), bias Σ_hw δ_i.</li>
 * </ul>
 * Norms come back as float64 (B,) tensors and are accumulated in float64.
 */
public final class PerSample {
    private PerSample() {}

    // ---------------------------------------------------------------- linear

    /** Per-sample norms of the Linear weight gradient δ_i a_iᵀ, from a (B, in) and δ (B, out). */
    public static Tensor linearWeightNorms(Tensor a, Tensor delta, Norm norm) {
        requireRows(a, delta, "linear");
        try (Scope s = Scope.open()) {
            return s.keep(rowNorms(a, norm).mul(rowNorms(delta, norm)));
        }
    }

    /** Per-sample Linear weight gradients (B, out, in) = δ_i a_iᵀ. */
    public static Tensor linearWeightGrads(Tensor a, Tensor delta) {
        requireRows(a, delta, "linear");
        try (Tensor d = delta.unsqueeze(2); Tensor x = a.unsqueeze(1)) {
            return d.matmul(x);
        }
    }

    // ---------------------------------------------------------------- conv2d

    /** Per-sample norms of the conv2d weight gradient G_i = δ_i U_iᵀ, from input x (B, C, H, W) and δ (B, O, Hout, Wout). */
    public static Tensor conv2dWeightNorms(Tensor x, Tensor delta, int kh, int kw, int stride, int padding, int dilation, Norm norm) {
        Backends.sameDevice(x, delta);
        return Backends.of(x.device()).convGrad().conv2dWeightGradNorms(x, delta, kh, kw, stride, padding, dilation, norm);
    }

    /** Per-sample conv2d weight gradients (B, O, C, kh, kw). */
    public static Tensor conv2dWeightGrads(Tensor x, Tensor delta, int kh, int kw, int stride, int padding, int dilation) {
        Backends.sameDevice(x, delta);
        return Backends.of(x.device()).convGrad().conv2dWeightGradPerSample(x, delta, kh, kw, stride, padding, dilation);
    }

    // ---------------------------------------------------------------- per-channel sums (bias, batch norm)

    /**
     * Per-sample gradient of a per-channel bias: δ (B, C, ...) summed over everything but the
     * batch and channel dimensions, (B, C). For a Linear layer (B, out) it is δ itself.
     */
    public static Tensor channelBiasGrads(Tensor delta) {
        if (delta.rank() < 2) throw new IllegalArgumentException("bias gradient needs δ (B, C, ...), got " + Shape.toString(delta.shape()));
        try (Scope s = Scope.open()) {
            Tensor r = delta;
            while (r.rank() > 2) r = r.sum(-1);
            return s.keep(r == delta ? delta.copy() : r);
        }
    }

    /** Per-sample gradient of a batch-norm weight (evaluation mode): Σ_hw δ x̂, (B, C). */
    public static Tensor batchNormWeightGrads(Tensor x, Tensor delta, Tensor runningMean, Tensor runningVar, double eps) {
        if (!java.util.Arrays.equals(x.shape(), delta.shape())) {
            throw new IllegalArgumentException("batch norm input " + Shape.toString(x.shape()) + " and gradient "
                    + Shape.toString(delta.shape()) + " differ");
        }
        try (Scope s = Scope.open()) {
            long[] b = new long[x.rank()];
            java.util.Arrays.fill(b, 1);
            b[1] = x.size(1);
            Tensor xhat = x.sub(runningMean.reshape(b)).div(runningVar.add(eps).sqrt().reshape(b));
            return s.keep(channelBiasGrads(delta.mul(xhat)));
        }
    }

    // ---------------------------------------------------------------- norms

    /** Σ|g| or Σg² over everything but dimension 0 of per-sample gradients (B, ...), as float64 (B,). */
    public static Tensor norms(Tensor perSample, Norm norm) {
        try (Scope s = Scope.open()) {
            return s.keep(rowNorms(perSample, norm));
        }
    }

    /** ‖row‖₁ or ‖row‖₂² of each row (dimension 0) in float64; in the caller's scope. */
    private static Tensor rowNorms(Tensor t, Norm norm) {
        Tensor flat = t.reshape(t.size(0), -1).to(DType.FLOAT64);
        return norm == Norm.L1 ? flat.abs().sum(1) : flat.mul(flat).sum(1);
    }

    private static void requireRows(Tensor a, Tensor delta, String layer) {
        if (a.rank() != 2 || delta.rank() != 2 || a.size(0) != delta.size(0)) {
            throw new IllegalArgumentException(layer + " per-sample gradients need input (B, in) and output gradient (B, out), got "
                    + Shape.toString(a.shape()) + " and " + Shape.toString(delta.shape()));
        }
    }
}
