package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;
import java.util.stream.IntStream;

import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.ConvOps;

/**
 * Convolution by im2col + GEMM, and pooling by direct loops over (sample, channel) planes.
 *
 * <p>conv2d: for each sample (in parallel), the receptive fields are unrolled into a column
 * matrix (C*kh*kw, Hout*Wout), zeros where the window hangs over the padding, and the weight
 * viewed as (O, C*kh*kw) multiplies it with {@link Gemm} in the operands' precision. The
 * column matrix costs memory per running sample but turns the convolution into one large,
 * cache-friendly product.
 */
final class CpuConv implements ConvOps {

    // ---------------------------------------------------------------- conv2d

    @Override
    public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding, int dilation) {
        DType type = ConvOps.check(x, weight, bias, stride, padding, dilation);
        int n = (int) x.size(0), c = (int) x.size(1), h = (int) x.size(2), w = (int) x.size(3);
        int o = (int) weight.size(0), kh = (int) weight.size(2), kw = (int) weight.size(3);
        ConvGeometry g = new ConvGeometry(c, h, w, kh, kw, stride, padding, dilation);
        checkSizes(x, weight, g, o);
        int hw = g.outH() * g.outW();
        double[] b = bias == null ? null : Packing.doubles(bias);
        Object packedWeight = type == DType.FLOAT32 ? Packing.floats(weight) : Packing.doubles(weight); // (O, C*kh*kw)
        Tensor out = Tensor.zeros(type, n, o, g.outH(), g.outW());
        MemorySegment os = out.storage().segment();
        IntStream.range(0, n).parallel().forEach(i -> {
            long outByte = (long) i * o * hw * type.byteSize();
            try (Tensor sample = x.select(0, i)) {
                if (type == DType.FLOAT32) {
                    float[] cols = g.im2col(Packing.floats(sample));
                    float[] y = Gemm.sgemm((float[]) packedWeight, cols, o, hw, g.rows());
                    if (b != null) addBias(y, b, hw);
                    MemorySegment.copy(y, 0, os, DType.FLOAT32.layout(), outByte, y.length);
                } else {
                    double[] cols = g.im2col(Packing.doubles(sample));
                    double[] y = Gemm.dgemm((double[]) packedWeight, cols, o, hw, g.rows());
                    if (b != null) addBias(y, b, hw);
                    MemorySegment.copy(y, 0, os, DType.FLOAT64.layout(), outByte, y.length);
                }
            }
        });
        return out;
    }

    private static void addBias(float[] y, double[] bias, int hw) {
        for (int oc = 0; oc < bias.length; oc++) {
            float v = (float) bias[oc];
            for (int j = oc * hw; j < (oc + 1) * hw; j++) y[j] += v;
        }
    }

    private static void addBias(double[] y, double[] bias, int hw) {
        for (int oc = 0; oc < bias.length; oc++) {
            for (int j = oc * hw; j < (oc + 1) * hw; j++) y[j] += bias[oc];
        }
    }

    static void checkSizes(Tensor x, Tensor weight, ConvGeometry g, int o) {
        if (g.outH() < 1 || g.outW() < 1) {
            throw new IllegalArgumentException("conv2d output would be empty: input " + Shape.toString(x.shape())
                    + ", weight " + Shape.toString(weight.shape()) + ", stride " + g.stride() + ", padding " + g.padding()
                    + ", dilation " + g.dilation());
        }
        long hw = (long) g.outH() * g.outW(), max = Integer.MAX_VALUE - 8;
        if ((long) g.rows() * hw > max || (long) o * hw > max || (long) o * g.rows() > max) {
            throw new IllegalArgumentException("conv2d of input " + Shape.toString(x.shape()) + " by weight "
                    + Shape.toString(weight.shape()) + " is too large for one CPU column block");
        }
    }

    // ---------------------------------------------------------------- pooling

    /** Max over each window; NaN propagates, as torch.nn.functional.max_pool2d. */
    @Override
    public Tensor maxPool2d(Tensor x, int kernel, int stride) {
        ConvOps.requireNchw(x, "maxPool2d");
        int h = (int) x.size(2), w = (int) x.size(3);
        if (kernel < 1 || stride < 1 || kernel > h || kernel > w) {
            throw new IllegalArgumentException("maxPool2d kernel " + kernel + ", stride " + stride
                    + " do not fit input " + Shape.toString(x.shape()));
        }
        int outH = (h - kernel) / stride + 1, outW = (w - kernel) / stride + 1;
        return planewise(x, outH, outW, (in, out) -> {
            for (int oh = 0; oh < outH; oh++) {
                for (int ow = 0; ow < outW; ow++) {
                    double m = Double.NEGATIVE_INFINITY;
                    for (int i = oh * stride; i < oh * stride + kernel; i++) {
                        for (int j = ow * stride; j < ow * stride + kernel; j++) {
                            double v = in[i * w + j];
                            if (v > m || Double.isNaN(v)) m = v;
                            if (Double.isNaN(m)) break;
                        }
                    }
                    out[oh * outW + ow] = m;
                }
            }
        });
    }

    /** Means over PyTorch's adaptive windows: rows [floor(i H / outH), ceil((i+1) H / outH)), likewise columns. */
    @Override
    public Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) {
        ConvOps.requireNchw(x, "adaptiveAvgPool2d");
        int h = (int) x.size(2), w = (int) x.size(3);
        if (outH < 1 || outW < 1 || h < 1 || w < 1) {
            throw new IllegalArgumentException("adaptiveAvgPool2d to " + outH + " x " + outW + " of input "
                    + Shape.toString(x.shape()));
        }
        if (outH == 1 && outW == 1 && x.dtype().isFloating()) {
            try (Tensor xc = x.contiguous()) {
                return globalAveragePool(xc, h * w);
            }
        }
        return planewise(x, outH, outW, (in, out) -> {
            for (int oh = 0; oh < outH; oh++) {
                int i0 = (int) ((long) oh * h / outH), i1 = (int) (((long) (oh + 1) * h + outH - 1) / outH);
                for (int ow = 0; ow < outW; ow++) {
                    int j0 = (int) ((long) ow * w / outW), j1 = (int) (((long) (ow + 1) * w + outW - 1) / outW);
                    double sum = 0;
                    for (int i = i0; i < i1; i++) {
                        for (int j = j0; j < j1; j++) sum += in[i * w + j];
                    }
                    out[oh * outW + ow] = sum / ((i1 - i0) * (j1 - j0));
                }
            }
        });
    }

    /**
     * Global average pooling of a contiguous (N, C, H, W) tensor: each plane's mean, planes in
     * parallel chunks — not a task and three arrays per plane. float32 planes are read straight
     * from memory ({@link MathKernels#planeMeans}), others loaded and summed in float64, in order.
     */
    private static Tensor globalAveragePool(Tensor x, int hw) {
        if (x.dtype() == DType.FLOAT32) return floatPlaneMeans(x, hw, null, null, false, false);
        return globalAveragePool(x, hw, null, null, x.dtype());
    }

    /**
     * One pass over the maps instead of three (clamp below, clamp above, pool), and no full-size
     * intermediate: each element is clamped to its (c, h, w) bounds as it is summed. A clamped
     * value is rounded to the result dtype before it is added, as the unfused ops store it; with
     * float32 maps and bounds it is the float32 pool's own kernel, so the fused and the unfused
     * forms give the same bits.
     */
    @Override
    public Tensor clampedGlobalAvgPool(Tensor x, Tensor lower, Tensor upper) {
        return clampedPool(x, lower, upper, false);
    }

    /** float32 maps and bounds check their values in the pooling pass itself; others read x twice (the default). */
    @Override
    public Tensor clampedGlobalAvgPoolIfFinite(Tensor x, Tensor lower, Tensor upper) {
        ConvOps.requireNchw(x, "clampedGlobalAvgPool");
        if (x.dtype() != DType.FLOAT32 || resultType(x, lower, upper) != DType.FLOAT32) {
            return ConvOps.super.clampedGlobalAvgPoolIfFinite(x, lower, upper);
        }
        return clampedPool(x, lower, upper, true);
    }

    /** The clamped pool; with {@code ifFinite} (float32 path only), null when x holds NaN or an infinity. */
    private static Tensor clampedPool(Tensor x, Tensor lower, Tensor upper, boolean ifFinite) {
        ConvOps.requireNchw(x, "clampedGlobalAvgPool");
        if (!x.dtype().isFloating()) throw new IllegalArgumentException("pooling needs a floating tensor, got " + x.dtype());
        long[] plane = {x.size(1), x.size(2), x.size(3)};
        DType type = resultType(x, lower, upper);
        int hw = (int) (plane[1] * plane[2]);
        try (Tensor xc = x.contiguous()) {
            if (x.dtype() == DType.FLOAT32 && type == DType.FLOAT32) {
                // one bound per plane (ReAct's scalar, VRA's per channel) stays one value per plane
                boolean perPlane = perPlane(lower) && perPlane(upper);
                long[] boundShape = perPlane ? new long[] {plane[0], 1, 1} : plane;
                return floatPlaneMeans(xc, hw, floats(bounds(lower, boundShape, Double.NEGATIVE_INFINITY)),
                        floats(bounds(upper, boundShape, Double.POSITIVE_INFINITY)), perPlane, ifFinite);
            }
            return globalAveragePool(xc, hw, bounds(lower, plane, Double.NEGATIVE_INFINITY), bounds(upper, plane, Double.POSITIVE_INFINITY), type);
        }
    }

    /** The dtype of x.maximum(lower).minimum(upper). */
    private static DType resultType(Tensor x, Tensor lower, Tensor upper) {
        DType t = x.dtype();
        if (lower != null) t = DType.promote(t, lower.dtype());
        if (upper != null) t = DType.promote(t, upper.dtype());
        return t;
    }

    /** Whether a bound (absent, or broadcast to (C, H, W)) is one value per plane: its H and W sizes 1. */
    private static boolean perPlane(Tensor bound) {
        if (bound == null) return true;
        long[] s = bound.shape();
        return (s.length < 1 || s[s.length - 1] == 1) && (s.length < 2 || s[s.length - 2] == 1);
    }

    /** A bound broadcast to one (C, H, W) map (or to (C, 1, 1): one per plane), row-major; the identity {@code none} when absent. */
    private static double[] bounds(Tensor bound, long[] plane, double none) {
        double[] out = new double[Math.toIntExact(plane[0] * plane[1] * plane[2])];
        if (bound == null) {
            java.util.Arrays.fill(out, none);
            return out;
        }
        try (Tensor expanded = bound.expand(plane); Tensor dense = expanded.contiguous()) {
            return dense.toDoubleArray();
        }
    }

    private static float[] floats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return f;
    }

    /**
     * The (N, C, 1, 1) float32 means of a contiguous float32 (N, C, H, W) tensor's planes, clamped
     * to the (C, H, W) bounds first when given, or (perPlane) to the (C, 1, 1) ones: one read of the maps, in chunks of planes (one per
     * thread's share, a single chunk below 32 Ki values: no hand-off for small work), each chunk's
     * means written at once. With {@code ifFinite}, null (the result freed) when a value of x is
     * NaN or infinite, found in the same pass.
     */
    private static Tensor floatPlaneMeans(Tensor x, int hw, float[] lower, float[] upper, boolean perPlane, boolean ifFinite) {
        int n = (int) x.size(0), c = (int) x.size(1);
        long planes = (long) n * c;
        Tensor out = Tensor.zeros(DType.FLOAT32, n, c, 1, 1);
        MemorySegment xs = x.storage().segment(), os = out.storage().segment();
        long base = x.offset() * Float.BYTES;
        int chunks = planes * hw < (1 << 15) ? 1 : (int) Math.min(planes, 4 * Runtime.getRuntime().availableProcessors());
        boolean finite = IntStream.range(0, chunks).parallel().mapToObj(ch -> {
            long p0 = planes * ch / chunks, p1 = planes * (ch + 1) / chunks;
            float[] means = new float[(int) (p1 - p0)];
            boolean ok = true;
            for (long p = p0; p < p1; ) {
                int channel = (int) (p % c), run = (int) Math.min(p1 - p, c - channel);   // to the end of this sample's map
                int at = perPlane ? channel : channel * hw;   // the run's first bound
                ok &= MathKernels.INSTANCE.planeMeans(xs, base + p * hw * Float.BYTES, run, hw, lower, upper, perPlane, at, means, (int) (p - p0));
                p += run;
            }
            MemorySegment.copy(means, 0, os, DType.FLOAT32.layout(), p0 * Float.BYTES, means.length);
            return ok;
        }).reduce(true, Boolean::logicalAnd);
        if (ifFinite && !finite) {
            out.close();
            return null;
        }
        return out;
    }

    /** The float64 pool (float64 maps, or float32 maps against float64 bounds); bounds as in {@link #clampedGlobalAvgPool}. */
    private static Tensor globalAveragePool(Tensor x, int hw, double[] lower, double[] upper, DType type) {
        int n = (int) x.size(0), c = (int) x.size(1);
        Tensor out = Tensor.zeros(type, n, c, 1, 1);
        MemorySegment xs = x.storage().segment(), os = out.storage().segment();
        long offset = x.offset();
        DType inType = x.dtype();
        // a whole sample's C x H x W map per load when it fits a buffer: small planes (7 x 7, 4 x 4) cost
        // one load each otherwise, and the clamp runs over the map as one vectorised loop
        int planesPerLoad = (long) c * hw <= MAX_LOAD ? c : Math.max(1, MAX_LOAD / hw);
        int loads = (int) ((long) n * c / planesPerLoad + ((long) n * c % planesPerLoad == 0 ? 0 : 1));
        int chunks = (long) n * c * hw < (1 << 15) ? 1 : Math.min(loads, 4 * Runtime.getRuntime().availableProcessors());
        IntStream.range(0, chunks).parallel().forEach(ch -> {
            double[] buf = new double[planesPerLoad * hw];
            long l0 = (long) loads * ch / chunks, l1 = (long) loads * (ch + 1) / chunks;
            for (long l = l0; l < l1; l++) {
                long p0 = l * planesPerLoad;
                int planes = (int) Math.min(planesPerLoad, (long) n * c - p0);
                HostRows.load(xs, inType, offset + p0 * hw, 1, planes * hw, buf);
                if (lower != null) clamp(buf, lower, upper, (int) (p0 % c), c, planes, hw, type == DType.FLOAT32);
                planeMeans(buf, planes, hw, os, type, p0);
            }
        });
        return out;
    }

    /**
     * Each plane's mean, its sum taken in order (so the bits are those of a plain loop). Four
     * planes at a time: four independent chains of adds instead of one, which is what bounds a
     * sum of small planes (16 values of a 4 x 4 map) — the add's latency, not memory.
     */
    private static void planeMeans(double[] buf, int planes, int hw, MemorySegment out, DType type, long first) {
        int q = 0;
        for (; q + 4 <= planes; q += 4) {
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int i = q * hw, end = i + hw; i < end; i++) {
                s0 += buf[i];
                s1 += buf[i + hw];
                s2 += buf[i + 2 * hw];
                s3 += buf[i + 3 * hw];
            }
            HostRows.set(out, type, first + q, s0 / hw);
            HostRows.set(out, type, first + q + 1, s1 / hw);
            HostRows.set(out, type, first + q + 2, s2 / hw);
            HostRows.set(out, type, first + q + 3, s3 / hw);
        }
        for (; q < planes; q++) {
            double sum = 0;
            for (int i = q * hw, end = i + hw; i < end; i++) sum += buf[i];
            HostRows.set(out, type, first + q, sum / hw);
        }
    }

    /** Elements loaded at once by the global pool: 64 Ki doubles (512 KiB), an L2's worth. */
    private static final int MAX_LOAD = 1 << 16;

    /**
     * v = clamp(v, bounds of its channel), for {@code planes} planes of hw values starting at channel
     * {@code channel} (of c; the bounds are one (C, H, W) map), NaN kept (as maximum/minimum), rounded
     * to float32 if asked (as the unfused ops store the clamped maps). Runs of whole maps are one
     * flat loop against the bounds, which the JIT vectorises.
     */
    private static void clamp(double[] v, double[] lower, double[] upper, int channel, int c, int planes, int hw, boolean roundToFloat) {
        for (int start = 0, q = 0; q < planes; ) {
            int ch = (channel + q) % c, run = Math.min(planes - q, c - ch) * hw, at = ch * hw;   // to the end of this map
            for (int i = 0; i < run; i++) v[start + i] = Math.min(Math.max(v[start + i], lower[at + i]), upper[at + i]);
            if (roundToFloat) for (int i = 0; i < run; i++) v[start + i] = (float) v[start + i];
            start += run;
            q += run / hw;
        }
    }

    private interface PlaneOp {
        /** in: one (H, W) plane row-major; out: its (outH, outW) result. */
        void apply(double[] in, double[] out);
    }

    /** Applies op to every (sample, channel) plane in parallel; the output keeps x's dtype. */
    private static Tensor planewise(Tensor x, int outH, int outW, PlaneOp op) {
        if (!x.dtype().isFloating()) {
            throw new IllegalArgumentException("pooling needs a floating tensor, got " + x.dtype() + Shape.toString(x.shape()));
        }
        int n = (int) x.size(0), c = (int) x.size(1), h = (int) x.size(2), w = (int) x.size(3);
        Tensor out = Tensor.zeros(x.dtype(), n, c, outH, outW);
        MemorySegment xs = x.storage().segment(), os = out.storage().segment();
        long[] st = x.strides();
        int outPlane = outH * outW;
        IntStream.range(0, n * c).parallel().forEach(p -> {
            double[] in = new double[h * w], row = new double[w], result = new double[outPlane];
            long base = x.offset() + (p / c) * st[0] + (p % c) * st[1];
            for (int i = 0; i < h; i++) {
                HostRows.load(xs, x.dtype(), base + i * st[2], st[3], w, row);
                System.arraycopy(row, 0, in, i * w, w);
            }
            op.apply(in, result);
            HostRows.store(os, x.dtype(), (long) p * outPlane, 1, outPlane, result);
        });
        return out;
    }

}
