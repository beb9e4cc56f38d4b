package org.ood4j.engine.backend;

/** Elementwise maps of two broadcast operands; comparisons give int64 0/1. */
public enum BinaryOp {
    ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM,
    GT, GE, LT, LE, EQ, NE;

    public boolean isComparison() { return ordinal() >= GT.ordinal(); }
}
