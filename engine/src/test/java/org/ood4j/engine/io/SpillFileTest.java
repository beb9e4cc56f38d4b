package org.ood4j.engine.io;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** SpillFile: rows appended in chunks come back mapped, bit for bit, and no file is left behind. */
class SpillFileTest {
    @TempDir Path dir;

    private long files() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    @Test
    void chunksAppendedComeBackAsOneMappedMatrixAndTheFileIsGone() throws IOException {
        long blocks = MemoryStats.liveBlocks();
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(new SplittableRandom(5), DType.FLOAT64, 1000, 13);
            Tensor rows;
            try (SpillFile spill = SpillFile.create(dir, DType.FLOAT32, 13)) {
                spill.append(x.slice(0, 0, 1));
                spill.append(x.slice(0, 1, 400).t().t());        // any strides
                spill.append(x.slice(0, 400, 1000).to(DType.FLOAT32));
                assertEquals(1000, spill.rows());
                assertEquals(0, files(), "unlinked at creation: reached through its channel, then its mapping");
                rows = spill.finish();
            }
            assertTrue(rows.storage().readOnly(), "mapped, not copied");
            assertArrayEquals(new long[] {1000, 13}, rows.shape());
            assertArrayEquals(x.to(DType.FLOAT32).toDoubleArray(), rows.toDoubleArray());
        }
        assertEquals(blocks, MemoryStats.liveBlocks(), "the mapping ends with the tensor");
    }

    @Test
    void joiningTwoSpillsKeepsTheirOrder() throws IOException {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.randn(new SplittableRandom(1), DType.FLOAT64, 70, 4), b = Tensor.randn(new SplittableRandom(2), DType.FLOAT64, 30, 4);
            try (SpillFile first = SpillFile.create(dir, DType.FLOAT64, 4); SpillFile second = SpillFile.create(dir, DType.FLOAT64, 4)) {
                first.append(a);
                second.append(b);
                first.appendAll(second);
                assertEquals(100, first.rows());
                assertArrayEquals(Tensor.cat(java.util.List.of(a, b), 0).toDoubleArray(), first.finish().toDoubleArray());
            }
            assertEquals(0, files());
        }
    }

    @Test
    void anAbandonedSpillIsDeletedAndMisuseIsNamed() throws IOException {
        try (Scope s = Scope.open()) {
            SpillFile spill = SpillFile.create(dir, DType.FLOAT32, 3);
            spill.append(Tensor.ones(DType.FLOAT32, 5, 3));
            IllegalArgumentException wide = assertThrows(IllegalArgumentException.class, () -> spill.append(Tensor.ones(DType.FLOAT32, 5, 4)));
            assertTrue(wide.getMessage().contains("(n, 3)") && wide.getMessage().contains("[5, 4]"), wide.getMessage());
            spill.close();
            assertEquals(0, files(), "nothing left");
            assertThrows(IllegalStateException.class, () -> spill.append(Tensor.ones(DType.FLOAT32, 1, 3)));
            IOException missing = assertThrows(IOException.class, () -> SpillFile.create(dir.resolve("nope"), DType.FLOAT32, 3));
            assertTrue(missing.getMessage().contains("nope"), missing.getMessage());
        }
    }

    @Test
    void safetensorsMapsBigTensorsAndReadsTheRest() throws IOException {
        Path f = dir.resolve("t.safetensors");
        try (Scope s = Scope.open()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("small", Tensor.of(new long[] {1, 2, 3}));
            tensors.put("big", Tensor.randn(new SplittableRandom(9), DType.FLOAT32, 64, 64));
            tensors.put("wide", Tensor.randn(new SplittableRandom(8), DType.FLOAT64, 10, 300));
            Safetensors.write(f, tensors, Map.of("k", "v"));
            Map<String, Tensor> back = Safetensors.read(f, 64 * 64 * 4);
            assertFalse(back.get("small").storage().readOnly(), "under the limit: read");
            assertTrue(back.get("big").storage().readOnly(), "at the limit: mapped");
            assertTrue(back.get("wide").storage().readOnly());
            for (String k : tensors.keySet()) assertArrayEquals(tensors.get(k).toDoubleArray(), back.get(k).toDoubleArray(), k);
            assertEquals(java.util.List.copyOf(tensors.keySet()), java.util.List.copyOf(back.keySet()), "header order");
            back.values().forEach(Tensor::close);
        }
    }
}
