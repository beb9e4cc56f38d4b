package org.ood4j.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.ood4j.models.Fixtures.assertClose;
import static org.ood4j.models.Fixtures.caseArray;

import java.io.IOException;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Tape;
import org.ood4j.engine.autodiff.Var;

/**
 * Gradients with respect to the network input, as ODIN's input preprocessing uses them:
 * x' = x - eps · sign(∇ₓ L) / norm_std, L = -mean_i f(x_i)_{y_i} / T. Reproduces the
 * odin_preprocessing cases (the network run in float64 so that no sign flips by rounding).
 */
class InputGradientTest {

    @Test
    void odinPreprocessingOfMlp() throws IOException {
        check("odin-preprocessing-mlp-a", "mlp-a", 0.05, 1000, null, false, 1.8e-6);
    }

    @Test
    void odinPreprocessingOfCnnWithLabelsAndNormStd() throws IOException {
        check("odin-preprocessing-cnn-a-labels", "cnn-a", 0.02, 2, new double[] {0.5, 1, 2}, true, 1.5e-6);
    }

    private static void check(String caseId, String model, double eps, double temperature, double[] normStd, boolean labels,
                              double atol) throws IOException {
        long before = MemoryStats.liveBlocks();
        try (ModelJson m = Fixtures.model(model); Scope s = Scope.open()) {
            m.model().to(DType.FLOAT64);
            Tensor x = caseArray(caseId, "predict_x.npy").to(DType.FLOAT64);
            Tensor xHat;
            try (Tape tape = new Tape()) {
                Var xv = tape.watch(x);
                Var scaled = m.model().forward(xv).div(temperature);
                Tensor y = labels ? caseArray(caseId, "predict_y.npy") : scaled.value().argmax(1);
                Var loss = scaled.mul(tape.constant(Losses.oneHot(y, scaled.shape(), DType.FLOAT64))).sum().div(-x.size(0));
                Tensor step = tape.grad(loss, List.of(xv)).get(0).sign();
                if (normStd != null) step = step.div(Tensor.of(normStd).reshape(1, -1, 1, 1));
                xHat = x.sub(step.mul(eps));
            }
            assertClose(caseArray(caseId, "expected_x_hat.npy").toDoubleArray(), xHat.toDoubleArray(), 1e-4, atol, caseId);
        }
        assertEquals(before, MemoryStats.liveBlocks());
    }
}
