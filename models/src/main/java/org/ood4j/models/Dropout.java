package org.ood4j.models;

import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Functional;
import org.ood4j.engine.autodiff.Var;

/**
 * Inverted dropout, as nn.Dropout: when active each element is zeroed with probability p and
 * the others scaled by 1/(1 - p); otherwise the identity. Active in training mode, and in
 * evaluation mode when {@link #setActiveAtInference(boolean) forced} (Monte-Carlo dropout).
 * The masks come from a seedable generator ({@link #setRandom}).
 */
public final class Dropout extends Module {
    private final double p;
    private boolean activeAtInference;
    private RandomGenerator rng = new SplittableRandom();

    public Dropout(double p) {
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("dropout probability must be in [0, 1], got " + p);
        this.p = p;
    }

    public double p() { return p; }

    public void setActiveAtInference(boolean on) { this.activeAtInference = on; }

    public boolean isActiveAtInference() { return activeAtInference; }

    public void setRandom(RandomGenerator rng) { this.rng = rng; }

    /** Whether a forward pass now drops elements. */
    public boolean isActive() {
        return p > 0 && (isTraining() || activeAtInference);
    }

    @Override
    public Tensor forward(Tensor x) {
        if (!isActive()) return alias(x);
        try (Tensor mask = Functional.dropoutMask(rng, x, p)) {
            return x.mul(mask);
        }
    }

    @Override
    public Var forward(Var x) {
        return isActive() ? Functional.dropout(x, p, rng) : x;
    }

    @Override
    public String toString() {
        return "Dropout(" + p + ")";
    }
}
