package org.ood4j.models;

import java.util.ArrayList;
import java.util.List;

import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * Stochastic gradient descent with momentum and weight decay, as torch.optim.SGD (dampening 0,
 * not Nesterov): g ← g + λ p; b ← μ b + g (b = g at the first step); p ← p - lr b.
 */
public final class Sgd implements Optimizer {
    private final List<Parameter> params;
    private final double lr, momentum, weightDecay;
    private final List<Tensor> buffers = new ArrayList<>();

    public Sgd(List<Parameter> params, double lr, double momentum, double weightDecay) {
        this.params = List.copyOf(params);
        this.lr = lr;
        this.momentum = momentum;
        this.weightDecay = weightDecay;
    }

    @Override
    public List<Parameter> parameters() { return params; }

    @Override
    public void step(List<Tensor> grads) {
        Adam.checkGrads(params, grads);
        try (Scope s = Scope.open()) {
            for (int i = 0; i < params.size(); i++) {
                Tensor p = params.get(i).value();
                Tensor g = weightDecay == 0 ? grads.get(i) : grads.get(i).add(p.mul(weightDecay));
                if (momentum != 0) {
                    if (buffers.size() <= i) {
                        buffers.add(Scope.release(g.copy()));
                    } else {
                        buffers.get(i).copyFrom(buffers.get(i).mul(momentum).add(g));
                    }
                    g = buffers.get(i);
                }
                p.copyFrom(p.sub(g.mul(lr)));
            }
        }
    }

    @Override
    public void close() {
        buffers.forEach(Tensor::close);
        buffers.clear();
    }
}
