package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.ReduceOp;
import org.ood4j.engine.backend.ReductionOps;

/**
 * Reductions and softmax along one dimension. The dimension is moved last (a view), each row is
 * loaded whole into a double[] and reduced there, so every op accumulates in float64 whatever
 * the input dtype; rows run in parallel.
 */
final class CpuReductions implements ReductionOps {
    /** A segment length no row reaches: rows are never split. */
    static final int WHOLE_ROW = Integer.MAX_VALUE;

    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;

    /**
     * A contiguous float32/float64 tensor is scanned straight from its memory, in parallel slices
     * ({@link MathKernels#allFinite(MemorySegment, long, long, boolean)}); any other layout counts per row.
     */
    @Override
    public boolean allFinite(Tensor x) {
        if (!x.dtype().isFloating() || x.numel() == 0) return true;
        if (!x.isContiguous()) return ReductionOps.super.allFinite(x);
        MathKernels kernels = MathKernels.INSTANCE;
        boolean f64 = x.dtype() == DType.FLOAT64;
        long bytes = x.numel() * x.dtype().byteSize(), start = x.offset() * x.dtype().byteSize();
        MemorySegment seg = x.storage().segment();
        long slice = 1 << 20;   // bytes per task: below two slices one thread scans it all
        int slices = (int) Math.min((bytes + slice - 1) / slice, 4L * Runtime.getRuntime().availableProcessors());
        if (slices <= 1) return kernels.allFinite(seg, start, bytes, f64);
        long unit = x.dtype().byteSize();
        return java.util.stream.IntStream.range(0, slices).parallel().allMatch(i -> {
            long from = bytes / unit * i / slices * unit, to = bytes / unit * (i + 1) / slices * unit;
            return kernels.allFinite(seg, start + from, to - from, f64);
        });
    }

    @Override
    public Tensor reduce(ReduceOp op, Tensor x, int dim, boolean keepdim) {
        x.checkOpen();
        if (x.rank() == 0) { // as torch: a scalar reduces over dim 0 or -1 to itself
            Shape.dim(dim, 1);
            try (Tensor v = x.reshape(1)) {
                return reduce(op, v, 0, false);
            }
        }
        int d = Shape.dim(dim, x.rank());
        int n = AlongDim.rowLength(x, d);
        if (n == 0) requireNonEmptyAllowed(op, x, d);
        long[] kept = Shape.resized(x.shape(), d, 1);
        DType outType = outputType(op, x.dtype());
        Tensor out = Tensor.zeros(outType, keepdim ? kept : Shape.removed(x.shape(), d));
        if (out.numel() == 0) return out;
        if (n == 0) {
            fill(out, emptyValue(op));
            return out;
        }
        if ((op == ReduceOp.SUM || op == ReduceOp.MEAN) && d == 0 && n > 1 && x.numel() / n >= 16 && x.isContiguous()
                && x.dtype().isFloating()) {   // (a 1-D or narrow sum keeps the row loop: a load per row would cost more)
            sumLeading(op, x, out, n);
            return out;
        }
        try (Tensor outKept = out.reshape(kept); Tensor outRows = outKept.moveDimToEnd(d);
             Tensor xRows = x.moveDimToEnd(d)) {
            StridedLoop loop = StridedLoop.overRows(xRows, outRows);
            if (outType == DType.INT64 && !op.givesLong()) reduceLongs(op, x, out, loop);
            else reduceDoubles(op, x, out, loop);
        }
        return out;
    }

    /** Columns summed together by one task of {@link #sumLeading}. */
    private static final int LEADING_BLOCK = 1024;

    /**
     * SUM or MEAN over dimension 0 of a contiguous tensor: rows added in order into a column
     * accumulator, instead of one strided walk per column (each element its own cache line). Each
     * column's sum is taken in row order, as the row loop does, so the bits are the same; column
     * blocks run in parallel, which does not change any sum.
     */
    private static void sumLeading(ReduceOp op, Tensor x, Tensor out, int n) {
        int cols = Math.toIntExact(x.numel() / n);
        MemorySegment xs = x.storage().segment(), os = out.storage().segment();
        DType inType = x.dtype(), outType = out.dtype();
        long offset = x.offset();
        int blocks = (cols + LEADING_BLOCK - 1) / LEADING_BLOCK;
        java.util.stream.IntStream.range(0, blocks).parallel().forEach(blk -> {
            int c0 = blk * LEADING_BLOCK, width = Math.min(LEADING_BLOCK, cols - c0);
            double[] acc = new double[width], row = new double[width];
            for (long r = 0; r < n; r++) {
                HostRows.load(xs, inType, offset + r * cols + c0, 1, width, row);
                for (int j = 0; j < width; j++) acc[j] += row[j];
            }
            for (int j = 0; j < width; j++) HostRows.set(os, outType, c0 + j, op == ReduceOp.MEAN ? acc[j] / n : acc[j]);
        });
    }

    /** Index results are int64; SUM, MIN and MAX of int64 stay int64 (exact); the rest are floating. */
    private static DType outputType(ReduceOp op, DType in) {
        if (op.givesLong()) return DType.INT64;
        if (in != DType.INT64) return in;
        return op == ReduceOp.SUM || op == ReduceOp.MIN || op == ReduceOp.MAX ? DType.INT64 : DType.FLOAT64;
    }

    /** MIN, MAX and the arg ops have no value over nothing, as in torch. */
    private static void requireNonEmptyAllowed(ReduceOp op, Tensor x, int d) {
        switch (op) {
            case MIN, MAX, ARGMIN, ARGMAX -> throw new IllegalArgumentException(op + " over dimension " + d
                    + " of shape " + Shape.toString(x.shape()) + ", which is empty (size 0)");
            default -> { }
        }
    }

    /** The reduction of an empty row: the sum of nothing is 0, its mean and variance undefined. */
    private static double emptyValue(ReduceOp op) {
        return switch (op) {
            case MEAN, VAR, VAR_BIASED -> Double.NaN;
            case LOGSUMEXP -> Double.NEGATIVE_INFINITY;
            default -> 0;
        };
    }

    private static void fill(Tensor contiguous, double value) {
        MemorySegment seg = contiguous.storage().segment();
        for (long i = 0; i < contiguous.numel(); i++) HostRows.set(seg, contiguous.dtype(), i, value);
    }

    private static void reduceDoubles(ReduceOp op, Tensor x, Tensor out, StridedLoop loop) {
        MemorySegment xs = x.storage().segment(), os = out.storage().segment();
        DType inType = x.dtype(), outType = out.dtype();
        long xStride = loop.rowStride(0);
        if (inType == DType.FLOAT32 && (op == ReduceOp.COUNT_NONFINITE || op == ReduceOp.MAX || op == ReduceOp.ARGMAX)) {
            // exact in float32 (a count, a max, its index): the rows as stored, no float64 copy — the
            // input checks (countNonFinite) read every feature map once per predict
            loop.forEach(WHOLE_ROW, 0, (base, n, unused) -> {
                float[] row = CpuRows.floatRows(n)[0];
                HostRows.loadFloats(xs, base[0], xStride, n, row);
                HostRows.set(os, outType, base[1], switch (op) {
                    case MAX -> MathKernels.INSTANCE.max(row, n);
                    case ARGMAX -> MathKernels.INSTANCE.argmax(row, n);
                    default -> countNonFinite(row, n);
                });
            });
            return;
        }
        loop.forEach(WHOLE_ROW, 1, (base, n, buf) -> {
            HostRows.load(xs, inType, base[0], xStride, n, buf[0]);
            HostRows.set(os, outType, base[1], reduceRow(op, buf[0], n));
        });
    }

    /** int64 SUM / MIN / MAX straight from memory, since doubles hold only 53 bits. Sums wrap, as torch. */
    private static void reduceLongs(ReduceOp op, Tensor x, Tensor out, StridedLoop loop) {
        MemorySegment xs = x.storage().segment(), os = out.storage().segment();
        long xStride = loop.rowStride(0);
        loop.forEach(WHOLE_ROW, 0, (base, n, buf) -> {
            long r = xs.getAtIndex(I64, base[0]);
            for (int i = 1; i < n; i++) {
                long v = xs.getAtIndex(I64, base[0] + i * xStride);
                r = switch (op) {
                    case SUM -> r + v;
                    case MIN -> Math.min(r, v);
                    default -> Math.max(r, v);
                };
            }
            os.setAtIndex(I64, base[1], r);
        });
    }

    private static double countNonFinite(float[] v, int n) {
        if (MathKernels.INSTANCE.allFinite(v, n)) return 0;
        int count = 0;
        for (int i = 0; i < n; i++) if (!Float.isFinite(v[i])) count++;
        return count;
    }

    /** Reduces v[0..n) (n >= 1) to one value; an index for the arg ops. */
    static double reduceRow(ReduceOp op, double[] v, int n) {
        return switch (op) {
            case SUM -> sum(v, n);
            case MEAN -> sum(v, n) / n;
            case MIN -> min(v, n);
            case MAX -> max(v, n);
            case ARGMAX -> argmax(v, n);
            case ARGMIN -> argmin(v, n);
            case NORM_L1 -> normL1(v, n);
            case NORM_L2 -> normL2(v, n);
            case LOGSUMEXP -> logSumExp(v, n);
            case VAR -> variance(v, n, n - 1);
            case VAR_BIASED -> variance(v, n, n);
            case COUNT_NONFINITE -> countNonFinite(v, n);
        };
    }

    static double countNonFinite(double[] v, int n) {
        int count = 0;
        for (int i = 0; i < n; i++) if (!Double.isFinite(v[i])) count++;
        return count;
    }

    static double sum(double[] v, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += v[i];
        return s;
    }

    /** The largest value; the first NaN when there is one (NaN propagates, as torch.max). */
    static double max(double[] v, int n) {
        double m = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            if (v[i] > m) m = v[i];
            else if (Double.isNaN(v[i])) return v[i];
        }
        return m;
    }

    static double min(double[] v, int n) {
        double m = Double.POSITIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            if (v[i] < m) m = v[i];
            else if (Double.isNaN(v[i])) return v[i];
        }
        return m;
    }

    /** Index of the first maximum, or of the first NaN (which counts as the maximum, as torch.argmax). */
    static int argmax(double[] v, int n) {
        int best = 0;
        for (int i = 0; i < n; i++) {
            if (Double.isNaN(v[i])) return i;
            if (v[i] > v[best]) best = i;
        }
        return best;
    }

    /** Index of the first minimum, or of the first NaN (NaN propagates, as torch.argmin). */
    static int argmin(double[] v, int n) {
        int best = 0;
        for (int i = 0; i < n; i++) {
            if (Double.isNaN(v[i])) return i;
            if (v[i] < v[best]) best = i;
        }
        return best;
    }

    static double normL1(double[] v, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += Math.abs(v[i]);
        return s;
    }

    /**
     * sqrt(sum x^2) computed as scale * sqrt(sum (x/scale)^2) with scale = max|x|, so squares of
     * large values (float64 above 1e154) cannot overflow and tiny ones cannot underflow to 0.
     */
    static double normL2(double[] v, int n) {
        double scale = 0;
        for (int i = 0; i < n; i++) {
            double a = Math.abs(v[i]);
            if (a > scale) scale = a;
            else if (Double.isNaN(a)) return a;
        }
        if (scale == 0 || Double.isInfinite(scale)) return scale;
        double s = 0;
        for (int i = 0; i < n; i++) {
            double r = v[i] / scale;
            s += r * r;
        }
        return scale * Math.sqrt(s);
    }

    /**
     * log(sum exp(x)) as m + log(sum exp(x - m)) with m = max x, so no exp overflows (each term is at
     * most 1 and the largest is exactly 1). When m is not finite the answer is m itself: NaN
     * propagates, a row of -inf (exp sums to 0) gives -inf, and any +inf gives +inf.
     */
    static double logSumExp(double[] v, int n) {
        double m = max(v, n);
        if (!Double.isFinite(m)) return m;
        double s = MathKernels.INSTANCE.expShiftedSum(v, n, m, false);
        return m + Math.log(s);
    }

    /**
     * Two-pass variance around the mean, with the compensation term (sum of deviations, zero in
     * exact arithmetic) that cancels the rounding error of the mean. divisor n-1 gives torch's
     * unbiased variance (NaN for n = 1, as 0/0), n the biased one.
     */
    static double variance(double[] v, int n, int divisor) {
        double mean = sum(v, n) / n;
        double squares = 0, deviations = 0;
        for (int i = 0; i < n; i++) {
            double dev = v[i] - mean;
            squares += dev * dev;
            deviations += dev;
        }
        return (squares - deviations * deviations / n) / divisor;
    }

    @Override
    public Tensor softmax(Tensor x, int dim, boolean log) {
        x.checkOpen();
        if (x.rank() == 0) {
            Shape.dim(dim, 1);
            try (Tensor v = x.reshape(1); Tensor r = softmax(v, 0, log)) {
                return r.reshape();
            }
        }
        int d = Shape.dim(dim, x.rank());
        AlongDim.rowLength(x, d);
        DType outType = x.dtype().isFloating() ? x.dtype() : DType.FLOAT64;
        Tensor out = Tensor.empty(outType, x.shape());   // every row is written below
        try (Tensor xRows = x.moveDimToEnd(d); Tensor outRows = out.moveDimToEnd(d)) {
            StridedLoop loop = StridedLoop.overRows(xRows, outRows);
            MemorySegment xs = x.storage().segment(), os = out.storage().segment();
            DType inType = x.dtype();
            long xStride = loop.rowStride(0), oStride = loop.rowStride(1);
            if (inType == DType.FLOAT32 && xStride == 1 && oStride == 1) {
                // float32 rows stay float32: float32 exps, their sum in float64 (half the bytes, twice the lanes)
                loop.forEach(WHOLE_ROW, 0, (base, n, unused) -> {
                    float[][] rows = CpuRows.floatRows(n);
                    MemorySegment.copy(xs, DType.FLOAT32.layout(), base[0] * Float.BYTES, rows[0], 0, n);
                    if (log) logSoftmaxRow(rows[0], n, rows[1]);
                    else softmaxRow(rows[0], n);
                    MemorySegment.copy(rows[0], 0, os, DType.FLOAT32.layout(), base[1] * Float.BYTES, n);
                });
                return out;
            }
            loop.forEach(WHOLE_ROW, 1, (base, n, buf) -> {
                HostRows.load(xs, inType, base[0], xStride, n, buf[0]);
                if (log) logSoftmaxRow(buf[0], n);
                else softmaxRow(buf[0], n);
                HostRows.store(os, outType, base[1], oStride, n, buf[0]);
            });
        }
        return out;
    }

    /**
     * exp(x - m) / sum exp(x - m) with m = max x: no term overflows, the sum is at least 1, and a
     * -inf entry gives exactly 0. A row holding NaN, +inf, or only -inf gives NaN, as torch.
     */
    static void softmaxRow(double[] v, int n) {
        double m = max(v, n);
        double s = MathKernels.INSTANCE.expShiftedSum(v, n, m, true);
        for (int i = 0; i < n; i++) v[i] /= s;
    }

    /**
     * {@link #softmaxRow(double[], int)} for a float32 row: float32 exps, summed in float64, each
     * scaled in float64 and rounded once. The scaling loop is a method of its own: with the loop
     * here, C2 compiled this method on-stack early, inlining {@code max} while that had only a
     * C1 profile, and the result ran about 5x slower than the kernels it calls.
     */
    static void softmaxRow(float[] v, int n) {
        float m = MathKernels.INSTANCE.max(v, n);
        scale(v, n, 1 / MathKernels.INSTANCE.expShiftedSum(v, n, m, 1, v));
    }

    /** v[i] = v[i] s in float64, rounded once. */
    private static void scale(float[] v, int n, double s) {
        for (int i = 0; i < n; i++) v[i] = (float) (v[i] * s);
    }

    /** {@link #logSoftmaxRow(double[], int)} for a float32 row (its exps into {@code scratch}), in float64, rounded once. */
    static void logSoftmaxRow(float[] v, int n, float[] scratch) {
        float m = MathKernels.INSTANCE.max(v, n);
        shift(v, n, m, Math.log(MathKernels.INSTANCE.expShiftedSum(v, n, m, 1, scratch)));
    }

    /** v[i] = (v[i] - m) - logSum in float64, rounded once (a method of its own, as {@link #scale}). */
    private static void shift(float[] v, int n, float m, double logSum) {
        for (int i = 0; i < n; i++) v[i] = (float) (((double) v[i] - m) - logSum);
    }

    /** (x - m) - log(sum exp(x - m)): never log of 0 for a row with a finite max; -inf stays -inf. */
    static void logSoftmaxRow(double[] v, int n) {
        double m = max(v, n);
        for (int i = 0; i < n; i++) v[i] -= m;
        double logSum = Math.log(MathKernels.INSTANCE.expShiftedSum(v, n, 0, false));
        for (int i = 0; i < n; i++) v[i] -= logSum;
    }
}
