package org.ood4j.engine.cpu;

/** Math.exp / Math.log loops: the path when the Vector API module is absent. */
final class ScalarKernels implements MathKernels {
    @Override
    public void exp(double[] v, int n) {
        for (int i = 0; i < n; i++) v[i] = Math.exp(v[i]);
    }

    @Override
    public void log(double[] v, int n) {
        for (int i = 0; i < n; i++) v[i] = Math.log(v[i]);
    }

    @Override
    public double expShiftedSum(double[] v, int n, double shift, boolean store) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            double e = Math.exp(v[i] - shift);
            if (store) v[i] = e;
            s += e;
        }
        return s;
    }

    @Override
    public String name() { return "scalar"; }
}
