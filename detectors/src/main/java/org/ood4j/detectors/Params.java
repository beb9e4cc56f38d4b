package org.ood4j.detectors;

/** Checks of constructor parameters, with messages that name the parameter and its value. */
final class Params {
    private Params() {}

    static double positive(String name, double v) {
        if (!(v > 0) || Double.isInfinite(v)) throw new IllegalArgumentException(name + " must be a positive finite number, got " + v);
        return v;
    }

    static int positive(String name, int v) {
        if (v < 1) throw new IllegalArgumentException(name + " must be at least 1, got " + v);
        return v;
    }

    static double inRange(String name, double v, double lo, double hi) {
        if (!(v >= lo && v <= hi)) throw new IllegalArgumentException(name + " must be in [" + lo + ", " + hi + "], got " + v);
        return v;
    }
}
