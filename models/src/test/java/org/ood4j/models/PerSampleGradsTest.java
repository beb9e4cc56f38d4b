package org.ood4j.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ood4j.models.Fixtures.assertClose;
import static org.ood4j.models.Fixtures.caseArray;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.function.Predicate;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Norm;
import org.ood4j.engine.autodiff.Tape;
import org.ood4j.engine.autodiff.Var;

/**
 * Per-sample gradient norms from one batched pass equal those of B separate single-sample
 * backward passes, for every layer kind; and they reproduce the GradNorm / GradNormKL cases.
 */
class PerSampleGradsTest {
    private final SplittableRandom rng = new SplittableRandom(8);

    @Test
    void mlpMatchesSingleSamplePasses() throws IOException {
        try (ModelJson m = Fixtures.model("mlp-a"); Scope s = Scope.open()) {
            Tensor x = caseArray("gradnorm-model-mlp-a-all", "predict_x.npy");
            compareWithSingleSamplePasses(m.model(), x, name -> true);
            compareWithSingleSamplePasses(m.model(), x, Set.of("5.weight", "0.bias")::contains);
        }
    }

    @Test
    void cnnWithBatchNormMatchesSingleSamplePasses() throws IOException {
        try (ModelJson m = Fixtures.model("cnn-a"); Scope s = Scope.open()) {
            compareWithSingleSamplePasses(m.model(), caseArray("gradnorm-model-cnn-a-head", "predict_x.npy").slice(0, 0, 6), name -> true);
        }
    }

    @Test
    void residualNetworkMatchesSingleSamplePasses() {
        try (Sequential net = ResNets.resnet18(2, 5, 2, rng); Scope s = Scope.open()) {
            net.to(DType.FLOAT64);
            // non-trivial batch-norm statistics: a few training-mode passes
            net.train();
            for (int i = 0; i < 3; i++) net.apply(Tensor.randn(rng, DType.FLOAT64, 4, 2, 8, 8));
            net.eval();
            compareWithSingleSamplePasses(net, Tensor.randn(rng, DType.FLOAT64, 3, 2, 8, 8), name -> true);
            compareWithSingleSamplePasses(net, Tensor.randn(rng, DType.FLOAT64, 3, 2, 8, 8), name -> name.startsWith("layer3"));
        }
    }

    @Test
    void gradientTensorsEqualSingleSampleGradients() {
        try (Sequential net = Zoo.smallCnn(1, 4, 4, 3, 2, 0.5, rng); Scope s = Scope.open()) {
            net.to(DType.FLOAT64);
            Tensor x = Tensor.randn(rng, DType.FLOAT64, 3, 1, 4, 4);
            Tensor y = Tensor.of(new long[] {0, 2, 1});
            Map<String, Tensor> perSample = PerSampleGrads.gradients(net, x, logits -> Losses.crossEntropySum(logits, y), n -> true);
            assertEquals(List.copyOf(net.namedParameters().keySet()), List.copyOf(perSample.keySet()));
            for (int i = 0; i < 3; i++) {
                int row = i;
                List<Tensor> single = singleSampleGrads(net, x.slice(0, i, i + 1), List.copyOf(net.namedParameters().keySet()),
                        (tape, logits) -> tape.grad(Losses.crossEntropySum(logits, y.slice(0, row, row + 1)), params(tape, net)));
                int k = 0;
                for (Map.Entry<String, Tensor> e : perSample.entrySet()) {
                    assertArrayEquals(single.get(k++).toDoubleArray(), e.getValue().select(0, i).toDoubleArray(), 1e-12, e.getKey());
                }
            }
        }
    }

    @Test
    void gradNormCases() throws IOException {
        checkCase("gradnorm-model-mlp-a-all", "mlp-a", 1.0, null, Norm.L2_SQUARED, 0.076);
        checkCase("gradnorm-model-cnn-a-head", "cnn-a", 1.0, Set.of("9.weight", "9.bias"), Norm.L2_SQUARED, 0.043);
    }

    @Test
    void gradNormKlCases() throws IOException {
        checkCase("gradnormkl-model-cnn-a-all", "cnn-a", Double.NaN, null, Norm.L1, 0.0013);
        checkCase("gradnormkl-model-mlp-a-head", "mlp-a", Double.NaN, Set.of("5.weight", "5.bias"), Norm.L1, 0.00022);
    }

    @Test
    void refusesBatchNormInTrainingModeAndUnsupportedLayers() throws IOException {
        try (ModelJson m = Fixtures.model("cnn-a"); Scope s = Scope.open()) {
            Tensor x = caseArray("gradnorm-model-cnn-a-head", "predict_x.npy");
            m.model().train();
            var e = assertThrows(IllegalStateException.class,
                    () -> PerSampleGrads.norms(m.model(), x, Var::sum, name -> true, Norm.L1));
            assertTrue(e.getMessage().contains("eval()"), e.getMessage());
            m.model().eval();
            assertEquals(0, PerSampleGrads.norms(m.model(), x, Var::sum, name -> false, Norm.L1).abs().sum().item(),
                    "nothing selected: zeros");
        }
        Module custom = new Module() {
            { parameter("scale", Tensor.ones(DType.FLOAT32, 1)); }
            @Override public Tensor forward(Tensor x) { return x.mul(localParameters().get("scale").value()); }
            @Override public Var forward(Var x) { return x.mul(x.tape().leaf(localParameters().get("scale").value())); }
        };
        try (custom; Scope s = Scope.open()) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> PerSampleGrads.norms(custom, Tensor.ones(DType.FLOAT32, 2, 1), Var::sum, n -> true, Norm.L1));
            assertTrue(e.getMessage().contains("scale"), e.getMessage());
        }
    }

    // ---------------------------------------------------------------- helpers

    /** Both norms, all-sample pass vs one tape per sample, loss = Σ_i cross-entropy(f(x_i), y_i) with random labels. */
    private void compareWithSingleSamplePasses(Module model, Tensor x, Predicate<String> filter) {
        long before = MemoryStats.liveBlocks();
        int b = (int) x.size(0);
        try (Scope s = Scope.open()) {
            long classes;
            try (Tensor probe = model.apply(x.slice(0, 0, 1))) {
                classes = probe.size(1);
            }
            Tensor y = Tensor.rand(rng, DType.INT64, 0, classes, b);
            List<String> names = model.namedParameters().keySet().stream().filter(filter).toList();
            for (Norm norm : Norm.values()) {
                double[] batched = PerSampleGrads.norms(model, x, logits -> Losses.crossEntropySum(logits, y), filter, norm).toDoubleArray();
                assertEquals(b, batched.length);
                for (int i = 0; i < b; i++) {
                    int row = i;
                    List<Tensor> grads = singleSampleGrads(model, x.slice(0, i, i + 1), names, (tape, logits) ->
                            tape.grad(Losses.crossEntropySum(logits, y.slice(0, row, row + 1)), params(tape, model, names)));
                    double expected = 0;
                    for (Tensor g : grads) for (double v : g.toDoubleArray()) expected += norm.of(v);
                    double tol = (x.dtype() == DType.FLOAT64 ? 1e-10 : 1e-4) * Math.max(1, expected);
                    assertEquals(expected, batched[i], tol, norm + " of sample " + i);
                }
            }
        }
        assertEquals(before, MemoryStats.liveBlocks(), "leak");
    }

    private static List<Var> params(Tape tape, Module model) {
        return params(tape, model, List.copyOf(model.namedParameters().keySet()));
    }

    private static List<Var> params(Tape tape, Module model, List<String> names) {
        List<Var> out = new ArrayList<>();
        for (String n : names) out.add(tape.watch(model.namedParameters().get(n).value()));
        return out;
    }

    private static List<Tensor> singleSampleGrads(Module model, Tensor x, List<String> names,
                                                  java.util.function.BiFunction<Tape, Var, List<Tensor>> grads) {
        try (Tape tape = new Tape()) {
            params(tape, model, names); // watched before the forward pass
            return grads.apply(tape, model.forward(tape.constant(x)));
        }
    }

    /**
     * GradNorm (t = 1) and GradNormKL (t = 1/C, NaN here): the logit gradient of
     * binary_cross_entropy(softmax(z), t, 'sum') as the conformance README defines it.
     */
    private void checkCase(String caseId, String model, double t, Set<String> filter, Norm norm, double atol) throws IOException {
        try (ModelJson m = Fixtures.model(model); Scope s = Scope.open()) {
            Tensor x = caseArray(caseId, "predict_x.npy");
            Function<Tensor, Tensor> logitGrad = logits -> bceSoftmaxLogitGrad(logits, t);
            Tensor norms = PerSampleGrads.normsFromLogitGrad(m.model(), x, logitGrad, filter == null ? n -> true : filter::contains, norm);
            Tensor scores = norm == Norm.L1 ? norms.neg() : norms;
            assertClose(caseArray(caseId, "expected_scores.npy").toDoubleArray(), scores.toDoubleArray(), 1e-4, atol, caseId);
        }
    }

    static Tensor bceSoftmaxLogitGrad(Tensor logits, double target) {
        double[][] z = logits.toDoubleMatrix();
        double[][] g = new double[z.length][];
        for (int i = 0; i < z.length; i++) {
            int c = z[i].length;
            double t = Double.isNaN(target) ? 1.0 / c : target;
            double max = java.util.Arrays.stream(z[i]).max().orElseThrow(), sum = 0;
            double[] p = new double[c], q = new double[c], b = new double[c];
            for (int j = 0; j < c; j++) sum += p[j] = Math.exp(z[i][j] - max);
            for (int j = 0; j < c; j++) p[j] /= sum;
            for (int j = 0; j < c; j++) {
                for (int k = 0; k < c; k++) if (k != j) q[j] += p[k];
                b[j] = (p[j] - t) / Math.max(p[j] * q[j], 1e-12);
            }
            g[i] = new double[c];
            for (int k = 0; k < c; k++) {
                double others = 0;
                for (int j = 0; j < c; j++) if (j != k) others += b[j] * p[j];
                g[i][k] = (p[k] - t) * p[k] * q[k] / Math.max(p[k] * q[k], 1e-12) - p[k] * others;
            }
        }
        return Tensor.of(g);
    }
}
