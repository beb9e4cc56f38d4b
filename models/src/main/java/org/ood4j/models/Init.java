package org.ood4j.models;

import java.util.random.RandomGenerator;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;

/** PyTorch's default initialisations, float32. */
final class Init {
    private Init() {}

    /**
     * U(-1/√fan_in, 1/√fan_in): nn.Linear's and nn.Conv2d's default for weight (kaiming_uniform
     * with a = √5) and bias alike.
     */
    static Tensor fanInUniform(RandomGenerator rng, long fanIn, long... shape) {
        double bound = 1 / Math.sqrt(fanIn);
        return Tensor.rand(rng, DType.FLOAT32, -bound, bound, shape);
    }

    /** N(0, std²). */
    static Tensor normal(RandomGenerator rng, double std, long... shape) {
        try (Tensor t = Tensor.randn(rng, DType.FLOAT32, shape)) {
            return t.mul(std);
        }
    }
}
