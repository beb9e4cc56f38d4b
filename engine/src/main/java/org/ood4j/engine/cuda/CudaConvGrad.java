package org.ood4j.engine.cuda;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Norm;
import org.ood4j.engine.backend.ConvGradOps;
import org.ood4j.engine.cuda.blas.Cublas;
import org.ood4j.kernels.Kernels;

/**
 * Convolution and pooling gradients on the GPU, by the scheme of {@link CudaConv} run backwards.
 * With U_s sample s's column matrix (rows = C kh kw, L = Hout Wout) and δ_s its output gradient
 * viewed as (O, L):
 * <ul>
 *   <li>input gradient: one strided-batched GEMM Wᵀ δ_s per chunk of samples, then conv.cu's
 *       col2im (a gather: deterministic, no atomics);</li>
 *   <li>weight gradient: one GEMM per chunk over the whole chunk, Σ_s δ_s U_sᵀ = δ' U'ᵀ with δ'
 *       (O, samples·L) and U' (rows, samples·L) (im2col writes that layout), chunks accumulated
 *       in place by the GEMM (beta 1);</li>
 *   <li>per-sample weight gradients: one strided-batched GEMM δ_s U_sᵀ per chunk;</li>
 *   <li>their norms: those gradients a chunk at a time, converted to float64 and reduced per
 *       sample by the elementwise and reduction kernels; for ‖·‖₂² through the L × L Gram
 *       matrices δ_sᵀδ_s and U_sᵀU_s (in float64) where that is cheaper, the CPU backend's rule;</li>
 *   <li>pooling: conv.cu's pool2d_grad, a gather over the windows holding each input element
 *       (max pooling with the forward pool's first-maximum and NaN rule).</li>
 * </ul>
 * Products run in the operands' precision (cuBLAS S/D GEMM); norms accumulate in float64.
 * Scratch is bounded by {@link ConvColumns#MAX_COLUMN_BYTES} per chunk. Without cuBLAS the
 * convolution gradients run on the CPU backend.
 */
final class CudaConvGrad implements ConvGradOps {
    private static final Kernels.Module M = Kernels.Module.CONV;

    // ---------------------------------------------------------------- conv2d

    @Override
    public Tensor conv2dInputGrad(Tensor gradOut, Tensor weight, long[] inputShape, int stride, int padding, int dilation) {
        DType type = ConvGradOps.checkInputGrad(gradOut, weight, inputShape, stride, padding, dilation);
        Cublas blas = Cublas.get();
        if (blas == null) {
            return CpuFallback.run1("conv2d input gradient", "cuBLAS " + Cublas.status(),
                    h -> CpuFallback.cpu().convGrad().conv2dInputGrad(h[0], h[1], inputShape, stride, padding, dilation),
                    gradOut, weight);
        }
        ConvColumns g = ConvColumns.of(inputShape, weight.size(2), weight.size(3), stride, padding, dilation);
        long n = inputShape[0], o = weight.size(0), rows = g.rows(), hw = g.hw(), bytes = type.byteSize();
        if (n * g.plane() == 0) return DeviceTensors.empty(type, inputShape);
        if (hw == 0 || o == 0) return DeviceTensors.zeros(type, inputShape);
        Tensor out = DeviceTensors.empty(type, inputShape);
        long chunk = ConvColumns.chunk(n, rows * hw * bytes);
        try (Tensor d = contiguous(gradOut, type); Tensor wt = weight.to(type); Tensor w2 = wt.reshape(o, rows)) {
            DeviceTensors.use(d, w2);
            for (long s0 = 0; s0 < n; s0 += chunk) {
                long samples = Math.min(chunk, n - s0);
                try (Tensor cols = DeviceTensors.empty(type, samples, rows, hw)) {
                    // cols[s] (rows x L) = Wᵀ (rows x O) δ_s (O x L); row-major, so as colsᵀ = δ_sᵀ W.
                    blas.gemm(type == DType.FLOAT64, Cublas.OP_N, Cublas.OP_T, (int) hw, (int) rows, (int) o,
                            DeviceTensors.address(d) + s0 * o * hw * bytes, (int) hw, o * hw,
                            DeviceTensors.address(w2), (int) w2.strides()[0], 0,
                            DeviceTensors.address(cols), (int) hw, rows * hw, (int) samples, stream());
                    g.col2im(DeviceTensors.address(cols), samples, type, DeviceTensors.address(out) + s0 * g.plane() * bytes,
                            "conv2d input gradient");
                }
            }
        }
        return out;
    }

    @Override
    public Tensor conv2dWeightGrad(Tensor x, Tensor gradOut, int kh, int kw, int stride, int padding, int dilation) {
        DType type = ConvGradOps.checkWeightGrad(x, gradOut, kh, kw, stride, padding, dilation);
        Cublas blas = Cublas.get();
        if (blas == null) {
            return CpuFallback.run1("conv2d weight gradient", "cuBLAS " + Cublas.status(),
                    h -> CpuFallback.cpu().convGrad().conv2dWeightGrad(h[0], h[1], kh, kw, stride, padding, dilation), x, gradOut);
        }
        ConvColumns g = ConvColumns.of(x.shape(), kh, kw, stride, padding, dilation);
        long n = x.size(0), o = gradOut.size(1), rows = g.rows(), hw = g.hw(), bytes = type.byteSize();
        long[] shape = {o, g.c(), kh, kw};
        if (o * rows == 0) return DeviceTensors.empty(type, shape);
        if (n * hw == 0) return DeviceTensors.zeros(type, shape);
        Tensor out = DeviceTensors.empty(type, shape);
        long chunk = ConvColumns.chunk(n, (rows + o) * hw * bytes);
        try (Tensor xt = x.to(type); Tensor gt = gradOut.to(type)) {
            DeviceTensors.use(xt, gt);
            for (long s0 = 0; s0 < n; s0 += chunk) {
                long samples = Math.min(chunk, n - s0), k = samples * hw;
                try (Tensor cols = DeviceTensors.empty(type, rows, samples, hw);
                     Tensor part = gt.slice(0, s0, s0 + samples); Tensor byChannel = part.permute(1, 0, 2, 3);
                     Tensor d = byChannel.copy()) {
                    // U' (rows x samples·L) and δ' (O x samples·L): dW (O x rows) = δ' U'ᵀ, as dWᵀ = U' δ'ᵀ,
                    // added to the previous chunks' sum (beta 1) after the first.
                    g.im2col(xt, s0, samples, DeviceTensors.address(cols), hw, k, "conv2d weight gradient");
                    blas.gemm(type == DType.FLOAT64, Cublas.OP_T, Cublas.OP_N, (int) rows, (int) o, Math.toIntExact(k),
                            DeviceTensors.address(cols), (int) k, 0, DeviceTensors.address(d), (int) k, 0,
                            s0 == 0 ? 0 : 1, DeviceTensors.address(out), (int) rows, 0, 1, stream());
                }
            }
        }
        return out;
    }

    @Override
    public Tensor conv2dWeightGradPerSample(Tensor x, Tensor gradOut, int kh, int kw, int stride, int padding, int dilation) {
        DType type = ConvGradOps.checkWeightGrad(x, gradOut, kh, kw, stride, padding, dilation);
        Cublas blas = Cublas.get();
        if (blas == null) {
            return CpuFallback.run1("conv2d per-sample weight gradients", "cuBLAS " + Cublas.status(),
                    h -> CpuFallback.cpu().convGrad().conv2dWeightGradPerSample(h[0], h[1], kh, kw, stride, padding, dilation),
                    x, gradOut);
        }
        ConvColumns g = ConvColumns.of(x.shape(), kh, kw, stride, padding, dilation);
        long n = x.size(0), o = gradOut.size(1), rows = g.rows(), hw = g.hw(), bytes = type.byteSize();
        long[] shape = {n, o, g.c(), kh, kw};
        if (n * o * rows == 0) return DeviceTensors.empty(type, shape);
        if (hw == 0) return DeviceTensors.zeros(type, shape);
        Tensor out = DeviceTensors.empty(type, shape);
        long chunk = ConvColumns.chunk(n, rows * hw * bytes);
        try (Tensor xt = x.to(type); Tensor d = contiguous(gradOut, type)) {
            DeviceTensors.use(xt, d);
            for (long s0 = 0; s0 < n; s0 += chunk) {
                long samples = Math.min(chunk, n - s0);
                try (Tensor cols = DeviceTensors.empty(type, samples, rows, hw)) {
                    g.im2col(xt, s0, samples, DeviceTensors.address(cols), rows * hw, hw, "conv2d per-sample weight gradients");
                    perSampleGrads(blas, type, o, rows, hw, samples, DeviceTensors.address(cols),
                            DeviceTensors.address(d) + s0 * o * hw * bytes, DeviceTensors.address(out) + s0 * o * rows * bytes);
                }
            }
        }
        return out;
    }

    /**
     * G_s (O x rows) = δ_s (O x L) U_sᵀ for {@code samples} samples: contiguous column matrices
     * (samples, rows, L) at cols, contiguous δ (samples, O, L) at delta, G written contiguous
     * (samples, O, rows) at grads. Row-major, so as G_sᵀ = U_s δ_sᵀ.
     */
    private static void perSampleGrads(Cublas blas, DType type, long o, long rows, long hw, long samples,
                                       long cols, long delta, long grads) {
        blas.gemm(type == DType.FLOAT64, Cublas.OP_T, Cublas.OP_N, (int) rows, (int) o, (int) hw,
                cols, (int) hw, rows * hw, delta, (int) hw, o * hw, grads, (int) rows, o * rows, (int) samples, stream());
    }

    @Override
    public Tensor conv2dWeightGradNorms(Tensor x, Tensor gradOut, int kh, int kw, int stride, int padding, int dilation, Norm norm) {
        DType type = ConvGradOps.checkWeightGrad(x, gradOut, kh, kw, stride, padding, dilation);
        Cublas blas = Cublas.get();
        if (blas == null) {
            return CpuFallback.run1("conv2d per-sample weight gradient norms", "cuBLAS " + Cublas.status(),
                    h -> CpuFallback.cpu().convGrad().conv2dWeightGradNorms(h[0], h[1], kh, kw, stride, padding, dilation, norm),
                    x, gradOut);
        }
        ConvColumns g = ConvColumns.of(x.shape(), kh, kw, stride, padding, dilation);
        long n = x.size(0), o = gradOut.size(1), rows = g.rows(), l = g.hw();
        if (n == 0) return DeviceTensors.empty(DType.FLOAT64, 0);
        if (o * rows * l == 0) return DeviceTensors.zeros(DType.FLOAT64, n);
        // The CPU backend's choice: ‖G_s‖₂² through two L x L Gram matrices when that is fewer flops.
        boolean viaGram = norm == Norm.L2_SQUARED && l * l * (o + rows) < o * rows * l;
        Tensor out = DeviceTensors.empty(DType.FLOAT64, n);
        try {
            if (viaGram) squaredNormsViaGram(blas, g, x, gradOut, o, out);
            else directNorms(blas, g, type, x, gradOut, o, norm, out);
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
        return out;
    }

    /** Σ norm.of(g) over each G_s, formed a chunk of samples at a time in {@code type}, reduced in float64, into out. */
    private static void directNorms(Cublas blas, ConvColumns g, DType type, Tensor x, Tensor gradOut, long o, Norm norm, Tensor out) {
        long n = x.size(0), rows = g.rows(), hw = g.hw(), bytes = type.byteSize();
        long chunk = ConvColumns.chunk(n, rows * hw * bytes + o * rows * (bytes + 2L * DType.FLOAT64.byteSize()));
        try (Tensor xt = x.to(type); Tensor d = contiguous(gradOut, type)) {
            DeviceTensors.use(xt, d);
            for (long s0 = 0; s0 < n; s0 += chunk) {
                long samples = Math.min(chunk, n - s0);
                try (Tensor cols = DeviceTensors.empty(type, samples, rows, hw);
                     Tensor grads = DeviceTensors.empty(type, samples, o * rows)) {
                    g.im2col(xt, s0, samples, DeviceTensors.address(cols), rows * hw, hw, "conv2d per-sample weight gradient norms");
                    perSampleGrads(blas, type, o, rows, hw, samples, DeviceTensors.address(cols),
                            DeviceTensors.address(d) + s0 * o * hw * bytes, DeviceTensors.address(grads));
                    try (Tensor g64 = grads.to(DType.FLOAT64);
                         Tensor terms = norm == Norm.L1 ? g64.abs() : g64.mul(g64);
                         Tensor sums = terms.sum(1); Tensor dst = out.slice(0, s0, s0 + samples)) {
                        dst.copyFrom(sums);
                    }
                }
            }
        }
    }

    /**
     * ‖δ_s U_sᵀ‖²_F = Σ_{l,l'} (δ_sᵀδ_s)_{ll'} (U_sᵀU_s)_{ll'}, in float64 (as the CPU backend), a
     * chunk of samples at a time: two strided-batched GEMMs (the Gram matrices are symmetric, so
     * their layout does not matter), an elementwise product and a row sum; clamped at 0.
     */
    private static void squaredNormsViaGram(Cublas blas, ConvColumns g, Tensor x, Tensor gradOut, long o, Tensor out) {
        DType f64 = DType.FLOAT64;
        long n = x.size(0), rows = g.rows(), l = g.hw(), bytes = f64.byteSize();
        long chunk = ConvColumns.chunk(n, (rows * l + 3 * l * l) * bytes);
        try (Tensor xt = x.to(f64); Tensor d = contiguous(gradOut, f64)) {
            DeviceTensors.use(xt, d);
            for (long s0 = 0; s0 < n; s0 += chunk) {
                long samples = Math.min(chunk, n - s0);
                try (Tensor cols = DeviceTensors.empty(f64, samples, rows, l);
                     Tensor dd = DeviceTensors.empty(f64, samples, l * l); Tensor uu = DeviceTensors.empty(f64, samples, l * l)) {
                    g.im2col(xt, s0, samples, DeviceTensors.address(cols), rows * l, l, "conv2d per-sample weight gradient norms");
                    // A row-major (r x L) buffer is the column-major L x r matrix Aᵀ; Aᵀ (Aᵀ)ᵀ = AᵀA.
                    blas.gemm(true, Cublas.OP_N, Cublas.OP_T, (int) l, (int) l, (int) o,
                            DeviceTensors.address(d) + s0 * o * l * bytes, (int) l, o * l,
                            DeviceTensors.address(d) + s0 * o * l * bytes, (int) l, o * l,
                            DeviceTensors.address(dd), (int) l, l * l, (int) samples, stream());
                    blas.gemm(true, Cublas.OP_N, Cublas.OP_T, (int) l, (int) l, (int) rows,
                            DeviceTensors.address(cols), (int) l, rows * l, DeviceTensors.address(cols), (int) l, rows * l,
                            DeviceTensors.address(uu), (int) l, l * l, (int) samples, stream());
                    try (Tensor prod = dd.mul(uu); Tensor sums = prod.sum(1); Tensor clamped = sums.clampMin(0);
                         Tensor dst = out.slice(0, s0, s0 + samples)) {
                        dst.copyFrom(clamped);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- pooling

    @Override
    public Tensor maxPool2dGrad(Tensor x, Tensor gradOut, int kernel, int stride) {
        DType type = ConvGradOps.checkMaxPoolGrad(x, gradOut, kernel, stride);
        return poolGrad(0, x, gradOut, type, x.shape(), kernel, stride, "maxPool2d gradient");
    }

    @Override
    public Tensor adaptiveAvgPool2dGrad(Tensor gradOut, long[] inputShape) {
        ConvGradOps.checkAdaptiveAvgPoolGrad(gradOut, inputShape);
        return poolGrad(1, null, gradOut, gradOut.dtype(), inputShape, 0, 0, "adaptiveAvgPool2d gradient");
    }

    /** conv.cu's pool2d_grad (mode 0 max, x given; 1 adaptive average, x null) into a new contiguous tensor of {@code type}. */
    private static Tensor poolGrad(int mode, Tensor x, Tensor gradOut, DType type, long[] inputShape, int kernel, int stride, String op) {
        Tensor out = DeviceTensors.empty(type, inputShape);
        if (out.numel() == 0) return out;
        DeviceTensors.use(x, gradOut);
        long[] xs = x == null ? new long[4] : x.strides(), gs = gradOut.strides();
        Launch.of(M, "pool2d_grad").i32(mode)
                .ptr(x == null ? 0 : DeviceTensors.address(x)).i32(DeviceTensors.code(x == null ? type : x.dtype()))
                .i64(xs[0]).i64(xs[1]).i64(xs[2]).i64(xs[3])
                .ptr(DeviceTensors.address(gradOut)).i32(DeviceTensors.code(gradOut.dtype()))
                .i64(gs[0]).i64(gs[1]).i64(gs[2]).i64(gs[3])
                .i64(inputShape[0]).i64(inputShape[1]).i64(inputShape[2]).i64(inputShape[3]).i32(kernel).i32(stride)
                .i64(gradOut.size(2)).i64(gradOut.size(3)).ptr(DeviceTensors.address(out)).i32(DeviceTensors.code(type))
                .run1d(out.numel(), op);
        return out;
    }

    // ---------------------------------------------------------------- helpers

    /** t in {@code type}, contiguous (a new handle on t's storage when it already is both). */
    private static Tensor contiguous(Tensor t, DType type) {
        try (Tensor typed = t.to(type)) {
            return typed.contiguous();
        }
    }

    private static long stream() {
        return CudaContext.get().stream().handle();
    }
}
