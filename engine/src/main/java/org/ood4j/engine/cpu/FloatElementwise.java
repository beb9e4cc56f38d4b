package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;

import org.ood4j.engine.backend.BinaryOp;
import org.ood4j.engine.backend.UnaryOp;

/**
 * Elementwise ops on float32 tensors straight from and to their memory, a vector at a time: no
 * float64 buffers, no load and store loops around the op. Only for the ops whose float32 result is
 * the bits of the float64 path's (compute in float64, round once to float32), so the two paths are
 * interchangeable: +, -, *, / and sqrt, because a float64 result rounded to float32 is the correctly
 * rounded float32 result (float64 carries more than 2 x 24 + 2 bits); min, max, clamp, relu and abs,
 * which round nothing (a bound that is not a float32 value lands where its rounding does, rounding
 * being monotone); a x + b, computed in float64 lanes as the float64 path computes it.
 *
 * <p>{@link #INSTANCE} is the Vector API implementation, or null without
 * {@code --add-modules jdk.incubator.vector} (the float64 path then serves: the same bits).
 */
interface FloatElementwise {
    FloatElementwise INSTANCE = VectorApi.load(FloatElementwise.class, "org.ood4j.engine.cpu.VectorFloatElementwise", "ood4j.scalarMath");

    /** Whether {@link #unary} computes {@code op}. */
    static boolean supports(UnaryOp op) {
        return switch (op) {
            case AFFINE, SQRT, ABS, CLAMP, RELU -> true;
            default -> false;
        };
    }

    /** Whether {@link #binary} computes {@code op}. */
    static boolean supports(BinaryOp op) {
        return switch (op) {
            case ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM -> true;
            default -> false;
        };
    }

    /** out[i] = op(x[i]; a, b) for the n float32 values at byte offsets {@code xAt} and {@code outAt}. */
    void unary(UnaryOp op, double a, double b, MemorySegment x, long xAt, MemorySegment out, long outAt, int n);

    /**
     * out[i] = op(x[i], y[i]) for n float32 values at byte offsets; an operand whose {@code step} is
     * 0 is one value broadcast over the n (else step 1: n consecutive values).
     */
    void binary(BinaryOp op, MemorySegment x, long xAt, int xStep, MemorySegment y, long yAt, int yStep,
                MemorySegment out, long outAt, int n);
}
