package org.ood4j.models;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.ood4j.engine.Scope;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/**
 * Adam, as torch.optim.Adam (L2 weight decay added to the gradient, no amsgrad): at step t,
 * m ← β₁ m + (1 - β₁) g, v ← β₂ v + (1 - β₂) g², p ← p - lr (m / (1 - β₁ᵗ)) / (√(v / (1 - β₂ᵗ)) + ε).
 */
public final class Adam implements Optimizer {
    private final List<Parameter> params;
    private final double lr, beta1, beta2, eps, weightDecay;
    private final List<Tensor> m = new ArrayList<>(), v = new ArrayList<>();
    private int t;

    /** β₁ = 0.9, β₂ = 0.999, ε = 1e-8, no weight decay. */
    public Adam(List<Parameter> params, double lr) {
        this(params, lr, 0.9, 0.999, 1e-8, 0);
    }

    public Adam(List<Parameter> params, double lr, double beta1, double beta2, double eps, double weightDecay) {
        this.params = List.copyOf(params);
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        for (Parameter p : this.params) {
            m.add(Scope.release(Tensor.zeros(p.dtype(), p.value().device(), p.shape())));
            v.add(Scope.release(Tensor.zeros(p.dtype(), p.value().device(), p.shape())));
        }
    }

    @Override
    public List<Parameter> parameters() { return params; }

    @Override
    public void step(List<Tensor> grads) {
        checkGrads(params, grads);
        t++;
        double c1 = 1 - Math.pow(beta1, t), c2 = 1 - Math.pow(beta2, t);
        try (Scope s = Scope.open()) {
            for (int i = 0; i < params.size(); i++) {
                Tensor p = params.get(i).value();
                Tensor g = weightDecay == 0 ? grads.get(i) : grads.get(i).add(p.mul(weightDecay));
                m.get(i).copyFrom(m.get(i).mul(beta1).add(g.mul(1 - beta1)));
                v.get(i).copyFrom(v.get(i).mul(beta2).add(g.mul(g).mul(1 - beta2)));
                Tensor denom = v.get(i).div(c2).sqrt().add(eps);
                p.copyFrom(p.sub(m.get(i).div(c1).div(denom).mul(lr)));
            }
        }
    }

    static void checkGrads(List<Parameter> params, List<Tensor> grads) {
        if (grads.size() != params.size()) {
            throw new IllegalArgumentException(grads.size() + " gradients for " + params.size() + " parameters");
        }
        for (int i = 0; i < grads.size(); i++) {
            if (!Arrays.equals(grads.get(i).shape(), params.get(i).shape())) {
                throw new IllegalArgumentException("gradient " + i + " has shape " + Shape.toString(grads.get(i).shape())
                        + ", parameter " + params.get(i).name() + " has " + Shape.toString(params.get(i).shape()));
            }
        }
    }

    @Override
    public void close() {
        m.forEach(Tensor::close);
        v.forEach(Tensor::close);
        m.clear();
        v.clear();
    }
}
