package org.ood4j.models;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

import org.ood4j.engine.Conv;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Functional;
import org.ood4j.engine.autodiff.Norm;
import org.ood4j.engine.autodiff.PerSample;
import org.ood4j.engine.autodiff.Var;

/**
 * 2-D convolution over (N, C, H, W) with zero padding and groups = 1, as nn.Conv2d: weight
 * (out, in, kh, kw), bias (out). Per-sample gradients: weight δ_i U_iᵀ through the unfolded input
 * U_i, bias Σ_hw δ_i.
 */
public final class Conv2d extends Module implements PerSampleLayer {
    private final int in, out, kh, kw, stride, padding, dilation;
    private final Parameter weight, bias;

    /** A square kernel with zero weights, to be loaded. */
    public Conv2d(int in, int out, int kernel, int stride, int padding, boolean bias) {
        this(in, out, kernel, kernel, stride, padding, 1, bias, null);
    }

    /** PyTorch's default initialisation U(-1/√(in kh kw), ·) from rng (zeros when rng is null). */
    public Conv2d(int in, int out, int kh, int kw, int stride, int padding, int dilation, boolean bias, RandomGenerator rng) {
        if (in < 1 || out < 1 || kh < 1 || kw < 1 || stride < 1 || padding < 0 || dilation < 1) {
            throw new IllegalArgumentException("Conv2d(" + in + ", " + out + ", kernel " + kh + "x" + kw + ", stride " + stride
                    + ", padding " + padding + ", dilation " + dilation + "): sizes must be positive, padding >= 0");
        }
        this.in = in;
        this.out = out;
        this.kh = kh;
        this.kw = kw;
        this.stride = stride;
        this.padding = padding;
        this.dilation = dilation;
        long fanIn = (long) in * kh * kw;
        this.weight = parameter("weight", rng == null ? Tensor.zeros(DType.FLOAT32, out, in, kh, kw) : Init.fanInUniform(rng, fanIn, out, in, kh, kw));
        this.bias = !bias ? null : parameter("bias", rng == null ? Tensor.zeros(DType.FLOAT32, out) : Init.fanInUniform(rng, fanIn, out));
    }

    public Parameter weight() { return weight; }

    /** The bias, or null. */
    public Parameter bias() { return bias; }

    public int stride() { return stride; }

    public int padding() { return padding; }

    public int dilation() { return dilation; }

    @Override
    public Tensor forward(Tensor x) {
        return Conv.conv2d(x, weight.value(), bias == null ? null : bias.value(), stride, padding, dilation);
    }

    @Override
    public Var forward(Var x) {
        var tape = x.tape();
        return traced(x, Functional.conv2d(x, tape.leaf(weight.value()), bias == null ? null : tape.leaf(bias.value()),
                stride, padding, dilation));
    }

    @Override
    public Tensor perSampleNorms(Tensor input, Tensor outputGrad, Set<String> names, Norm norm) {
        try (Scope s = Scope.open()) {
            Tensor total = Tensor.zeros(DType.FLOAT64, input.device(), input.size(0));
            if (names.contains("weight")) {
                total = total.add(PerSample.conv2dWeightNorms(input, outputGrad, kh, kw, stride, padding, dilation, norm));
            }
            if (names.contains("bias")) total = total.add(PerSample.norms(PerSample.channelBiasGrads(outputGrad), norm));
            return s.keep(total);
        }
    }

    @Override
    public Map<String, Tensor> perSampleGrads(Tensor input, Tensor outputGrad, Set<String> names) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        if (names.contains("weight")) out.put("weight", PerSample.conv2dWeightGrads(input, outputGrad, kh, kw, stride, padding, dilation));
        if (names.contains("bias")) out.put("bias", PerSample.channelBiasGrads(outputGrad));
        return out;
    }

    @Override
    public String toString() {
        return "Conv2d(" + in + ", " + out + ", kernel " + kh + "x" + kw + ", stride " + stride + ", padding " + padding
                + (dilation != 1 ? ", dilation " + dilation : "") + (bias == null ? ", bias=false" : "") + ")";
    }
}
