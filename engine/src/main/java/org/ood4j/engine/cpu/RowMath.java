package org.ood4j.engine.cpu;

/**
 * Loops over a row of doubles for {@link org.ood4j.engine.RowReducer} bodies, on the Vector API
 * when present ({@link MathKernels}): the building blocks of fused softmax-family scores.
 */
public final class RowMath {
    private static final MathKernels K = MathKernels.INSTANCE;

    private RowMath() {}

    /** The largest of v[0..n) (n >= 1), NaN if any is NaN. */
    public static double max(double[] v, int n) { return K.max(v, n); }

    /** Index of the first maximum, or of the first NaN (as torch.argmax and the engine's argmax). */
    public static int argmax(double[] v, int n) { return CpuReductions.argmax(v, n); }

    /** v = softmax(v) in place over v[0..n), max-shifted: the bits of {@code Tensor.softmax} on the CPU. */
    public static void softmax(double[] v, int n) { CpuReductions.softmaxRow(v, n); }

    /** sum of exp(v[i] - shift); with {@code store}, v[i] becomes exp(v[i] - shift). */
    public static double expShiftedSum(double[] v, int n, double shift, boolean store) {
        return K.expShiftedSum(v, n, shift, store);
    }

    /** log sum exp(v), as the engine's logsumexp (v unchanged; a non-finite max is the answer). */
    public static double logSumExp(double[] v, int n) {
        double m = max(v, n);
        if (!Double.isFinite(m)) return m;
        return m + Math.log(K.expShiftedSum(v, n, m, false));
    }

    /** v[i] *= s. */
    public static void scale(double[] v, int n, double s) {
        for (int i = 0; i < n; i++) v[i] *= s;
    }

    /** v[i] *= s, float32 (a plain loop C2 turns into vector multiplies). */
    public static void scale(float[] v, int n, float s) {
        for (int i = 0; i < n; i++) v[i] *= s;
    }

    /** sum of a[i] * b[i]. */
    public static double dot(double[] a, double[] b, int n) { return K.dot(a, b, n); }

    /** out[c] = dot(z, rows[c], n) for each row c (a row times a small matrix; the bits of {@link #dot}). */
    public static void dots(double[] z, double[][] rows, int n, double[] out) { K.dots(z, rows, n, out); }

    /** sum of v[i] log v[i] (every v[i] > 0). */
    public static double sumXLogX(double[] v, int n) { return K.sumXLogX(v, n); }

    /** sum of v[i]^p (every v[i] > 0). */
    public static double sumPow(double[] v, int n, double p) { return K.sumPow(v, n, p); }

    // ---------------------------------------------------------------- float32 rows (FloatRowReducer bodies)

    /** The largest of v[0..n) (n >= 1), NaN if any is NaN. */
    public static float max(float[] v, int n) { return K.max(v, n); }

    /**
     * The largest of v[0..n) other than NaN (-infinity if none): the shift of exps whose sum a NaN
     * makes NaN by itself (twice as fast as {@link #max(float[], int)}; see {@link MathKernels#shiftMax}).
     */
    public static float shiftMax(float[] v, int n) { return K.shiftMax(v, n); }

    /**
     * sum of exp((v[i] - shift) scale), float32 exps summed in float64; out[i] is that exp
     * ({@code out} may be v). Shifting before scaling keeps a softmax at temperature t = 1 / scale from
     * overflowing where v[i] / t would.
     */
    public static double expShiftedSum(float[] v, int n, float shift, float scale, float[] out) {
        return K.expShiftedSum(v, n, shift, scale, out);
    }

    /**
     * log sum exp(v) (a non-finite max is the answer). v is overwritten by exp(v - max), and where v
     * has room past n, padded to whole vectors first ({@link #padForExp}): a row of 10 logits takes
     * one vector of exps, not ten scalar ones (about 250 ns a row).
     */
    public static double logSumExp(float[] v, int n) {
        float m = max(v, n);
        if (!Float.isFinite(m)) return m;
        return m + Math.log(K.expShiftedSum(v, padForExp(v, n, m, 1), m, 1, v));
    }

    /** sum of v[i], in float64. */
    public static double sum(float[] v, int n) { return K.sum(v, n); }

    /**
     * sum of p_j log p_j of a softmax row clamped to p_j >= minP, from its logits z, their exps e =
     * exp(z - shift) and the sum of e (see {@link MathKernels#sumClampedPLogP}).
     */
    public static double sumClampedPLogP(float[] e, float[] z, int n, float shift, double sum, float minP) {
        return K.sumClampedPLogP(e, z, n, shift, (float) (1 / sum), (float) Math.log(sum), minP);
    }

    /** The widest float vector's lanes (512 bits): {@link CpuRows}' float rows have room for a whole last vector. */
    public static final int VECTOR_FLOATS = 16;

    /** n rounded up to whole vectors of {@link #VECTOR_FLOATS}: the room of a padded row. */
    static int wholeVectors(int n) {
        return (n + VECTOR_FLOATS - 1) / VECTOR_FLOATS * VECTOR_FLOATS;
    }

    /**
     * v[n..m) = a pad whose exp((pad - shift) scale) is exp(-80), m = n rounded up to {@link
     * #VECTOR_FLOATS}, where v has room (else m = n); returns m. The exps of a row padded so run as
     * whole vectors (a scalar tail of up to 15 exps cost about 80 ns a row, a fifth of a 1000-class
     * softmax), and the pads' exps, a normal float (no subnormal product), are below the rounding of
     * a sum holding the row's largest, exp(0) = 1: a sum over m values is the row's sum. The
     * caller's scalar passes after the exps keep n.
     */
    public static int padForExp(float[] v, int n, float shift, float scale) {
        int m = wholeVectors(n);
        float pad = shift - 80 / scale;
        if (v.length < m || !((pad - shift) * scale <= -79)) return n;   // no room, or a scale too large to place the pad
        java.util.Arrays.fill(v, n, m, pad);
        return m;
    }

    /** out[i] = exp((v[i] - shift) scale), float32 ({@code out} may be v). */
    public static void exp(float[] v, int n, float shift, float scale, float[] out) { K.exp(v, n, shift, scale, out); }

    /** The largest root {@link #expPowers} takes. */
    public static final int MAX_ROOT = 64;

    /**
     * u[i] = exp((v[i] - shift) / root) and e[i] = u[i]^root = exp(v[i] - shift), floored at exp(-87),
     * for 1 <= root <= {@link #MAX_ROOT}; returns the sum of e (see {@link MathKernels#expPowers}).
     */
    public static double expPowers(float[] v, int n, float shift, int root, float[] u, float[] e) {
        return K.expPowers(v, n, shift, root, u, e);
    }

    /**
     * GEN's sum_i (c_i q_i)^gamma, c and q = p and 1 - p clamped to [eps, 1 - eps], of a softmax row
     * given as e = exp(z - shift), its sum and u = exp(gamma (z - shift)) (see {@link MathKernels#sumGenTerms}).
     */
    public static double sumGenTerms(float[] u, float[] e, int n, double sum, GenTerms terms) {
        return K.sumGenTerms(u, e, n, sum, terms);
    }

    /** out[c] = dot(z, rows[c], n) in float32 (a float32 row's logits under a small head, for its argmax). */
    public static void dots(float[] z, float[][] rows, int n, float[] out) { K.dots(z, rows, n, out); }

    /** sum of (x[i] - centre[i]) w[i], float64. */
    public static double centredDot(float[] x, double[] centre, double[] w, int n) { return K.centredDot(x, centre, w, n); }

    /** sum of (x[i] - centre[i])^2, float64. */
    public static double centredSquares(float[] x, double[] centre, int n) { return K.centredSquares(x, centre, n); }
}
