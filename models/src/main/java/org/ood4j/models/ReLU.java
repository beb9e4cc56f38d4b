package org.ood4j.models;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Var;

/** max(x, 0) elementwise, as nn.ReLU. */
public final class ReLU extends Module {
    @Override
    public Tensor forward(Tensor x) {
        return x.relu();
    }

    @Override
    public Var forward(Var x) {
        return x.relu();
    }
}
