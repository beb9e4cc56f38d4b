package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Function;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** Elementwise ops against float64 references on odd sizes, broadcast and non-contiguous operands. */
class CpuElementwiseTest {
    @Test
    void aProductWrittenIntoABlockOfALargerTensorIsTheProductsBits() {
        // rows scaled by a column into rows 5..45 of a larger tensor (float32: the vector path), into a column
        // slice (strided rows), into float64 (converted), and refused for a shape that is not the product's
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(21);
            Tensor x = Tensor.randn(rng, DType.FLOAT32, 40, 37), column = Tensor.randn(rng, DType.FLOAT32, 40, 1);
            float[] want = x.mul(column).toFloatArray();
            Tensor big = Tensor.full(7, DType.FLOAT32, 50, 37);
            Tensor into = big.slice(0, 5, 45);
            assertSame(into, x.mul(column, into));
            assertArrayEquals(want, into.toFloatArray());
            assertEquals(7f, big.getDouble(4, 36), 0);
            assertEquals(7f, big.getDouble(45, 0), 0);
            Tensor wide = Tensor.zeros(DType.FLOAT32, 40, 50);
            Tensor strided = wide.slice(1, 3, 40);
            x.mul(column, strided);
            assertArrayEquals(want, strided.toFloatArray());
            Tensor f64 = Tensor.zeros(DType.FLOAT64, 40, 37);
            x.mul(column, f64);
            double[] got = f64.toDoubleArray();
            for (int i = 0; i < got.length; i++) assertEquals(want[i], got[i], 0, "float64 out at " + i);
            var e = assertThrows(IllegalArgumentException.class, () -> x.mul(column, Tensor.zeros(DType.FLOAT32, 40, 36)));
            assertTrue(e.getMessage().contains("[40, 37]") && e.getMessage().contains("[40, 36]"), e.getMessage());
        }
    }

    private static final long[][] SHAPES = {{1}, {7}, {257}, {1000}, {7, 257}, {3, 1, 5}};

    record Unary(String name, Function<Tensor, Tensor> op, DoubleUnaryOperator ref) {
        @Override public String toString() { return name; }
    }

    record Binary(String name, java.util.function.BiFunction<Tensor, Tensor, Tensor> op, DoubleBinaryOperator ref) {
        @Override public String toString() { return name; }
    }

    static Stream<Unary> unaries() {
        return Stream.of(
                new Unary("exp", Tensor::exp, Math::exp),
                new Unary("log", t -> t.abs().log(), x -> Math.log(Math.abs(x))),
                new Unary("sqrt", t -> t.abs().sqrt(), x -> Math.sqrt(Math.abs(x))),
                new Unary("pow3", t -> t.pow(3), x -> x * x * x),
                new Unary("abs", Tensor::abs, Math::abs),
                new Unary("sign", Tensor::sign, Math::signum),
                new Unary("clamp", t -> t.clamp(-0.5, 0.25), x -> Math.min(Math.max(x, -0.5), 0.25)),
                new Unary("relu", Tensor::relu, x -> Math.max(x, 0)),
                new Unary("sigmoid", Tensor::sigmoid, x -> 1 / (1 + Math.exp(-x))),
                new Unary("tanh", Tensor::tanh, Math::tanh),
                new Unary("affine", t -> t.mul(2.5).sub(1), x -> 2.5 * x - 1),
                new Unary("neg", Tensor::neg, x -> -x),
                new Unary("div", t -> t.div(4), x -> x / 4));
    }

    static Stream<Binary> binaries() {
        return Stream.of(
                new Binary("add", Tensor::add, Double::sum),
                new Binary("sub", Tensor::sub, (a, b) -> a - b),
                new Binary("mul", Tensor::mul, (a, b) -> a * b),
                new Binary("div", Tensor::div, (a, b) -> a / b),
                new Binary("maximum", Tensor::maximum, Math::max),
                new Binary("minimum", Tensor::minimum, Math::min),
                new Binary("gt", Tensor::gt, (a, b) -> a > b ? 1 : 0),
                new Binary("le", Tensor::le, (a, b) -> a <= b ? 1 : 0),
                new Binary("eq", (a, b) -> a.eq(a), (a, b) -> 1));
    }

    static Stream<Arguments> unaryCases() {
        return unaries().flatMap(u -> Stream.of(SHAPES).flatMap(s ->
                Stream.of(DType.FLOAT32, DType.FLOAT64).map(d -> Arguments.of(u, s, d))));
    }

    static Stream<Arguments> binaryCases() {
        return binaries().flatMap(b -> Stream.of(SHAPES).flatMap(s ->
                Stream.of(DType.FLOAT32, DType.FLOAT64).map(d -> Arguments.of(b, s, d))));
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("unaryCases")
    void unaryMatchesReference(Unary u, long[] shape, DType dtype) {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(new SplittableRandom(shape.length * 31L + shape[0]), dtype, shape);
            double[] in = x.toDoubleArray();
            double[] out = u.op().apply(x).toDoubleArray();
            assertClose(in, out, u.ref(), dtype);
            // The same op on a transposed view sees the transposed elements.
            if (shape.length == 2) {
                Tensor xt = x.t();
                double[] inT = xt.toDoubleArray();
                assertClose(inT, u.op().apply(xt).toDoubleArray(), u.ref(), dtype);
            }
        }
    }

    private static void assertClose(double[] in, double[] out, DoubleUnaryOperator ref, DType dtype) {
        assertEquals(in.length, out.length);
        double tol = dtype == DType.FLOAT32 ? 1e-6 : 1e-14;
        for (int i = 0; i < in.length; i++) {
            double want = ref.applyAsDouble(in[i]);
            if (dtype == DType.FLOAT32) want = (float) want;
            assertEquals(want, out[i], tol * Math.max(1, Math.abs(want)), "element " + i + " of input " + in[i]);
        }
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("binaryCases")
    void binaryBroadcastsLikeNumpy(Binary b, long[] shape, DType dtype) {
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(shape[0] * 7 + shape.length);
            Tensor x = Tensor.randn(rng, dtype, shape);
            // y broadcasts along the first dimension: shape (1, rest...) or a row vector
            long[] yShape = shape.clone();
            yShape[0] = 1;
            Tensor y = Tensor.randn(rng, DType.FLOAT64, yShape).add(0.1);
            double[] xs = x.toDoubleArray(), ys = y.toDoubleArray();
            Tensor out = b.op().apply(x, y);
            assertArrayEquals(shape, out.shape());
            double[] got = out.toDoubleArray();
            int inner = ys.length;
            for (int i = 0; i < xs.length; i++) {
                double want = b.ref().applyAsDouble(xs[i], ys[i % inner]);
                assertEquals(want, got[i], 1e-6 * Math.max(1, Math.abs(want)), b.name() + " element " + i);
            }
        }
    }

    @Test
    void broadcastsBothWays() {
        try (Scope s = Scope.open()) {
            Tensor col = Tensor.of(new double[] {1, 2, 3}, 3, 1);
            Tensor row = Tensor.of(new double[] {10, 20}, 1, 2);
            Tensor sum = col.add(row);
            assertArrayEquals(new long[] {3, 2}, sum.shape());
            assertArrayEquals(new double[] {11, 21, 12, 22, 13, 23}, sum.toDoubleArray());
            Tensor scalar = Tensor.scalar(5, DType.FLOAT64);
            assertArrayEquals(new double[] {15, 25}, row.add(scalar).reshape(-1).toDoubleArray());
            var e = assertThrows(IllegalArgumentException.class, () -> col.add(Tensor.zeros(DType.FLOAT64, 4, 1)));
            assertTrue(e.getMessage().contains("broadcast"), e.getMessage());
        }
    }

    @Test
    void promotesDtypes() {
        try (Scope s = Scope.open()) {
            Tensor i = Tensor.of(new long[] {1, 2, 3});
            Tensor f = Tensor.of(new float[] {0.5f, 0.5f, 0.5f});
            assertEquals(DType.FLOAT32, i.add(f).dtype());
            assertEquals(DType.INT64, i.add(i).dtype());
            assertEquals(DType.FLOAT64, i.div(i).dtype(), "int division is true division");
            assertEquals(DType.INT64, f.gt(i).dtype());
            assertArrayEquals(new double[] {1.5, 2.5, 3.5}, i.add(f).toDoubleArray());
        }
    }

    @Test
    void whereSelectsAndBroadcasts() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new double[] {-1, 2, -3, 4}, 2, 2);
            Tensor zero = Tensor.scalar(0, DType.FLOAT64);
            Tensor r = Tensor.where(x.gt(zero), x, zero);
            assertArrayEquals(new double[] {0, 2, 0, 4}, r.toDoubleArray());
        }
    }

    @Test
    void nanAndInfinityFollowTorch() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new double[] {Double.NaN, Double.POSITIVE_INFINITY, -1, 0});
            assertArrayEquals(new long[] {1, 1, 0, 0}, x.nonFinite().toLongArray());
            double[] c = x.clamp(-0.5, 0.5).toDoubleArray();
            assertTrue(Double.isNaN(c[0]));
            assertEquals(0.5, c[1]);
            double[] sig = Tensor.of(new double[] {-1000, 1000}).sigmoid().toDoubleArray();
            assertEquals(0, sig[0]);
            assertEquals(1, sig[1]);
            assertTrue(Double.isNaN(x.maximum(Tensor.scalar(0, DType.FLOAT64)).toDoubleArray()[0]));
        }
    }

    @Test
    void largeTensorsRunInParallelAndAgree() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(new SplittableRandom(3), DType.FLOAT32, 300, 1001);
            Tensor y = x.t().mul(2).t(); // non-contiguous input and output order
            float[] a = x.toFloatArray(), b = y.toFloatArray();
            for (int i = 0; i < a.length; i++) assertEquals(2 * a[i], b[i]);
        }
    }
}
