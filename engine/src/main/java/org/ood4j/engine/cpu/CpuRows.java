package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;

import org.ood4j.engine.DType;
import org.ood4j.engine.RowReducer;
import org.ood4j.engine.Tensor;

/** {@link Tensor#reduceRows} on the CPU: each row loaded once as float64, rows in parallel. */
public final class CpuRows {
    private CpuRows() {}

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
        int n = AlongDim.rowLength(x, 1);
        Tensor out = Tensor.zeros(DType.FLOAT64, x.size(0));
        if (x.size(0) == 0) return out;
        try (Tensor outRows = out.reshape(x.size(0), 1)) {
            StridedLoop loop = StridedLoop.overRows(x, outRows);
            MemorySegment xs = x.storage().segment(), os = out.storage().segment();
            DType inType = x.dtype();
            long xStride = loop.rowStride(0);
            loop.forEach(CpuReductions.WHOLE_ROW, 2, (base, len, buf) -> {
                HostRows.load(xs, inType, base[0], xStride, len, buf[0]);
                boolean skip = finiteOnly && !MathKernels.INSTANCE.allFinite(buf[0], len);
                HostRows.set(os, DType.FLOAT64, base[1], skip ? Double.NaN : f.apply(buf[0], buf[1], len));
            });
        }
        return out;
    }
}
