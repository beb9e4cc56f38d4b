package org.ood4j.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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

/** Layers: the inference and tape forward passes agree; modes, names and lifetimes. */
class LayersTest {
    private final SplittableRandom rng = new SplittableRandom(21);

    @Test
    void inferenceAndTapeForwardAgreeForEveryLayer() {
        long before = MemoryStats.liveBlocks();
        List<Module> layers = List.of(new Linear(6, 4, true, rng), new Conv2d(2, 3, 3, 2, 2, 1, 2, true, rng),
                new BatchNorm2d(2), new ReLU(), new Dropout(0.5), new MaxPool2d(2, 1), new AdaptiveAvgPool2d(2, 3), new Flatten());
        try (Scope s = Scope.open()) {
            for (Module layer : layers) {
                for (boolean train : new boolean[] {false, true}) {
                    layer.train(train);
                    if (layer instanceof Dropout d) d.setRandom(new SplittableRandom(5));
                    Tensor x = layer instanceof Linear ? Tensor.randn(rng, DType.FLOAT32, 5, 6) : Tensor.randn(rng, DType.FLOAT32, 3, 2, 7, 6);
                    Tensor inference = layer.apply(x);
                    if (layer instanceof Dropout d) d.setRandom(new SplittableRandom(5));
                    if (layer instanceof BatchNorm2d bn) bn.eval().train(train); // same statistics for both passes
                    try (Tape tape = new Tape()) {
                        Var out = layer.forward(tape.constant(x));
                        assertArrayEquals(inference.toDoubleArray(), out.value().toDoubleArray(), 1e-5, layer + " train=" + train);
                    }
                }
            }
        }
        layers.forEach(Module::close);
        assertEquals(before, MemoryStats.liveBlocks(), "closing frees the parameters and buffers");
    }

    @Test
    void dropoutModes() {
        Dropout d = new Dropout(0.5);
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.ones(DType.FLOAT32, 1000);
            assertArrayEquals(x.toDoubleArray(), d.apply(x).toDoubleArray(), "identity in evaluation mode");
            Sequential net = new Sequential(new Linear(2, 2, true), d);
            net.dropoutAtInference(true);
            assertTrue(d.isActive());
            double[] y = d.apply(x).toDoubleArray();
            long zeros = java.util.Arrays.stream(y).filter(v -> v == 0).count();
            assertTrue(zeros > 400 && zeros < 600, "about half dropped: " + zeros);
            assertTrue(java.util.Arrays.stream(y).allMatch(v -> v == 0 || v == 2), "kept values scaled by 1/(1-p)");
            net.dropoutAtInference(false);
            net.train();
            assertTrue(d.isActive());
            net.eval();
            assertFalse(d.isActive());
            assertThrows(IllegalArgumentException.class, () -> new Dropout(1.5));
            net.close();
        }
    }

    @Test
    void namesFollowPyTorch() {
        try (Sequential m = Zoo.smallCnn(1, 8, 8, 10, 2, 0.2, rng)) {
            assertEquals(List.of("0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias", "5.weight", "5.bias",
                    "9.weight", "9.bias", "12.weight", "12.bias"), List.copyOf(m.namedParameters().keySet()));
            assertEquals(List.of("weight", "bias", "running_mean", "running_var", "num_batches_tracked"),
                    List.copyOf(m.get(1).stateDict().keySet()));
            assertTrue(m.namedModules().containsKey("11"));
            assertFalse(m.isTraining());
            m.train();
            assertTrue(m.get(5).isTraining());
            Sequential.Split split = m.split(Zoo.SMALL_CNN_FEATURES_AT);
            assertEquals(12, split.backbone().size());
            assertEquals("12", split.head().nameOf(0));
            assertEquals(List.of("12.weight", "12.bias"), List.copyOf(split.head().namedParameters().keySet()));
            assertTrue(split.head().namedParameters().get("12.weight") == m.namedParameters().get("12.weight"), "shared, not copied");
            assertFalse(split.head().ownsLayers());
        }
    }

    @Test
    void forwardCollectGivesChosenOutputsInOnePass() {
        try (Sequential m = Zoo.mlp(4, new int[] {6, 5}, 3, 0, rng); Scope s = Scope.open()) {
            Tensor x = Tensor.randn(rng, DType.FLOAT32, 2, 4);
            List<Tensor> outs = m.forwardCollect(x, 3, 1, 3);
            assertEquals(4, outs.size());
            assertArrayEquals(new long[] {2, 5}, outs.get(0).shape());
            assertArrayEquals(new long[] {2, 6}, outs.get(1).shape());
            assertArrayEquals(m.apply(x).toDoubleArray(), outs.get(3).toDoubleArray());
            assertArrayEquals(m.split(3).backbone().apply(x).toDoubleArray(), outs.get(2).toDoubleArray());
            try (Tape tape = new Tape()) {
                List<Var> vs = m.forwardCollect(tape.watch(x), 1);
                assertArrayEquals(outs.get(1).toDoubleArray(), vs.get(0).value().toDoubleArray());
            }
            assertThrows(IndexOutOfBoundsException.class, () -> m.forwardCollect(x, 5));
        }
    }

    @Test
    void toFloat64ConvertsParametersButNotCounters() {
        try (Sequential m = Zoo.smallCnn(1, 4, 4, 2, 1, 0, rng); Scope s = Scope.open()) {
            Tensor x = Tensor.randn(rng, DType.FLOAT32, 2, 1, 4, 4);
            double[] y32 = m.apply(x).toDoubleArray();
            m.to(DType.FLOAT64);
            assertEquals(DType.FLOAT64, m.get(0).stateDict().get("weight").dtype());
            assertEquals(DType.INT64, m.get(1).stateDict().get("num_batches_tracked").dtype());
            Tensor y64 = m.apply(x.to(DType.FLOAT64));
            assertEquals(DType.FLOAT64, y64.dtype());
            assertArrayEquals(y32, y64.toDoubleArray(), 1e-5);
            assertNotEquals(0, y64.abs().sum().item());
        }
    }
}
