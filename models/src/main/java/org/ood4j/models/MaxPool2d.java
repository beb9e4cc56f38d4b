package org.ood4j.models;

import org.ood4j.engine.Conv;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Functional;
import org.ood4j.engine.autodiff.Var;

/** Max over kernel × kernel windows moved by stride, no padding, as nn.MaxPool2d. */
public final class MaxPool2d extends Module {
    private final int kernel, stride;

    /** stride = kernel, PyTorch's default. */
    public MaxPool2d(int kernel) {
        this(kernel, kernel);
    }

    public MaxPool2d(int kernel, int stride) {
        this.kernel = kernel;
        this.stride = stride;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Conv.maxPool2d(x, kernel, stride);
    }

    @Override
    public Var forward(Var x) {
        return Functional.maxPool2d(x, kernel, stride);
    }

    @Override
    public String toString() {
        return "MaxPool2d(" + kernel + ", stride " + stride + ")";
    }
}
