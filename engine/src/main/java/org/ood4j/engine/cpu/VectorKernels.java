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
    public double max(double[] v, int n) {
        // lanewise MAX propagates NaN (as Math.max); -inf is the identity
        DoubleVector acc = DoubleVector.broadcast(S, Double.NEGATIVE_INFINITY);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            acc = acc.lanewise(VectorOperators.MAX, DoubleVector.fromArray(S, v, i));
        }
        double m = acc.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) m = Math.max(m, v[i]);
        return m;
    }

    @Override
    public double dot(double[] a, double[] b, int n) {
        DoubleVector acc = DoubleVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            acc = DoubleVector.fromArray(S, a, i).fma(DoubleVector.fromArray(S, b, i), acc);
        }
        double s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += a[i] * b[i];
        return s;
    }

    @Override
    public double sumXLogX(double[] v, int n) {
        DoubleVector acc = DoubleVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            DoubleVector x = DoubleVector.fromArray(S, v, i);
            acc = x.fma(x.lanewise(VectorOperators.LOG), acc);
        }
        double s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += v[i] * Math.log(v[i]);
        return s;
    }

    @Override
    public double sumPow(double[] v, int n, double p) {
        DoubleVector acc = DoubleVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            acc = acc.add(DoubleVector.fromArray(S, v, i).lanewise(VectorOperators.LOG).mul(p).lanewise(VectorOperators.EXP));
        }
        double s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += Math.exp(p * Math.log(v[i]));
        return s;
    }

    @Override
    public String name() { return "vector (" + S.length() + " x float64)"; }
}
