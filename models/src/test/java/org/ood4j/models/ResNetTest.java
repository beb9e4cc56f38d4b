package org.ood4j.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ood4j.models.Fixtures.assertClose;

import java.io.IOException;
import java.nio.file.Path;
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
import org.ood4j.engine.io.Npy;
import org.ood4j.engine.io.Npz;

/**
 * ResNet-18 (CIFAR variant) against the float64 NumPy reference in resources/resnet18-w4
 * (make_reference.py: PyTorch's forward semantics, torchvision's state_dict names), at width 4.
 */
class ResNetTest {
    private static final Path DIR = Fixtures.resource("resnet18-w4");

    @Test
    void stateDictNamesAreTorchvisions() throws IOException {
        try (Sequential net = ResNets.resnet18(3, 10, 4, null)) {
            Map<String, Tensor> ref = Npz.read(DIR.resolve("weights.npz"));
            try {
                assertEquals(List.copyOf(ref.keySet()), List.copyOf(net.stateDict().keySet()), "names and order");
            } finally {
                ref.values().forEach(Tensor::close);
            }
            assertEquals(List.of("conv1", "bn1", "relu", "layer1", "layer2", "layer3", "layer4", "avgpool", "flatten", "fc"),
                    List.copyOf(net.children().keySet()));
            assertTrue(net.stateDict().containsKey("layer2.0.downsample.0.weight"));
            assertTrue(!net.stateDict().containsKey("layer1.0.downsample.0.weight"), "no shortcut conv where the width stays");
        }
        try (Sequential full = ResNets.resnet18(10, new SplittableRandom(1))) {
            long params = full.parameters().stream().mapToLong(p -> p.value().numel()).sum();
            assertEquals(11_173_962, params, "torchvision's CIFAR ResNet-18 parameter count");
        }
    }

    @Test
    void evaluationForwardMatchesReference() throws IOException {
        long before = MemoryStats.liveBlocks();
        try (Sequential net = load(); Scope s = Scope.open()) {
            Tensor x = Npy.read(DIR.resolve("x.npy"));
            assertClose(Npy.read(DIR.resolve("expected_logits.npy")).toDoubleArray(), net.apply(x).toDoubleArray(), 1e-4, 1e-4, "logits");
            Sequential.Split split = net.split(ResNets.FEATURE_MAPS_AT);
            Tensor maps = split.backbone().apply(x);
            assertArrayEquals(new long[] {3, 32, 4, 4}, maps.shape());
            assertClose(Npy.read(DIR.resolve("expected_feature_maps.npy")).toDoubleArray(), maps.toDoubleArray(), 1e-4, 1e-5, "maps");
            assertArrayEquals(net.apply(x).toDoubleArray(), split.head().apply(maps).toDoubleArray(), 1e-5);
            split.backbone().close();   // a view: frees nothing
            try (Tape tape = new Tape()) {
                Var logits = net.forward(tape.constant(x));
                assertArrayEquals(net.apply(x).toDoubleArray(), logits.value().toDoubleArray(), 1e-5, "tape forward = inference forward");
            }
        }
        assertEquals(before, MemoryStats.liveBlocks());
    }

    @Test
    void trainingModeUsesBatchStatisticsAndUpdatesRunningStats() throws IOException {
        try (Sequential net = load(); Scope s = Scope.open()) {
            Tensor x = Npy.read(DIR.resolve("x.npy"));
            net.train();
            assertClose(Npy.read(DIR.resolve("expected_logits_train.npy")).toDoubleArray(), net.apply(x).toDoubleArray(), 1e-4, 1e-4,
                    "train-mode logits");
            Parameter rv = net.stateDict().get("layer4.1.bn2.running_var");
            assertClose(Npy.read(DIR.resolve("expected_layer4_1_bn2_running_var.npy")).toDoubleArray(), rv.value().toDoubleArray(),
                    1e-5, 1e-6, "running var");
            assertEquals(8, net.stateDict().get("bn1.num_batches_tracked").value().item());
        }
    }

    @Test
    void trainingModeTapeForwardUpdatesRunningStatsLikeInference() throws IOException {
        try (Sequential a = load(); Sequential b = load(); Scope s = Scope.open()) {
            Tensor x = Npy.read(DIR.resolve("x.npy"));
            a.train();
            b.train();
            Tensor inference = a.apply(x);
            try (Tape tape = new Tape()) {
                Map<String, Var> params = b.watchParameters(tape);
                Var out = b.forward(tape.constant(x));
                assertArrayEquals(inference.toDoubleArray(), out.value().toDoubleArray(), 1e-4);
                List<Tensor> g = tape.grad(out.sum(), new ArrayList<>(params.values()));
                assertEquals(params.size(), g.size());
            }
            assertArrayEquals(a.stateDict().get("layer3.0.bn1.running_mean").value().toDoubleArray(),
                    b.stateDict().get("layer3.0.bn1.running_mean").value().toDoubleArray(), 1e-6);
        }
    }

    private static Sequential load() throws IOException {
        Sequential net = ResNets.resnet18(3, 10, 4, null);
        Weights.load(net, DIR.resolve("weights.npz"));
        return net;
    }

    static Tensor input(long... shape) {
        return Tensor.randn(new SplittableRandom(4), DType.FLOAT32, shape);
    }
}
