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
    public double max(double[] v, int n) {
        double m = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            if (v[i] > m) m = v[i];
            else if (Double.isNaN(v[i])) return v[i];
        }
        return m;
    }

    @Override
    public boolean allFinite(double[] v, int n) {
        for (int i = 0; i < n; i++) if (!Double.isFinite(v[i])) return false;
        return true;
    }

    @Override
    public boolean allFinite(java.lang.foreign.MemorySegment seg, long offset, long bytes, boolean f64) {
        for (long i = offset, end = offset + bytes; i < end; i += f64 ? 8 : 4) {
            double v = f64 ? seg.get(java.lang.foreign.ValueLayout.JAVA_DOUBLE_UNALIGNED, i) : seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            if (!Double.isFinite(v)) return false;
        }
        return true;
    }

    @Override
    public void addFloats(java.lang.foreign.MemorySegment seg, long offset, long rowBytes, int rows, int n, double[] into, int at) {
        for (int r = 0; r < rows; r++, offset += rowBytes) {
            for (int j = 0; j < n; j++) into[at + j] += seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, offset + 4L * j);
        }
    }

    @Override
    public double dot(double[] a, double[] b, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += a[i] * b[i];
        return s;
    }

    @Override
    public void dots(double[] z, double[][] rows, int n, double[] out) {
        for (int c = 0; c < rows.length; c++) out[c] = dot(z, rows[c], n);
    }

    @Override
    public double sumXLogX(double[] v, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += v[i] * Math.log(v[i]);
        return s;
    }

    @Override
    public double sumPow(double[] v, int n, double p) {
        double s = 0;
        for (int i = 0; i < n; i++) s += Math.exp(p * Math.log(v[i]));
        return s;
    }

    @Override
    public int firstKeyAtMost(float[] dots, int at, int from, int to, double qn, double[] norms, double bar) {
        for (int j = from; j < to; j++) {
            if (CpuKnn.key(dots[at + j], j, qn, norms) <= bar) return j;
        }
        return to;
    }

    @Override
    public int firstAtLeast(float[] dots, int at, int from, int to, float[] halfNorms, float threshold) {
        for (int j = from; j < to; j++) {
            if (dots[at + j] - halfNorms[j] >= threshold) return j;
        }
        return to;
    }

    @Override
    public String name() { return "scalar"; }

    @Override
    public double expShiftedSum(float[] v, int n, float shift, float scale, float[] out) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp((v[i] - shift) * scale);
            out[i] = e;
            s += e;
        }
        return s;
    }

    @Override
    public float shiftMax(float[] v, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            if (v[i] > m) m = v[i];
        }
        return m;
    }

    @Override
    public float max(float[] v, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            if (v[i] > m) m = v[i];
            else if (Float.isNaN(v[i])) return v[i];
        }
        return m;
    }

    @Override
    public int indexOf(float[] v, int n, float value) {
        int i = 0;
        while (i < n && v[i] != value) i++;
        return i;
    }

    @Override
    public boolean allFinite(float[] v, int n) {
        for (int i = 0; i < n; i++) if (!Float.isFinite(v[i])) return false;
        return true;
    }

    @Override
    public boolean loadFinite(java.lang.foreign.MemorySegment seg, long offset, float[] out, int n) {
        java.lang.foreign.MemorySegment.copy(seg, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, offset, out, 0, n);
        return allFinite(out, n);
    }

    @Override
    public void gram(double[] x, int at, int rows, int cols, double[] g) {
        for (int a = 0; a < cols; a++) for (int b = 0; b < cols; b++) g[a * cols + b] = gramEntry(x, at, rows, cols, a, b);
    }

    /** One entry of {@link #gram}: the fused multiply-adds over r in order (the vector form's lanes compute the same). */
    static double gramEntry(double[] x, int at, int rows, int cols, int a, int b) {
        double s = 0;
        for (int r = 0, o = at; r < rows; r++, o += cols) s = Math.fma(x[o + a], x[o + b], s);
        return s;
    }

    @Override
    public boolean planeMeans(java.lang.foreign.MemorySegment seg, long offset, int planes, int hw, float[] lower, float[] upper,
                              boolean perPlane, int at, float[] out, int outAt) {
        boolean finite = true;
        for (int q = 0, j = 0; q < planes; q++) {
            float s = 0;
            for (int i = 0; i < hw; i++, j++) {
                float v = seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, offset + 4L * j);
                finite &= Float.isFinite(v);
                int b = perPlane ? at + q : at + j;
                s += lower == null ? v : Math.min(Math.max(v, lower[b]), upper[b]);
            }
            out[outAt + q] = s / hw;
        }
        return finite;
    }

    @Override
    public double sum(float[] v, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += v[i];
        return s;
    }

    @Override
    public double expPowers(float[] v, int n, float shift, int root, float[] u, float[] e) {
        float scale = 1f / root, floor = -87f / root;
        double s = 0;
        for (int i = 0; i < n; i++) {
            u[i] = (float) Math.exp(Math.max((v[i] - shift) * scale, floor));
            s += e[i] = GenTerms.power(u[i], root);
        }
        return s;
    }

    @Override
    public void exp(float[] v, int n, float shift, float scale, float[] out) {
        for (int i = 0; i < n; i++) out[i] = (float) Math.exp((v[i] - shift) * scale);
    }

    @Override
    public double sumGenTerms(float[] u, float[] e, int n, double sum, GenTerms terms) {
        return terms.sumOneByOne(u, e, 0, n, terms.row(sum));
    }

    @Override
    public double sumClampedPLogP(float[] e, float[] z, int n, float shift, float inverseSum, float logSum, float minP) {
        float logMinP = (float) Math.log(minP), clamped = minP * logMinP;
        double s = 0;
        for (int i = 0; i < n; i++) {
            float logP = (z[i] - shift) - logSum;
            s += logP < logMinP ? clamped : e[i] * inverseSum * logP;
        }
        return s;
    }

    @Override
    public double sumSquares(float[] v, int from, int n) {
        double s = 0;
        for (int i = from; i < from + n; i++) s += (double) v[i] * v[i];
        return s;
    }

    @Override
    public void dots(float[] z, float[][] rows, int n, float[] out) {
        for (int c = 0; c < rows.length; c++) {
            float s = 0;
            for (int i = 0; i < n; i++) s = Math.fma(z[i], rows[c][i], s);
            out[c] = s;
        }
    }

    @Override
    public double centredDot(float[] x, double[] centre, double[] w, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += (x[i] - centre[i]) * w[i];
        return s;
    }

    @Override
    public double centredSquares(float[] x, double[] centre, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            double d = x[i] - centre[i];
            s += d * d;
        }
        return s;
    }
}
