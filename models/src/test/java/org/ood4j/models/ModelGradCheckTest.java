package org.ood4j.models;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Tape;
import org.ood4j.engine.autodiff.Var;

/**
 * Whole networks in float64 against central finite differences: L = Σ r ⊙ f(x) for a random r,
 * gradients with respect to a sample of elements of the input and of (up to about 12) parameters,
 * in evaluation and training mode (batch statistics, a fixed dropout mask).
 */
class ModelGradCheckTest {
    private static final double H = 1e-6;
    private final SplittableRandom rng = new SplittableRandom(12);

    @Test
    void mlpWithDropoutInTraining() {
        try (Sequential m = Zoo.mlp(5, new int[] {7, 6}, 3, 0.3, rng)) {
            check(m.train(), new long[] {4, 5});
        }
    }

    @Test
    void smallCnnInBothModes() {
        try (Sequential m = Zoo.smallCnn(2, 4, 8, 3, 2, 0.5, rng)) {
            check(m.train(), new long[] {3, 2, 4, 8});
            check(m.eval(), new long[] {3, 2, 4, 8});
        }
    }

    @Test
    void residualNetworkInBothModes() {
        try (Sequential m = ResNets.resnet18(2, 3, 2, rng)) {
            check(m.train(), new long[] {2, 2, 8, 8});
            check(m.eval(), new long[] {2, 2, 8, 8});
        }
    }

    private void check(Module model, long[] inputShape) {
        model.to(DType.FLOAT64);
        long before = MemoryStats.liveBlocks();
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(rng, DType.FLOAT64, inputShape);
            Tensor r;
            List<Tensor> analytic;
            Map<String, Parameter> params = model.namedParameters();
            try (Tape tape = new Tape()) {
                List<Var> wrt = new ArrayList<>(model.watchParameters(tape).values());
                Var xv = tape.watch(x);
                wrt.add(xv);
                Var out = forward(model, xv);
                r = Tensor.randn(rng, DType.FLOAT64, out.shape());
                analytic = tape.vjp(out, r, wrt);
            }
            List<Tensor> targets = new ArrayList<>(params.values().stream().map(Parameter::value).toList());
            targets.add(x);
            List<String> names = new ArrayList<>(params.keySet());
            names.add("input");
            int stride = Math.max(1, (targets.size() - 1) / 12); // at most about 12 parameters, evenly spread, and the input
            for (int k = 0; k < targets.size(); k++) {
                if (k % stride != 0 && k != targets.size() - 1) continue;
                Tensor t = targets.get(k);
                double[] an = analytic.get(k).toDoubleArray();
                int checks = Math.min(an.length, k == targets.size() - 1 ? 24 : 4);
                for (int c = 0; c < checks; c++) {
                    int j = checks == an.length ? c : rng.nextInt(an.length);
                    double num = numeric(model, x, r, t, j);
                    assertEquals(num, an[j], 1e-6 + 1e-5 * Math.abs(num), names.get(k) + " element " + j);
                }
            }
        }
        assertEquals(before, MemoryStats.liveBlocks());
    }

    /** The same dropout masks in every pass. */
    private static Var forward(Module model, Var x) {
        model.namedModules().values().forEach(m -> { if (m instanceof Dropout d) d.setRandom(new SplittableRandom(99)); });
        return model.forward(x);
    }

    private static double numeric(Module model, Tensor x, Tensor r, Tensor t, int flat) {
        long[] idx = new long[t.rank()];
        for (int d = t.rank() - 1, rest = flat; d >= 0; d--) {
            idx[d] = rest % t.size(d);
            rest /= (int) t.size(d);
        }
        double v = t.getDouble(idx);
        t.set(v + H, idx);
        double plus = loss(model, x, r);
        t.set(v - H, idx);
        double minus = loss(model, x, r);
        t.set(v, idx);
        return (plus - minus) / (2 * H);
    }

    private static double loss(Module model, Tensor x, Tensor r) {
        try (Tape tape = new Tape(); Scope s = Scope.open()) {
            return forward(model, tape.constant(x)).value().mul(r).sum().item();
        }
    }
}
