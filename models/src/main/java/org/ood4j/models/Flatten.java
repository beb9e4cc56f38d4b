package org.ood4j.models;

import java.util.Arrays;

import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Var;

/** Flattens every dimension from startDim on (default 1, keeping the batch), as nn.Flatten. */
public final class Flatten extends Module {
    private final int startDim;

    public Flatten() {
        this(1);
    }

    public Flatten(int startDim) {
        this.startDim = startDim;
    }

    @Override
    public Tensor forward(Tensor x) {
        return x.reshape(flatShape(x.shape()));
    }

    @Override
    public Var forward(Var x) {
        return x.reshape(flatShape(x.shape()));
    }

    private long[] flatShape(long[] shape) {
        int d = Shape.dim(startDim, shape.length);
        long[] s = Arrays.copyOf(shape, d + 1);
        s[d] = Shape.numel(Arrays.copyOfRange(shape, d, shape.length));
        return s;
    }

    @Override
    public String toString() {
        return "Flatten(" + startDim + ")";
    }
}
