package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import org.ood4j.engine.backend.BinaryOp;
import org.ood4j.engine.backend.UnaryOp;

/**
 * {@link FloatElementwise} on the Vector API: one loop per op (the op chosen once per segment, not
 * per element), each vector loaded from and stored to the tensors' memory; the lanes past the last
 * whole vector go through the float64 path itself, so every element has its bits.
 */
final class VectorFloatElementwise implements FloatElementwise {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final long STEP = 4L * F.length();

    @Override
    public void unary(UnaryOp op, double a, double b, MemorySegment x, long xAt, MemorySegment out, long outAt, int n) {
        int whole = F.loopBound(n);
        long end = xAt + 4L * whole;
        switch (op) {
            case CLAMP -> {
                // a bound rounded to float32 clamps as the float64 bound does (rounding is monotone)
                FloatVector lo = FloatVector.broadcast(F, (float) a), hi = FloatVector.broadcast(F, (float) b);
                for (long i = xAt, o = outAt; i < end; i += STEP, o += STEP) {
                    load(x, i).lanewise(VectorOperators.MAX, lo).lanewise(VectorOperators.MIN, hi).intoMemorySegment(out, o, LE);
                }
            }
            case RELU -> {
                for (long i = xAt, o = outAt; i < end; i += STEP, o += STEP) load(x, i).lanewise(VectorOperators.MAX, 0f).intoMemorySegment(out, o, LE);
            }
            case ABS -> {
                for (long i = xAt, o = outAt; i < end; i += STEP, o += STEP) load(x, i).abs().intoMemorySegment(out, o, LE);
            }
            case SQRT -> {
                for (long i = xAt, o = outAt; i < end; i += STEP, o += STEP) load(x, i).sqrt().intoMemorySegment(out, o, LE);
            }
            case AFFINE -> {
                // a x + b in float64 lanes, a product then a sum (no fused multiply-add), as the float64 path
                for (long i = xAt, o = outAt; i < end; i += STEP, o += STEP) {
                    FloatVector v = load(x, i);
                    DoubleVector low = ((DoubleVector) v.convertShape(VectorOperators.F2D, D, 0)).mul(a).add(b);
                    DoubleVector high = ((DoubleVector) v.convertShape(VectorOperators.F2D, D, 1)).mul(a).add(b);
                    joinHalves(low, high).intoMemorySegment(out, o, LE);
                }
            }
            default -> throw new IllegalArgumentException("no float32 kernel for " + op);
        }
        if (whole == n) return;
        // the lanes past the last whole vector: the float64 path itself
        double[] tail = new double[n - whole];
        for (int i = 0; i < tail.length; i++) tail[i] = x.get(FLOAT, xAt + 4L * (whole + i));
        CpuElementwise.apply(op, tail, tail.length, a, b);
        for (int i = 0; i < tail.length; i++) out.set(FLOAT, outAt + 4L * (whole + i), (float) tail[i]);
    }

    /** Two float64 halves narrowed into one float vector: a contraction fills its other lanes with 0 bits, so OR joins them. */
    private static FloatVector joinHalves(DoubleVector low, DoubleVector high) {
        FloatVector l = (FloatVector) low.convertShape(VectorOperators.D2F, F, 0), h = (FloatVector) high.convertShape(VectorOperators.D2F, F, -1);
        return l.reinterpretAsInts().or(h.reinterpretAsInts()).reinterpretAsFloats();
    }

    @Override
    public void binary(BinaryOp op, MemorySegment x, long xAt, int xStep, MemorySegment y, long yAt, int yStep,
                       MemorySegment out, long outAt, int n) {
        int whole = F.loopBound(n);
        long xInc = xStep * STEP, yInc = yStep * STEP;
        FloatVector xOne = xStep == 0 ? FloatVector.broadcast(F, x.get(FLOAT, xAt)) : null;
        FloatVector yOne = yStep == 0 ? FloatVector.broadcast(F, y.get(FLOAT, yAt)) : null;
        long i = xAt, j = yAt, o = outAt;
        for (int e = 0; e < whole; e += F.length(), i += xInc, j += yInc, o += STEP) {
            FloatVector u = xOne != null ? xOne : load(x, i), v = yOne != null ? yOne : load(y, j);
            apply(op, u, v).intoMemorySegment(out, o, LE);
        }
        if (whole == n) return;
        // the lanes past the last whole vector: the float64 path itself
        double[] u = new double[n - whole], v = new double[n - whole];
        for (int e = 0; e < u.length; e++) {
            u[e] = x.get(FLOAT, xAt + 4L * xStep * (whole + e));
            v[e] = y.get(FLOAT, yAt + 4L * yStep * (whole + e));
        }
        CpuElementwise.apply(op, u, v, u.length);
        for (int e = 0; e < u.length; e++) out.set(FLOAT, outAt + 4L * (whole + e), (float) u[e]);
    }

    private static FloatVector apply(BinaryOp op, FloatVector u, FloatVector v) {
        return switch (op) {
            case ADD -> u.add(v);
            case SUB -> u.sub(v);
            case MUL -> u.mul(v);
            case DIV -> u.div(v);
            // as the float64 path: y where y is NaN, else x where x >= y (x <= y) or x is NaN, else y —
            // not the lanewise MAX/MIN, which order -0 below +0
            case MAXIMUM -> u.blend(v, u.compare(VectorOperators.GE, v).or(u.test(VectorOperators.IS_NAN)).not()).blend(v, nan(v));
            case MINIMUM -> u.blend(v, u.compare(VectorOperators.LE, v).or(u.test(VectorOperators.IS_NAN)).not()).blend(v, nan(v));
            default -> throw new IllegalArgumentException("no float32 kernel for " + op);
        };
    }

    private static VectorMask<Float> nan(FloatVector v) {
        return v.test(VectorOperators.IS_NAN);
    }

    private static FloatVector load(MemorySegment s, long at) {
        return FloatVector.fromMemorySegment(F, s, at, LE);
    }
}
