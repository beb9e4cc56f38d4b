package org.ood4j.engine.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The same loops on the widest double vectors of the machine. exp, log and the sums of lanes are
 * {@link VectorMath}'s, not the Vector API's EXP, LOG and reduceLanes(ADD), whose results change
 * when C2 compiles the loop; tails use VectorMath's scalar twins, so an element's result does not
 * depend on whether it falls in a vector or the tail.
 */
final class VectorKernels implements MathKernels {
    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    /** As many float lanes as two vectors of S hold: each float vector widens into two double vectors. */
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /**
     * Sums of terms of one sign kept in float32 lanes go to float64 after at most this many vectors: a
     * lane then adds at most 64 terms, within 64 2^-24 of their sum whatever the row's length (one
     * float32 lane over a 4100-class row's 256 values was 2.5e-6 off a flat row's GEN score).
     */
    static final int SUM_BLOCK = 64;

    /** A per-thread double[] of at least n elements, for the passes that must not overwrite their input. */
    private static final ThreadLocal<double[][]> SCRATCH = ThreadLocal.withInitial(() -> new double[1][1024]);

    private static double[] scratch(int n) {
        double[][] holder = SCRATCH.get();
        if (holder[0].length < n) holder[0] = new double[Math.max(n, 2 * holder[0].length)];
        return holder[0];
    }

    @Override
    public void exp(double[] v, int n) {
        VectorMath.exp(v, n, 0, 1, v);
    }

    @Override
    public void log(double[] v, int n) {
        VectorMath.log(v, n, v);
    }

    @Override
    public double expShiftedSum(double[] v, int n, double shift, boolean store) {
        double[] e = store ? v : scratch(n);
        VectorMath.exp(v, n, shift, 1, e);
        return sum(e, n);
    }

    /** The vectors' lanes added per lane, then in index order, then the tail: the order the fused loops had. */
    private static double sum(double[] v, int n) {
        DoubleVector acc = DoubleVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) acc = acc.add(DoubleVector.fromArray(S, v, i));
        double s = VectorMath.sum(acc);
        for (; i < n; i++) s += v[i];
        return s;
    }

    @Override
    public double max(double[] v, int n) {
        // lanewise MAX propagates NaN (as Math.max); -inf is the identity; max is exact, so reduceLanes' order does not matter
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
    public boolean allFinite(double[] v, int n) {
        // x - x is 0 for a finite x and NaN for NaN or an infinity; a sum of them is NaN iff one is, in any order
        DoubleVector acc = DoubleVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            DoubleVector x = DoubleVector.fromArray(S, v, i);
            acc = acc.add(x.sub(x));
        }
        boolean finite = !Double.isNaN(VectorMath.sum(acc));
        for (; i < n && finite; i++) finite = Double.isFinite(v[i]);
        return finite;
    }

    /**
     * Whether the {@code bytes} bytes at {@code offset} of {@code seg} hold only finite float32 (or
     * float64) values, read straight from the memory: four independent chains of x - x (0 for a
     * finite x, NaN otherwise), so the scan runs at the read rate.
     */
    @Override
    public boolean allFinite(java.lang.foreign.MemorySegment seg, long offset, long bytes, boolean f64) {
        java.nio.ByteOrder order = java.nio.ByteOrder.LITTLE_ENDIAN;
        long end = offset + bytes, i = offset;
        if (f64) {
            long step = (long) S.vectorByteSize(), unrolled = end - 4 * step;
            DoubleVector a0 = DoubleVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (; i <= unrolled; i += 4 * step) {
                DoubleVector x0 = DoubleVector.fromMemorySegment(S, seg, i, order), x1 = DoubleVector.fromMemorySegment(S, seg, i + step, order);
                DoubleVector x2 = DoubleVector.fromMemorySegment(S, seg, i + 2 * step, order), x3 = DoubleVector.fromMemorySegment(S, seg, i + 3 * step, order);
                a0 = a0.add(x0.sub(x0)); a1 = a1.add(x1.sub(x1)); a2 = a2.add(x2.sub(x2)); a3 = a3.add(x3.sub(x3));
            }
            if (Double.isNaN(VectorMath.sum(a0.add(a1).add(a2.add(a3))))) return false;
            for (; i < end; i += 8) if (!Double.isFinite(seg.get(java.lang.foreign.ValueLayout.JAVA_DOUBLE_UNALIGNED, i))) return false;
            return true;
        }
        long step = (long) F.vectorByteSize(), unrolled = end - 4 * step;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (; i <= unrolled; i += 4 * step) {
            FloatVector x0 = FloatVector.fromMemorySegment(F, seg, i, order), x1 = FloatVector.fromMemorySegment(F, seg, i + step, order);
            FloatVector x2 = FloatVector.fromMemorySegment(F, seg, i + 2 * step, order), x3 = FloatVector.fromMemorySegment(F, seg, i + 3 * step, order);
            a0 = a0.add(x0.sub(x0)); a1 = a1.add(x1.sub(x1)); a2 = a2.add(x2.sub(x2)); a3 = a3.add(x3.sub(x3));
        }
        if (Float.isNaN(a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD))) return false;
        for (; i < end; i += 4) if (!Float.isFinite(seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i))) return false;
        return true;
    }

    /**
     * Each lane's sum is its own element's, in row order, so the bits are the scalar loop's. The sums
     * of a vector's lanes stay in registers over a block of rows (a load and a store of them per
     * block, not per row). A float vector widens to two double vectors (the preferred species have
     * one width); the two parts are written out, as a loop over them measured 2.5x slower.
     */
    @Override
    public void addFloats(java.lang.foreign.MemorySegment seg, long offset, long rowBytes, int rows, int n, double[] into, int at) {
        java.nio.ByteOrder order = java.nio.ByteOrder.LITTLE_ENDIAN;
        int half = S.length(), bound = F.loopBound(n);
        for (int r0 = 0; r0 < rows; r0 += ADD_ROW_BLOCK) {
            int block = Math.min(ADD_ROW_BLOCK, rows - r0);
            long base = offset + r0 * rowBytes;
            int j = 0;
            for (; j < bound; j += F.length()) {
                DoubleVector low = DoubleVector.fromArray(S, into, at + j), high = DoubleVector.fromArray(S, into, at + j + half);
                long o = base + 4L * j;
                for (int r = 0; r < block; r++, o += rowBytes) {
                    FloatVector x = FloatVector.fromMemorySegment(F, seg, o, order);
                    low = low.add(x.convertShape(VectorOperators.F2D, S, 0));
                    high = high.add(x.convertShape(VectorOperators.F2D, S, 1));
                }
                low.intoArray(into, at + j);
                high.intoArray(into, at + j + half);
            }
            for (; j < n; j++) {
                double sum = into[at + j];
                for (int r = 0; r < block; r++) sum += seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, base + r * rowBytes + 4L * j);
                into[at + j] = sum;
            }
        }
    }

    /** Rows per block of {@link #addFloats}: eight streams of rows, read side by side. */
    private static final int ADD_ROW_BLOCK = 8;

    @Override
    public double dot(double[] a, double[] b, int n) {
        // two chains, the even and the odd vectors: one chain is bound by the FMA's latency
        DoubleVector even = DoubleVector.zero(S), odd = even;
        int i = 0, len = S.length();
        for (int bound = n - 2 * len; i <= bound; i += 2 * len) {
            even = DoubleVector.fromArray(S, a, i).fma(DoubleVector.fromArray(S, b, i), even);
            odd = DoubleVector.fromArray(S, a, i + len).fma(DoubleVector.fromArray(S, b, i + len), odd);
        }
        if (i + len <= n) {
            even = DoubleVector.fromArray(S, a, i).fma(DoubleVector.fromArray(S, b, i), even);
            i += len;
        }
        return tail(VectorMath.sum(even.add(odd)), a, b, i, n);
    }

    @Override
    public void dots(double[] z, double[][] rows, int n, double[] out) {
        // five rows at a time, each in dot's two chains: ten independent FMA chains keep both FMA
        // pipes busy, and z's vector is loaded once for five rows (12 loads per 10 FMAs, where one
        // dot after another is 2 loads per FMA and waits on the latency). A last group of fewer
        // repeats its last row in the spare chains rather than fall back to dot.
        for (int c = 0; c < rows.length; c += 5) {
            int last = Math.min(rows.length, c + 5) - 1;
            double[] r0 = rows[c], r1 = rows[Math.min(c + 1, last)], r2 = rows[Math.min(c + 2, last)];
            double[] r3 = rows[Math.min(c + 3, last)], r4 = rows[last];
            DoubleVector e0 = DoubleVector.zero(S), e1 = e0, e2 = e0, e3 = e0, e4 = e0, o0 = e0, o1 = e0, o2 = e0, o3 = e0, o4 = e0;
            int i = 0, len = S.length();
            for (int bound = n - 2 * len; i <= bound; i += 2 * len) {
                DoubleVector x = DoubleVector.fromArray(S, z, i), y = DoubleVector.fromArray(S, z, i + len);
                e0 = x.fma(DoubleVector.fromArray(S, r0, i), e0);
                o0 = y.fma(DoubleVector.fromArray(S, r0, i + len), o0);
                e1 = x.fma(DoubleVector.fromArray(S, r1, i), e1);
                o1 = y.fma(DoubleVector.fromArray(S, r1, i + len), o1);
                e2 = x.fma(DoubleVector.fromArray(S, r2, i), e2);
                o2 = y.fma(DoubleVector.fromArray(S, r2, i + len), o2);
                e3 = x.fma(DoubleVector.fromArray(S, r3, i), e3);
                o3 = y.fma(DoubleVector.fromArray(S, r3, i + len), o3);
                e4 = x.fma(DoubleVector.fromArray(S, r4, i), e4);
                o4 = y.fma(DoubleVector.fromArray(S, r4, i + len), o4);
            }
            if (i + len <= n) {
                DoubleVector x = DoubleVector.fromArray(S, z, i);
                e0 = x.fma(DoubleVector.fromArray(S, r0, i), e0);
                e1 = x.fma(DoubleVector.fromArray(S, r1, i), e1);
                e2 = x.fma(DoubleVector.fromArray(S, r2, i), e2);
                e3 = x.fma(DoubleVector.fromArray(S, r3, i), e3);
                e4 = x.fma(DoubleVector.fromArray(S, r4, i), e4);
                i += len;
            }
            out[c] = tail(VectorMath.sum(e0.add(o0)), z, r0, i, n);
            if (c + 1 <= last) out[c + 1] = tail(VectorMath.sum(e1.add(o1)), z, r1, i, n);
            if (c + 2 <= last) out[c + 2] = tail(VectorMath.sum(e2.add(o2)), z, r2, i, n);
            if (c + 3 <= last) out[c + 3] = tail(VectorMath.sum(e3.add(o3)), z, r3, i, n);
            if (c + 4 <= last) out[c + 4] = tail(VectorMath.sum(e4.add(o4)), z, r4, i, n);
        }
    }

    /** s + the products a[i] b[i] of the lanes past the vectors, in order (as {@link #dot} ends). */
    private static double tail(double s, double[] a, double[] b, int from, int n) {
        for (int i = from; i < n; i++) s += a[i] * b[i];
        return s;
    }

    @Override
    public double sumXLogX(double[] v, int n) {
        double[] logs = scratch(n);
        VectorMath.log(v, n, logs);
        return dot(v, logs, n);
    }

    @Override
    public double sumPow(double[] v, int n, double p) {
        double[] terms = scratch(n);
        VectorMath.log(v, n, terms);
        VectorMath.exp(terms, n, 0, p, terms);
        return sum(terms, n);
    }

    @Override
    public int firstKeyAtMost(float[] dots, int at, int from, int to, double qn, double[] norms, double bar) {
        for (int j = from; j < to; ) {
            j = norms != null ? skipL2(dots, at, j, to, qn, norms, bar) : skipInnerProduct(dots, at, j, to, bar);
            for (int end = Math.min(to, j + F.length()); j < end; j++) {
                if (CpuKnn.key(dots[at + j], j, qn, norms) <= bar) return j;
            }
        }
        return to;
    }

    /** The start of the first whole vector from j that holds a key (qn - 2 dot) + norm at most bar, else of the tail. */
    private static int skipL2(float[] dots, int at, int j, int to, double qn, double[] norms, double bar) {
        // widened to float64 lane by lane, then the scalar key's operations in its order: the same bits
        DoubleVector q = DoubleVector.broadcast(S, qn);
        for (int bound = to - F.length(); j <= bound; j += F.length()) {
            FloatVector dot = FloatVector.fromArray(F, dots, at + j);
            DoubleVector low = (DoubleVector) dot.convertShape(VectorOperators.F2D, S, 0);
            DoubleVector high = (DoubleVector) dot.convertShape(VectorOperators.F2D, S, 1);
            DoubleVector keyLow = q.sub(low.mul(2)).add(DoubleVector.fromArray(S, norms, j));
            DoubleVector keyHigh = q.sub(high.mul(2)).add(DoubleVector.fromArray(S, norms, j + S.length()));
            if (keyLow.compare(VectorOperators.LE, bar).or(keyHigh.compare(VectorOperators.LE, bar)).anyTrue()) return j;
        }
        return j;
    }

    @Override
    public int firstAtLeast(float[] dots, int at, int from, int to, float[] halfNorms, float threshold) {
        int j = from;
        for (int bound = to - F.length(); j <= bound; j += F.length()) {
            VectorMask<Float> pass = FloatVector.fromArray(F, dots, at + j).sub(FloatVector.fromArray(F, halfNorms, j))
                    .compare(VectorOperators.GE, threshold);
            if (pass.anyTrue()) return j + pass.firstTrue();
        }
        for (; j < to; j++) {
            if (dots[at + j] - halfNorms[j] >= threshold) return j;
        }
        return to;
    }

    /** As {@link #skipL2} for the key -dot: a float32 test dot >= -bar rounded, never stricter than the float64 one. */
    private static int skipInnerProduct(float[] dots, int at, int j, int to, double bar) {
        // no float lies between -bar and its nearest float, so a float dot >= -bar is >= that float too
        float floor = (float) -bar;
        for (int bound = to - F.length(); j <= bound; j += F.length()) {
            if (FloatVector.fromArray(F, dots, at + j).compare(VectorOperators.GE, floor).anyTrue()) return j;
        }
        return j;
    }

    @Override
    public String name() { return "vector (" + S.length() + " x float64)"; }

    // ------------------------------------------------------------------ float32 rows
    // Whole-array passes (VectorMath.exp/log over arrays, then a widening sum): see VectorMath.exp
    // for why no helper here takes or returns a vector. The extra passes run over rows in L1.

    @Override
    public double expShiftedSum(float[] v, int n, float shift, float scale, float[] out) {
        VectorMath.exp(v, n, shift, scale, out);
        return sum(out, n);
    }

    @Override
    public float max(float[] v, int n) {
        // four chains: one MAX after another is bound by its latency, not by the loads; max is exact, in any order
        FloatVector a0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY), a1 = a0, a2 = a0, a3 = a0;
        int i = 0, len = F.length();
        for (int bound = n - 4 * len; i <= bound; i += 4 * len) {
            a0 = a0.lanewise(VectorOperators.MAX, FloatVector.fromArray(F, v, i));
            a1 = a1.lanewise(VectorOperators.MAX, FloatVector.fromArray(F, v, i + len));
            a2 = a2.lanewise(VectorOperators.MAX, FloatVector.fromArray(F, v, i + 2 * len));
            a3 = a3.lanewise(VectorOperators.MAX, FloatVector.fromArray(F, v, i + 3 * len));
        }
        for (int bound = F.loopBound(n); i < bound; i += len) a0 = a0.lanewise(VectorOperators.MAX, FloatVector.fromArray(F, v, i));
        float m = a0.lanewise(VectorOperators.MAX, a1).lanewise(VectorOperators.MAX, a2.lanewise(VectorOperators.MAX, a3)).reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) m = Math.max(m, v[i]);
        return m;
    }

    @Override
    public float shiftMax(float[] v, int n) {
        // four chains of compare and blend: a NaN lane never compares greater, so it is never taken
        FloatVector a0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY), a1 = a0, a2 = a0, a3 = a0;
        int i = 0, len = F.length();
        for (int bound = n - 4 * len; i <= bound; i += 4 * len) {
            FloatVector x0 = FloatVector.fromArray(F, v, i), x1 = FloatVector.fromArray(F, v, i + len);
            FloatVector x2 = FloatVector.fromArray(F, v, i + 2 * len), x3 = FloatVector.fromArray(F, v, i + 3 * len);
            a0 = a0.blend(x0, x0.compare(VectorOperators.GT, a0));
            a1 = a1.blend(x1, x1.compare(VectorOperators.GT, a1));
            a2 = a2.blend(x2, x2.compare(VectorOperators.GT, a2));
            a3 = a3.blend(x3, x3.compare(VectorOperators.GT, a3));
        }
        for (int bound = F.loopBound(n); i < bound; i += len) {
            FloatVector x = FloatVector.fromArray(F, v, i);
            a0 = a0.blend(x, x.compare(VectorOperators.GT, a0));
        }
        a0 = a0.blend(a1, a1.compare(VectorOperators.GT, a0));
        a2 = a2.blend(a3, a3.compare(VectorOperators.GT, a2));
        float m = a0.blend(a2, a2.compare(VectorOperators.GT, a0)).reduceLanes(VectorOperators.MAX);   // no NaN lane: any order
        for (; i < n; i++) {
            if (v[i] > m) m = v[i];
        }
        return m;
    }

    @Override
    public int indexOf(float[] v, int n, float value) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            VectorMask<Float> hits = FloatVector.fromArray(F, v, i).compare(VectorOperators.EQ, value);
            if (hits.anyTrue()) return i + hits.firstTrue();
        }
        while (i < n && v[i] != value) i++;
        return i;
    }

    @Override
    public boolean allFinite(float[] v, int n) {
        // x - x is 0 for a finite x and NaN otherwise; any order of the sum finds a NaN: four chains, as max
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int i = 0, len = F.length();
        for (int bound = n - 4 * len; i <= bound; i += 4 * len) {
            FloatVector x0 = FloatVector.fromArray(F, v, i), x1 = FloatVector.fromArray(F, v, i + len);
            FloatVector x2 = FloatVector.fromArray(F, v, i + 2 * len), x3 = FloatVector.fromArray(F, v, i + 3 * len);
            a0 = a0.add(x0.sub(x0)); a1 = a1.add(x1.sub(x1)); a2 = a2.add(x2.sub(x2)); a3 = a3.add(x3.sub(x3));
        }
        for (int bound = F.loopBound(n); i < bound; i += len) {
            FloatVector x = FloatVector.fromArray(F, v, i);
            a0 = a0.add(x.sub(x));
        }
        boolean finite = !Float.isNaN(a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD));
        for (; i < n && finite; i++) finite = Float.isFinite(v[i]);
        return finite;
    }

    @Override
    public boolean loadFinite(java.lang.foreign.MemorySegment seg, long offset, float[] out, int n) {
        // the copy is bound by the read from memory; the check rides along on the loaded vectors' bits: |x|'s
        // (the sign cleared) are below infinity's for a finite x only, and an integer max is a one-cycle chain
        // (x - x summed was a four-cycle one, and kept the loop from the read rate: 100000 x 1000 in 20.4 ms
        // against 16.4 for the bare copy)
        java.nio.ByteOrder order = java.nio.ByteOrder.LITTLE_ENDIAN;
        IntVector m0 = IntVector.zero(I), m1 = m0;
        int i = 0, len = F.length();
        for (int bound = n - 2 * len; i <= bound; i += 2 * len) {
            FloatVector x0 = FloatVector.fromMemorySegment(F, seg, offset + 4L * i, order);
            FloatVector x1 = FloatVector.fromMemorySegment(F, seg, offset + 4L * (i + len), order);
            x0.intoArray(out, i);
            x1.intoArray(out, i + len);
            m0 = m0.max(x0.reinterpretAsInts().and(ABS_BITS));
            m1 = m1.max(x1.reinterpretAsInts().and(ABS_BITS));
        }
        for (int bound = F.loopBound(n); i < bound; i += len) {
            FloatVector x = FloatVector.fromMemorySegment(F, seg, offset + 4L * i, order);
            x.intoArray(out, i);
            m0 = m0.max(x.reinterpretAsInts().and(ABS_BITS));
        }
        if (i < n && out.length >= i + len && offset + 4L * (i + len) <= seg.byteSize()) {
            // the last values as one whole vector where the row has room and memory goes on past it (every
            // row of a matrix but its last): the lanes past n are stored into the room and left out of the check
            FloatVector x = FloatVector.fromMemorySegment(F, seg, offset + 4L * i, order);
            x.intoArray(out, i);
            m0 = m0.max(x.reinterpretAsInts().and(ABS_BITS).blend(0, IntVector.fromArray(I, LANE_INDEX, 0).compare(VectorOperators.GE, n - i)));
            i = n;
        }
        boolean finite = m0.max(m1).reduceLanes(VectorOperators.MAX) < INFINITY_BITS;
        for (; i < n; i++) {
            float v = seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, offset + 4L * i);
            out[i] = v;
            finite &= Float.isFinite(v);
        }
        return finite;
    }

    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** A float's bits less its sign; those of +infinity, above every finite float's |x| and below every NaN's. */
    private static final int ABS_BITS = 0x7FFFFFFF, INFINITY_BITS = 0x7F800000;
    /** 0, 1, 2, ...: each lane's index, for the last vector's mask. */
    private static final int[] LANE_INDEX = java.util.stream.IntStream.range(0, I.length()).toArray();

    /**
     * Blocks of 4 rows x 2 vectors of G in eight accumulators, one pass over X's rows per block
     * (X stays in L2: a sample's 512 x 16 doubles are 64 KiB), each lane the fused multiply-adds
     * over r in order; the entries outside whole blocks (cols not a multiple of 4 or of two
     * vectors) by the scalar form, which computes them the same way.
     */
    @Override
    public void gram(double[] x, int at, int rows, int cols, double[] g) {
        int l = S.length(), a4 = cols - cols % 4, bv = cols - cols % (2 * l);
        for (int a = 0; a < a4; a += 4) {
            for (int b = 0; b < bv; b += 2 * l) {
                DoubleVector g00 = DoubleVector.zero(S), g01 = g00, g10 = g00, g11 = g00, g20 = g00, g21 = g00, g30 = g00, g31 = g00;
                for (int r = 0, o = at; r < rows; r++, o += cols) {
                    DoubleVector x0 = DoubleVector.fromArray(S, x, o + b), x1 = DoubleVector.fromArray(S, x, o + b + l);
                    DoubleVector c0 = DoubleVector.broadcast(S, x[o + a]), c1 = DoubleVector.broadcast(S, x[o + a + 1]);
                    DoubleVector c2 = DoubleVector.broadcast(S, x[o + a + 2]), c3 = DoubleVector.broadcast(S, x[o + a + 3]);
                    g00 = c0.fma(x0, g00); g01 = c0.fma(x1, g01);
                    g10 = c1.fma(x0, g10); g11 = c1.fma(x1, g11);
                    g20 = c2.fma(x0, g20); g21 = c2.fma(x1, g21);
                    g30 = c3.fma(x0, g30); g31 = c3.fma(x1, g31);
                }
                int ga = a * cols + b;
                g00.intoArray(g, ga); g01.intoArray(g, ga + l);
                g10.intoArray(g, ga + cols); g11.intoArray(g, ga + cols + l);
                g20.intoArray(g, ga + 2 * cols); g21.intoArray(g, ga + 2 * cols + l);
                g30.intoArray(g, ga + 3 * cols); g31.intoArray(g, ga + 3 * cols + l);
            }
        }
        for (int a = 0; a < cols; a++) {
            for (int b = a < a4 ? bv : 0; b < cols; b++) g[a * cols + b] = ScalarKernels.gramEntry(x, at, rows, cols, a, b);
        }
    }

    /** Eight float lanes: the blocks {@link #planeMeans} sums a plane in. */
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    /** Whether the machine's vectors hold eight floats (AVX2 and wider); else the scalar form of the same sums. */
    private static final boolean WIDE = F.length() >= 8;

    /**
     * Per plane: its whole 8-value blocks clamped and added lanewise, the eight lanes' total by the
     * fixed tree ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)), then the tail (hw mod 8 values) in index
     * order: the same bits interpreted or compiled (reduceLanes(ADD) does not promise it), and the
     * same as the scalar form ({@link #planeSum}). float32 sums: a plane is 16 (4 x 4) to 49
     * (7 x 7) values, and the head after the pool is a float32 product anyway. The finiteness of
     * the values rides along in the blocks (x - x added up), the tails are tested one by one.
     * Planes of 16 values (4 x 4 maps) on 16 lanes take {@link #planeMeans16}: one vector a plane and
     * a fold of 16 planes at once.
     */
    @Override
    public boolean planeMeans(java.lang.foreign.MemorySegment seg, long offset, int planes, int hw, float[] lower, float[] upper,
                              boolean perPlane, int at, float[] out, int outAt) {
        boolean fold16 = hw == 16 && LANES16;
        if (fold16 && (lower == null || perPlane)) return planeMeans16(seg, offset, planes, lower, upper, at, out, outAt);
        float[] x = floatScratch(planes * hw);
        java.lang.foreign.MemorySegment.copy(seg, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, offset, x, 0, planes * hw);
        if (fold16) {
            // bounds per element (rare: a clamp map): the copy clamped, then the same fold
            boolean finite = allFinite(x, planes * hw);
            for (int i = 0; i < planes * hw; i += F.length()) {
                FloatVector.fromArray(F, x, i).lanewise(VectorOperators.MAX, FloatVector.fromArray(F, lower, at + i))
                        .lanewise(VectorOperators.MIN, FloatVector.fromArray(F, upper, at + i)).intoArray(x, i);
            }
            planeMeans16(java.lang.foreign.MemorySegment.ofArray(x), 0, planes, null, null, 0, out, outAt);
            return finite;
        }
        int body = hw - hw % 8;
        if (!WIDE || body == 0) {
            for (int q = 0; q < planes; q++) out[outAt + q] = planeSum(x, q * hw, hw, lower, upper, perPlane, at, q) / hw;
            return allFinite(x, planes * hw);
        }
        float[] l = new float[8];
        FloatVector nonFinite = FloatVector.zero(F8);          // x - x: 0 for a finite x, NaN otherwise
        boolean planeBounds = perPlane && lower != null;
        if (body == hw) {
            // whole blocks only (4 x 4, 8 x 8 planes): one flat loop over the run, a plane's total taken
            // every hw / 8 blocks — no inner loop of two or eight trips per plane
            FloatVector acc = FloatVector.zero(F8);
            FloatVector lo = planeBounds ? FloatVector.broadcast(F8, lower[at]) : null, hi = planeBounds ? FloatVector.broadcast(F8, upper[at]) : null;
            for (int i = 0, q = 0, left = hw / 8, n = planes * hw; i < n; i += 8) {
                FloatVector v = FloatVector.fromArray(F8, x, i);
                nonFinite = nonFinite.add(v.sub(v));
                acc = acc.add(planeBounds ? v.lanewise(VectorOperators.MAX, lo).lanewise(VectorOperators.MIN, hi) : clamp(v, lower, upper, at + i));
                if (--left == 0) {
                    acc.intoArray(l, 0);
                    out[outAt + q++] = tree(l) / hw;
                    acc = FloatVector.zero(F8);
                    left = hw / 8;
                    if (planeBounds && q < planes) {
                        lo = FloatVector.broadcast(F8, lower[at + q]);
                        hi = FloatVector.broadcast(F8, upper[at + q]);
                    }
                }
            }
            nonFinite.intoArray(l, 0);
            return !Float.isNaN(tree(l));
        }
        for (int q = 0; q < planes; q++) {
            int o = q * hw;
            FloatVector acc = FloatVector.zero(F8);
            FloatVector lo = planeBounds ? FloatVector.broadcast(F8, lower[at + q]) : null, hi = planeBounds ? FloatVector.broadcast(F8, upper[at + q]) : null;
            for (int i = o; i < o + body; i += 8) {
                FloatVector v = FloatVector.fromArray(F8, x, i);
                nonFinite = nonFinite.add(v.sub(v));
                acc = acc.add(planeBounds ? v.lanewise(VectorOperators.MAX, lo).lanewise(VectorOperators.MIN, hi) : clamp(v, lower, upper, at + i));
            }
            acc.intoArray(l, 0);
            out[outAt + q] = tail(tree(l), x, o, body, hw, lower, upper, perPlane, at, q) / hw;
        }
        nonFinite.intoArray(l, 0);
        boolean finite = !Float.isNaN(tree(l));
        for (int q = 0; q < planes && finite && body < hw; q++) {
            for (int i = q * hw + body; i < (q + 1) * hw; i++) finite &= Float.isFinite(x[i]);
        }
        return finite;
    }

    /**
     * Lane masks and permutations of the 16-plane fold in {@link #planeMeans16}: for groups of s = 16,
     * 8, 4, 2 lanes, the upper half of each group, and each group's halves swapped.
     */
    private static final boolean LANES16 = F.length() == 16;
    private static final VectorMask<Float>[] UPPER_HALVES = LANES16 ? upperHalves() : null;
    private static final VectorShuffle<Float>[] SWAP_HALVES = LANES16 ? swapHalves() : null;
    /**
     * Each fold step interleaves c's and d's groups, so after four the lane l holds plane bitreverse(l)
     * (of 4 bits): this permutation puts plane j in lane j.
     */
    private static final VectorShuffle<Float> BIT_REVERSED = LANES16 ? VectorShuffle.fromOp(F, l -> Integer.reverse(l) >>> 28) : null;

    @SuppressWarnings("unchecked")
    private static VectorMask<Float>[] upperHalves() {
        VectorMask<Float>[] m = new VectorMask[4];
        for (int k = 0, s = 16; k < 4; k++, s /= 2) {
            boolean[] bits = new boolean[F.length()];
            for (int l = 0; l < bits.length; l++) bits[l] = l % s >= s / 2;
            m[k] = VectorMask.fromArray(F, bits, 0);
        }
        return m;
    }

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] swapHalves() {
        VectorShuffle<Float>[] p = new VectorShuffle[4];
        for (int k = 0, s = 16; k < 4; k++, s /= 2) {
            int half = s / 2;
            p[k] = VectorShuffle.fromOp(F, l -> l ^ half);
        }
        return p;
    }

    /**
     * {@link #planeMeans} for planes of 16 values (4 x 4 maps) and 16 float lanes, no bounds or one
     * pair a plane: a plane is one vector, read straight from memory (no copy first), clamped, its bits
     * checked for NaN and infinity, and 16 planes' sums come out of one fold: two
     * vectors c, d holding groups of s partial sums make one with groups of s / 2, each group's halves
     * added (c's lower half plus its upper, d's the same), by two blends, one lane permutation and one
     * add. Fifteen such steps turn 16 planes into their 16 sums (four vector ops a plane, where the
     * blocks of 8 and a scalar tree took ~20 and a copy of the run). Each plane is summed as
     * fold16(x): x_i + x_i+8, then + the partial 4 lanes on, then 2, then 1 (IEEE adds are
     * commutative, so d's reversed operands give the same bits) — the order {@link #foldSum16} keeps
     * for the planes past the last 16, and the same in every JIT tier.
     */
    private static boolean planeMeans16(java.lang.foreign.MemorySegment seg, long offset, int planes, float[] lower, float[] upper,
                                        int at, float[] out, int outAt) {
        java.nio.ByteOrder order = java.nio.ByteOrder.LITTLE_ENDIAN;
        IntVector finite0 = IntVector.zero(I), finite1 = finite0;   // max of |x|'s bits: below infinity's for finite x only
        // every vector a local, every step written out: vectors held in an array (or handed to a helper C2
        // does not inline) are boxed
        boolean bounded = lower != null;
        int q = 0;
        for (; q + 16 <= planes; q += 16) {
            long o = offset + 64L * q;
            FloatVector v0 = FloatVector.fromMemorySegment(F, seg, o + 0, order);
            FloatVector v1 = FloatVector.fromMemorySegment(F, seg, o + 64, order);
            FloatVector v2 = FloatVector.fromMemorySegment(F, seg, o + 128, order);
            FloatVector v3 = FloatVector.fromMemorySegment(F, seg, o + 192, order);
            FloatVector v4 = FloatVector.fromMemorySegment(F, seg, o + 256, order);
            FloatVector v5 = FloatVector.fromMemorySegment(F, seg, o + 320, order);
            FloatVector v6 = FloatVector.fromMemorySegment(F, seg, o + 384, order);
            FloatVector v7 = FloatVector.fromMemorySegment(F, seg, o + 448, order);
            FloatVector v8 = FloatVector.fromMemorySegment(F, seg, o + 512, order);
            FloatVector v9 = FloatVector.fromMemorySegment(F, seg, o + 576, order);
            FloatVector v10 = FloatVector.fromMemorySegment(F, seg, o + 640, order);
            FloatVector v11 = FloatVector.fromMemorySegment(F, seg, o + 704, order);
            FloatVector v12 = FloatVector.fromMemorySegment(F, seg, o + 768, order);
            FloatVector v13 = FloatVector.fromMemorySegment(F, seg, o + 832, order);
            FloatVector v14 = FloatVector.fromMemorySegment(F, seg, o + 896, order);
            FloatVector v15 = FloatVector.fromMemorySegment(F, seg, o + 960, order);
            finite0 = finite0.max(v0.reinterpretAsInts().and(ABS_BITS));
            finite1 = finite1.max(v1.reinterpretAsInts().and(ABS_BITS));
            finite0 = finite0.max(v2.reinterpretAsInts().and(ABS_BITS));
            finite1 = finite1.max(v3.reinterpretAsInts().and(ABS_BITS));
            finite0 = finite0.max(v4.reinterpretAsInts().and(ABS_BITS));
            finite1 = finite1.max(v5.reinterpretAsInts().and(ABS_BITS));
            finite0 = finite0.max(v6.reinterpretAsInts().and(ABS_BITS));
            finite1 = finite1.max(v7.reinterpretAsInts().and(ABS_BITS));
            finite0 = finite0.max(v8.reinterpretAsInts().and(ABS_BITS));
            finite1 = finite1.max(v9.reinterpretAsInts().and(ABS_BITS));
            finite0 = finite0.max(v10.reinterpretAsInts().and(ABS_BITS));
            finite1 = finite1.max(v11.reinterpretAsInts().and(ABS_BITS));
            finite0 = finite0.max(v12.reinterpretAsInts().and(ABS_BITS));
            finite1 = finite1.max(v13.reinterpretAsInts().and(ABS_BITS));
            finite0 = finite0.max(v14.reinterpretAsInts().and(ABS_BITS));
            finite1 = finite1.max(v15.reinterpretAsInts().and(ABS_BITS));
            if (bounded) {
                v0 = v0.lanewise(VectorOperators.MAX, lower[at + q + 0]).lanewise(VectorOperators.MIN, upper[at + q + 0]);
                v1 = v1.lanewise(VectorOperators.MAX, lower[at + q + 1]).lanewise(VectorOperators.MIN, upper[at + q + 1]);
                v2 = v2.lanewise(VectorOperators.MAX, lower[at + q + 2]).lanewise(VectorOperators.MIN, upper[at + q + 2]);
                v3 = v3.lanewise(VectorOperators.MAX, lower[at + q + 3]).lanewise(VectorOperators.MIN, upper[at + q + 3]);
                v4 = v4.lanewise(VectorOperators.MAX, lower[at + q + 4]).lanewise(VectorOperators.MIN, upper[at + q + 4]);
                v5 = v5.lanewise(VectorOperators.MAX, lower[at + q + 5]).lanewise(VectorOperators.MIN, upper[at + q + 5]);
                v6 = v6.lanewise(VectorOperators.MAX, lower[at + q + 6]).lanewise(VectorOperators.MIN, upper[at + q + 6]);
                v7 = v7.lanewise(VectorOperators.MAX, lower[at + q + 7]).lanewise(VectorOperators.MIN, upper[at + q + 7]);
                v8 = v8.lanewise(VectorOperators.MAX, lower[at + q + 8]).lanewise(VectorOperators.MIN, upper[at + q + 8]);
                v9 = v9.lanewise(VectorOperators.MAX, lower[at + q + 9]).lanewise(VectorOperators.MIN, upper[at + q + 9]);
                v10 = v10.lanewise(VectorOperators.MAX, lower[at + q + 10]).lanewise(VectorOperators.MIN, upper[at + q + 10]);
                v11 = v11.lanewise(VectorOperators.MAX, lower[at + q + 11]).lanewise(VectorOperators.MIN, upper[at + q + 11]);
                v12 = v12.lanewise(VectorOperators.MAX, lower[at + q + 12]).lanewise(VectorOperators.MIN, upper[at + q + 12]);
                v13 = v13.lanewise(VectorOperators.MAX, lower[at + q + 13]).lanewise(VectorOperators.MIN, upper[at + q + 13]);
                v14 = v14.lanewise(VectorOperators.MAX, lower[at + q + 14]).lanewise(VectorOperators.MIN, upper[at + q + 14]);
                v15 = v15.lanewise(VectorOperators.MAX, lower[at + q + 15]).lanewise(VectorOperators.MIN, upper[at + q + 15]);
            }
            VectorMask<Float> m0 = UPPER_HALVES[0];
            VectorShuffle<Float> p0 = SWAP_HALVES[0];
            FloatVector f0_0 = v0.blend(v1, m0).add(v1.blend(v0, m0).rearrange(p0));
            FloatVector f0_1 = v2.blend(v3, m0).add(v3.blend(v2, m0).rearrange(p0));
            FloatVector f0_2 = v4.blend(v5, m0).add(v5.blend(v4, m0).rearrange(p0));
            FloatVector f0_3 = v6.blend(v7, m0).add(v7.blend(v6, m0).rearrange(p0));
            FloatVector f0_4 = v8.blend(v9, m0).add(v9.blend(v8, m0).rearrange(p0));
            FloatVector f0_5 = v10.blend(v11, m0).add(v11.blend(v10, m0).rearrange(p0));
            FloatVector f0_6 = v12.blend(v13, m0).add(v13.blend(v12, m0).rearrange(p0));
            FloatVector f0_7 = v14.blend(v15, m0).add(v15.blend(v14, m0).rearrange(p0));
            VectorMask<Float> m1 = UPPER_HALVES[1];
            VectorShuffle<Float> p1 = SWAP_HALVES[1];
            FloatVector f1_0 = f0_0.blend(f0_1, m1).add(f0_1.blend(f0_0, m1).rearrange(p1));
            FloatVector f1_1 = f0_2.blend(f0_3, m1).add(f0_3.blend(f0_2, m1).rearrange(p1));
            FloatVector f1_2 = f0_4.blend(f0_5, m1).add(f0_5.blend(f0_4, m1).rearrange(p1));
            FloatVector f1_3 = f0_6.blend(f0_7, m1).add(f0_7.blend(f0_6, m1).rearrange(p1));
            VectorMask<Float> m2 = UPPER_HALVES[2];
            VectorShuffle<Float> p2 = SWAP_HALVES[2];
            FloatVector f2_0 = f1_0.blend(f1_1, m2).add(f1_1.blend(f1_0, m2).rearrange(p2));
            FloatVector f2_1 = f1_2.blend(f1_3, m2).add(f1_3.blend(f1_2, m2).rearrange(p2));
            VectorMask<Float> m3 = UPPER_HALVES[3];
            VectorShuffle<Float> p3 = SWAP_HALVES[3];
            FloatVector f3_0 = f2_0.blend(f2_1, m3).add(f2_1.blend(f2_0, m3).rearrange(p3));
            f3_0.rearrange(BIT_REVERSED).mul(1f / 16).intoArray(out, outAt + q);   // x / 16 = x (1/16) exactly
        }
        boolean finite = finite0.max(finite1).reduceLanes(VectorOperators.MAX) < INFINITY_BITS;
        float[] x = q < planes ? new float[16] : null;   // the planes past the last 16 (none for 512 channels)
        for (; q < planes; q++) {
            java.lang.foreign.MemorySegment.copy(seg, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, offset + 64L * q, x, 0, 16);
            for (int i = 0; i < 16; i++) {
                finite &= Float.isFinite(x[i]);
                if (bounded) x[i] = clamped(x, i, lower, upper, at + q);
            }
            out[outAt + q] = foldSum16(x) / 16;
        }
        return finite;
    }

    /** A plane's 16 values summed in {@link #planeMeans16}'s order: halves added, then their halves, to one (x is overwritten). */
    private static float foldSum16(float[] x) {
        for (int s = 8; s >= 1; s /= 2) {
            for (int i = 0; i < s; i++) x[i] = x[i] + x[i + s];
        }
        return x[0];
    }

    /** v clamped to the 8 bounds at lower[b..], upper[b..] when given (NaN kept, as Math.min/max). */
    private static FloatVector clamp(FloatVector v, float[] lower, float[] upper, int b) {
        if (lower == null) return v;
        return v.lanewise(VectorOperators.MAX, FloatVector.fromArray(F8, lower, b)).lanewise(VectorOperators.MIN, FloatVector.fromArray(F8, upper, b));
    }

    /** The sum of plane q at x[o..o + hw) in the vector path's order: eight lane sums, their tree, then the tail. */
    private static float planeSum(float[] x, int o, int hw, float[] lower, float[] upper, boolean perPlane, int at, int q) {
        int body = hw - hw % 8;
        float[] l = new float[8];
        for (int i = 0; i < body; i++) l[i & 7] += clamped(x, o + i, lower, upper, perPlane ? at + q : at + o + i);
        return tail(body == 0 ? 0 : tree(l), x, o, body, hw, lower, upper, perPlane, at, q);
    }

    private static float tree(float[] l) {
        return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
    }

    /** total plus plane q's values at x[o + body..o + hw), in index order. */
    private static float tail(float total, float[] x, int o, int body, int hw, float[] lower, float[] upper, boolean perPlane, int at, int q) {
        for (int i = body; i < hw; i++) total += clamped(x, o + i, lower, upper, perPlane ? at + q : at + o + i);
        return total;
    }

    /** x[j] clamped to lower[b], upper[b] when given (NaN kept, as Math.min/max). */
    private static float clamped(float[] x, int j, float[] lower, float[] upper, int b) {
        return lower == null ? x[j] : Math.min(Math.max(x[j], lower[b]), upper[b]);
    }

    private static final ThreadLocal<float[][]> FLOAT_SCRATCH = ThreadLocal.withInitial(() -> new float[1][1024]);

    private static float[] floatScratch(int n) {
        float[][] holder = FLOAT_SCRATCH.get();
        if (holder[0].length < n) holder[0] = new float[Math.max(n, 2 * holder[0].length)];
        return holder[0];
    }

    /**
     * In float64: a float32 partial sum holding a row's 1 (the max's exp) and terms of 1e-6 would
     * round each of them to 6e-8, and the entropy of a confident row lives in those digits. Each
     * float vector widens into two double vectors, each half summed per lane in index order; then
     * the halves added, and the lanes' total in index order (VectorMath.sum).
     */
    @Override
    public double sum(float[] v, int n) {
        DoubleVector low = DoubleVector.zero(S), high = low;   // two chains (the widened halves): half the add latency per vector
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, v, i);
            low = low.add(x.convertShape(VectorOperators.F2D, S, 0));
            high = high.add(x.convertShape(VectorOperators.F2D, S, 1));
        }
        double s = VectorMath.sum(low.add(high));
        for (; i < n; i++) s += v[i];
        return s;
    }

    @Override
    public double expPowers(float[] v, int n, float shift, int root, float[] u, float[] e) {
        return VectorMath.expPowers(v, n, shift, root, u, e);
    }

    @Override
    public void exp(float[] v, int n, float shift, float scale, float[] out) {
        VectorMath.exp(v, n, shift, scale, out);
    }

    @Override
    public double sumGenTerms(float[] u, float[] e, int n, double sum, GenTerms t) {
        GenTerms.Row row = t.row(sum);
        int low = row.lowBits(), width = row.bitsWidth();
        float b1 = row.b1(), b2 = row.b2(), b3 = row.b3(), b4 = row.b4();
        double series = 0, outside = 0;
        int i = 0, len = F.length();
        for (int bound = F.loopBound(n); i < bound; ) {
            // GenTerms.Row.series in every lane, over sum^-gamma (applied once, to the sum); the terms (all
            // in (0, 1]) summed in float32 lanes, a block of at most SUM_BLOCK vectors at a time, then in
            // float64 (see SUM_BLOCK). Eight vector ops a vector: the series in e with the row's
            // coefficients (no p to form), one range test on e for both ends of the series, and the lanes
            // past it (a row's largest p, or p below the clamp) rare enough for a branch of their own
            FloatVector acc = FloatVector.zero(F);
            for (int blockEnd = Math.min(bound, i + SUM_BLOCK * len); i < blockEnd; i += len) {
                FloatVector uv = FloatVector.fromArray(F, u, i), ev = FloatVector.fromArray(F, e, i);
                FloatVector s = ev.lanewise(VectorOperators.FMA, b4, b3);
                s = ev.lanewise(VectorOperators.FMA, s, b2);
                s = ev.lanewise(VectorOperators.FMA, s, b1);
                FloatVector term = uv.mul(ev).lanewise(VectorOperators.FMA, s, uv);
                VectorMask<Float> out = ev.reinterpretAsInts().sub(low).compare(VectorOperators.UGT, width).cast(F);
                if (!out.anyTrue()) {
                    acc = acc.add(term);
                    continue;
                }
                acc = acc.add(term.blend(0f, out));
                for (long bits = out.toLong(); bits != 0; bits &= bits - 1) outside += t.outside(e, n, i + Long.numberOfTrailingZeros(bits), row);
            }
            series += VectorMath.sum(acc);
        }
        return row.pPowerScale() * series + outside + (i < n ? t.sumOneByOne(u, e, i, n, row) : 0);
    }

    @Override
    public double sumClampedPLogP(float[] e, float[] z, int n, float shift, float inverseSum, float logSum, float minP) {
        // seven vector ops a vector (512-bit ones issue on two ports, and the loop is bound by their
        // count): one compare and blend for the clamp (p < minP as log p < log minP), and float32
        // sums in two chains (the terms have one sign: no cancellation), widened after each block of
        // SUM_BLOCK steps
        float logMinP = (float) Math.log(minP), clamped = minP * logMinP;
        double s = 0;
        int i = 0, len = F.length();
        for (int bound = n - 2 * len; i <= bound; ) {
            FloatVector s0 = FloatVector.zero(F), s1 = s0;
            for (int blockEnd = Math.min(bound + 1, i + SUM_BLOCK * 2 * len); i < blockEnd; i += 2 * len) {
                FloatVector l0 = FloatVector.fromArray(F, z, i).sub(shift).sub(logSum);
                FloatVector l1 = FloatVector.fromArray(F, z, i + len).sub(shift).sub(logSum);
                FloatVector t0 = FloatVector.fromArray(F, e, i).mul(inverseSum).mul(l0);
                FloatVector t1 = FloatVector.fromArray(F, e, i + len).mul(inverseSum).mul(l1);
                s0 = s0.add(t0.blend(clamped, l0.compare(VectorOperators.LT, logMinP)));
                s1 = s1.add(t1.blend(clamped, l1.compare(VectorOperators.LT, logMinP)));
            }
            s += VectorMath.sum(s0.add(s1));
        }
        for (; i < n; i++) {
            float logP = (z[i] - shift) - logSum;
            s += logP < logMinP ? clamped : e[i] * inverseSum * logP;
        }
        return s;
    }

    @Override
    public double sumSquares(float[] v, int from, int n) {
        DoubleVector acc0 = DoubleVector.zero(S), acc1 = acc0;   // two chains: the FMA latency of one is not the loop's
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, v, from + i);
            DoubleVector lo = (DoubleVector) x.convertShape(VectorOperators.F2D, S, 0);
            DoubleVector hi = (DoubleVector) x.convertShape(VectorOperators.F2D, S, 1);
            acc0 = lo.fma(lo, acc0);
            acc1 = hi.fma(hi, acc1);
        }
        double s = VectorMath.sum(acc0.add(acc1));
        for (; i < n; i++) s += (double) v[from + i] * v[from + i];
        return s;
    }

    @Override
    public void dots(float[] z, float[][] rows, int n, float[] out) {
        // as the float64 dots: five rows share each load of z, each in two chains (even and odd vectors)
        for (int c = 0; c < rows.length; c += 5) {
            int last = Math.min(rows.length, c + 5) - 1;
            float[] r0 = rows[c], r1 = rows[Math.min(c + 1, last)], r2 = rows[Math.min(c + 2, last)];
            float[] r3 = rows[Math.min(c + 3, last)], r4 = rows[last];
            FloatVector e0 = FloatVector.zero(F), e1 = e0, e2 = e0, e3 = e0, e4 = e0, o0 = e0, o1 = e0, o2 = e0, o3 = e0, o4 = e0;
            int i = 0, len = F.length();
            for (int bound = n - 2 * len; i <= bound; i += 2 * len) {
                FloatVector x = FloatVector.fromArray(F, z, i), y = FloatVector.fromArray(F, z, i + len);
                e0 = x.fma(FloatVector.fromArray(F, r0, i), e0);
                o0 = y.fma(FloatVector.fromArray(F, r0, i + len), o0);
                e1 = x.fma(FloatVector.fromArray(F, r1, i), e1);
                o1 = y.fma(FloatVector.fromArray(F, r1, i + len), o1);
                e2 = x.fma(FloatVector.fromArray(F, r2, i), e2);
                o2 = y.fma(FloatVector.fromArray(F, r2, i + len), o2);
                e3 = x.fma(FloatVector.fromArray(F, r3, i), e3);
                o3 = y.fma(FloatVector.fromArray(F, r3, i + len), o3);
                e4 = x.fma(FloatVector.fromArray(F, r4, i), e4);
                o4 = y.fma(FloatVector.fromArray(F, r4, i + len), o4);
            }
            if (i + len <= n) {
                FloatVector x = FloatVector.fromArray(F, z, i);
                e0 = x.fma(FloatVector.fromArray(F, r0, i), e0);
                e1 = x.fma(FloatVector.fromArray(F, r1, i), e1);
                e2 = x.fma(FloatVector.fromArray(F, r2, i), e2);
                e3 = x.fma(FloatVector.fromArray(F, r3, i), e3);
                e4 = x.fma(FloatVector.fromArray(F, r4, i), e4);
                i += len;
            }
            // the lanes summed in float64 in a fixed order: reduceLanes(ADD) leaves the order to the JIT,
            // and a score must have the same bits under C1, C2 and the interpreter
            float s0 = (float) VectorMath.sum(e0.add(o0)), s1 = (float) VectorMath.sum(e1.add(o1));
            float s2 = (float) VectorMath.sum(e2.add(o2)), s3 = (float) VectorMath.sum(e3.add(o3));
            float s4 = (float) VectorMath.sum(e4.add(o4));
            for (; i < n; i++) {
                s0 = Math.fma(z[i], r0[i], s0); s1 = Math.fma(z[i], r1[i], s1); s2 = Math.fma(z[i], r2[i], s2);
                s3 = Math.fma(z[i], r3[i], s3); s4 = Math.fma(z[i], r4[i], s4);
            }
            out[c] = s0;
            if (c + 1 <= last) out[c + 1] = s1;
            if (c + 2 <= last) out[c + 2] = s2;
            if (c + 3 <= last) out[c + 3] = s3;
            if (c + 4 <= last) out[c + 4] = s4;
        }
    }

    /** Each float vector widens into two double vectors (as {@link #addFloats}), centred and multiplied in float64. */
    @Override
    public double centredDot(float[] x, double[] centre, double[] w, int n) {
        DoubleVector acc0 = DoubleVector.zero(S), acc1 = acc0;
        int half = S.length(), i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            FloatVector v = FloatVector.fromArray(F, x, i);
            DoubleVector low = ((DoubleVector) v.convertShape(VectorOperators.F2D, S, 0)).sub(DoubleVector.fromArray(S, centre, i));
            DoubleVector high = ((DoubleVector) v.convertShape(VectorOperators.F2D, S, 1)).sub(DoubleVector.fromArray(S, centre, i + half));
            acc0 = low.fma(DoubleVector.fromArray(S, w, i), acc0);
            acc1 = high.fma(DoubleVector.fromArray(S, w, i + half), acc1);
        }
        double s = VectorMath.sum(acc0.add(acc1));
        for (; i < n; i++) s += (x[i] - centre[i]) * w[i];
        return s;
    }

    @Override
    public double centredSquares(float[] x, double[] centre, int n) {
        DoubleVector acc0 = DoubleVector.zero(S), acc1 = acc0;
        int half = S.length(), i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            FloatVector v = FloatVector.fromArray(F, x, i);
            DoubleVector low = ((DoubleVector) v.convertShape(VectorOperators.F2D, S, 0)).sub(DoubleVector.fromArray(S, centre, i));
            DoubleVector high = ((DoubleVector) v.convertShape(VectorOperators.F2D, S, 1)).sub(DoubleVector.fromArray(S, centre, i + half));
            acc0 = low.fma(low, acc0);
            acc1 = high.fma(high, acc1);
        }
        double s = VectorMath.sum(acc0.add(acc1));
        for (; i < n; i++) {
            double d = x[i] - centre[i];
            s += d * d;
        }
        return s;
    }
}
