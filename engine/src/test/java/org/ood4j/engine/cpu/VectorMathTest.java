package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;

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

    /** The vector function over v (length padded to whole vectors) and the lane-for-lane scalar twin agree bit for bit, and both are close to Math's. */
    private static void check(double[] v, UnaryOperator<DoubleVector> vector, DoubleUnaryOperator scalar, DoubleUnaryOperator reference) {
        double[] padded = java.util.Arrays.copyOf(v, S.loopBound(v.length + S.length() - 1));
        double[] out = new double[padded.length];
        for (int i = 0; i < padded.length; i += S.length()) vector.apply(DoubleVector.fromArray(S, padded, i)).intoArray(out, i);
        for (int i = 0; i < v.length; i++) {
            double x = v[i], want = reference.applyAsDouble(x), twin = scalar.applyAsDouble(x);
            assertEquals(Double.doubleToLongBits(twin), Double.doubleToLongBits(out[i]), "lane vs scalar twin at x = " + x);
            if (Double.isNaN(want) || Double.isInfinite(want) || want == 0) {
                assertEquals(want, twin, "x = " + x);
            } else {
                assertEquals(want, twin, Math.ulp(want), "x = " + x);
            }
        }
    }

    @Test
    void expIsWithinAnUlpOfMathExp() {
        check(inputs(-750, 712, Double.NaN, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, 0, -0.0, -745.13, -745.2,
                        -708.4, -708.3, 709.78, 709.79, 1e-300, -1e-300, Math.log(2) / 2, -Math.log(2) / 2),
                VectorMath::exp, VectorMath::exp, Math::exp);
        check(inputs(-1, 1), VectorMath::exp, VectorMath::exp, Math::exp);
    }

    @Test
    void logIsWithinAnUlpOfMathLog() {
        check(inputs(0, 3, Double.NaN, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, 0, -0.0, -1, Double.MIN_VALUE,
                        Double.MIN_NORMAL, Double.MIN_NORMAL / 3, Double.MAX_VALUE, 1, Math.sqrt(2), Math.sqrt(0.5)),
                VectorMath::log, VectorMath::log, Math::log);
        double[] wide = inputs(-700, 700);
        for (int i = 0; i < wide.length; i++) wide[i] = Math.exp(wide[i]);
        check(wide, VectorMath::log, VectorMath::log, Math::log);
    }

    @Test
    void lanesAreSummedInIndexOrder() {
        double[] v = new double[S.length()];
        v[0] = 1;
        v[1] = 1e-16;
        for (int i = 2; i < v.length; i++) v[i] = 1e-16;
        double want = 0;
        for (double x : v) want += x;
        assertEquals(want, VectorMath.sum(DoubleVector.fromArray(S, v, 0)));
    }
}
