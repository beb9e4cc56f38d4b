package org.ood4j.engine.cuda;

import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.ConvOps;
import org.ood4j.engine.cuda.blas.Cublas;
import org.ood4j.kernels.Kernels;

/**
 * conv2d as conv.cu's im2col followed by one strided-batched cuBLAS GEMM per chunk of samples
 * (the weight, (O, C*kh*kw), shared by the batch), bias added by a broadcast elementwise add;
 * max pooling and adaptive average pooling by conv.cu's pool2d. Without cuBLAS conv2d runs on
 * the CPU backend. The column buffer is bounded ({@link ConvColumns#MAX_COLUMN_BYTES}) by chunking samples.
 */
final class CudaConv implements ConvOps {
    private static final Kernels.Module M = Kernels.Module.CONV;

    @Override
    public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding, int dilation) {
        DType type = ConvOps.check(x, weight, bias, stride, padding, dilation);
        Cublas blas = Cublas.get();
        if (blas == null) {
            return CpuFallback.run1("conv2d", "cuBLAS " + Cublas.status(),
                    h -> CpuFallback.cpu().conv().conv2d(h[0], h[1], h[2], stride, padding, dilation), x, weight, bias);
        }
        long n = x.size(0), o = weight.size(0);
        ConvColumns g = ConvColumns.of(x.shape(), weight.size(2), weight.size(3), stride, padding, dilation);
        if (g.outH() < 1 || g.outW() < 1) {
            throw new IllegalArgumentException("conv2d output would be empty: input " + Shape.toString(x.shape())
                    + ", weight " + Shape.toString(weight.shape()) + ", stride " + stride + ", padding " + padding
                    + ", dilation " + dilation);
        }
        long rows = g.rows(), hw = g.hw();
        Tensor out = DeviceTensors.empty(type, n, o, g.outH(), g.outW());
        if (n == 0) return out;
        long chunk = ConvColumns.chunk(n, rows * hw * type.byteSize());
        try (Tensor xt = x.to(type); Tensor wt = weight.to(type); Tensor w2 = wt.reshape(o, rows)) {
            DeviceTensors.use(xt, w2);
            CudaContext context = CudaContext.get();
            for (long s0 = 0; s0 < n; s0 += chunk) {
                long samples = Math.min(chunk, n - s0);
                try (Tensor cols = DeviceTensors.empty(type, samples, rows, hw)) {
                    g.im2col(xt, s0, samples, DeviceTensors.address(cols), rows * hw, hw, "conv2d");
                    // out[s] (O x HW) = W (O x rows) @ cols[s] (rows x HW), row-major: as C^T = cols^T W^T.
                    blas.gemm(type == DType.FLOAT64, Cublas.OP_N, Cublas.OP_N, (int) hw, (int) o, (int) rows,
                            DeviceTensors.address(cols), (int) hw, rows * hw,
                            DeviceTensors.address(w2), (int) w2.strides()[0], 0,
                            DeviceTensors.address(out) + s0 * o * hw * type.byteSize(), (int) hw, o * hw,
                            (int) samples, context.stream().handle());
                }
            }
        }
        if (bias == null) return out;
        try (out; Tensor b4 = bias.reshape(1, o, 1, 1)) {
            return out.add(b4);
        }
    }

    @Override
    public Tensor maxPool2d(Tensor x, int kernel, int stride) {
        ConvOps.requireNchw(x, "maxPool2d");
        long h = x.size(2), w = x.size(3);
        if (kernel < 1 || stride < 1 || kernel > h || kernel > w) {
            throw new IllegalArgumentException("maxPool2d kernel " + kernel + ", stride " + stride
                    + " do not fit input " + Shape.toString(x.shape()));
        }
        return pool(0, x, kernel, stride, (h - kernel) / stride + 1, (w - kernel) / stride + 1);
    }

    @Override
    public Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) {
        ConvOps.requireNchw(x, "adaptiveAvgPool2d");
        if (outH < 1 || outW < 1 || x.size(2) < 1 || x.size(3) < 1) {
            throw new IllegalArgumentException("adaptiveAvgPool2d to " + outH + " x " + outW + " of input "
                    + Shape.toString(x.shape()));
        }
        return pool(1, x, 0, 0, outH, outW);
    }

    private static Tensor pool(int mode, Tensor x, int kernel, int stride, long outH, long outW) {
        if (!x.dtype().isFloating()) {
            throw new IllegalArgumentException("pooling needs a floating tensor, got " + x.dtype() + Shape.toString(x.shape()));
        }
        long n = x.size(0), c = x.size(1);
        Tensor out = DeviceTensors.empty(x.dtype(), n, c, outH, outW);
        if (out.numel() == 0) return out;
        DeviceTensors.use(x);
        long[] xs = x.strides();
        Launch.of(M, "pool2d").i32(mode).ptr(DeviceTensors.address(x)).i32(DeviceTensors.code(x.dtype()))
                .i64(xs[0]).i64(xs[1]).i64(xs[2]).i64(xs[3]).i64(n).i64(c).i64(x.size(2)).i64(x.size(3))
                .i32(kernel).i32(stride).i64(outH).i64(outW).ptr(DeviceTensors.address(out))
                .run1d(out.numel(), mode == 0 ? "maxPool2d" : "adaptiveAvgPool2d");
        return out;
    }

}
