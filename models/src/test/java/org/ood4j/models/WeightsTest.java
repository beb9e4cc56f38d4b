package org.ood4j.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

/** Loading and saving state dicts: round trips, and one error naming every problem. */
class WeightsTest {

    @Test
    void safetensorsRoundTrip(@TempDir Path dir) throws IOException {
        long before = MemoryStats.liveBlocks();
        try (Sequential a = Zoo.smallCnn(1, 8, 8, 3, 2, 0.1, new SplittableRandom(1));
             Sequential b = Zoo.smallCnn(1, 8, 8, 3, 2, 0.1, new SplittableRandom(2))) {
            a.train();
            try (Tensor x = Tensor.randn(new SplittableRandom(3), DType.FLOAT32, 4, 1, 8, 8); Tensor y = a.apply(x)) {
                // running statistics move away from their initial values
            }
            a.eval();
            Weights.save(a, dir.resolve("a.safetensors"));
            Weights.load(b, dir.resolve("a.safetensors"));
            a.stateDict().forEach((k, p) -> assertArrayEquals(p.value().toDoubleArray(), b.stateDict().get(k).value().toDoubleArray(), k));
            assertEquals(1, b.stateDict().get("1.num_batches_tracked").value().item());
        }
        assertEquals(before, MemoryStats.liveBlocks());
    }

    @Test
    void npyFolderByName(@TempDir Path dir) throws IOException {
        try (Sequential a = Zoo.mlp(4, new int[] {5}, 3, 0, new SplittableRandom(1));
             Sequential b = Zoo.mlp(4, new int[] {5}, 3, 0, new SplittableRandom(2))) {
            for (var e : a.stateDict().entrySet()) Npy.write(dir.resolve(e.getKey() + ".npy"), e.getValue().value());
            Weights.load(b, dir);
            assertArrayEquals(a.stateDict().get("2.weight").value().toDoubleArray(), b.stateDict().get("2.weight").value().toDoubleArray());
            try (Tensor extra = Tensor.zeros(DType.FLOAT32, 2)) {
                Npy.write(dir.resolve("2.extra.npy"), extra);
            }
            var e = assertThrows(IllegalArgumentException.class, () -> Weights.load(b, dir));
            assertTrue(e.getMessage().contains("unexpected keys [2.extra]"), e.getMessage());
        }
    }

    @Test
    void oneErrorNamesMissingUnexpectedAndMisshapedKeys() {
        try (Sequential m = Zoo.mlp(4, new int[] {5}, 3, 0, new SplittableRandom(1)); Scope s = Scope.open()) {
            Map<String, Tensor> sd = new LinkedHashMap<>(Weights.stateDict(m));
            double[] before = m.stateDict().get("0.weight").value().toDoubleArray();
            sd.remove("2.bias");
            sd.put("2.weight", Tensor.zeros(DType.FLOAT32, 3, 6));
            sd.put("fc.weight", Tensor.zeros(DType.FLOAT32, 1));
            sd.put("0.weight", Tensor.zeros(DType.FLOAT32, 5, 4));
            var e = assertThrows(IllegalArgumentException.class, () -> Weights.loadStateDict(m, sd));
            String msg = e.getMessage();
            assertTrue(msg.contains("missing keys [2.bias]"), msg);
            assertTrue(msg.contains("unexpected keys [fc.weight]"), msg);
            assertTrue(msg.contains("2.weight: model [3, 5], state dict [3, 6]"), msg);
            assertArrayEquals(before, m.stateDict().get("0.weight").value().toDoubleArray(), "nothing written when loading fails");
            sd.put("2.weight", Tensor.zeros(DType.INT64, 3, 5));
            sd.put("2.bias", Tensor.zeros(DType.FLOAT64, 3));
            sd.remove("fc.weight");
            e = assertThrows(IllegalArgumentException.class, () -> Weights.loadStateDict(m, sd));
            assertTrue(e.getMessage().contains("2.weight: model FLOAT32, state dict INT64"), e.getMessage());
        }
    }

    @Test
    void float64WeightsLoadIntoFloat32Parameters() {
        try (Linear l = new Linear(2, 1, true); Scope s = Scope.open()) {
            Weights.loadStateDict(l, Map.of("weight", Tensor.of(new double[] {0.5, -2}, 1, 2), "bias", Tensor.of(new double[] {1})));
            assertEquals(DType.FLOAT32, l.weight().dtype());
            assertArrayEquals(new double[] {1 + 0.5 * 2 - 2 * 3}, l.apply(Tensor.of(new float[] {2, 3}, 1, 2)).toDoubleArray(), 1e-6);
        }
    }
}
