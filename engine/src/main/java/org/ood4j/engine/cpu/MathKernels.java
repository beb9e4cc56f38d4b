package org.ood4j.engine.cpu;

/**
 * The transcendental loops of the CPU backend (exp and log dominate softmax, logsumexp and the
 * probability-based detectors). Two implementations: {@link VectorKernels} through the JDK's
 * Vector API, with exp/log vectorised by {@link VectorMath} (about 4x the scalar loop here:
 * bench/results; the same bits in every JIT tier), and
 * {@link ScalarKernels} with Math.exp/log for a JVM started without
 * {@code --add-modules jdk.incubator.vector}. {@link #INSTANCE} picks one at startup.
 */
interface MathKernels {
    MathKernels INSTANCE = Selection.pick();

    /** v[i] = exp(v[i]) for i < n. */
    void exp(double[] v, int n);

    /** v[i] = log(v[i]) for i < n. */
    void log(double[] v, int n);

    /** sum of exp(v[i] - shift); when {@code store}, also v[i] = exp(v[i] - shift). */
    double expShiftedSum(double[] v, int n, double shift, boolean store);

    /** The largest of v[0..n) (n >= 1); NaN when any is NaN. */
    double max(double[] v, int n);

    /** Whether every v[i] (i < n) is finite: no NaN, no infinity. */
    boolean allFinite(double[] v, int n);

    /** Whether the {@code bytes} bytes at {@code offset} of {@code seg} are finite float32 (or, when {@code f64}, float64) values. */
    boolean allFinite(java.lang.foreign.MemorySegment seg, long offset, long bytes, boolean f64);

    /**
     * into[at + j] += the float32 value j of each of {@code rows} rows, the first at {@code offset} of
     * {@code seg} and each {@code rowBytes} after the one before, for j < n, rows added in order:
     * float32 rows (of one group) added to float64 sums, each sum in row order.
     */
    void addFloats(java.lang.foreign.MemorySegment seg, long offset, long rowBytes, int rows, int n, double[] into, int at);

    /** sum of a[i] * b[i]. */
    double dot(double[] a, double[] b, int n);

    /**
     * out[c] = dot(z, rows[c], n) for every row c, the same bits as {@link #dot}, with z read
     * once per group of rows: a row times a small matrix (a linear head's logits) without the
     * latency of one dot after another.
     */
    void dots(double[] z, double[][] rows, int n, double[] out);

    /**
     * g[a cols + b] = sum over r of x[at + r cols + a] x[at + r cols + b]: the full cols x cols Gram
     * matrix X^T X of the row-major rows x cols matrix at x[at..], each entry by fused
     * multiply-adds over r in order.
     */
    void gram(double[] x, int at, int rows, int cols, double[] g);

    /** sum of v[i] log v[i] for v[i] > 0 (the row's entropy terms); v is left unchanged. */
    double sumXLogX(double[] v, int n);

    /** sum of v[i]^p = exp(p log v[i]) for v[i] > 0; v is left unchanged. */
    double sumPow(double[] v, int n, double p);

    // float32 rows: float32 arithmetic, float64 sums

    /** sum of exp((v[i] - shift) scale) in float64 over float32 exps; out[i] = that exp ({@code out} may be v). */
    double expShiftedSum(float[] v, int n, float shift, float scale, float[] out);

    /** The largest of v[0..n) (n >= 1); NaN when any is NaN. */
    float max(float[] v, int n);

    /**
     * The largest of v[0..n) other than NaN (-infinity if none): the shift of a row's exps, where a
     * NaN needs no test of its own, as exp(NaN - shift) makes the sum NaN. A compare and a blend a
     * vector, where Java's max (NaN and signed zero rules) takes several instructions on x86.
     */
    float shiftMax(float[] v, int n);

    /** The first i < n with v[i] == value (never for a NaN value), or n when there is none. */
    int indexOf(float[] v, int n, float value);

    /**
     * Index of the first maximum of v[0..n) (n >= 1), or of the first NaN (as torch.argmax): the
     * max, then the first index holding it. Exact in float32: no float64 copy of the row.
     */
    default int argmax(float[] v, int n) {
        float m = max(v, n);
        if (!Float.isNaN(m)) return indexOf(v, n, m);
        int i = 0;
        while (!Float.isNaN(v[i])) i++;
        return i;
    }

    /** Whether every v[i] (i < n) is finite. */
    boolean allFinite(float[] v, int n);

    /**
     * out[0..n) = the n contiguous float32 values at byte {@code offset} of {@code seg}; returns whether
     * every one is finite: the input check in the copy's pass, while the values are in registers.
     */
    boolean loadFinite(java.lang.foreign.MemorySegment seg, long offset, float[] out, int n);

    /**
     * out[outAt + q] = the mean of plane q (q < planes) of the float32 values at byte {@code offset}
     * of {@code seg}, planes of hw contiguous values; with bounds (both or neither), each value is
     * first clamped to min(max(v, lower[at + q hw + i]), upper[at + q hw + i]), NaN kept (as
     * Math.min/max); with {@code perPlane}, to min(max(v, lower[at + q]), upper[at + q]): one bound
     * per plane (a scalar or per-channel clamp, ReAct's and VRA's), two values where a map of
     * bounds would be two more arrays as large as the run in L1. Read straight from memory, summed in
     * float32 (a plane is 16 to 49 values). Returns whether every value read (before the clamp) is
     * finite: the input check in the same pass.
     */
    boolean planeMeans(java.lang.foreign.MemorySegment seg, long offset, int planes, int hw, float[] lower, float[] upper, boolean perPlane, int at,
                    float[] out, int outAt);

    /** sum of v[i], float64. */
    double sum(float[] v, int n);

    /**
     * sum of p_i log p_i over a softmax row, p clamped to p >= minP (Entropy): the term is minP log
     * minP where log p_i < log minP, else p_i log p_i, with p_i = e[i] inverseSum and log p_i = (z[i]
     * - shift) - logSum, from the row's logits z, their exps e = exp(z - shift) and logSum = log sum
     * e (a log of a float32 p_i near 1 would keep few digits; p <= 1 needs no upper clamp). Float32
     * terms; the vector form sums them in float32 lanes, 64 terms a lane at most before they go to
     * float64 (VectorKernels.SUM_BLOCK), the lanes in a fixed order: the terms have one sign, so the
     * sum is within 64 2^-24 of the total, whatever n (the scalar form sums in float64).
     */
    double sumClampedPLogP(float[] e, float[] z, int n, float shift, float inverseSum, float logSum, float minP);

    /** out[i] = exp((v[i] - shift) scale) for i < n, float32 ({@code out} may be v). */
    void exp(float[] v, int n, float shift, float scale, float[] out);

    /**
     * u[i] = exp(max((v[i] - shift) / root, -87 / root)) and e[i] = u[i]^root = exp(v[i] - shift) (at
     * least exp(-87), a normal float) for i < n, 1 <= root <= 64, u within 2.3 ulp (the vector form's
     * exp is a degree-5 minimax polynomial: see VectorMath#expPowers); returns the sum of e. GEN's softmax
     * beside its p^(1/root) from one exp a value (see {@link VectorMath#expPowers}); the vector form
     * sums in float32 lanes (one sign: within n 2^-24 of the sum), the scalar form in float64.
     */
    double expPowers(float[] v, int n, float shift, int root, float[] u, float[] e);

    /**
     * GEN's score of one softmax row, sum_i (c_i q_i)^gamma with c = clamp(p, eps, 1 - eps) and q =
     * clamp(1 - p, eps, 1 - eps), from e_i = exp(z_i - shift), their sum and u_i = exp(gamma (z_i -
     * shift)): no log and no power per value (see {@link GenTerms}, which holds gamma and eps). Each
     * lane computes as the scalar form (the same float operations); the vector form sums the float32
     * terms in float32 lanes, 64 a lane at most before float64.
     */
    double sumGenTerms(float[] u, float[] e, int n, double sum, GenTerms terms);

    /** sum of v[from + i]^2 for i < n: float32 terms squared and summed in float64 (no rounding of a term to float32). */
    double sumSquares(float[] v, int from, int n);

    /**
     * out[c] = dot(z, rows[c], n) for every row c, in float32 FMA chains: a float32 row's logits
     * under a small head, for an argmax (relative error ~1e-6 of the terms, so only a near-tie of
     * the top two can differ from float64).
     */
    void dots(float[] z, float[][] rows, int n, float[] out);

    /** sum of (x[i] - centre[i]) w[i] in float64: a float32 row centred exactly, times a vector. */
    double centredDot(float[] x, double[] centre, double[] w, int n);

    /** sum of (x[i] - centre[i])^2 in float64: a float32 row's squared distance to a centre. */
    double centredSquares(float[] x, double[] centre, int n);

    /**
     * The first j in [from, to) whose kNN key is at most {@code bar}, or {@code to} if none: the key
     * of float32 inner product dots[at + j] is, in float64, (qn - 2 dot) + norms[j] with
     * {@code norms} (the squared L2 distance), or -dot without (the negated inner product). The
     * same IEEE operations as {@link CpuKnn}'s scalar key, so a bank row is a candidate exactly when
     * that key would let it in: most of a tile of scores is rejected eight at a time.
     */
    int firstKeyAtMost(float[] dots, int at, int from, int to, double qn, double[] norms, double bar);

    /**
     * The first j in [from, to) with dots[at + j] - halfNorms[j] >= threshold in float32, or {@code to}:
     * a kNN scan's filter, two vector ops a vector where {@link #firstKeyAtMost} takes a dozen (its
     * caller picks a threshold low enough that no candidate fails it, and tests those that pass exactly).
     */
    int firstAtLeast(float[] dots, int at, int from, int to, float[] halfNorms, float threshold);

    /** Which implementation runs, for diagnostics. */
    String name();

    final class Selection {
        private Selection() {}

        static MathKernels pick() {
            MathKernels vector = VectorApi.load(MathKernels.class, "org.ood4j.engine.cpu.VectorKernels", "ood4j.scalarMath");
            if (vector != null) return vector;
            return new ScalarKernels();
        }
    }
}
