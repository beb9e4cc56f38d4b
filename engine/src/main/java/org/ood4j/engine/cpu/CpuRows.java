package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;

import org.ood4j.engine.DType;
import org.ood4j.engine.FloatRowMapper;
import org.ood4j.engine.FloatRowReducer;
import org.ood4j.engine.RowMapper;
import org.ood4j.engine.RowReducer;
import org.ood4j.engine.Tensor;

/**
 * {@link Tensor#reduceRows} on the CPU: each row loaded once, rows in parallel — as float64 for a
 * {@link RowReducer}, as float32 (the bytes as stored, no widening) for a {@link FloatRowReducer}.
 */
public final class CpuRows {
    private CpuRows() {}

    /** Two float rows per thread: the row and the reducer's scratch. */
    private static final ThreadLocal<float[][]> FLOAT_ROWS = ThreadLocal.withInitial(() -> new float[2][0]);

    /**
     * One row's value from the element offsets of its first element in each operand (base[0] the
     * rows', base[1] the result's, base[2] a target's when there is one) and its length.
     */
    private interface RowValue {
        double of(long[] base, int length, double[][] scratch);
    }

    /** f of every row of a 2-D host tensor, as a new (N,) float64 tensor. */
    public static Tensor reduce(Tensor x, RowReducer f) {
        return reduce(x, f, false);
    }

    /**
     * As {@link #reduce(Tensor, RowReducer)}; with {@code finiteOnly}, a row holding a NaN or an
     * infinity gives NaN without calling f — the input check fused into the same pass over the
     * row, while it is in the cache, instead of a pass of its own.
     */
    public static Tensor reduce(Tensor x, RowReducer f, boolean finiteOnly) {
        MemorySegment xs = x.storage().segment();
        DType inType = x.dtype();
        long stride = x.strides()[1];
        return reduce(x, null, 2, (base, len, buf) -> {
            HostRows.load(xs, inType, base[0], stride, len, buf[0]);
            if (finiteOnly && !MathKernels.INSTANCE.allFinite(buf[0], len)) return Double.NaN;
            return f.apply(buf[0], buf[1], len);
        });
    }

    /** As {@link #reduce(Tensor, RowReducer, boolean)} for a float32 tensor, each row handed to f as float32. */
    public static Tensor reduce(Tensor x, FloatRowReducer f, boolean finiteOnly) {
        if (x.dtype() != DType.FLOAT32) throw new IllegalArgumentException("a float32 row reducer needs a float32 tensor, got " + x.dtype());
        MemorySegment xs = x.storage().segment();
        long stride = x.strides()[1];
        return reduce(x, null, 0, (base, len, unused) -> rowValue(xs, base[0], stride, len, floatRows(len), f, finiteOnly));
    }

    /**
     * As {@link #reduce(Tensor, FloatRowReducer, boolean)}, and each row as f leaves it (f may rewrite
     * it in place) stored into the same row of {@code into}, a float32 (N, C) host tensor: a row read
     * once, transformed and written while it is in L1, where a score pass and a transform pass would
     * read it twice. A row that the check finds non-finite is stored as read.
     */
    public static Tensor reduceInto(Tensor x, Tensor into, FloatRowReducer f, boolean finiteOnly) {
        if (x.dtype() != DType.FLOAT32 || into.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException("reduceRowsInto needs float32 rows and a float32 target, got " + x.dtype() + " and " + into.dtype());
        }
        if (!java.util.Arrays.equals(x.shape(), into.shape())) {
            throw new IllegalArgumentException("reduceRowsInto needs a target of the rows' shape " + org.ood4j.engine.Shape.toString(x.shape())
                    + ", got " + org.ood4j.engine.Shape.toString(into.shape()));
        }
        MemorySegment xs = x.storage().segment(), is = into.storage().segment();
        long stride = x.strides()[1], intoStride = into.strides()[1];
        return reduce(x, into, 0, (base, len, unused) -> {
            float[][] rows = floatRows(len);
            double value = rowValue(xs, base[0], stride, len, rows, f, finiteOnly);
            HostRows.storeFloats(is, base[2], intoStride, len, rows[0]);
            return value;
        });
    }

    /** f of one float32 row loaded into rows[0] (rows[1] its scratch); with {@code finiteOnly}, NaN without f for a non-finite row. */
    private static double rowValue(MemorySegment xs, long base, long stride, int len, float[][] rows, FloatRowReducer f, boolean finiteOnly) {
        if (finiteOnly && stride == 1) {
            if (!MathKernels.INSTANCE.loadFinite(xs, base * Float.BYTES, rows[0], len)) return Double.NaN;
        } else {
            HostRows.loadFloats(xs, base, stride, len, rows[0]);
            if (finiteOnly && !MathKernels.INSTANCE.allFinite(rows[0], len)) return Double.NaN;
        }
        return f.apply(rows[0], rows[1], len);
    }

    /** f of every row of a 2-D host tensor to width values, as a new (N, width) float64 tensor. */
    public static Tensor map(Tensor x, int width, RowMapper f) {
        MemorySegment xs = x.storage().segment();
        DType inType = x.dtype();
        long stride = x.strides()[1];
        return map(x, width, 2, (base, len, buf, out) -> {
            HostRows.load(xs, inType, base, stride, len, buf[0]);
            f.apply(buf[0], buf[1], len, out);
        });
    }

    /** As {@link #map(Tensor, int, RowMapper)} for a float32 tensor, each row handed to f as float32. */
    public static Tensor map(Tensor x, int width, FloatRowMapper f) {
        if (x.dtype() != DType.FLOAT32) throw new IllegalArgumentException("a float32 row mapper needs a float32 tensor, got " + x.dtype());
        MemorySegment xs = x.storage().segment();
        long stride = x.strides()[1];
        return map(x, width, 0, (base, len, unused, out) -> {
            float[][] rows = floatRows(len);
            HostRows.loadFloats(xs, base, stride, len, rows[0]);
            f.apply(rows[0], rows[1], len, out);
        });
    }

    /** One row's values into {@code out} (zeroed) from the element offset of its first element and its length. */
    private interface RowValues {
        void of(long base, int length, double[][] scratch, double[] out);
    }

    private static Tensor map(Tensor x, int width, int doubleBuffers, RowValues values) {
        AlongDim.rowLength(x, 1);
        Tensor out = Tensor.zeros(DType.FLOAT64, x.size(0), width);
        if (x.size(0) == 0 || width == 0) return out;
        MemorySegment os = out.storage().segment();
        try (Tensor outRows = out.slice(1, 0, 1)) {
            StridedLoop loop = StridedLoop.overRows(x, outRows);
            ThreadLocal<double[]> rowValues = ThreadLocal.withInitial(() -> new double[width]);
            loop.forEach(CpuReductions.WHOLE_ROW, doubleBuffers, (base, len, buf) -> {
                double[] row = rowValues.get();
                java.util.Arrays.fill(row, 0);
                values.of(base[0], len, buf, row);
                MemorySegment.copy(row, 0, os, java.lang.foreign.ValueLayout.JAVA_DOUBLE_UNALIGNED, base[1] * Double.BYTES, width);
            });
        }
        return out;
    }

    /** value of every row of x, as a new (N,) float64 tensor; {@code into}, when given, a third operand of the row loop. */
    private static Tensor reduce(Tensor x, Tensor into, int doubleBuffers, RowValue value) {
        AlongDim.rowLength(x, 1);
        Tensor out = Tensor.zeros(DType.FLOAT64, x.size(0));
        if (x.size(0) == 0) return out;
        try (Tensor outRows = out.reshape(x.size(0), 1)) {
            StridedLoop loop = into == null ? StridedLoop.overRows(x, outRows) : StridedLoop.overRows(x, outRows, into);
            MemorySegment os = out.storage().segment();
            loop.forEach(CpuReductions.WHOLE_ROW, doubleBuffers,
                    (base, len, buf) -> HostRows.set(os, DType.FLOAT64, base[1], value.of(base, len, buf)));
        }
        return out;
    }

    /**
     * The calling thread's two float rows of at least n elements (the row and a scratch row), with
     * room for n rounded up to a whole vector (see {@link RowMath#padForExp}).
     */
    static float[][] floatRows(int n) {
        float[][] rows = FLOAT_ROWS.get();
        if (rows[0].length < n) {
            rows[0] = new float[RowMath.wholeVectors(n)];
            rows[1] = new float[RowMath.wholeVectors(n)];
        }
        return rows;
    }
}
