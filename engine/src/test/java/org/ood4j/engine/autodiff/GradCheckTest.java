package org.ood4j.engine.autodiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;

import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * Every differentiable op against central finite differences in float64: for random inputs x and
 * a random cotangent r, the tape's vjp rᵀ ∂f/∂x must match (L(x + h e_j) - L(x - h e_j)) / 2h with
 * L(x) = Σ r ⊙ f(x), for every element j of every input.
 */
class GradCheckTest {
    private static final double H = 1e-6;

    /** How to draw one input. */
    enum Draw {
        NORMAL, POSITIVE, AWAY_FROM_ZERO;

        Tensor sample(SplittableRandom rng, long[] shape) {
            Tensor t = Tensor.randn(rng, DType.FLOAT64, shape);
            if (this == NORMAL) return t;
            try (t) {
                // |x| + 0.5 is at least 0.5 from 0 (log, sqrt, division); with a random sign, away from kinks.
                Tensor a = t.abs().add(0.5);
                if (this == POSITIVE) return a;
                try (a; Tensor s = Tensor.randn(rng, DType.FLOAT64, shape).sign()) {
                    return a.mul(s);
                }
            }
        }
    }

    record Case(long[][] shapes, Draw[] draws, Function<List<Var>, Var> f) {}

    static Case c(Function<List<Var>, Var> f, long[]... shapes) {
        Draw[] d = new Draw[shapes.length];
        java.util.Arrays.fill(d, Draw.NORMAL);
        return new Case(shapes, d, f);
    }

    static Case c(Draw draw, Function<List<Var>, Var> f, long[]... shapes) {
        Draw[] d = new Draw[shapes.length];
        java.util.Arrays.fill(d, draw);
        return new Case(shapes, d, f);
    }

    static long[] s(long... shape) { return shape; }

    static Named<Case> named(String name, Case c) { return Named.of(name, c); }

    static Stream<Named<Case>> cases() {
        return Stream.of(
            // binary with broadcasting
            named("add", c(v -> v.get(0).add(v.get(1)), s(3, 4), s(3, 4))),
            named("add broadcast row", c(v -> v.get(0).add(v.get(1)), s(3, 4), s(4))),
            named("add broadcast both", c(v -> v.get(0).add(v.get(1)), s(2, 1, 4), s(3, 1))),
            named("sub broadcast", c(v -> v.get(0).sub(v.get(1)), s(3, 1), s(2, 3, 4))),
            named("mul broadcast", c(v -> v.get(0).mul(v.get(1)), s(2, 3, 4), s(1, 3, 1))),
            named("div broadcast", c(Draw.AWAY_FROM_ZERO, v -> v.get(0).div(v.get(1)), s(3, 4), s(3, 1))),
            named("mul of a var with itself", c(v -> v.get(0).mul(v.get(0)), s(5))),
            // scalar arithmetic
            named("add/sub/mul/div scalar, neg", c(v -> v.get(0).add(2).sub(0.5).mul(-3).div(4).neg(), s(2, 3))),
            // unary
            named("exp", c(v -> v.get(0).exp(), s(2, 5))),
            named("log", c(Draw.POSITIVE, v -> v.get(0).log(), s(2, 5))),
            named("sqrt", c(Draw.POSITIVE, v -> v.get(0).sqrt(), s(2, 5))),
            named("pow 3", c(v -> v.get(0).pow(3), s(2, 5))),
            named("pow -1.5", c(Draw.POSITIVE, v -> v.get(0).pow(-1.5), s(2, 5))),
            named("abs", c(Draw.AWAY_FROM_ZERO, v -> v.get(0).abs(), s(2, 5))),
            named("relu", c(Draw.AWAY_FROM_ZERO, v -> v.get(0).relu(), s(2, 5))),
            named("sigmoid", c(v -> v.get(0).sigmoid(), s(2, 5))),
            named("tanh", c(v -> v.get(0).tanh(), s(2, 5))),
            named("clamp", c(v -> v.get(0).clamp(-0.7, 0.4), s(3, 7))),
            // products
            named("matmul 2-D", c(v -> v.get(0).matmul(v.get(1)), s(3, 4), s(4, 5))),
            named("matmul batched", c(v -> v.get(0).matmul(v.get(1)), s(2, 3, 4), s(2, 4, 2))),
            named("matmul batched @ 2-D", c(v -> v.get(0).matmul(v.get(1)), s(2, 3, 4), s(4, 2))),
            named("matmul 2-D @ batched", c(v -> v.get(0).matmul(v.get(1)), s(3, 4), s(2, 4, 2))),
            named("matmul of transposed views", c(v -> v.get(0).t().matmul(v.get(1).t()), s(4, 3), s(5, 4))),
            // reductions
            named("sum all", c(v -> v.get(0).sum(), s(2, 3, 4))),
            named("sum dim", c(v -> v.get(0).sum(1, false), s(2, 3, 4))),
            named("sum dim keepdim", c(v -> v.get(0).sum(-1, true), s(2, 3, 4))),
            named("mean all", c(v -> v.get(0).mean(), s(2, 3, 4))),
            named("mean dim", c(v -> v.get(0).mean(0, false), s(2, 3, 4))),
            named("mean dim keepdim", c(v -> v.get(0).mean(2, true), s(2, 3, 4))),
            named("max dim", c(v -> v.get(0).max(1, false), s(3, 5))),
            named("max dim keepdim", c(v -> v.get(0).max(0, true), s(3, 5))),
            named("softmax", c(v -> v.get(0).softmax(1), s(3, 5))),
            named("softmax dim 0", c(v -> v.get(0).softmax(0), s(3, 5))),
            named("log_softmax", c(v -> v.get(0).logSoftmax(-1), s(3, 5))),
            named("logsumexp", c(v -> v.get(0).logsumexp(1, false), s(3, 5))),
            named("logsumexp keepdim", c(v -> v.get(0).logsumexp(0, true), s(3, 5))),
            // views
            named("reshape", c(v -> v.get(0).reshape(4, -1).mul(v.get(1)), s(2, 3, 2), s(4, 3))),
            named("flatten", c(v -> v.get(0).flatten(1), s(2, 3, 2))),
            named("permute", c(v -> v.get(0).permute(2, 0, 1).mul(v.get(1)), s(2, 3, 4), s(4, 2, 3))),
            named("transpose", c(v -> v.get(0).transpose(0, 2), s(2, 3, 4))),
            named("t", c(v -> v.get(0).t(), s(2, 3))),
            named("slice", c(v -> v.get(0).slice(1, 1, 3), s(2, 4, 3))),
            named("select", c(v -> v.get(0).select(2, 1), s(2, 4, 3))),
            named("unsqueeze/squeeze", c(v -> v.get(0).unsqueeze(1).mul(v.get(1)).squeeze(0), s(1, 3), s(4, 1))),
            named("expand", c(v -> v.get(0).expand(2, 3, 4), s(3, 1))),
            named("cat", c(v -> Var.cat(List.of(v.get(0), v.get(1), v.get(0)), 1), s(2, 3), s(2, 1))),
            // layers
            named("linear", c(v -> Functional.linear(v.get(0), v.get(1), v.get(2)), s(4, 3), s(5, 3), s(5))),
            named("conv2d", c(v -> Functional.conv2d(v.get(0), v.get(1), v.get(2), 1, 1, 1), s(2, 2, 5, 5), s(3, 2, 3, 3), s(3))),
            named("conv2d stride 2, no bias", c(v -> Functional.conv2d(v.get(0), v.get(1), null, 2, 1, 1), s(2, 2, 6, 5), s(3, 2, 3, 3))),
            named("conv2d dilation 2, 2x3 kernel", c(v -> Functional.conv2d(v.get(0), v.get(1), v.get(2), 1, 2, 2), s(1, 2, 5, 6), s(2, 2, 2, 3), s(2))),
            named("conv2d 1x1 stride 2", c(v -> Functional.conv2d(v.get(0), v.get(1), null, 2, 0, 1), s(2, 3, 5, 5), s(4, 3, 1, 1))),
            named("max_pool2d", c(v -> Functional.maxPool2d(v.get(0), 2, 2), s(2, 2, 4, 5))),
            named("max_pool2d overlapping", c(v -> Functional.maxPool2d(v.get(0), 3, 1), s(1, 2, 5, 4))),
            named("adaptive_avg_pool2d 1x1", c(v -> Functional.adaptiveAvgPool2d(v.get(0), 1, 1), s(2, 3, 3, 4))),
            named("adaptive_avg_pool2d 2x3", c(v -> Functional.adaptiveAvgPool2d(v.get(0), 2, 3), s(1, 2, 5, 7))),
            named("batch norm eval", c(v -> Functional.batchNormEval(v.get(0), v.get(1), v.get(2),
                    Tensor.of(new double[] {0.3, -0.2}), Tensor.of(new double[] {0.5, 1.7}), 1e-5), s(3, 2, 2, 3), s(2), s(2))),
            named("batch norm train", c(v -> Functional.batchNormTrain(v.get(0), v.get(1), v.get(2), 1e-5).output(),
                    s(3, 2, 2, 3), s(2), s(2))),
            named("batch norm train, 2-D input", c(v -> Functional.batchNormTrain(v.get(0), v.get(1), v.get(2), 1e-5).output(),
                    s(5, 3), s(3), s(3))),
            named("dropout", c(v -> Functional.dropout(v.get(0), 0.4, new SplittableRandom(7)), s(4, 5))),
            named("small network", c(GradCheckTest::network, s(2, 1, 6, 6), s(3, 1, 3, 3), s(3), s(4, 12), s(4)))
        );
    }

    /** conv → batch norm (train) → relu → max pool → flatten → linear → log_softmax, picked at one class per sample. */
    private static Var network(List<Var> v) {
        Var h = Functional.conv2d(v.get(0), v.get(1), v.get(2), 1, 1, 1);
        h = Functional.batchNormTrain(h, null, null, 1e-5).output().relu();
        h = Functional.maxPool2d(h, 3, 3).flatten(1);
        return Functional.linear(h, v.get(3), v.get(4)).logSoftmax(1).select(1, 2).sum();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesCentralDifferences(Case c) {
        long before = MemoryStats.liveBlocks();
        SplittableRandom rng = new SplittableRandom(c.hashCode() == 0 ? 1 : 11);
        try (Scope scope = Scope.open()) {
            List<Tensor> xs = new ArrayList<>();
            for (int i = 0; i < c.shapes().length; i++) xs.add(c.draws()[i].sample(rng, c.shapes()[i]));
            Tensor r;
            List<Tensor> analytic;
            try (Tape tape = new Tape()) {
                List<Var> vs = xs.stream().map(tape::watch).toList();
                Var out = c.f().apply(vs);
                r = Tensor.randn(rng, DType.FLOAT64, out.shape());
                analytic = tape.vjp(out, r, vs);
            }
            for (int i = 0; i < xs.size(); i++) {
                double[] num = numericGrad(c, xs, i, r);
                double[] an = analytic.get(i).toDoubleArray();
                assertEquals(num.length, an.length);
                for (int j = 0; j < num.length; j++) {
                    assertEquals(num[j], an[j], 1e-6 + 1e-5 * Math.abs(num[j]), "input " + i + ", element " + j);
                }
            }
        }
        assertEquals(before, MemoryStats.liveBlocks(), "tensors leaked");
    }

    private static double[] numericGrad(Case c, List<Tensor> xs, int which, Tensor r) {
        Tensor x = xs.get(which);
        double[] grad = new double[(int) x.numel()];
        long[] idx = new long[x.rank()];
        for (int j = 0; j < grad.length; j++) {
            double v = x.getDouble(idx);
            x.set(v + H, idx);
            double plus = loss(c, xs, r);
            x.set(v - H, idx);
            double minus = loss(c, xs, r);
            x.set(v, idx);
            grad[j] = (plus - minus) / (2 * H);
            for (int d = idx.length - 1; d >= 0 && ++idx[d] == x.size(d); d--) idx[d] = 0;
        }
        return grad;
    }

    private static double loss(Case c, List<Tensor> xs, Tensor r) {
        try (Tape tape = new Tape(); Scope s = Scope.open()) {
            Var out = c.f().apply(xs.stream().map(tape::constant).toList());
            assertTrue(!out.requiresGrad());
            return out.value().mul(r).sum().item();
        }
    }
}
