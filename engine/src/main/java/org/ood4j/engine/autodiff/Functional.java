package org.ood4j.engine.autodiff;

import java.util.random.RandomGenerator;

import org.ood4j.engine.Backends;
import org.ood4j.engine.Conv;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.ConvGradOps;

/**
 * Differentiable neural-network functions on {@link Var}s (the counterpart of
 * torch.nn.functional): linear, convolution, pooling, batch normalisation and dropout.
 */
public final class Functional {
    private Functional() {}

    /** y = x Wᵀ + b for x (N, in), W (out, in), b (out) or null. */
    public static Var linear(Var x, Var weight, Var bias) {
        Var y = x.matmul(weight.t());
        return bias == null ? y : y.add(bias);
    }

    // ---------------------------------------------------------------- convolution and pooling

    /**
     * 2-D convolution (zero padding, groups = 1). Gradients: dx = col2im(Wᵀ δ), dW = Σ_i δ_i U_iᵀ
     * (U_i the unfolded input, see {@link ConvGradOps}), db = δ summed over N, H, W.
     */
    public static Var conv2d(Var x, Var weight, Var bias, int stride, int padding, int dilation) {
        Tensor xv = x.value(), w = weight.value();
        Tensor out = Conv.conv2d(xv, w, bias == null ? null : bias.value(), stride, padding, dilation);
        int kh = (int) w.size(2), kw = (int) w.size(3);
        Backward backward = (g, need) -> {
            ConvGradOps ops = Backends.of(g.device()).convGrad();
            return new Tensor[] {
                need[0] ? ops.conv2dInputGrad(g, w, xv.shape(), stride, padding, dilation) : null,
                need[1] ? ops.conv2dWeightGrad(xv, g, kh, kw, stride, padding, dilation) : null,
                need.length > 2 && need[2] ? g.sum(3).sum(2).sum(0) : null};
        };
        return bias == null ? x.tape().record("conv2d", out, backward, x, weight)
                : x.tape().record("conv2d", out, backward, x, weight, bias);
    }

    /** Max pooling without padding; the gradient goes to each window's first maximum. */
    public static Var maxPool2d(Var x, int kernel, int stride) {
        Tensor xv = x.value();
        return x.tape().record("max_pool2d", Conv.maxPool2d(xv, kernel, stride), (g, need) -> new Tensor[] {
            Backends.of(g.device()).convGrad().maxPool2dGrad(xv, g, kernel, stride)}, x);
    }

    /** Adaptive average pooling to (outH, outW) with PyTorch's windows. */
    public static Var adaptiveAvgPool2d(Var x, int outH, int outW) {
        long[] s = x.shape();
        return x.tape().record("adaptive_avg_pool2d", Conv.adaptiveAvgPool2d(x.value(), outH, outW), (g, need) -> new Tensor[] {
            Backends.of(g.device()).convGrad().adaptiveAvgPool2dGrad(g, s)}, x);
    }

    // ---------------------------------------------------------------- normalisation

    /**
     * Batch normalisation with fixed statistics (evaluation mode), per channel c of x (N, C, ...):
     * y = (x - μ_c) / √(σ²_c + eps) · γ_c + β_c. weight/bias may be null (no affine part).
     */
    public static Var batchNormEval(Var x, Var weight, Var bias, Tensor runningMean, Tensor runningVar, double eps) {
        Tape tape = x.tape();
        long[] bshape = channelShape(x);
        Var mean = tape.constant(tape.own(runningMean.reshape(bshape)));
        Var invStd;
        try (Tensor shifted = runningVar.add(eps); Tensor std = shifted.sqrt(); Tensor inv = std.reciprocal(1)) {
            invStd = tape.constant(tape.own(inv.reshape(bshape)));
        }
        Var y = x.sub(mean).mul(invStd);
        return affine(y, weight, bias, bshape);
    }

    /** The output of a training-mode batch norm and the batch statistics it used. */
    public record BatchNormResult(Var output, Tensor batchMean, Tensor batchVar) {}

    /**
     * Batch normalisation with the statistics of the batch (training mode): μ_c, σ²_c = mean and
     * biased variance over every dimension but 1; y = (x - μ) / √(σ² + eps) · γ + β, differentiated
     * through μ and σ² as well. batchMean/batchVar (C,) belong to the tape (for running statistics).
     */
    public static BatchNormResult batchNormTrain(Var x, Var weight, Var bias, double eps) {
        long[] bshape = channelShape(x);
        Var mean = meanOverAllButChannels(x);
        Var centred = x.sub(mean);
        Var var = meanOverAllButChannels(centred.mul(centred));
        Var y = centred.div(var.add(eps).sqrt());
        Tensor m = x.tape().own(mean.value().reshape(bshape[1])), v = x.tape().own(var.value().reshape(bshape[1]));
        return new BatchNormResult(affine(y, weight, bias, bshape), m, v);
    }

    private static Var meanOverAllButChannels(Var x) {
        Var m = x;
        for (int d = 0; d < x.rank(); d++) {
            if (d != 1) m = m.mean(d, true);
        }
        return m;
    }

    private static Var affine(Var y, Var weight, Var bias, long[] bshape) {
        if (weight != null) y = y.mul(weight.reshape(bshape));
        if (bias != null) y = y.add(bias.reshape(bshape));
        return y;
    }

    /** (1, C, 1, ...) for x (N, C, ...). */
    private static long[] channelShape(Var x) {
        if (x.rank() < 2) throw new IllegalArgumentException("batch norm needs input (N, C, ...), got " + Shape.toString(x.shape()));
        long[] s = new long[x.rank()];
        java.util.Arrays.fill(s, 1);
        s[1] = x.size(1);
        return s;
    }

    // ---------------------------------------------------------------- dropout

    /**
     * Inverted dropout: each element is zeroed with probability p, the rest scaled by 1/(1 - p);
     * the same mask scales the gradient. p = 0 returns x.
     */
    public static Var dropout(Var x, double p, RandomGenerator rng) {
        if (p < 0 || p > 1) throw new IllegalArgumentException("dropout probability must be in [0, 1], got " + p);
        if (p == 0) return x;
        Tape tape = x.tape();
        Tensor mask = tape.own(dropoutMask(rng, x.value(), p));
        return x.mul(tape.constant(mask));
    }

    /** A mask of x's shape and dtype: 0 with probability p, else 1/(1 - p) (all 0 when p = 1). */
    public static Tensor dropoutMask(RandomGenerator rng, Tensor x, double p) {
        double keep = p >= 1 ? 0 : 1 / (1 - p);
        int n = Math.toIntExact(x.numel());
        if (x.dtype() == org.ood4j.engine.DType.FLOAT32) {
            float[] m = new float[n];
            for (int i = 0; i < n; i++) m[i] = rng.nextDouble() >= p ? (float) keep : 0f;
            try (Tensor t = Tensor.of(m, x.shape())) {
                return t.to(x.device());
            }
        }
        double[] m = new double[n];
        for (int i = 0; i < n; i++) m[i] = rng.nextDouble() >= p ? keep : 0;
        try (Tensor t = Tensor.of(m, x.shape()); Tensor d = t.to(x.dtype())) {
            return d.to(x.device());
        }
    }
}
