package org.ood4j.models;

import org.ood4j.engine.Conv;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Functional;
import org.ood4j.engine.autodiff.Var;

/** Average pooling to a fixed output size with PyTorch's adaptive windows, as nn.AdaptiveAvgPool2d. */
public final class AdaptiveAvgPool2d extends Module {
    private final int outH, outW;

    /** Global average pooling to 1 × 1. */
    public AdaptiveAvgPool2d() {
        this(1, 1);
    }

    public AdaptiveAvgPool2d(int outH, int outW) {
        this.outH = outH;
        this.outW = outW;
    }

    /** Whether this pools each plane to one value (1 x 1): a head that starts with it can take pre-pooled maps. */
    public boolean isGlobal() {
        return outH == 1 && outW == 1;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Conv.adaptiveAvgPool2d(x, outH, outW);
    }

    @Override
    public Var forward(Var x) {
        return Functional.adaptiveAvgPool2d(x, outH, outW);
    }

    @Override
    public String toString() {
        return "AdaptiveAvgPool2d(" + outH + ", " + outW + ")";
    }
}
