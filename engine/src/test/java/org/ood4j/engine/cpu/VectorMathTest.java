package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

import org.junit.jupiter.api.Test;

/**
 * VectorMath's exp and log are within an ulp of Math's, handle the edges as Math does, and give
 * every lane of a vector exactly its scalar twin's bits (so a vector body and a scalar tail agree).
 */
class VectorMathTest {
    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;

    /** Inputs from lo to hi at random, then the edges. */
    private static double[] inputs(double lo, double hi, double... edges) {
        SplittableRandom rng = new SplittableRandom(3);
        double[] v = new double[200_000 + edges.length];
        for (int i = 0; i < 200_000; i++) v[i] = rng.nextDouble(lo, hi);
        System.arraycopy(edges, 0, v, 200_000, edges.length);
        return v;
    }

    /** The array function over v and the element-for-element scalar twin agree bit for bit (vector steps and tail), and both are close to Math's. */
    private static void check(double[] v, java.util.function.BiConsumer<double[], double[]> arrays, DoubleUnaryOperator scalar, DoubleUnaryOperator reference) {
        double[] out = new double[v.length];
        arrays.accept(v, out);
        for (int i = 0; i < v.length; i++) {
            double x = v[i], want = reference.applyAsDouble(x), twin = scalar.applyAsDouble(x);
            assertEquals(Double.doubleToLongBits(twin), Double.doubleToLongBits(out[i]), "array vs scalar twin at x = " + x);
            if (Double.isNaN(want) || Double.isInfinite(want) || want == 0) {
                assertEquals(want, twin, "x = " + x);
            } else {
                assertEquals(want, twin, Math.ulp(want), "x = " + x);
            }
        }
    }

    private static final java.util.function.BiConsumer<double[], double[]> EXP = (in, out) -> VectorMath.exp(in, in.length, 0, 1, out);
    private static final java.util.function.BiConsumer<double[], double[]> LOG = (in, out) -> VectorMath.log(in, in.length, out);

    @Test
    void expIsWithinAnUlpOfMathExp() {
        check(inputs(-750, 712, Double.NaN, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, 0, -0.0, -745.13, -745.2,
                        -708.4, -708.3, 709.78, 709.79, 1e-300, -1e-300, Math.log(2) / 2, -Math.log(2) / 2),
                EXP, VectorMath::exp, Math::exp);
        check(inputs(-1, 1), EXP, VectorMath::exp, Math::exp);
    }

    @Test
    void logIsWithinAnUlpOfMathLog() {
        check(inputs(0, 3, Double.NaN, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, 0, -0.0, -1, Double.MIN_VALUE,
                        Double.MIN_NORMAL, Double.MIN_NORMAL / 3, Double.MAX_VALUE, 1, Math.sqrt(2), Math.sqrt(0.5)),
                LOG, VectorMath::log, Math::log);
        double[] wide = inputs(-700, 700);
        for (int i = 0; i < wide.length; i++) wide[i] = Math.exp(wide[i]);
        check(wide, LOG, VectorMath::log, Math::log);
    }

    @Test
    void lanesAreSummedByHalvesInOneOrder() {
        // lane i + h folded onto lane i for h = L/2, L/4, .., 1: with 8 lanes ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7))
        SplittableRandom rng = new SplittableRandom(4);
        for (int t = 0; t < 100; t++) {
            double[] v = new double[S.length()];
            for (int i = 0; i < v.length; i++) v[i] = rng.nextGaussian() * Math.pow(10, rng.nextInt(-8, 8));
            double[] folded = v.clone();
            if (folded.length > 8) {   // past three folds: index order
                for (int i = 1; i < folded.length; i++) folded[0] += folded[i];
            }
            for (int h = folded.length / 2; h >= 1 && folded.length <= 8; h /= 2) {
                double[] next = folded.clone();
                for (int i = 0; i < folded.length; i++) next[i] = folded[i] + folded[(i + h) % folded.length];
                folded = next;
            }
            assertEquals(folded[0], VectorMath.sum(DoubleVector.fromArray(S, v, 0)));
        }
    }

    /** The float32 array forms: vector steps and tails equal the scalar twin bit for bit, and both are within 1 ulp of the correctly rounded float. */
    private static void checkFloat(double[] v, java.util.function.BiConsumer<float[], float[]> arrays, java.util.function.Function<Float, Float> scalar,
                                   DoubleUnaryOperator reference) {
        float[] in = new float[v.length], out = new float[v.length];
        for (int i = 0; i < v.length; i++) in[i] = (float) v[i];
        arrays.accept(in, out);
        for (int i = 0; i < v.length; i++) {
            float x = in[i], want = (float) reference.applyAsDouble(x), twin = scalar.apply(x);
            assertEquals(Float.floatToIntBits(twin), Float.floatToIntBits(out[i]), "array vs scalar twin at x = " + x);
            if (Float.isNaN(want) || Float.isInfinite(want) || want == 0) {
                assertEquals(want, twin, "x = " + x);
            } else {
                assertEquals(want, twin, Math.ulp(want), "x = " + x);
            }
        }
    }

    @Test
    void floatExpIsWithinAnUlp() {
        java.util.function.BiConsumer<float[], float[]> exp = (in, out) -> VectorMath.exp(in, in.length, 0, 1, out);
        checkFloat(inputs(-110, 92, Double.NaN, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, 0, -0.0, -103.9, -104.1,
                        -87.4, -87.3, 88.7, 88.73, 1e-30, -1e-30, Math.log(2) / 2, -Math.log(2) / 2),
                exp, VectorMath::exp, Math::exp);
        checkFloat(inputs(-1, 1), exp, VectorMath::exp, Math::exp);
        float[] shifted = {1, 2, 3, 4, 5, 6, 7, 8, 9}, out = new float[9];
        VectorMath.exp(shifted, 9, 9, 0.5f, out);                    // exp((v - shift) scale), vector steps and tail
        for (int i = 0; i < 9; i++) assertEquals(VectorMath.exp((shifted[i] - 9) * 0.5f), out[i]);
    }

    /**
     * expPowers' exp (the degree-5 minimax polynomial): every lane the bits of its scalar twin (a row's
     * vector steps and its tail agree), and within 2.5 ulp of the exp over GEN's range, x = (z - max) / root.
     */
    @Test
    void expPowersExpIsItsScalarTwinAndWithinTwoAndAHalfUlp() {
        double[] x = inputs(-87, 0, 0, -87, -Math.log(2) / 2, Math.log(2) / 2, -8.7, -1e-30);
        float[] v = new float[x.length], u = new float[x.length], e = new float[x.length];
        for (int i = 0; i < x.length; i++) v[i] = (float) x[i];
        VectorMath.expPowers(v, v.length, 0, 1, u, e);   // root 1: u = exp(v), e = u
        double worst = 0;
        for (int i = 0; i < v.length; i++) {
            float twin = VectorMath.expDegree5(v[i]);
            assertEquals(Float.floatToIntBits(twin), Float.floatToIntBits(u[i]), "vector lane vs scalar twin at x = " + v[i]);
            double want = Math.exp(v[i]);
            worst = Math.max(worst, Math.abs(twin - want) / Math.ulp((float) want));
        }
        assertTrue(worst <= 2.5, "within 2.5 ulp: " + worst);
    }

    @Test
    void floatLogIsWithinAnUlp() {
        java.util.function.BiConsumer<float[], float[]> log = (in, out) -> VectorMath.log(in, in.length, out);
        checkFloat(inputs(0, 3, Double.NaN, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, 0, -0.0, -1, Float.MIN_VALUE,
                        Float.MIN_NORMAL, Float.MIN_NORMAL / 3, Float.MAX_VALUE, 1, Math.sqrt(2), Math.sqrt(0.5)),
                log, VectorMath::log, Math::log);
        double[] wide = inputs(-100, 88);
        for (int i = 0; i < wide.length; i++) wide[i] = Math.exp(wide[i]);
        checkFloat(wide, log, VectorMath::log, Math::log);
    }
}
