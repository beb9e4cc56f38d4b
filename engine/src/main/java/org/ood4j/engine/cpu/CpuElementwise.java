package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;

import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.BinaryOp;
import org.ood4j.engine.backend.ElementwiseOps;
import org.ood4j.engine.backend.UnaryOp;

/**
 * Elementwise ops: load runs into double[], apply the op on arrays, store in the output dtype — or,
 * for float32 operands and an op whose float32 result has those bits, straight on the memory
 * ({@link FloatElementwise}).
 */
final class CpuElementwise implements ElementwiseOps {
    /** Elements per segment: 4096 doubles = 32 KiB per buffer, about an L1 cache. */
    static final int SEGMENT = 4096;

    @Override
    public Tensor unary(UnaryOp op, Tensor x, double a, double b) {
        DType outType = unaryType(op, x.dtype(), a, b);
        Tensor out = Tensor.empty(outType, x.shape());   // the loop writes every element
        MemorySegment xs = x.storage().segment(), os = out.storage().segment();
        StridedLoop loop = StridedLoop.over(out, x);
        long xStride = loop.rowStride(1), oStride = loop.rowStride(0);
        FloatElementwise f = FloatElementwise.INSTANCE;
        if (f != null && FloatElementwise.supports(op) && x.dtype() == DType.FLOAT32 && outType == DType.FLOAT32 && xStride == 1) {
            loop.forEach(SEGMENT, 0, (base, n, buf) -> f.unary(op, a, b, xs, 4 * base[1], os, 4 * base[0], n));   // the output is contiguous
            return out;
        }
        loop.forEach(SEGMENT, 1, (base, n, buf) -> {
            HostRows.load(xs, x.dtype(), base[1], xStride, n, buf[0]);
            apply(op, buf[0], n, a, b);
            HostRows.store(os, outType, base[0], oStride, n, buf[0]);
        });
        return out;
    }

    private static DType unaryType(UnaryOp op, DType in, double a, double b) {
        if (op == UnaryOp.NONFINITE) return DType.INT64;
        if (in != DType.INT64) return in;
        return switch (op) {
            case ABS, SIGN, RELU -> DType.INT64;
            case CLAMP -> isInteger(a) && isInteger(b) ? DType.INT64 : DType.FLOAT64;
            case AFFINE -> isInteger(a) && isInteger(b) ? DType.INT64 : DType.FLOAT64;
            default -> DType.FLOAT64;
        };
    }

    private static boolean isInteger(double v) {
        return Double.isInfinite(v) || v == Math.rint(v);
    }

    static void apply(UnaryOp op, double[] v, int n, double a, double b) {
        switch (op) {
            case AFFINE -> { for (int i = 0; i < n; i++) v[i] = a * v[i] + b; }
            case EXP -> MathKernels.INSTANCE.exp(v, n);
            case LOG -> MathKernels.INSTANCE.log(v, n);
            case SQRT -> { for (int i = 0; i < n; i++) v[i] = Math.sqrt(v[i]); }
            case ABS -> { for (int i = 0; i < n; i++) v[i] = Math.abs(v[i]); }
            case SIGN -> { for (int i = 0; i < n; i++) v[i] = Math.signum(v[i]); }
            case POW -> { for (int i = 0; i < n; i++) v[i] = Math.pow(v[i], a); }
            // NaN stays NaN, as torch.clamp (and min > max gives max everywhere, as torch.clamp);
            // Math.max/min keep the loops branch-free, so they vectorise
            case CLAMP -> { for (int i = 0; i < n; i++) v[i] = Math.min(Math.max(v[i], a), b); }
            case RELU -> { for (int i = 0; i < n; i++) v[i] = Math.max(v[i], 0.0); }
            case SIGMOID -> { for (int i = 0; i < n; i++) v[i] = sigmoid(v[i]); }
            case TANH -> { for (int i = 0; i < n; i++) v[i] = Math.tanh(v[i]); }
            case RECIPROCAL -> { for (int i = 0; i < n; i++) v[i] = a / v[i]; }
            case NONFINITE -> { for (int i = 0; i < n; i++) v[i] = Double.isFinite(v[i]) ? 0 : 1; }
        }
    }

    /** 1/(1+e^-x) without overflow for large negative x. */
    private static double sigmoid(double x) {
        if (x >= 0) return 1 / (1 + Math.exp(-x));
        double e = Math.exp(x);
        return e / (1 + e);
    }

    @Override
    public Tensor binary(BinaryOp op, Tensor x, Tensor y) {
        long[] shape = Shape.broadcast(x.shape(), y.shape());
        Tensor out = Tensor.empty(binaryType(op, x.dtype(), y.dtype()), shape);   // the loop writes every element
        write(op, x, y, out);
        return out;
    }

    /** Straight into out, which may be a strided view (a block of the bank a fit builds), when out has the result's dtype. */
    @Override
    public void binaryInto(BinaryOp op, Tensor x, Tensor y, Tensor out) {
        long[] shape = Shape.broadcast(x.shape(), y.shape());
        if (!java.util.Arrays.equals(shape, out.shape())) {
            throw new IllegalArgumentException(op + " of " + Shape.toString(x.shape()) + " and " + Shape.toString(y.shape())
                    + " is " + Shape.toString(shape) + ", not the output's " + Shape.toString(out.shape()));
        }
        if (out.dtype() != binaryType(op, x.dtype(), y.dtype())) {   // the result's bits, then converted: through a tensor of it
            ElementwiseOps.super.binaryInto(op, x, y, out);
            return;
        }
        write(op, x, y, out);
    }

    private static void write(BinaryOp op, Tensor x, Tensor y, Tensor out) {
        long[] shape = out.shape();
        DType outType = out.dtype();
        try (Tensor xb = x.expand(shape); Tensor yb = y.expand(shape)) {
            MemorySegment xs = x.storage().segment(), ys = y.storage().segment(), os = out.storage().segment();
            StridedLoop loop = StridedLoop.over(out, xb, yb);
            long oStride = loop.rowStride(0), xStride = loop.rowStride(1), yStride = loop.rowStride(2);
            FloatElementwise f = FloatElementwise.INSTANCE;
            if (f != null && FloatElementwise.supports(op) && x.dtype() == DType.FLOAT32 && y.dtype() == DType.FLOAT32
                    && outType == DType.FLOAT32 && oStride == 1 && (xStride == 0 || xStride == 1) && (yStride == 0 || yStride == 1)) {
                loop.forEach(SEGMENT, 0, (base, n, buf) -> f.binary(op, xs, 4 * base[1], (int) xStride, ys, 4 * base[2], (int) yStride, os, 4 * base[0], n));
                return;
            }
            loop.forEach(SEGMENT, 2, (base, n, buf) -> {
                HostRows.load(xs, x.dtype(), base[1], xStride, n, buf[0]);
                HostRows.load(ys, y.dtype(), base[2], yStride, n, buf[1]);
                apply(op, buf[0], buf[1], n);
                HostRows.store(os, outType, base[0], oStride, n, buf[0]);
            });
        }
    }

    private static DType binaryType(BinaryOp op, DType a, DType b) {
        if (op.isComparison()) return DType.INT64;
        DType t = DType.promote(a, b);
        if (t == DType.INT64 && (op == BinaryOp.DIV || op == BinaryOp.POW)) return DType.FLOAT64;
        return t;
    }

    /** x = op(x, y), elementwise over n values. */
    static void apply(BinaryOp op, double[] x, double[] y, int n) {
        switch (op) {
            case ADD -> { for (int i = 0; i < n; i++) x[i] += y[i]; }
            case SUB -> { for (int i = 0; i < n; i++) x[i] -= y[i]; }
            case MUL -> { for (int i = 0; i < n; i++) x[i] *= y[i]; }
            case DIV -> { for (int i = 0; i < n; i++) x[i] /= y[i]; }
            case POW -> { for (int i = 0; i < n; i++) x[i] = Math.pow(x[i], y[i]); }
            // NaN propagates, as torch.maximum / torch.minimum.
            case MAXIMUM -> { for (int i = 0; i < n; i++) x[i] = Double.isNaN(y[i]) ? y[i] : (x[i] >= y[i] || Double.isNaN(x[i]) ? x[i] : y[i]); }
            case MINIMUM -> { for (int i = 0; i < n; i++) x[i] = Double.isNaN(y[i]) ? y[i] : (x[i] <= y[i] || Double.isNaN(x[i]) ? x[i] : y[i]); }
            case GT -> { for (int i = 0; i < n; i++) x[i] = x[i] > y[i] ? 1 : 0; }
            case GE -> { for (int i = 0; i < n; i++) x[i] = x[i] >= y[i] ? 1 : 0; }
            case LT -> { for (int i = 0; i < n; i++) x[i] = x[i] < y[i] ? 1 : 0; }
            case LE -> { for (int i = 0; i < n; i++) x[i] = x[i] <= y[i] ? 1 : 0; }
            case EQ -> { for (int i = 0; i < n; i++) x[i] = x[i] == y[i] ? 1 : 0; }
            case NE -> { for (int i = 0; i < n; i++) x[i] = x[i] != y[i] ? 1 : 0; }
        }
    }

    @Override
    public Tensor where(Tensor cond, Tensor a, Tensor b) {
        long[] shape = Shape.broadcast(Shape.broadcast(cond.shape(), a.shape()), b.shape());
        DType outType = DType.promote(a.dtype(), b.dtype());
        Tensor out = Tensor.empty(outType, shape);   // the loop writes every element
        try (Tensor cb = cond.expand(shape); Tensor ab = a.expand(shape); Tensor bb = b.expand(shape)) {
            MemorySegment cs = cond.storage().segment(), as = a.storage().segment(), bs = b.storage().segment();
            MemorySegment os = out.storage().segment();
            StridedLoop loop = StridedLoop.over(out, cb, ab, bb);
            long[] st = {loop.rowStride(0), loop.rowStride(1), loop.rowStride(2), loop.rowStride(3)};
            loop.forEach(SEGMENT, 3, (base, n, buf) -> {
                HostRows.load(cs, cond.dtype(), base[1], st[1], n, buf[0]);
                HostRows.load(as, a.dtype(), base[2], st[2], n, buf[1]);
                HostRows.load(bs, b.dtype(), base[3], st[3], n, buf[2]);
                for (int i = 0; i < n; i++) buf[1][i] = buf[0][i] != 0 ? buf[1][i] : buf[2][i];
                HostRows.store(os, outType, base[0], st[0], n, buf[1]);
            });
        }
        return out;
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        if (!java.util.Arrays.equals(src.shape(), dst.shape())) {
            throw new IllegalArgumentException("copy from " + Shape.toString(src.shape()) + " into " + Shape.toString(dst.shape()));
        }
        MemorySegment ss = src.storage().segment(), ds = dst.storage().segment();
        if (src.dtype() == dst.dtype() && src.isContiguous() && dst.isContiguous()) {
            copyBytes(ss, src.offset() * src.dtype().byteSize(), ds, dst.offset() * dst.dtype().byteSize(), src.numel() * src.dtype().byteSize());
            return;
        }
        if (Packing.isTransposed(src) && dst.strides()[1] == 1 && dst.dtype().isFloating()) {
            long rowStride = dst.strides()[0], offset = dst.offset();   // x.t() into rows: in tiles, not a cache miss per element
            Packing.transpose(src, (r0, c, run, count) -> HostRows.store(ds, dst.dtype(), offset + r0 * rowStride + c, rowStride, count, run));
            return;
        }
        StridedLoop loop = StridedLoop.over(dst, src);
        long dStride = loop.rowStride(0), sStride = loop.rowStride(1);
        boolean exactLongs = src.dtype() == DType.INT64 && dst.dtype() == DType.INT64;
        loop.forEach(SEGMENT, 1, (base, n, buf) -> {
            if (exactLongs) {
                HostRows.copyLongs(ss, base[1], sStride, ds, base[0], dStride, n);
            } else {
                HostRows.load(ss, src.dtype(), base[1], sStride, n, buf[0]);
                HostRows.store(ds, dst.dtype(), base[0], dStride, n, buf[0]);
            }
        });
    }

    /** Bytes per task of a large copy: one thread's memcpy stays well below the read bandwidth of all cores. */
    private static final long COPY_SLICE = 1 << 20;

    /** A plain copy of {@code bytes} bytes, in slices of at least a MiB on all cores when large. */
    private static void copyBytes(MemorySegment from, long fromOffset, MemorySegment to, long toOffset, long bytes) {
        int slices = (int) Math.min(bytes / COPY_SLICE, 4L * Runtime.getRuntime().availableProcessors());
        if (slices <= 1) {
            MemorySegment.copy(from, fromOffset, to, toOffset, bytes);
            return;
        }
        java.util.stream.IntStream.range(0, slices).parallel().forEach(i -> {
            long start = bytes * i / slices, end = bytes * (i + 1) / slices;
            MemorySegment.copy(from, fromOffset + start, to, toOffset + start, end - start);
        });
    }
}
