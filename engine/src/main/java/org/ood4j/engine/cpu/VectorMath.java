package org.ood4j.engine.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp, log and the sum of a vector's lanes with results that do not depend on the JIT tier.
 *
 * <p>Why not the Vector API's own: its lanewise EXP and LOG run the JDK's Java fallback
 * ({@code Math.exp} per lane) in the interpreter and C1 but the SVML library once C2 compiles
 * the loop, and the two differ in the last bit (EXP in about 0.5% of inputs); its
 * {@code reduceLanes(ADD)} leaves the order of the additions unspecified and C2 sums in another
 * order than the fallback. So a score changed with the JIT's warm-up, run to run.
 *
 * <p>Here every step is an IEEE operation whose result Java fixes (add, mul, div, fma, min, max
 * and integer bit operations), so each lane's result is the same in every tier; and each
 * function has a scalar twin doing the same operations in the same order, so an element gets the
 * same bits in a vector's lane as in a loop's tail. exp and log are within about 1 ulp of
 * {@code Math.exp}/{@code Math.log} (exp: Taylor series of degree 13 on |r| <= ln2/2 after
 * x = n ln2 + r; log: fdlibm's reduction to [sqrt(1/2), sqrt(2)) and polynomial).
 *
 * <p>The float32 forms (for float32 rows: half the bytes and twice the lanes of float64) are the
 * same algorithms at float precision, within about 1 ulp of the correctly rounded float: exp a
 * Taylor series of degree 7 (remainder below 2^-27 on |r| <= ln2/2), log fdlibm's logf; GEN's
 * {@link #expPowers} a minimax polynomial of degree 5 (2.3 ulp), two vector ops fewer.
 */
final class VectorMath {
    private VectorMath() {}

    /** fma(x, 1/ln2, SHIFT) rounds x/ln2 to an integer n held in the low mantissa bits (|n| < 2^51). */
    private static final double SHIFT = 0x1.8p52;
    private static final double INV_LN2 = 0x1.71547652b82fep0;
    /** ln2 as a double and the remainder: x - n ln2 to ~2^-100 with two fmas. */
    private static final double EXP_LN2_HI = 0x1.62e42fefa39efp-1, EXP_LN2_LO = 0x1.abc9e3b39803fp-56;
    /** exp overflows above 709.79 and underflows below -745.14: clamping keeps n's halves normal exponents. */
    private static final double EXP_MIN = -746, EXP_MAX = 710;
    /** Up to |x| = 708, 2^n is a normal double and p 2^n is exact: one scaling does. */
    private static final double EXP_SAFE = 708;
    /** 1/k! for k = 0 to 13: exp's Taylor series, degree 13 (remainder < 2^-57 for |r| <= ln2/2). */
    private static final double[] EXP_POLY = inverseFactorials(13);

    /** fdlibm's ln2 split: k ln2_hi is exact for |k| < 2^11. */
    private static final double LOG_LN2_HI = 0x1.62e42feep-1, LOG_LN2_LO = 0x1.a39ef35793c76p-33;
    /** fdlibm's Lg7 down to Lg1: log(1+f) = f - hfsq + s (hfsq + R(s^2)), s = f / (2 + f). */
    private static final double[] LOG_POLY = {
        1.479819860511658591e-01, 1.531383769920937332e-01, 1.818357216161805012e-01, 2.222219843214978396e-01,
        2.857142874366239149e-01, 3.999999999940941908e-01, 6.666666666666735130e-01};
    private static final long ONE_BITS = 0x3ff0000000000000L;
    /** Adding this to a positive double's bits carries into the exponent from sqrt(2) on (musl's reduction). */
    private static final long SQRT_HALF_OFFSET = ONE_BITS - 0x3fe6a09e667f3bcdL;
    private static final long EXPONENT_MASK = 0xfff0000000000000L;
    /** A value v < 2^52 in a double's mantissa bits over 2^52: the double 2^52 + v. */
    private static final long TWO52_BITS = 0x4330000000000000L;

    private static double[] inverseFactorials(int degree) {
        double[] c = new double[degree + 1];
        double factorial = 1;                               // exact: 13! < 2^53
        for (int k = 0; k <= degree; k++) {
            factorial *= Math.max(k, 1);
            c[k] = 1 / factorial;
        }
        return c;
    }

    // ------------------------------------------------------------------ exp

    /**
     * out[i] = exp((v[i] - shift) scale) for i < n ({@code out} may be v): a whole loop with every
     * vector step written out (see the float32 form for why no helper takes or returns a vector).
     */
    static void exp(double[] v, int n, double shift, double scale, double[] out) {
        VectorSpecies<Double> species = DoubleVector.SPECIES_PREFERRED;
        double[] c = EXP_POLY;
        int i = 0;
        for (int bound = species.loopBound(n); i < bound; i += species.length()) {
            DoubleVector x = DoubleVector.fromArray(species, v, i).sub(shift).mul(scale);
            boolean safe = x.abs().compare(VectorOperators.LE, EXP_SAFE).allTrue();   // false on NaN
            if (!safe) x = x.max(EXP_MIN).min(EXP_MAX);                                // NaN stays NaN (as Math.max/min)
            DoubleVector k = x.lanewise(VectorOperators.FMA, INV_LN2, SHIFT), m = k.sub(SHIFT);
            DoubleVector r = m.neg().lanewise(VectorOperators.FMA, EXP_LN2_LO, m.neg().lanewise(VectorOperators.FMA, EXP_LN2_HI, x));
            // expSeries(double): 1 + (r + r^2 q(r)) by Estrin's scheme (pairs, then pairs of pairs in r^2, r^4, r^8)
            DoubleVector r2 = r.mul(r), r4 = r2.mul(r2), r8 = r4.mul(r4);
            DoubleVector p23 = r.lanewise(VectorOperators.FMA, c[3], c[2]), p45 = r.lanewise(VectorOperators.FMA, c[5], c[4]);
            DoubleVector p67 = r.lanewise(VectorOperators.FMA, c[7], c[6]), p89 = r.lanewise(VectorOperators.FMA, c[9], c[8]);
            DoubleVector p1011 = r.lanewise(VectorOperators.FMA, c[11], c[10]), p1213 = r.lanewise(VectorOperators.FMA, c[13], c[12]);
            DoubleVector p25 = p45.fma(r2, p23), p69 = p89.fma(r2, p67), p1013 = p1213.fma(r2, p1011);
            DoubleVector p = p1013.fma(r8, p69.fma(r4, p25)).fma(r2, r).add(1);
            // 2^m for k = SHIFT + m: the exponent field m + 1023 from k's low bits (powerOfTwo(double))
            if (safe) {
                p = p.mul(k.reinterpretAsLongs().add(1023).lanewise(VectorOperators.LSHL, 52).reinterpretAsDoubles());
            } else {   // 2^m as 2^m1 2^m2: both factors normal, so the result rounds once, also to a subnormal or infinity
                DoubleVector k1 = m.lanewise(VectorOperators.FMA, 0.5, SHIFT), k2 = m.sub(k1.sub(SHIFT)).add(SHIFT);
                p = p.mul(k1.reinterpretAsLongs().add(1023).lanewise(VectorOperators.LSHL, 52).reinterpretAsDoubles())
                        .mul(k2.reinterpretAsLongs().add(1023).lanewise(VectorOperators.LSHL, 52).reinterpretAsDoubles());
            }
            p.intoArray(out, i);
        }
        for (; i < n; i++) out[i] = exp((v[i] - shift) * scale);
    }

    /** Always the two factors: where the vector form scales once (|x| <= 708) the bits are the same. */
    static double exp(double x) {
        x = Math.min(Math.max(x, EXP_MIN), EXP_MAX);
        double k = Math.fma(x, INV_LN2, SHIFT), n = k - SHIFT;
        double r = Math.fma(-n, EXP_LN2_LO, Math.fma(-n, EXP_LN2_HI, x));
        double p = expSeries(r);
        double k1 = Math.fma(n, 0.5, SHIFT), k2 = (n - (k1 - SHIFT)) + SHIFT;
        return p * powerOfTwo(k1) * powerOfTwo(k2);
    }

    /**
     * 1 + (r + r^2 q(r)), q = 1/2! + r/3! + ... + r^11/13! by Estrin's scheme (pairs, then pairs of
     * pairs in r^2, r^4, r^8): a short chain of dependent fmas, as fast as the JDK's SVML exp where
     * Horner's 13 in a row took twice its time; the 1 added last keeps the rounding within an ulp.
     */
    private static double expSeries(double r) {
        double[] c = EXP_POLY;
        double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
        double p23 = Math.fma(r, c[3], c[2]), p45 = Math.fma(r, c[5], c[4]), p67 = Math.fma(r, c[7], c[6]);
        double p89 = Math.fma(r, c[9], c[8]), p1011 = Math.fma(r, c[11], c[10]), p1213 = Math.fma(r, c[13], c[12]);
        double p25 = Math.fma(p45, r2, p23), p69 = Math.fma(p89, r2, p67), p1013 = Math.fma(p1213, r2, p1011);
        double q = Math.fma(p1013, r8, Math.fma(p69, r4, p25));
        return Math.fma(q, r2, r) + 1;
    }

    /** 2^m for k = SHIFT + m (|m| <= 1022): the exponent field m + 1023 built from k's low bits. */
    private static double powerOfTwo(double k) {
        return Double.longBitsToDouble((Double.doubleToRawLongBits(k) + 1023) << 52);
    }

    // ------------------------------------------------------------------ log

    /** out[i] = log v[i] for i < n ({@code out} may be v); a vector with a lane that is not a positive normal double takes the scalar twin. */
    static void log(double[] v, int n, double[] out) {
        VectorSpecies<Double> species = DoubleVector.SPECIES_PREFERRED;
        int i = 0;
        for (int bound = species.loopBound(n); i < bound; i += species.length()) {
            DoubleVector x = DoubleVector.fromArray(species, v, i);
            if (!x.compare(VectorOperators.GE, Double.MIN_NORMAL).and(x.compare(VectorOperators.LE, Double.MAX_VALUE)).allTrue()) {
                for (int j = i; j < i + species.length(); j++) out[j] = log(v[j]);
                continue;
            }
            // logNormal(double): x = 2^k m with m in [sqrt(1/2), sqrt(2)), f = m - 1
            LongVector bits = x.reinterpretAsLongs();
            LongVector t = bits.add(SQRT_HALF_OFFSET);
            DoubleVector m = bits.sub(t.and(EXPONENT_MASK)).add(ONE_BITS).reinterpretAsDoubles();
            DoubleVector k = t.lanewise(VectorOperators.LSHR, 52).add(TWO52_BITS).reinterpretAsDoubles().sub(0x1p52 + 1023);
            DoubleVector f = m.sub(1), s = f.div(f.add(2)), z = s.mul(s);
            DoubleVector poly = DoubleVector.broadcast(species, LOG_POLY[0]);
            for (int j = 1; j < LOG_POLY.length; j++) poly = poly.lanewise(VectorOperators.FMA, z, LOG_POLY[j]);
            DoubleVector r = poly.mul(z), hfsq = f.mul(f).mul(0.5);
            // k ln2_hi - ((hfsq - (s (hfsq + R) + k ln2_lo)) - f), fdlibm's order: the small terms first, the exact f and k ln2_hi last
            DoubleVector tail = hfsq.sub(s.mul(hfsq.add(r)).add(k.mul(LOG_LN2_LO))).sub(f);
            k.mul(LOG_LN2_HI).sub(tail).intoArray(out, i);
        }
        for (; i < n; i++) out[i] = log(v[i]);
    }

    static double log(double x) {
        if (x >= Double.MIN_NORMAL && x <= Double.MAX_VALUE) return logNormal(x, 0);
        if (x > 0 && x < Double.MIN_NORMAL) return logNormal(x * 0x1p52, -52);   // subnormal: scaled into the normals
        if (x == 0) return Double.NEGATIVE_INFINITY;
        return x == Double.POSITIVE_INFINITY ? x : Double.NaN;                    // negative or NaN: NaN
    }

    /** log x for positive normal x: x = 2^k m with m in [sqrt(1/2), sqrt(2)), f = m - 1. */
    private static double logNormal(double x, int extraExponent) {
        long bits = Double.doubleToRawLongBits(x), t = bits + SQRT_HALF_OFFSET;
        double m = Double.longBitsToDouble(bits - (t & EXPONENT_MASK) + ONE_BITS);
        double k = (Double.longBitsToDouble((t >>> 52) + TWO52_BITS) - (0x1p52 + 1023)) + extraExponent;
        double f = m - 1, s = f / (f + 2), z = s * s;
        double poly = LOG_POLY[0];
        for (int i = 1; i < LOG_POLY.length; i++) poly = Math.fma(poly, z, LOG_POLY[i]);
        double r = poly * z, hfsq = f * f * 0.5;
        double tail = ((hfsq - (s * (hfsq + r) + k * LOG_LN2_LO)) - f);
        return k * LOG_LN2_HI - tail;
    }

    // ------------------------------------------------------------------ float32 exp and log

    private static final float SHIFT_F = 0x1.8p23f;
    /**
     * SHIFT_F + 127: fma(x, 1/ln2, this) holds n + 127 in its low bits, the exponent field of 2^n,
     * so 2^n is those bits shifted (one vector op fewer than adding the bias to each lane).
     */
    private static final float SHIFT_BIASED_F = SHIFT_F + 127;
    private static final float INV_LN2_F = 0x1.715476p0f;
    /** ln2 as a float with 9 trailing zero bits (n ln2_hi exact for |n| < 2^9) and the remainder. */
    private static final float LN2_HI_F = 0x1.62e4p-1f, LN2_LO_F = (float) (0x1.62e42fefa39efp-1 - 0x1.62e4p-1);
    /** expf overflows above 88.72 and underflows below -103.97. */
    private static final float EXP_MIN_F = -104, EXP_MAX_F = 89;
    /** Up to |x| = 87, 2^n is a normal float (n >= -126): one scaling does. */
    private static final float EXP_SAFE_F = 87;
    private static final float[] EXP_POLY_F = floats(inverseFactorials(7));
    /** fdlibm's logf: ln2 split (k ln2_hi exact) and Lg1..Lg4. */
    private static final float LOG_LN2_HI_F = 6.9313812256e-01f, LOG_LN2_LO_F = 9.0580006145e-06f;
    private static final float LG1 = 0.66666662693f, LG2 = 0.40000972152f, LG3 = 0.28498786688f, LG4 = 0.24279078841f;
    private static final int ONE_BITS_F = 0x3f800000, SQRT_HALF_BITS_F = 0x3f3504f3;

    private static float[] floats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    /**
     * out[i] = exp((v[i] - shift) scale) for i < n ({@code out} may be v). The float32 kernels are
     * whole loops, each vector step written out with nothing but Vector API calls: a helper taking
     * or returning a vector that C2 does not inline (its inlining budget is spent in a deep caller)
     * makes it box every vector, which measured 3x slower; a loop over arrays has no such edge.
     */
    static void exp(float[] v, int n, float shift, float scale, float[] out) {
        VectorSpecies<Float> species = FloatVector.SPECIES_PREFERRED;
        float[] c = EXP_POLY_F;
        boolean unitScale = scale == 1;
        int i = 0;
        for (int bound = species.loopBound(n); i < bound; i += species.length()) {
            // the loop is bound by the count of vector ops (512-bit ones issue on two ports): none is spent
            // on x 1 (the softmax's scale), on negating n, or on adding the exponent bias
            FloatVector x = FloatVector.fromArray(species, v, i).sub(shift);
            if (!unitScale) x = x.mul(scale);
            boolean safe = x.abs().compare(VectorOperators.LE, EXP_SAFE_F).allTrue();      // false on NaN
            if (!safe) x = x.max(EXP_MIN_F).min(EXP_MAX_F);
            FloatVector k = x.lanewise(VectorOperators.FMA, INV_LN2_F, SHIFT_BIASED_F), n1 = k.sub(SHIFT_BIASED_F);
            FloatVector r = n1.lanewise(VectorOperators.FMA, -LN2_LO_F, n1.lanewise(VectorOperators.FMA, -LN2_HI_F, x));
            // 1 + (r + r^2 q(r)), q = 1/2! + ... + r^5/7! by Estrin's scheme, as expSeries(float)
            FloatVector r2 = r.mul(r), r4 = r2.mul(r2);
            FloatVector p23 = r.lanewise(VectorOperators.FMA, c[3], c[2]), p45 = r.lanewise(VectorOperators.FMA, c[5], c[4]);
            FloatVector p67 = r.lanewise(VectorOperators.FMA, c[7], c[6]);
            FloatVector p = p67.lanewise(VectorOperators.FMA, r4, p45.lanewise(VectorOperators.FMA, r2, p23))
                    .lanewise(VectorOperators.FMA, r2, r).add(1);
            // 2^m for k = SHIFT_BIASED_F + m: the exponent field m + 127 is k's low bits
            if (safe) {
                p = p.mul(k.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats());
            } else {
                FloatVector k1 = n1.lanewise(VectorOperators.FMA, 0.5f, SHIFT_F), k2 = n1.sub(k1.sub(SHIFT_F)).add(SHIFT_F);
                p = p.mul(k1.reinterpretAsInts().add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats())
                        .mul(k2.reinterpretAsInts().add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats());
            }
            p.intoArray(out, i);
        }
        if (i < n) {
            float[] tail = paddedTail(v, i, n, shift, species);
            exp(tail, tail.length, shift, scale, tail);
            System.arraycopy(tail, 0, out, i, n - i);
        }
    }

    /**
     * u[i] = exp(max((v[i] - shift) / root, -87 / root)) and e[i] = u[i]^root for i < n, 1 <= root <=
     * 64; returns the sum of e, in float32 lanes (one sign: within n 2^-24 of the sum). e is exp(v[i]
     * - shift) from one exp and a few products (GEN's softmax beside its p^(1/root)), at least
     * exp(-87): a product below the normal floats would take a microcode assist of ~100 cycles. The
     * exp's steps as {@link #exp(float[], int, float, float, float[])} (always |x| <= 87: one
     * scaling) but for its polynomial: the degree-5 minimax one ({@link #expDegree5}), within 2.3 ulp
     * of the exp where the degree-7 series keeps 1.1 (GEN's contract is float32 terms at rtol 1e-4),
     * two vector ops fewer of the loop's 23: GEN 3-6% faster in the detector (8 same-JVM A/Bs).
     * u^root by squarings from root's top bit, the branches invariant in the loop. The
     * tail, fewer than a vector's lanes, by the scalar twins (25 ns a value: a caller with room in
     * its arrays pads v to a whole vector, see {@link RowMath#padForExp}).
     */
    static double expPowers(float[] v, int n, float shift, int root, float[] u, float[] e) {
        VectorSpecies<Float> species = FloatVector.SPECIES_PREFERRED;
        float[] m = EXP5_F;
        float scale = 1f / root, floor = -87f / root;
        int top = 31 - Integer.numberOfLeadingZeros(root);
        boolean b5 = top >= 6, b4 = top >= 5, b3 = top >= 4, b2 = top >= 3, b1 = top >= 2, b0 = top >= 1;
        boolean o5 = b5 && (root >> 5 & 1) != 0, o4 = b4 && (root >> 4 & 1) != 0, o3 = b3 && (root >> 3 & 1) != 0;
        boolean o2 = b2 && (root >> 2 & 1) != 0, o1 = b1 && (root >> 1 & 1) != 0, o0 = b0 && (root & 1) != 0;
        FloatVector sum = FloatVector.zero(species);
        int i = 0;
        for (int bound = species.loopBound(n); i < bound; i += species.length()) {
            FloatVector x = FloatVector.fromArray(species, v, i).sub(shift).mul(scale);
            x = x.blend(floor, x.compare(VectorOperators.LT, floor));               // NaN stays NaN
            FloatVector k = x.lanewise(VectorOperators.FMA, INV_LN2_F, SHIFT_BIASED_F), n1 = k.sub(SHIFT_BIASED_F);
            FloatVector r = n1.lanewise(VectorOperators.FMA, -LN2_LO_F, n1.lanewise(VectorOperators.FMA, -LN2_HI_F, x));
            FloatVector r2 = r.mul(r);
            FloatVector p23 = r.lanewise(VectorOperators.FMA, m[1], m[0]), p45 = r.lanewise(VectorOperators.FMA, m[3], m[2]);
            FloatVector p = p45.lanewise(VectorOperators.FMA, r2, p23).lanewise(VectorOperators.FMA, r2, r).add(1);
            FloatVector uv = p.mul(k.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats()), ev = uv;
            // written out, not a loop over the bits (which measured a third slower)
            if (b5) { ev = ev.mul(ev); if (o5) ev = ev.mul(uv); }
            if (b4) { ev = ev.mul(ev); if (o4) ev = ev.mul(uv); }
            if (b3) { ev = ev.mul(ev); if (o3) ev = ev.mul(uv); }
            if (b2) { ev = ev.mul(ev); if (o2) ev = ev.mul(uv); }
            if (b1) { ev = ev.mul(ev); if (o1) ev = ev.mul(uv); }
            if (b0) { ev = ev.mul(ev); if (o0) ev = ev.mul(uv); }
            uv.intoArray(u, i);
            ev.intoArray(e, i);
            sum = sum.add(ev);
        }
        double total = sum(sum);
        for (; i < n; i++) {
            u[i] = expDegree5(Math.max((v[i] - shift) * scale, floor));
            total += e[i] = GenTerms.power(u[i], root);
        }
        return total;
    }

    /**
     * c2..c5 of exp(r) ~ 1 + r + r^2 (c2 + c3 r + c4 r^2 + c5 r^3): the minimax polynomial in relative
     * error on |r| <= ln2/2 (Remez: 1.05e-7), for {@link #expPowers}.
     */
    private static final float[] EXP5_F = {0x1.fffdfcp-2f, 0x1.5557aep-3f, 0x1.5729fp-5f, 0x1.106284p-7f};

    /** {@link #expPowers}' exp of one value, |x| <= 87 (one scaling): the scalar twin of its vector steps. */
    static float expDegree5(float x) {
        float[] m = EXP5_F;
        float k = Math.fma(x, INV_LN2_F, SHIFT_BIASED_F), n = k - SHIFT_BIASED_F;
        float r = Math.fma(n, -LN2_LO_F, Math.fma(n, -LN2_HI_F, x));
        float r2 = r * r;
        float p23 = Math.fma(r, m[1], m[0]), p45 = Math.fma(r, m[3], m[2]);
        float p = Math.fma(Math.fma(p45, r2, p23), r2, r) + 1;
        return p * Float.intBitsToFloat(Float.floatToRawIntBits(k) << 23);
    }

    /**
     * The last n - i values (fewer than a vector's lanes) in a vector of their own, the spare lanes
     * set to {@code pad}: the kernel runs them as one more vector step, where a scalar tail took a
     * scalar exp per value (all of a 10-class head's logits at 16 lanes; 8 of a 1000-wide row's).
     */
    private static float[] paddedTail(float[] v, int i, int n, float pad, VectorSpecies<Float> species) {
        float[] tail = new float[species.length()];
        java.util.Arrays.fill(tail, n - i, tail.length, pad);
        System.arraycopy(v, i, tail, 0, n - i);
        return tail;
    }


    /** Always the two factors: where the vector form scales once (|x| <= 87) the bits are the same. */
    static float exp(float x) {
        x = Math.min(Math.max(x, EXP_MIN_F), EXP_MAX_F);
        float k = Math.fma(x, INV_LN2_F, SHIFT_BIASED_F), n = k - SHIFT_BIASED_F;
        float r = Math.fma(n, -LN2_LO_F, Math.fma(n, -LN2_HI_F, x));
        float p = expSeries(r);
        float k1 = Math.fma(n, 0.5f, SHIFT_F), k2 = (n - (k1 - SHIFT_F)) + SHIFT_F;
        return p * powerOfTwo(k1) * powerOfTwo(k2);
    }

    /** 1 + (r + r^2 q(r)), q = 1/2! + ... + r^5/7! by Estrin's scheme. */
    private static float expSeries(float r) {
        float[] c = EXP_POLY_F;
        float r2 = r * r, r4 = r2 * r2;
        float p23 = Math.fma(r, c[3], c[2]), p45 = Math.fma(r, c[5], c[4]), p67 = Math.fma(r, c[7], c[6]);
        float q = Math.fma(p67, r4, Math.fma(p45, r2, p23));
        return Math.fma(q, r2, r) + 1;
    }

    /** 2^m for k = SHIFT_F + m (|m| <= 126): the exponent field m + 127 from k's low bits. */
    private static float powerOfTwo(float k) {
        return Float.intBitsToFloat((Float.floatToRawIntBits(k) + 127) << 23);
    }

    /** out[i] = log v[i] for i < n ({@code out} may be v); a vector with a lane that is not a positive normal float takes the scalar twin. */
    static void log(float[] v, int n, float[] out) {
        VectorSpecies<Float> species = FloatVector.SPECIES_PREFERRED;
        int i = 0;
        for (int bound = species.loopBound(n); i < bound; i += species.length()) {
            FloatVector x = FloatVector.fromArray(species, v, i);
            if (!x.compare(VectorOperators.GE, Float.MIN_NORMAL).and(x.compare(VectorOperators.LE, Float.MAX_VALUE)).allTrue()) {
                for (int j = i; j < i + species.length(); j++) out[j] = log(v[j]);
                continue;
            }
            // logNormal(float): x = 2^k m, m in [sqrt(1/2), sqrt(2)), f = m - 1, s = f / (2 + f)
            IntVector bits = x.reinterpretAsInts().add(ONE_BITS_F - SQRT_HALF_BITS_F);
            FloatVector k = bits.lanewise(VectorOperators.ASHR, 23).sub(0x7f).convert(VectorOperators.I2F, 0).reinterpretAsFloats();
            FloatVector m = bits.and(0x007fffff).add(SQRT_HALF_BITS_F).reinterpretAsFloats();
            FloatVector f = m.sub(1), s = f.div(f.add(2)), z = s.mul(s), w = z.mul(z);
            FloatVector r = z.mul(w.lanewise(VectorOperators.FMA, LG3, LG1)).add(w.mul(w.lanewise(VectorOperators.FMA, LG4, LG2)));
            FloatVector hfsq = f.mul(f).mul(0.5f);
            FloatVector tail = hfsq.sub(s.mul(hfsq.add(r)).add(k.mul(LOG_LN2_LO_F))).sub(f);
            k.mul(LOG_LN2_HI_F).sub(tail).intoArray(out, i);
        }
        if (i < n) {
            float[] tail = paddedTail(v, i, n, 1, species);
            log(tail, tail.length, tail);
            System.arraycopy(tail, 0, out, i, n - i);
        }
    }

    static float log(float x) {
        if (x >= Float.MIN_NORMAL && x <= Float.MAX_VALUE) return logNormal(x, 0);
        if (x > 0 && x < Float.MIN_NORMAL) return logNormal(x * 0x1p23f, -23);
        if (x == 0) return Float.NEGATIVE_INFINITY;
        return x == Float.POSITIVE_INFINITY ? x : Float.NaN;
    }

    /** logf for positive normal x: x = 2^k m, m in [sqrt(1/2), sqrt(2)), f = m - 1, s = f / (2 + f). */
    private static float logNormal(float x, int extraExponent) {
        int bits = Float.floatToRawIntBits(x) + (ONE_BITS_F - SQRT_HALF_BITS_F);
        float k = (float) ((bits >> 23) - 0x7f + extraExponent);
        float m = Float.intBitsToFloat((bits & 0x007fffff) + SQRT_HALF_BITS_F);
        float f = m - 1, s = f / (f + 2), z = s * s, w = z * z;
        float r = z * Math.fma(w, LG3, LG1) + w * Math.fma(w, LG4, LG2);
        float hfsq = f * f * 0.5f;
        float tail = (hfsq - (s * (hfsq + r) + k * LOG_LN2_LO_F)) - f;
        return k * LOG_LN2_HI_F - tail;
    }

    // ------------------------------------------------------------------ sums

    private static final VectorSpecies<Double> DS = DoubleVector.SPECIES_PREFERRED;
    /** Lane i from lane i + h (mod the length): the folds of {@link #sum(DoubleVector)}. */
    private static final VectorShuffle<Double> FOLD4 = VectorShuffle.fromOp(DS, i -> (i + 4) % DS.length()),
            FOLD2 = VectorShuffle.fromOp(DS, i -> (i + 2) % DS.length()), FOLD1 = VectorShuffle.fromOp(DS, i -> (i + 1) % DS.length());

    /**
     * The lanes' sum in one fixed order (reduceLanes(ADD) leaves the order to the JIT): the vector
     * folded onto its halves, ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)) for 8 lanes — three
     * lane permutations and adds, where the lanes one by one took seven extractions and adds (a
     * quarter of a 10-class head's row dots). Exact operations lane by lane: the same bits in every
     * tier. A vector of another species than the preferred, or of more than 8 lanes (the three folds
     * reach 8), sums in index order.
     */
    static double sum(DoubleVector v) {
        if (v.species() != DS || DS.length() > 8) {
            double s = v.lane(0);
            for (int i = 1; i < v.length(); i++) s += v.lane(i);
            return s;
        }
        if (DS.length() >= 8) v = v.add(v.rearrange(FOLD4));
        if (DS.length() >= 4) v = v.add(v.rearrange(FOLD2));
        if (DS.length() >= 2) v = v.add(v.rearrange(FOLD1));
        return v.lane(0);
    }

    /**
     * A float vector's lanes summed in float64 in one fixed order (lane i + lane i + L/2 for the first
     * half, those in index order): the same bits under C1, C2 and the interpreter, as {@link #sum(DoubleVector)}.
     */
    static double sum(FloatVector v) {
        VectorSpecies<Double> halves = DoubleVector.SPECIES_PREFERRED;
        return sum(((DoubleVector) v.convertShape(VectorOperators.F2D, halves, 0)).add(v.convertShape(VectorOperators.F2D, halves, 1)));
    }
}
