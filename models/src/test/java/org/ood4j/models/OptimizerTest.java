package org.ood4j.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Tape;
import org.ood4j.engine.autodiff.Var;

/** SGD and Adam against hand-computed PyTorch steps, and cross-entropy. */
class OptimizerTest {

    @Test
    void sgdWithMomentumAndWeightDecay() {
        try (Linear l = new Linear(1, 1, false); Scope s = Scope.open()) {
            Parameter p = l.weight();
            p.set(Tensor.ones(DType.FLOAT32, 1, 1));
            Tensor g = Tensor.full(2, DType.FLOAT32, 1, 1);
            try (Sgd sgd = new Sgd(List.of(p), 0.1, 0.9, 0)) {
                sgd.step(List.of(g));
                assertEquals(0.8, p.value().item(), 1e-6);   // b = 2
                sgd.step(List.of(g));
                assertEquals(0.42, p.value().item(), 1e-6);  // b = 0.9 * 2 + 2 = 3.8
            }
            p.set(Tensor.ones(DType.FLOAT32, 1, 1));
            try (Sgd sgd = new Sgd(List.of(p), 0.1, 0, 0.5)) {
                sgd.step(List.of(g));
                assertEquals(1 - 0.1 * 2.5, p.value().item(), 1e-6);
            }
        }
    }

    @Test
    void adamBiasCorrectedSteps() {
        try (Linear l = new Linear(1, 1, false); Scope s = Scope.open()) {
            Parameter p = l.weight();
            p.set(Tensor.ones(DType.FLOAT32, 1, 1));
            try (Adam adam = new Adam(List.of(p), 0.1)) {
                Tensor g = Tensor.full(2, DType.FLOAT32, 1, 1);
                adam.step(List.of(g));
                assertEquals(0.9, p.value().item(), 1e-6);   // m̂ = 2, v̂ = 4
                adam.step(List.of(g));
                assertEquals(0.8, p.value().item(), 1e-6);
                assertThrows(IllegalArgumentException.class, () -> adam.step(List.of(Tensor.zeros(DType.FLOAT32, 2))));
            }
        }
    }

    @Test
    void adamFitsALinearRegressionWithoutLeaking() {
        long before = MemoryStats.liveBlocks();
        SplittableRandom rng = new SplittableRandom(4);
        try (Linear l = new Linear(3, 1, true, rng); Adam adam = new Adam(l.parameters(), 0.05); Scope s = Scope.open()) {
            Tensor x = Tensor.randn(rng, DType.FLOAT32, 64, 3);
            Tensor y = x.matmul(Tensor.of(new float[] {1, -2, 0.5f}, 3, 1)).add(0.25);
            for (int i = 0; i < 300; i++) {
                try (Tape tape = new Tape(); Scope step = Scope.open()) {
                    List<Var> params = List.copyOf(l.watchParameters(tape).values());
                    Var err = l.forward(tape.constant(x)).sub(tape.constant(y));
                    adam.step(tape.grad(err.mul(err).mean(), params));
                }
            }
            assertEquals(-2, l.weight().value().getDouble(0, 1), 1e-2);
            assertEquals(0.25, l.bias().value().getDouble(0), 1e-2);
        }
        assertEquals(before, MemoryStats.liveBlocks());
    }

    @Test
    void crossEntropyKnownValue() {
        try (Scope s = Scope.open(); Tape tape = new Tape()) {
            Tensor logits = Tensor.of(new double[][] {{0, 0}, {Math.log(3), 0}});
            Tensor y = Tensor.of(new long[] {0, 1});
            double expected = (Math.log(2) + Math.log(4)) / 2;
            assertEquals(expected, Losses.crossEntropy(logits, y), 1e-12);
            assertEquals(expected, Losses.crossEntropy(tape.constant(logits), y).value().item(), 1e-12);
            var e = assertThrows(IllegalArgumentException.class, () -> Losses.crossEntropy(logits, Tensor.of(new long[] {0, 2})));
            assertTrue(e.getMessage().contains("label 2"), e.getMessage());
        }
    }
}
