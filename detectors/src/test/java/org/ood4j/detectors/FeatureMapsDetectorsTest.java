package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import java.util.function.Function;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.Backends;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** The shaping of ASH, ReAct, RankFeat and VRA on hand-made maps, seen through an identity-like head. */
class FeatureMapsDetectorsTest {
    /** A head that returns the flattened maps as "logits", so the score function sees the shaped values. */
    private static final Function<Tensor, Tensor> FLAT = m -> m.reshape(m.size(0), -1);
    /** The sum of the shaped values, as a score. */
    private static final Function<Tensor, Tensor> SUM = l -> l.sum(1);

    private static Tensor maps(double... v) {
        return Tensor.of(v, 1, 1, 2, v.length / 2);
    }

    @Test
    void reactAndVraClampWhilePoolingWithTheUnfusedScores() {
        // a head that starts with global pooling takes the clamp fused into the pool (Conv.clampedGlobalAvgPool);
        // the same head behind a plain function gets clamp, then pool: the scores must be the same bits
        try (Scope s = Scope.open();
             org.ood4j.models.Sequential head = new org.ood4j.models.Sequential(new org.ood4j.models.AdaptiveAvgPool2d(),
                     new org.ood4j.models.Flatten(), new org.ood4j.models.Linear(6, 4, true, new SplittableRandom(2)))) {
            Function<Tensor, Tensor> opaque = head::apply;
            SplittableRandom rng = new SplittableRandom(3);
            Tensor fit = Tensor.randn(rng, DType.FLOAT32, 50, 6, 3, 3).abs();
            Tensor maps = Tensor.randn(rng, DType.FLOAT32, 40, 6, 3, 3).mul(2);
            maps.set(Double.NaN, 7, 2, 1, 1);
            assertArrayEquals(new ReAct(null, opaque, 0.8, null).predictFeatureMaps(maps.slice(0, 8, 40)).toDoubleArray(),
                    new ReAct(null, head, 0.8, null).predictFeatureMaps(maps.slice(0, 8, 40)).toDoubleArray());
            VRA fused = new VRA(null, head, 10, 90, null), unfused = new VRA(null, opaque, 10, 90, null);
            fused.fitFeatureMaps(fit, null);
            unfused.fitFeatureMaps(fit, null);
            assertArrayEquals(unfused.predictFeatureMaps(maps.slice(0, 8, 40)).toDoubleArray(),
                    fused.predictFeatureMaps(maps.slice(0, 8, 40)).toDoubleArray());
            // the fused op itself keeps NaN where the unfused ops do
            Tensor pooled = org.ood4j.engine.Conv.clampedGlobalAvgPool(maps, null, Tensor.scalar(0.8, DType.FLOAT32));
            assertTrue(Double.isNaN(pooled.getDouble(7, 2, 0, 0)));
            assertArrayEquals(maps.clampMax(0.8).reshape(40, 6, 9).mean(2, false).slice(0, 0, 7).toDoubleArray(),
                    pooled.slice(0, 0, 7).toDoubleArray(), 1e-6);
            fused.close();
            unfused.close();
        }
    }

    @Test
    void clampPoolsRefuseNonFiniteMapsAsTheCheckDoes() {
        // ReAct and VRA before a pooling head check the maps in the pooling pass: an infinity the clamp
        // would hide is still refused, with the row named as the separate check names it
        try (Scope s = Scope.open();
             org.ood4j.models.Sequential head = new org.ood4j.models.Sequential(new org.ood4j.models.AdaptiveAvgPool2d(),
                     new org.ood4j.models.Flatten(), new org.ood4j.models.Linear(6, 4, true, new SplittableRandom(2)))) {
            Tensor maps = Tensor.randn(new SplittableRandom(8), DType.FLOAT32, 30, 6, 3, 3).abs();
            VRA vra = new VRA(null, head, 10, 90, null);
            vra.fitFeatureMaps(maps, null);
            maps.set(Double.POSITIVE_INFINITY, 17, 3, 2, 0);
            for (FeatureMapsDetector d : new FeatureMapsDetector[] {new ReAct(null, head, 0.5, null), vra}) {
                var e = assertThrows(IllegalArgumentException.class, () -> d.predictFeatureMaps(maps), d.name());
                assertTrue(e.getMessage().contains("NaN or infinite") && e.getMessage().contains("row 17"), e.getMessage());
            }
            vra.close();
        }
    }

    @Test
    void rankFeatPoolsWithoutTheShapedMapsWithTheUnfusedScores() {
        // a global-pooling head takes the row means of X' from X's and the top vector
        // (Linalg.removeTopSingularRowMeans); behind a plain function X' is formed, rounded to float32
        // and pooled: the same scores to that rounding; maps 6 x 3 x 3 (C < HW) and 12 x 2 x 2 (C > HW)
        for (long[] size : new long[][] {{6, 3, 3}, {12, 2, 2}}) {
            try (Scope s = Scope.open();
                 org.ood4j.models.Sequential head = new org.ood4j.models.Sequential(new org.ood4j.models.AdaptiveAvgPool2d(),
                         new org.ood4j.models.Flatten(), new org.ood4j.models.Linear((int) size[0], 4, true, new SplittableRandom(2)))) {
                Function<Tensor, Tensor> opaque = head::apply;
                Tensor maps = Tensor.randn(new SplittableRandom(6), DType.FLOAT32, 40, size[0], size[1], size[2]).relu();
                double[] unfused = new RankFeat(null, opaque, null).predictFeatureMaps(maps).toDoubleArray();
                double[] fused = new RankFeat(null, head, null).predictFeatureMaps(maps).toDoubleArray();
                for (int i = 0; i < fused.length; i++) assertEquals(unfused[i], fused[i], 1e-5 * Math.abs(unfused[i]) + 1e-6, "sample " + i);
            }
        }
    }

    @Test
    void ashPoolsWhileShapingWithTheUnfusedScores() {
        // a global-pooling head takes ASH's per-channel kept sums (ASH.pooledShape); behind a plain
        // function the shaped maps go through the head: the same scores to float64 round-off
        try (Scope s = Scope.open();
             org.ood4j.models.Sequential head = new org.ood4j.models.Sequential(new org.ood4j.models.AdaptiveAvgPool2d(),
                     new org.ood4j.models.Flatten(), new org.ood4j.models.Linear(6, 4, true, new SplittableRandom(2)))) {
            Function<Tensor, Tensor> opaque = head::apply;
            Tensor maps = Tensor.randn(new SplittableRandom(5), DType.FLOAT32, 40, 6, 3, 3).relu();
            maps.set(0.5, 3, 1, 1, 1);                                 // ties at the cut in sample 3
            maps.set(0.5, 3, 4, 0, 2);
            for (String variant : new String[] {"ash-p", "ash-b", "ash-s"}) {
                for (double percentile : new double[] {0, 0.3, 0.65, 1}) {
                    assertArrayEquals(new ASH(null, opaque, variant, percentile, null).predictFeatureMaps(maps).toDoubleArray(),
                            new ASH(null, head, variant, percentile, null).predictFeatureMaps(maps).toDoubleArray(), 1e-12,
                            variant + " at " + percentile);
                }
            }
        }
    }

    @Test
    void ashVariantsKeepExactlyKActivations() {
        try (Scope s = Scope.open()) {
            Tensor m = maps(1, 5, 3, 0, 0, 2);                       // n = 6, percentile 0.5 -> k = 3: keep 5, 3, 2
            assertEquals(10, new ASH(null, FLAT, "ash-p", 0.5, SUM).predictFeatureMaps(m).item(), 1e-12);
            assertEquals(11, new ASH(null, FLAT, "ash-b", 0.5, SUM).predictFeatureMaps(m).item(), 1e-12, "3 x sum/k = 11");
            assertEquals(10 * Math.exp(11.0 / 10), new ASH(null, FLAT, "ash-s", 0.5, SUM).predictFeatureMaps(m).item(), 1e-9);
            // ties at the cut: two zeros compete for the last kept place; the lower position wins, so exactly k are kept
            Tensor ties = maps(4, 0, 0, 0);                          // n = 4, percentile 0.5 -> k = 2
            assertEquals(4, new ASH(null, FLAT, "ash-b", 0.5, l -> l.gt(Tensor.scalar(0, DType.FLOAT64)).sum(1).mul(2)).predictFeatureMaps(ties).item());
            // everything pruned, or a zero map under ash-s: zeros, never NaN
            assertEquals(0, new ASH(null, FLAT, "ash-p", 1.0, SUM).predictFeatureMaps(m).item());
            assertEquals(0, new ASH(null, FLAT, "ash-s", 0.5, SUM).predictFeatureMaps(maps(0, 0, 0, 0)).item());
            assertThrows(IllegalArgumentException.class, () -> new ASH(null, FLAT, "ash-x", 0.5, null));
            assertThrows(IllegalArgumentException.class, () -> new ASH(null, FLAT, "ash-p", 65, null), "a fraction, not a percent");
        }
    }

    @Test
    void reactClipsAtTheThreshold() {
        try (Scope s = Scope.open()) {
            assertEquals(1 + 1 + 0.5 + 0, new ReAct(null, FLAT, 1, SUM).predictFeatureMaps(maps(3, 1, 0.5, 0)).item(), 1e-12);
        }
    }

    @Test
    void rankFeatRemovesTheDominantComponent() {
        try (Scope s = Scope.open()) {
            // a rank-1 map loses everything
            Tensor rank1 = Tensor.of(new double[] {1, 2, 3, 2, 4, 6}, 1, 2, 1, 3);
            double[] left = new RankFeat(null, FLAT, null).shape(rank1).toDoubleArray();
            for (double v : left) assertEquals(0, v, 1e-12);
            // rank 2: what remains is orthogonal to the removed direction and smaller
            Tensor x = Tensor.randn(new SplittableRandom(3), DType.FLOAT64, 2, 4, 3, 3);
            Tensor rest = new RankFeat(null, FLAT, null).shape(x);
            assertArrayEquals(x.shape(), rest.shape());
            assertTrue(rest.reshape(2, -1).normL2(1, false).sum().item() < x.reshape(2, -1).normL2(1, false).sum().item());
        }
    }

    @Test
    void rankFeatKeepsTheMapsDtypeAndDevice() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(new SplittableRandom(5), DType.FLOAT32, 3, 6, 2, 2);
            Tensor cpu = new RankFeat(null, FLAT, null).shape(x);
            assertEquals(DType.FLOAT32, cpu.dtype());
            assertArrayEquals(x.shape(), cpu.shape());
            Assumptions.assumeTrue(Backends.cudaStatus().available(), "the CUDA half: " + Backends.cudaStatus().description());
            Tensor gpu = new RankFeat(null, FLAT, null).shape(x.to(Device.CUDA));
            assertEquals(Device.CUDA, gpu.device(), "CUDA maps stay on CUDA");
            assertEquals(DType.FLOAT32, gpu.dtype());
            assertArrayEquals(cpu.toDoubleArray(), gpu.toDoubleArray(), 1e-6);
        }
    }

    @Test
    void vraClipsToTheFittedPercentiles() {
        try (Scope s = Scope.open()) {
            Tensor fit = Tensor.of(new double[] {0, 10, 20, 30, 40}, 5, 1, 1, 1);
            VRA vra = new VRA(null, FLAT, 25, 75, SUM);
            assertThrows(RequiresFitException.class, () -> vra.predictFeatureMaps(fit));
            vra.fitFeatureMaps(fit, null);
            assertArrayEquals(new double[] {10, 10, 20, 30, 30}, vra.predictFeatureMaps(fit).toDoubleArray(), 1e-12);
            assertThrows(IllegalArgumentException.class, () -> vra.predictFeatureMaps(Tensor.zeros(DType.FLOAT64, 1, 2, 1, 1)));
            assertThrows(IllegalArgumentException.class, () -> new VRA(null, FLAT, 90, 10, null));
            assertThrows(IllegalArgumentException.class, () -> vra.predictFeatureMaps(Tensor.zeros(DType.FLOAT64, 3, 1)));
        }
    }

    @Test
    void featureMapDetectorsNeedAHead() {
        assertThrows(IllegalArgumentException.class, () -> new ReAct(null, null, 1, null));
        var e = assertThrows(IllegalArgumentException.class, () -> DetectorRegistry.create("ASH", java.util.Map.of(), null));
        assertTrue(e.getMessage().contains("network"), e.getMessage());
    }
}
