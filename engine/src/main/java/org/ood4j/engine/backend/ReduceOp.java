package org.ood4j.engine.backend;

/** Reductions of one dimension to one value. */
public enum ReduceOp {
    SUM, MEAN, MIN, MAX,
    /** Index of the first maximum (int64); NaN counts as the maximum, as torch.argmax. */
    ARGMAX,
    /** Index of the first minimum (int64). */
    ARGMIN,
    /** Sum of |x|. */
    NORM_L1,
    /** sqrt of the sum of x^2, computed without overflow. */
    NORM_L2,
    /** log sum exp(x), max-shifted so it is stable for |x| up to float range and -inf entries. */
    LOGSUMEXP,
    /** Unbiased variance (divides by n-1), as torch.var. */
    VAR,
    /** Biased variance (divides by n). */
    VAR_BIASED,
    /** How many elements are NaN or infinite (int64): input validation in one pass, nothing materialised. */
    COUNT_NONFINITE;

    public boolean givesIndex() { return this == ARGMAX || this == ARGMIN; }

    /** Ops whose result is an int64 whatever the input. */
    public boolean givesLong() { return givesIndex() || this == COUNT_NONFINITE; }
}
