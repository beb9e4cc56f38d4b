package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Norm;
import org.ood4j.engine.backend.ConvGradOps;

/**
 * Convolution and pooling gradients by the same im2col + GEMM scheme as {@link CpuConv}, one
 * sample per task: the input gradient folds Wᵀ δ_i back onto the image with col2im, the weight
 * gradient multiplies δ_i by the transposed column matrix. Products run in the operands'
 * precision; sums over samples and norms accumulate in float64.
 */
final class CpuConvGrad implements ConvGradOps {

    // ---------------------------------------------------------------- conv2d

    @Override
    public Tensor conv2dInputGrad(Tensor gradOut, Tensor weight, long[] inputShape, int stride, int padding, int dilation) {
        DType type = ConvGradOps.checkInputGrad(gradOut, weight, inputShape, stride, padding, dilation);
        int n = (int) inputShape[0];
        ConvGeometry g = geometry(inputShape, weight.size(2), weight.size(3), stride, padding, dilation);
        int o = (int) weight.size(0), rows = g.rows(), cols = g.cols(), plane = g.c() * g.h() * g.w();
        Object wt;
        try (Tensor w2 = weight.reshape(o, rows); Tensor t = w2.t()) {
            wt = pack(t, type); // Wᵀ: (C kh kw, O)
        }
        Tensor out = Tensor.zeros(type, inputShape);
        MemorySegment os = out.storage().segment();
        IntStream.range(0, n).parallel().forEach(i -> {
            Object delta = packSample(gradOut, i, type); // (O, L)
            long at = (long) i * plane * type.byteSize();
            if (type == DType.FLOAT32) {
                float[] img = g.col2im(Gemm.sgemm((float[]) wt, (float[]) delta, rows, cols, o));
                MemorySegment.copy(img, 0, os, DType.FLOAT32.layout(), at, img.length);
            } else {
                double[] img = g.col2im(Gemm.dgemm((double[]) wt, (double[]) delta, rows, cols, o));
                MemorySegment.copy(img, 0, os, DType.FLOAT64.layout(), at, img.length);
            }
        });
        return out;
    }

    @Override
    public Tensor conv2dWeightGrad(Tensor x, Tensor gradOut, int kh, int kw, int stride, int padding, int dilation) {
        DType type = ConvGradOps.checkWeightGrad(x, gradOut, kh, kw, stride, padding, dilation);
        ConvGeometry g = geometry(x.shape(), kh, kw, stride, padding, dilation);
        int n = (int) x.size(0), o = (int) gradOut.size(1), size = o * g.rows();
        int chunks = Math.max(1, Math.min(n, ForkJoinPool.getCommonPoolParallelism() + 1));
        double[] total = IntStream.range(0, chunks).parallel().mapToObj(c -> {
            double[] acc = new double[size];
            for (int i = c * n / chunks; i < (c + 1) * n / chunks; i++) {
                double[] gi = sampleWeightGrad(x, gradOut, i, g, o, type);
                for (int j = 0; j < size; j++) acc[j] += gi[j];
            }
            return acc;
        }).reduce(CpuConvGrad::addInto).orElseThrow();
        Tensor out = Tensor.zeros(type, o, g.c(), kh, kw);
        HostRows.store(out.storage().segment(), type, 0, 1, size, total);
        return out;
    }

    @Override
    public Tensor conv2dWeightGradPerSample(Tensor x, Tensor gradOut, int kh, int kw, int stride, int padding, int dilation) {
        DType type = ConvGradOps.checkWeightGrad(x, gradOut, kh, kw, stride, padding, dilation);
        ConvGeometry g = geometry(x.shape(), kh, kw, stride, padding, dilation);
        int n = (int) x.size(0), o = (int) gradOut.size(1), size = o * g.rows();
        Tensor out = Tensor.zeros(type, n, o, g.c(), kh, kw);
        MemorySegment os = out.storage().segment();
        IntStream.range(0, n).parallel().forEach(i ->
                HostRows.store(os, type, (long) i * size, 1, size, sampleWeightGrad(x, gradOut, i, g, o, type)));
        return out;
    }

    @Override
    public Tensor conv2dWeightGradNorms(Tensor x, Tensor gradOut, int kh, int kw, int stride, int padding, int dilation, Norm norm) {
        DType type = ConvGradOps.checkWeightGrad(x, gradOut, kh, kw, stride, padding, dilation);
        ConvGeometry g = geometry(x.shape(), kh, kw, stride, padding, dilation);
        int n = (int) x.size(0), o = (int) gradOut.size(1);
        long l = g.cols(), direct = (long) o * g.rows() * l, gram = l * l * (o + g.rows());
        boolean viaGram = norm == Norm.L2_SQUARED && gram < direct;
        double[] norms = new double[n];
        IntStream.range(0, n).parallel().forEach(i -> {
            if (viaGram) {
                norms[i] = squaredNormViaGram(x, gradOut, i, g, o);
                return;
            }
            double s = 0;
            for (double v : sampleWeightGrad(x, gradOut, i, g, o, type)) s += norm.of(v);
            norms[i] = s;
        });
        return Tensor.of(norms);
    }

    /**
     * ‖δ U ᵀ‖²_F = Σ_{l,l'} (δᵀδ)_{ll'} (UᵀU)_{ll'}: two L × L Gram matrices instead of the O × (C kh kw)
     * gradient, cheaper when the output plane L is small (deep layers); in float64.
     */
    private static double squaredNormViaGram(Tensor x, Tensor gradOut, int i, ConvGeometry g, int o) {
        int l = g.cols(), rows = g.rows();
        double[] delta = (double[]) packSample(gradOut, i, DType.FLOAT64);
        double[] u;
        try (Tensor sample = x.select(0, i)) {
            u = g.im2col(Packing.doubles(sample));
        }
        double[] dd = Gemm.dgemm(transpose(delta, o, l), delta, l, l, o);
        double[] uu = Gemm.dgemm(transpose(u, rows, l), u, l, l, rows);
        double s = 0;
        for (int j = 0; j < dd.length; j++) s += dd[j] * uu[j];
        return Math.max(s, 0);
    }

    /** G_i = δ_i U_iᵀ (O, C kh kw), computed in {@code type} and returned as float64. */
    private static double[] sampleWeightGrad(Tensor x, Tensor gradOut, int i, ConvGeometry g, int o, DType type) {
        int rows = g.rows(), cols = g.cols();
        Object delta = packSample(gradOut, i, type);
        try (Tensor sample = x.select(0, i)) {
            if (type == DType.FLOAT32) {
                float[] ut = transpose(g.im2col(Packing.floats(sample)), rows, cols);
                float[] gi = Gemm.sgemm((float[]) delta, ut, o, rows, cols);
                double[] r = new double[gi.length];
                for (int j = 0; j < gi.length; j++) r[j] = gi[j];
                return r;
            }
            double[] ut = transpose(g.im2col(Packing.doubles(sample)), rows, cols);
            return Gemm.dgemm((double[]) delta, ut, o, rows, cols);
        }
    }

    /** The geometry of checked operands (see {@link ConvGradOps#checkInputGrad}, {@link ConvGradOps#checkWeightGrad}). */
    private static ConvGeometry geometry(long[] in, long kh, long kw, int stride, int padding, int dilation) {
        return new ConvGeometry((int) in[1], (int) in[2], (int) in[3], (int) kh, (int) kw, stride, padding, dilation);
    }

    /** Sample i of (N, O, Hout, Wout) as a row-major (O, L) array in {@code type}. */
    private static Object packSample(Tensor t, int i, DType type) {
        try (Tensor s = t.select(0, i)) {
            return pack(s, type);
        }
    }

    private static Object pack(Tensor t, DType type) {
        return type == DType.FLOAT32 ? Packing.floats(t) : Packing.doubles(t);
    }

    private static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
        }
        return t;
    }

    private static double[] transpose(double[] a, int rows, int cols) {
        double[] t = new double[a.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
        }
        return t;
    }

    private static double[] addInto(double[] a, double[] b) {
        for (int j = 0; j < a.length; j++) a[j] += b[j];
        return a;
    }

    // ---------------------------------------------------------------- pooling

    @Override
    public Tensor maxPool2dGrad(Tensor x, Tensor gradOut, int kernel, int stride) {
        DType type = ConvGradOps.checkMaxPoolGrad(x, gradOut, kernel, stride);
        int h = (int) x.size(2), w = (int) x.size(3);
        int outH = (h - kernel) / stride + 1, outW = (w - kernel) / stride + 1;
        return planewise(type, x.shape(), gradOut, x, (g, in, out) -> {
            for (int oh = 0; oh < outH; oh++) {
                for (int ow = 0; ow < outW; ow++) {
                    int best = -1;
                    double m = Double.NEGATIVE_INFINITY;
                    for (int i = oh * stride; i < oh * stride + kernel && !Double.isNaN(m); i++) {
                        for (int j = ow * stride; j < ow * stride + kernel; j++) {
                            double v = in[i * w + j];
                            if (best < 0 || v > m || Double.isNaN(v)) { m = v; best = i * w + j; }
                            if (Double.isNaN(m)) break;
                        }
                    }
                    out[best] += g[oh * outW + ow];
                }
            }
        });
    }

    @Override
    public Tensor adaptiveAvgPool2dGrad(Tensor gradOut, long[] inputShape) {
        ConvGradOps.checkAdaptiveAvgPoolGrad(gradOut, inputShape);
        int h = (int) inputShape[2], w = (int) inputShape[3], outH = (int) gradOut.size(2), outW = (int) gradOut.size(3);
        return planewise(gradOut.dtype(), inputShape, gradOut, null, (g, in, out) -> {
            for (int oh = 0; oh < outH; oh++) {
                int i0 = (int) ((long) oh * h / outH), i1 = (int) (((long) (oh + 1) * h + outH - 1) / outH);
                for (int ow = 0; ow < outW; ow++) {
                    int j0 = (int) ((long) ow * w / outW), j1 = (int) (((long) (ow + 1) * w + outW - 1) / outW);
                    double share = g[oh * outW + ow] / ((i1 - i0) * (j1 - j0));
                    for (int i = i0; i < i1; i++) {
                        for (int j = j0; j < j1; j++) out[i * w + j] += share;
                    }
                }
            }
        });
    }

    private interface PlaneGrad {
        /** g: one (outH, outW) gradient plane; in: the input plane (or null); out: the (H, W) gradient to fill. */
        void apply(double[] g, double[] in, double[] out);
    }

    /** Runs op on every (sample, channel) plane in parallel into a new (N, C, H, W) tensor of {@code type}. */
    private static Tensor planewise(DType type, long[] inputShape, Tensor gradOut, Tensor x, PlaneGrad op) {
        int c = (int) inputShape[1], h = (int) inputShape[2], w = (int) inputShape[3];
        int outH = (int) gradOut.size(2), outW = (int) gradOut.size(3), planes = (int) inputShape[0] * c;
        Tensor out = Tensor.zeros(type, inputShape);
        MemorySegment os = out.storage().segment();
        IntStream.range(0, planes).parallel().forEach(p -> {
            double[] g = loadPlane(gradOut, p, c, outH, outW);
            double[] in = x == null ? null : loadPlane(x, p, c, h, w);
            double[] result = new double[h * w];
            op.apply(g, in, result);
            HostRows.store(os, type, (long) p * h * w, 1, h * w, result);
        });
        return out;
    }

    /** Plane p (sample p / c, channel p % c) of a 4-D tensor of any strides, row-major. */
    private static double[] loadPlane(Tensor t, int p, int c, int h, int w) {
        MemorySegment seg = t.storage().segment();
        long[] st = t.strides();
        long base = t.offset() + (p / c) * st[0] + (p % c) * st[1];
        double[] plane = new double[h * w], row = new double[w];
        for (int i = 0; i < h; i++) {
            HostRows.load(seg, t.dtype(), base + i * st[2], st[3], w, row);
            System.arraycopy(row, 0, plane, i * w, w);
        }
        return plane;
    }
}
