package org.ood4j.engine.autodiff;

/** How a per-sample gradient G_i is reduced to one number. */
public enum Norm {
    /** ||G_i||_1 = sum |g|. */
    L1,
    /** ||G_i||_2^2 = sum g^2. */
    L2_SQUARED;

    /** The contribution of one gradient entry. */
    public double of(double g) {
        return this == L1 ? Math.abs(g) : g * g;
    }
}
