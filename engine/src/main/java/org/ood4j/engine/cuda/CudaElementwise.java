package org.ood4j.engine.cuda;

import java.util.Arrays;

import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.BinaryOp;
import org.ood4j.engine.backend.ElementwiseOps;
import org.ood4j.engine.backend.UnaryOp;
import org.ood4j.kernels.Kernels;

/**
 * Elementwise ops with the generic strided kernels of elementwise.cu: the op code is the Java
 * enum's ordinal. The *_f kernels (float arithmetic) run when every operand is float32, the *_d
 * ones otherwise. Output dtypes follow the CPU backend exactly.
 */
final class CudaElementwise implements ElementwiseOps {
    private static final Kernels.Module M = Kernels.Module.ELEMENTWISE;

    @Override
    public Tensor unary(UnaryOp op, Tensor x, double a, double b) {
        DType outType = unaryType(op, x.dtype(), a, b);
        Tensor out = DeviceTensors.empty(outType, x.shape());
        if (out.numel() == 0) return out;
        long[] g = Geometry.pack(x.shape(), out.strides(), x.strides());
        if (g == null) {
            out.close();
            return CpuFallback.run1("unary " + op, "rank above 8", h -> CpuFallback.cpu().elementwise().unary(op, h[0], a, b), x);
        }
        DeviceTensors.use(x);
        Launch.of(M, x.dtype() == DType.FLOAT32 ? "ew_unary_f" : "ew_unary_d")
                .strided(g).i32(op.ordinal()).f64(a).f64(b)
                .ptr(DeviceTensors.address(out)).i32(DeviceTensors.code(outType))
                .ptr(DeviceTensors.address(x)).i32(DeviceTensors.code(x.dtype()))
                .run1d(out.numel(), "unary " + op);
        return out;
    }

    /** As the CPU backend: NONFINITE gives int64; int64 input stays int64 only for integral results. */
    static DType unaryType(UnaryOp op, DType in, double a, double b) {
        if (op == UnaryOp.NONFINITE) return DType.INT64;
        if (in != DType.INT64) return in;
        return switch (op) {
            case ABS, SIGN, RELU -> DType.INT64;
            case CLAMP, AFFINE -> isInteger(a) && isInteger(b) ? DType.INT64 : DType.FLOAT64;
            default -> DType.FLOAT64;
        };
    }

    private static boolean isInteger(double v) {
        return Double.isInfinite(v) || v == Math.rint(v);
    }

    @Override
    public Tensor binary(BinaryOp op, Tensor x, Tensor y) {
        long[] shape = Shape.broadcast(x.shape(), y.shape());
        DType outType = binaryType(op, x.dtype(), y.dtype());
        Tensor out = DeviceTensors.empty(outType, shape);
        if (out.numel() == 0) return out;
        try (Tensor xb = x.expand(shape); Tensor yb = y.expand(shape)) {
            long[] g = Geometry.pack(shape, out.strides(), xb.strides(), yb.strides());
            if (g == null) {
                out.close();
                return CpuFallback.run1("binary " + op, "rank above 8", h -> CpuFallback.cpu().elementwise().binary(op, h[0], h[1]), x, y);
            }
            DeviceTensors.use(x, y);
            boolean floats = x.dtype() == DType.FLOAT32 && y.dtype() == DType.FLOAT32;
            Launch.of(M, floats ? "ew_binary_f" : "ew_binary_d")
                    .strided(g).i32(op.ordinal())
                    .ptr(DeviceTensors.address(out)).i32(DeviceTensors.code(outType))
                    .ptr(DeviceTensors.address(xb)).i32(DeviceTensors.code(x.dtype()))
                    .ptr(DeviceTensors.address(yb)).i32(DeviceTensors.code(y.dtype()))
                    .run1d(out.numel(), "binary " + op);
        }
        return out;
    }

    static DType binaryType(BinaryOp op, DType a, DType b) {
        if (op.isComparison()) return DType.INT64;
        DType t = DType.promote(a, b);
        if (t == DType.INT64 && (op == BinaryOp.DIV || op == BinaryOp.POW)) return DType.FLOAT64;
        return t;
    }

    @Override
    public Tensor where(Tensor cond, Tensor a, Tensor b) {
        long[] shape = Shape.broadcast(Shape.broadcast(cond.shape(), a.shape()), b.shape());
        DType outType = DType.promote(a.dtype(), b.dtype());
        Tensor out = DeviceTensors.empty(outType, shape);
        if (out.numel() == 0) return out;
        try (Tensor cb = cond.expand(shape); Tensor ab = a.expand(shape); Tensor bb = b.expand(shape)) {
            long[] g = Geometry.pack(shape, out.strides(), cb.strides(), ab.strides(), bb.strides());
            if (g == null) {
                out.close();
                return CpuFallback.run1("where", "rank above 8", h -> CpuFallback.cpu().elementwise().where(h[0], h[1], h[2]), cond, a, b);
            }
            DeviceTensors.use(cond, a, b);
            Launch.of(M, "ew_where").strided(g)
                    .ptr(DeviceTensors.address(out)).i32(DeviceTensors.code(outType))
                    .ptr(DeviceTensors.address(cb)).i32(DeviceTensors.code(cond.dtype()))
                    .ptr(DeviceTensors.address(ab)).i32(DeviceTensors.code(a.dtype()))
                    .ptr(DeviceTensors.address(bb)).i32(DeviceTensors.code(b.dtype()))
                    .run1d(out.numel(), "where");
        }
        return out;
    }

    /** Whether the bytes spanned by two views of one storage intersect (by their extents: a cheap, safe test). */
    static boolean overlap(Tensor a, Tensor b) {
        if (DeviceTensors.storage(a) != DeviceTensors.storage(b)) return false;
        long[] ea = extent(a), eb = extent(b);
        return ea[0] < eb[1] && eb[0] < ea[1];
    }

    /** [first byte, last byte + 1) of a non-empty view, relative to its storage. */
    private static long[] extent(Tensor t) {
        long lo = t.offset(), hi = t.offset();
        for (int d = 0; d < t.shape().length; d++) {
            long span = (t.shape()[d] - 1) * t.strides()[d];
            if (span < 0) lo += span; else hi += span;
        }
        long size = t.dtype().byteSize();
        return new long[] {lo * size, (hi + 1) * size};
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        if (!Arrays.equals(src.shape(), dst.shape())) {
            throw new IllegalArgumentException("copy from " + Shape.toString(src.shape()) + " into " + Shape.toString(dst.shape()));
        }
        if (dst.numel() == 0) return;
        if (overlap(src, dst)) {
            // A DMA copy or a kernel between overlapping ranges has no defined result on a GPU
            // (cuMemcpyDtoD is not memmove; the kernel's threads race): stage src first, so the
            // result is the CPU's, as if src were read whole before dst is written.
            try (Tensor staged = DeviceTensors.empty(src.dtype(), src.shape())) {
                copy(src, staged);
                copy(staged, dst);
            }
            return;
        }
        DeviceTensors.use(src);
        DeviceTensors.write(dst);
        if (src.dtype() == dst.dtype() && src.isContiguous() && dst.isContiguous()) {
            long bytes = src.numel() * src.dtype().byteSize();
            CudaStorage s = DeviceTensors.storage(src), d = DeviceTensors.storage(dst);
            Transfers.copyDeviceToDevice(DeviceTensors.address(dst) - d.address(), d.pointer(),
                    DeviceTensors.address(src) - s.address(), s.pointer(), bytes);
            return;
        }
        long[] g = Geometry.pack(dst.shape(), dst.strides(), src.strides());
        if (g == null) throw new IllegalArgumentException("copy of a view of rank above 8 on CUDA: " + Shape.toString(src.shape()));
        Launch.of(M, "ew_copy").strided(g)
                .ptr(DeviceTensors.address(dst)).i32(DeviceTensors.code(dst.dtype()))
                .ptr(DeviceTensors.address(src)).i32(DeviceTensors.code(src.dtype()))
                .run1d(dst.numel(), "copy");
    }
}
