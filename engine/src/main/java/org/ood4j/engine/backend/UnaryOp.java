package org.ood4j.engine.backend;

/**
 * Elementwise maps of one operand. Each takes up to two scalar parameters {@code a, b}
 * (ignored where unused), so scalar arithmetic needs no scalar tensor. One table of op codes
 * serves every backend: the CUDA kernel switches on {@link #ordinal()}.
 */
public enum UnaryOp {
    /** a*x + b: covers x+s, x-s, x*s, -x. */
    AFFINE,
    EXP, LOG, SQRT, ABS,
    /** -1, 0 or 1; sign(0) = 0 and sign(NaN) = NaN. */
    SIGN,
    /** x^a. */
    POW,
    /** min(max(x, a), b); either bound may be infinite. */
    CLAMP,
    RELU, SIGMOID, TANH,
    /** a / x. */
    RECIPROCAL,
    /** 1 where x is NaN or infinite, else 0 (int64 result). */
    NONFINITE;
}
