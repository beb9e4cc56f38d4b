package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * The fused one-pass row scores (Tensor.reduceRows) against the same formulas written as chains of
 * tensor ops, on logits with wide ranges; and ASH's quickselect against a sort.
 */
class FusedScoresTest {
    private static Tensor logits(long seed, int n, int c, double spread) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] z = new double[n * c];
        for (int i = 0; i < z.length; i++) z[i] = rng.nextGaussian() * spread + (i % c == i / c % c ? 3 * spread : 0);
        return Tensor.of(z, n, c).to(DType.FLOAT32);
    }

    private static void assertClose(Tensor expected, Tensor actual, double rtol) {
        assertClose(expected, actual, rtol, 1e-12);
    }

    private static void assertClose(Tensor expected, Tensor actual, double rtol, double atol) {
        double[] e = expected.toDoubleArray(), a = actual.toDoubleArray();
        assertEquals(e.length, a.length);
        for (int i = 0; i < e.length; i++) {
            if (Double.isInfinite(e[i])) assertEquals(e[i], a[i]);
            else assertEquals(e[i], a[i], rtol * Math.abs(e[i]) + atol, "row " + i);
        }
    }

    /**
     * Float64 logits take the float64 rows (tolerances of float64 round-off); float32 logits the
     * float32 rows, within 1e-6 relative or 1e-8 absolute (LogitsDetectorsTest explains the 1e-8).
     */
    @Test
    void softmaxFamilyMatchesTheTensorFormulas() {
        for (double spread : new double[] {0.1, 1, 10, 300}) {
            for (DType dtype : new DType[] {DType.FLOAT64, DType.FLOAT32}) {
                try (Scope s = Scope.open()) {
                    Tensor x = logits(7, 300, 37, spread).to(dtype), z = x.to(DType.FLOAT64);
                    boolean f32 = dtype == DType.FLOAT32;
                    double floor = f32 ? 1e-6 : 0, atol = f32 ? 1e-8 : 1e-12;
                    Tensor p = z.softmax(1);
                    assertClose(z.max(1).sub(z.logsumexp(1)).exp().neg(), MaxSoftmax.score(x), Math.max(floor, 1e-12), atol);
                    Tensor zt = z.div(2.5);
                    assertClose(zt.max(1).sub(zt.logsumexp(1)).exp().neg(), MaxSoftmax.score(x, 2.5), Math.max(floor, 1e-12), atol);
                    assertClose(z.div(2.5).logsumexp(1).mul(-2.5), EnergyBased.score(x, 2.5), Math.max(floor, 1e-13), atol);
                    Tensor c = p.clamp(1e-7, 1);
                    assertClose(c.mul(c.log()).sum(1).neg(), Entropy.score(x), Math.max(floor, 1e-10), atol);
                    Tensor cg = p.clamp(1e-7, 1 - 1e-7), q = p.neg().add(1).clamp(1e-7, 1 - 1e-7);
                    // 1 - p is ill-conditioned for p near 1: an ulp of exp moves the GEN terms by ~1e-12 relative
                    assertClose(cg.pow(0.1).mul(q.pow(0.1)).sum(1), GEN.score(x, 0.1), Math.max(floor, 1e-9), atol);
                }
            }
        }
    }

    @Test
    void klMatchingMatchesTheTensorFormula() {
        try (Scope s = Scope.open()) {
            Tensor fit = logits(3, 400, 12, 2), x = logits(4, 200, 12, 2);
            Tensor labels = Tensor.zeros(DType.INT64, 400);
            KLMatching kl = new KLMatching(null);
            kl.fitLogits(fit, labels);
            Tensor z = x.to(DType.FLOAT64), p = z.softmax(1), logp = z.logSoftmax(1);
            Tensor d = kl.state("dists").indexSelect(0, p.argmax(1));
            Tensor expected = p.mul(logp.sub(d.log())).sum(1);
            assertClose(expected, kl.predictLogits(x), 1e-9);
            kl.close();
        }
    }

    @Test
    void kthLargestAgreesWithASort() {
        SplittableRandom rng = new SplittableRandom(5);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + rng.nextInt(60);
            double[] v = new double[n];
            for (int i = 0; i < n; i++) v[i] = rng.nextInt(trial % 2 == 0 ? 4 : 1000);   // many ties on even trials
            double[] sorted = v.clone();
            Arrays.sort(sorted);
            for (int k = 1; k <= n; k++) assertEquals(sorted[n - k], ASH.kthLargest(v.clone(), n, k), "k=" + k + " of " + Arrays.toString(v));
        }
    }

    @Test
    void rankOneRemovalMatchesTheSvd() {
        SplittableRandom rng = new SplittableRandom(9);
        for (int[] dims : new int[][] {{12, 4}, {3, 10}, {5, 5}, {1, 6}, {6, 1}}) {
            int rows = dims[0], cols = dims[1];
            double[] x = new double[rows * cols];
            for (int i = 0; i < x.length; i++) x[i] = rng.nextGaussian() + (i % cols == 0 ? 4 : 0);   // a clear top component
            try (Scope s = Scope.open()) {
                Tensor m = Tensor.of(x.clone(), rows, cols);
                org.ood4j.engine.Linalg.Svd svd = org.ood4j.engine.Linalg.svd(m, false);
                Tensor top = svd.u().slice(1, 0, 1).mul(svd.s().slice(0, 0, 1)).matmul(svd.vh().slice(0, 0, 1));
                double[] expected = m.sub(top).toDoubleArray();
                double[] actual = new RankFeat(null, t -> t, null).shape(m.reshape(1, rows, cols, 1)).toDoubleArray();
                for (int i = 0; i < x.length; i++) assertEquals(expected[i], actual[i], 1e-10, rows + "x" + cols + " at " + i);
            }
        }
    }

    @Test
    void fusedFeatureScoresMatchTheTensorFormulas() {
        SplittableRandom rng = new SplittableRandom(13);
        try (Scope s = Scope.open()) {
            Tensor fit = Tensor.randn(rng, DType.FLOAT32, 300, 24).relu(), x = Tensor.randn(rng, DType.FLOAT32, 100, 24);
            Tensor w = Tensor.randn(rng, DType.FLOAT32, 6, 24), b = Tensor.randn(rng, DType.FLOAT32, 6);
            Tensor labels = Tensor.rand(rng, DType.INT64, 0, 6, 300);

            fDBD f = new fDBD(null, new LinearHead(w, b));
            f.fitFeatures(fit, null);
            assertClose(f.scoreChunkUnfused(x), f.predictFeatures(x), 1e-12);
            f.close();

            NCI nci = new NCI(null, new LinearHead(w, b), 0.3);
            nci.fitFeatures(fit, null);
            Tensor h = x.to(DType.FLOAT64), z = h.sub(fit.to(DType.FLOAT64).mean(0, true));
            Tensor wc = w.to(DType.FLOAT64).indexSelect(0, h.matmul(w.to(DType.FLOAT64).t()).add(b.to(DType.FLOAT64)).argmax(1));
            Tensor expected = z.mul(wc).sum(1).div(z.normL2(1, false)).neg().sub(h.normL1(1, false).mul(0.3));
            assertClose(expected, nci.predictFeatures(x), 1e-12);   // float32 rows: class from float32 logits
            assertClose(expected, nci.predictFeatures(h), 1e-12);   // float64 rows: the float64 path
            nci.close();

            DICE dice = new DICE(null, w, b, 60, null);
            dice.fitFeatures(fit, null);
            Tensor logits = h.matmul(dice.state("masked_weight").t()).add(b.to(DType.FLOAT64));
            assertClose(logits.logsumexp(1).neg(), dice.predictFeatures(x), 1e-12);
            dice.close();

            SHE she = new SHE(null, new LinearHead(w, b));
            she.fitFeatures(fit, labels);
            Tensor predicted = h.matmul(w.to(DType.FLOAT64).t()).add(b.to(DType.FLOAT64)).argmax(1);
            Tensor energy = h.mul(she.state("patterns").indexSelect(0, predicted)).sum(1).neg();
            Tensor known = she.state("has_pattern").indexSelect(0, predicted);
            assertClose(Tensor.where(known, energy, Tensor.scalar(Double.POSITIVE_INFINITY, DType.FLOAT64)), she.predictFeatures(x), 1e-12);
            she.close();
        }
    }
}
