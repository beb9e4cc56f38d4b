package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** Many fit/predict cycles leave native memory flat: nothing leaks per cycle. */
class MemoryCyclesTest {
    static final int CYCLES = Integer.getInteger("memory.cycles", 10000);

    @Test
    void tenThousandFitPredictCyclesLeaveNativeMemoryFlat() {
        SplittableRandom rng = new SplittableRandom(2);
        try (Tensor logits = Tensor.randn(rng, DType.FLOAT32, 24, 3); Tensor features = Tensor.randn(rng, DType.FLOAT32, 24, 4);
             Tensor labels = Tensor.rand(rng, DType.INT64, 0, 3, 24)) {
            labels.set(0, 0);
            labels.set(1, 1);
            labels.set(2, 2); // every class present
            List<Supplier<AbstractDetector>> set = List.of(
                    () -> new KLMatching(null), () -> new TemperatureScaling(null), () -> new Mahalanobis(null, 0, null),
                    () -> new KNN(null), () -> new GMM(null));
            long blocks = MemoryStats.liveBlocks(), bytes = MemoryStats.liveBytes();
            for (int cycle = 0; cycle < CYCLES; cycle++) {
                try (Scope s = Scope.open(); AbstractDetector d = set.get(cycle % set.size()).get()) {
                    if (d instanceof LogitsDetector l) {
                        l.fitLogits(logits, labels);
                        l.predictLogits(logits);
                    } else {
                        FeaturesDetector f = (FeaturesDetector) d;
                        f.fitFeatures(features, labels);
                        f.predictFeatures(features);
                    }
                }
                if (cycle == CYCLES / 2) {
                    assertEquals(blocks, MemoryStats.liveBlocks(), "live blocks at cycle " + cycle);
                }
            }
            assertEquals(blocks, MemoryStats.liveBlocks(), "live native blocks after " + CYCLES + " cycles");
            assertEquals(bytes, MemoryStats.liveBytes(), "live native bytes after " + CYCLES + " cycles");
        }
    }

    @Test
    void misuseFailsLoudly() {
        Tensor t = Tensor.zeros(DType.FLOAT32, 3);
        Tensor view = t.slice(0, 0, 2);
        t.close();
        assertThrows(IllegalStateException.class, t::close, "freed twice");
        assertThrows(IllegalStateException.class, () -> t.add(1), "used after close");
        try (Tensor sum = view.sum()) {
            assertEquals(0, sum.item(), "a view keeps its storage alive");
        }
        view.close();
        Tensor escaped;
        try (Scope s = Scope.open()) {
            escaped = Tensor.ones(DType.FLOAT32, 2);
        }
        var e = assertThrows(IllegalStateException.class, escaped::toFloatArray, "escaped its scope");
        assertTrue(e.getMessage().contains("[2]") && e.getMessage().contains("closed"), e.getMessage());
    }
}
