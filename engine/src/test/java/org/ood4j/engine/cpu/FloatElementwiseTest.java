package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * The float32 elementwise kernels give the float64 path's bits: each op on float32 tensors equals
 * the same op on their float64 copies rounded to float32, element for element, on values that
 * probe the edges (NaN, +-0, +-infinity, subnormals, the largest floats), contiguous, broadcast
 * (the vector loops with one operand held) and strided (the float64 path), with lengths that leave
 * a tail past the last whole vector.
 */
class FloatElementwiseTest {
    private static final float[] EDGES = {Float.NaN, 0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE,
            -Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE, 1f, -1f, 0.1f, -0.3f, 1e-30f, 3e38f};

    private static Tensor sample(SplittableRandom rng, long rows, long cols) {
        float[] v = new float[(int) (rows * cols)];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextInt(4) == 0 ? EDGES[rng.nextInt(EDGES.length)] : (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(-3, 4)));
        }
        return Tensor.of(v, rows, cols);
    }

    private static void assertSameBits(Tensor expected, Tensor actual, String what) {
        assertEquals(DType.FLOAT32, actual.dtype(), what);
        assertArrayEquals(expected.shape(), actual.shape(), what);
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            // Float.compare: NaN equals NaN, and -0 differs from +0
            assertEquals(0, Float.compare(e[i], a[i]), what + " at " + i + ": expected " + e[i] + ", got " + a[i]);
        }
    }

    @Test
    void unaryOpsHaveTheFloat64PathsBits() {
        SplittableRandom rng = new SplittableRandom(21);
        List<UnaryOperator<Tensor>> ops = List.of(t -> t.clamp(-0.3, 0.1), t -> t.clamp(0.1, -0.3), t -> t.clampMin(Double.MIN_VALUE),
                t -> t.clampMax(1e39), Tensor::relu, Tensor::abs, Tensor::sqrt, Tensor::neg, t -> t.add(0.1), t -> t.mul(3.7),
                t -> t.sub(1e-40), t -> t.div(3));
        try (Scope s = Scope.open()) {
            for (long cols : new long[] {1, 7, 8, 37, 4100}) {
                Tensor x = sample(rng, 3, cols), strided = sample(rng, cols, 3).t();
                for (int k = 0; k < ops.size(); k++) {
                    UnaryOperator<Tensor> op = ops.get(k);
                    assertSameBits(op.apply(x.to(DType.FLOAT64)).to(DType.FLOAT32), op.apply(x), "op " + k + ", " + cols + " columns");
                    assertSameBits(op.apply(strided.to(DType.FLOAT64)).to(DType.FLOAT32), op.apply(strided), "op " + k + " strided, " + cols);
                }
            }
        }
    }

    @Test
    void binaryOpsHaveTheFloat64PathsBitsAlsoBroadcast() {
        SplittableRandom rng = new SplittableRandom(22);
        List<java.util.function.BinaryOperator<Tensor>> ops = List.of(Tensor::add, Tensor::sub, Tensor::mul, Tensor::div, Tensor::maximum,
                Tensor::minimum);
        try (Scope s = Scope.open()) {
            for (long cols : new long[] {1, 9, 16, 4099}) {
                Tensor x = sample(rng, 4, cols);
                List<Tensor> others = List.of(sample(rng, 4, cols), sample(rng, 4, 1), sample(rng, 1, cols), sample(rng, 1, 1),
                        sample(rng, cols, 4).t());
                for (int k = 0; k < ops.size(); k++) {
                    for (int o = 0; o < others.size(); o++) {
                        Tensor y = others.get(o);
                        var op = ops.get(k);
                        String what = "op " + k + ", operand " + o + ", " + cols + " columns";
                        assertSameBits(op.apply(x.to(DType.FLOAT64), y.to(DType.FLOAT64)).to(DType.FLOAT32), op.apply(x, y), what);
                        assertSameBits(op.apply(y.to(DType.FLOAT64), x.to(DType.FLOAT64)).to(DType.FLOAT32), op.apply(y, x), what + " swapped");
                    }
                }
            }
        }
    }
}
