package org.ood4j.engine.cuda;

import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.ReduceOp;
import org.ood4j.engine.backend.ReductionOps;
import org.ood4j.kernels.Kernels;

/**
 * Reductions and the softmax family with reduce.cu's row kernels (one pass per row, warp
 * shuffles; float arithmetic for float32 input, double otherwise). Empty rows and views of rank
 * above 8 go to the CPU backend, which defines their results.
 */
final class CudaReductions implements ReductionOps {
    private static final Kernels.Module M = Kernels.Module.REDUCE;

    @Override
    public Tensor reduce(ReduceOp op, Tensor x, int dim, boolean keepdim) {
        x.checkOpen();
        if (x.rank() == 0) {
            Shape.dim(dim, 1);
            try (Tensor v = x.reshape(1)) {
                return reduce(op, v, 0, false);
            }
        }
        int d = Shape.dim(dim, x.rank());
        long n = x.size(d);
        long[] kept = Shape.resized(x.shape(), d, 1);
        long[] outShape = keepdim ? kept : Shape.removed(x.shape(), d);
        if (n == 0 || Shape.numel(outShape) == 0) {
            return CpuFallback.run1("reduce " + op, "empty input", h -> CpuFallback.cpu().reductions().reduce(op, h[0], dim, keepdim), x);
        }
        DType outType = outputType(op, x.dtype());
        Tensor out = DeviceTensors.empty(outType, outShape);
        try (Tensor outKept = out.reshape(kept); Tensor outRows = outKept.moveDimToEnd(d); Tensor xRows = x.moveDimToEnd(d)) {
            long[] g = Geometry.pack(Rows.outer(xRows.shape()), Rows.outer(xRows.strides()), Rows.outer(outRows.strides()));
            if (g == null) {
                out.close();
                return CpuFallback.run1("reduce " + op, "rank above 8", h -> CpuFallback.cpu().reductions().reduce(op, h[0], dim, keepdim), x);
            }
            DeviceTensors.use(x);
            long rowStride = xRows.strides()[xRows.rank() - 1];
            int tpr = Rows.threadsPerRow(n);
            CudaContext context = CudaContext.get();
            long rows = out.numel();
            if (x.dtype() == DType.INT64 && outType == DType.INT64 && !op.givesLong()) {
                Launch.of(M, "reduce_rows_i64").strided(g).i64(n).i64(rowStride).i32(op.ordinal()).i32(tpr)
                        .ptr(DeviceTensors.address(x)).ptr(DeviceTensors.address(out))
                        .run(Rows.grid(rows, tpr, context), 1, Launch.BLOCK, 0, "reduce " + op);
            } else {
                Launch.of(M, x.dtype() == DType.FLOAT32 ? "reduce_rows_f" : "reduce_rows_d")
                        .strided(g).i64(n).i64(rowStride).i32(op.ordinal()).i32(tpr)
                        .ptr(DeviceTensors.address(x)).i32(DeviceTensors.code(x.dtype()))
                        .ptr(DeviceTensors.address(out)).i32(DeviceTensors.code(outType))
                        .run(Rows.grid(rows, tpr, context), 1, Launch.BLOCK, 0, "reduce " + op);
            }
        }
        return out;
    }

    /** As the CPU backend: indices and counts are int64; int64 SUM/MIN/MAX stay int64; the rest floating. */
    static DType outputType(ReduceOp op, DType in) {
        if (op.givesLong()) return DType.INT64;
        if (in != DType.INT64) return in;
        return op == ReduceOp.SUM || op == ReduceOp.MIN || op == ReduceOp.MAX ? DType.INT64 : DType.FLOAT64;
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
        long n = x.size(d);
        DType outType = x.dtype().isFloating() ? x.dtype() : DType.FLOAT64;
        Tensor out = DeviceTensors.empty(outType, x.shape());
        if (out.numel() == 0) return out;
        try (Tensor xRows = x.moveDimToEnd(d); Tensor outRows = out.moveDimToEnd(d)) {
            long[] g = Geometry.pack(Rows.outer(xRows.shape()), Rows.outer(xRows.strides()), Rows.outer(outRows.strides()));
            if (g == null) {
                out.close();
                return CpuFallback.run1(log ? "logSoftmax" : "softmax", "rank above 8",
                        h -> CpuFallback.cpu().reductions().softmax(h[0], dim, log), x);
            }
            DeviceTensors.use(x);
            int tpr = Rows.threadsPerRow(n);
            long rows = out.numel() / n;
            Launch.of(M, x.dtype() == DType.FLOAT32 ? "softmax_rows_f" : "softmax_rows_d")
                    .strided(g).i64(n).i64(xRows.strides()[x.rank() - 1]).i64(outRows.strides()[x.rank() - 1])
                    .i32(log ? 1 : 0).i32(tpr)
                    .ptr(DeviceTensors.address(x)).i32(DeviceTensors.code(x.dtype()))
                    .ptr(DeviceTensors.address(out)).i32(DeviceTensors.code(outType))
                    .run(Rows.grid(rows, tpr, CudaContext.get()), 1, Launch.BLOCK, 0, log ? "logSoftmax" : "softmax");
        }
        return out;
    }
}
