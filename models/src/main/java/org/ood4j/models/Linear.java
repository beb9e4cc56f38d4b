package org.ood4j.models;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Functional;
import org.ood4j.engine.autodiff.Norm;
import org.ood4j.engine.autodiff.PerSample;
import org.ood4j.engine.autodiff.Var;

/**
 * y = x Wᵀ + b, weight (out, in), bias (out), as nn.Linear; x is (N, in) or (N, ..., in).
 * Per-sample gradients: weight δ_i a_iᵀ (norm ‖δ_i‖·‖a_i‖ without forming it), bias δ_i.
 */
public final class Linear extends Module implements PerSampleLayer {
    private final int in, out;
    private final Parameter weight, bias;

    /** Zero weights, to be loaded. */
    public Linear(int in, int out, boolean bias) {
        this(in, out, bias, null);
    }

    /** PyTorch's default initialisation U(-1/√in, 1/√in) from rng (zeros when rng is null). */
    public Linear(int in, int out, boolean bias, RandomGenerator rng) {
        this.in = in;
        this.out = out;
        this.weight = parameter("weight", rng == null ? Tensor.zeros(DType.FLOAT32, out, in) : Init.fanInUniform(rng, in, out, in));
        this.bias = !bias ? null : parameter("bias", rng == null ? Tensor.zeros(DType.FLOAT32, out) : Init.fanInUniform(rng, in, out));
    }

    public int inFeatures() { return in; }

    public int outFeatures() { return out; }

    public Parameter weight() { return weight; }

    /** The bias, or null. */
    public Parameter bias() { return bias; }

    @Override
    public Tensor forward(Tensor x) {
        checkInput(x.shape());
        try (Scope s = Scope.open()) {
            Tensor x2 = x.reshape(-1, in);
            Tensor y = x2.matmul(weight.value().t());
            if (bias != null) y = y.add(bias.value());
            return s.keep(y.reshape(outShape(x.shape())));
        }
    }

    @Override
    public Var forward(Var x) {
        checkInput(x.shape());
        var tape = x.tape();
        Var y = Functional.linear(x.rank() == 2 ? x : x.reshape(-1, in), tape.leaf(weight.value()),
                bias == null ? null : tape.leaf(bias.value()));
        return traced(x, x.rank() == 2 ? y : y.reshape(outShape(x.shape())));
    }

    private long[] outShape(long[] xShape) {
        long[] s = xShape.clone();
        s[s.length - 1] = out;
        return s;
    }

    private void checkInput(long[] shape) {
        if (shape.length < 2 || shape[shape.length - 1] != in) {
            throw new IllegalArgumentException("Linear(" + in + ", " + out + ") needs input (N, ..., " + in + "), got " + Shape.toString(shape));
        }
    }

    @Override
    public Tensor perSampleNorms(Tensor input, Tensor outputGrad, Set<String> names, Norm norm) {
        try (Scope s = Scope.open()) {
            Tensor total = Tensor.zeros(DType.FLOAT64, input.device(), input.size(0));
            if (names.contains("weight")) total = total.add(PerSample.linearWeightNorms(input, outputGrad, norm));
            if (names.contains("bias")) total = total.add(PerSample.norms(outputGrad, norm));
            return s.keep(total);
        }
    }

    @Override
    public Map<String, Tensor> perSampleGrads(Tensor input, Tensor outputGrad, Set<String> names) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        if (names.contains("weight")) out.put("weight", PerSample.linearWeightGrads(input, outputGrad));
        if (names.contains("bias")) out.put("bias", outputGrad.copy());
        return out;
    }

    @Override
    public String toString() {
        return "Linear(" + in + ", " + out + (bias == null ? ", bias=false" : "") + ")";
    }
}
