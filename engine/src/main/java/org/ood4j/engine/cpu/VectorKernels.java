package org.ood4j.engine.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** The same loops on the widest double vectors of the machine; tails go through Math. */
final class VectorKernels implements MathKernels {
    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;

    @Override
    public void exp(double[] v, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            DoubleVector.fromArray(S, v, i).lanewise(VectorOperators.EXP).intoArray(v, i);
        }
        for (; i < n; i++) v[i] = Math.exp(v[i]);
    }

    @Override
    public void log(double[] v, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            DoubleVector.fromArray(S, v, i).lanewise(VectorOperators.LOG).intoArray(v, i);
        }
        for (; i < n; i++) v[i] = Math.log(v[i]);
    }

    @Override
    public double expShiftedSum(double[] v, int n, double shift, boolean store) {
        DoubleVector acc = DoubleVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            DoubleVector e = DoubleVector.fromArray(S, v, i).sub(shift).lanewise(VectorOperators.EXP);
            if (store) e.intoArray(v, i);
            acc = acc.add(e);
        }
        double s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            double e = Math.exp(v[i] - shift);
            if (store) v[i] = e;
            s += e;
        }
        return s;
    }

    @Override
    public String name() { return "vector (" + S.length() + " x float64)"; }
}
