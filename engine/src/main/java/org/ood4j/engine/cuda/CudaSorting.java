package org.ood4j.engine.cuda;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.SortOps;
import org.ood4j.kernels.Kernels;

/**
 * Sorting and order statistics with topk.cu: a per-row bitonic sort in shared memory for rows of
 * up to {@link #MAX_SORT_ROW} elements, and per-thread k-best lists merged by the same sort for
 * longer rows when k <= {@link #MAX_LOCAL_K}. Longer rows otherwise go to the CPU backend.
 * kthvalue and quantile are built on the sort (quantile's interpolation with elementwise ops).
 */
final class CudaSorting implements SortOps {
    /** Whole-row limit: 4096 keys and positions fit 48 KiB of shared memory in float64. */
    static final int MAX_SORT_ROW = 4096;
    /** k limit of the local-lists mode: 256 threads x 16 candidates = 4096 to merge. */
    static final int MAX_LOCAL_K = 16;
    private static final Kernels.Module M = Kernels.Module.TOPK;

    @Override
    public Tensor[] sort(Tensor x, int dim, boolean descending) {
        x.checkOpen();
        int d = Shape.dim(dim, x.rank());
        long n = SortOps.rowLength(x, d);
        if (n > MAX_SORT_ROW) {
            return CpuFallback.run("sort", "rows longer than " + MAX_SORT_ROW,
                    h -> CpuFallback.cpu().sorting().sort(h[0], dim, descending), x);
        }
        return select(x, d, (int) n, (int) n, descending, false);
    }

    @Override
    public Tensor[] topk(Tensor x, int k, int dim, boolean largest) {
        x.checkOpen();
        int d = Shape.dim(dim, x.rank());
        long n = SortOps.rowLength(x, d);  // longer rows would wrap topk.cu's int positions
        if (k < 0 || k > n) {
            throw new IllegalArgumentException("topk k = " + k + " out of range for dimension " + d
                    + " of size " + n + " (shape " + Shape.toString(x.shape()) + ")");
        }
        if (n <= MAX_SORT_ROW) return select(x, d, (int) n, k, largest, false);
        if (k <= MAX_LOCAL_K) return select(x, d, n, k, largest, true);
        return CpuFallback.run("topk", "rows longer than " + MAX_SORT_ROW + " with k > " + MAX_LOCAL_K,
                h -> CpuFallback.cpu().sorting().topk(h[0], k, dim, largest), x);
    }

    /** The first k of each row along d in the given order: {values (bit copies), int64 positions}. */
    private static Tensor[] select(Tensor x, int d, long n, int k, boolean descending, boolean local) {
        long[] outShape = Shape.resized(x.shape(), d, k);
        Tensor values = DeviceTensors.empty(x.dtype(), outShape);
        Tensor indices = DeviceTensors.empty(DType.INT64, outShape);
        if (values.numel() == 0) return new Tensor[] {values, indices};
        try (Tensor xRows = x.moveDimToEnd(d); Tensor vRows = values.moveDimToEnd(d); Tensor iRows = indices.moveDimToEnd(d)) {
            long[] g = Geometry.pack(Rows.outer(xRows.shape()), Rows.outer(xRows.strides()),
                    Rows.outer(vRows.strides()), Rows.outer(iRows.strides()));
            if (g == null) {
                values.close();
                indices.close();
                return CpuFallback.run("topk", "rank above 8",
                        h -> CpuFallback.cpu().sorting().topk(h[0], k, d, descending), x);
            }
            DeviceTensors.use(x);
            int last = x.rank() - 1;
            int p = Integer.highestOneBit((int) Math.max(1, local ? (long) Launch.BLOCK * k : n) * 2 - 1);
            int keyBytes = x.dtype() == DType.FLOAT32 ? 4 : 8;
            long rows = values.numel() / k;
            CudaContext context = CudaContext.get();
            Launch.of(M, x.dtype() == DType.FLOAT32 ? "topk_rows_f" : "topk_rows_d")
                    .strided(g).i64(n).i64(xRows.strides()[last]).i32(k).i32(descending ? 1 : 0).i32(local ? 1 : 0).i32(p)
                    .ptr(DeviceTensors.address(x)).i32(DeviceTensors.code(x.dtype()))
                    .ptr(DeviceTensors.address(values)).i64(vRows.strides()[last])
                    .ptr(DeviceTensors.address(indices)).i64(iRows.strides()[last])
                    .run((int) Math.min(rows, 32L * context.multiprocessors()), 1, Launch.BLOCK, p * (keyBytes + 4), "topk");
        }
        return new Tensor[] {values, indices};
    }

    @Override
    public Tensor kthvalue(Tensor x, int k, int dim, boolean keepdim) {
        x.checkOpen();
        int d = Shape.dim(dim, x.rank());
        long n = SortOps.rowLength(x, d);
        if (k < 1 || k > n) {
            throw new IllegalArgumentException("kthvalue k = " + k + " out of range [1, " + n + "] for dimension "
                    + d + " of shape " + Shape.toString(x.shape()));
        }
        if (n > MAX_SORT_ROW && k > MAX_LOCAL_K) {
            return CpuFallback.run1("kthvalue", "rows longer than " + MAX_SORT_ROW + " with k > " + MAX_LOCAL_K,
                    h -> CpuFallback.cpu().sorting().kthvalue(h[0], k, dim, keepdim), x);
        }
        Tensor[] smallest = topk(x, k, d, false);
        try (Tensor values = smallest[0]; Tensor idx = smallest[1];
             Tensor kth = keepdim ? values.slice(d, k - 1, k) : values.select(d, k - 1)) {
            return kth.copy();
        }
    }

    @Override
    public Tensor quantile(Tensor x, double[] qs, int dim, boolean keepdim) {
        x.checkOpen();
        SortOps.checkQuantiles(qs);
        int d = Shape.dim(dim, x.rank());
        long n = SortOps.rowLength(x, d);
        if (n == 0) {
            throw new IllegalArgumentException("quantile over dimension " + d + " of shape "
                    + Shape.toString(x.shape()) + ", which is empty (size 0)");
        }
        if (n > MAX_SORT_ROW) {
            return CpuFallback.run1("quantile", "rows longer than " + MAX_SORT_ROW,
                    h -> CpuFallback.cpu().sorting().quantile(h[0], qs, dim, keepdim), x);
        }
        DType outType = x.dtype().isFloating() ? x.dtype() : DType.FLOAT64;
        long[] reduced = keepdim ? Shape.resized(x.shape(), d, 1) : Shape.removed(x.shape(), d);
        long[] outShape = new long[reduced.length + 1];
        outShape[0] = qs.length;
        System.arraycopy(reduced, 0, outShape, 1, reduced.length);
        Tensor out = DeviceTensors.empty(outType, outShape);
        if (out.numel() == 0) return out;
        Tensor[] s = sort(x, d, false);
        s[1].close();
        try (Tensor sortedAny = s[0]; Tensor sorted = sortedAny.to(outType);
             Tensor last = sorted.select(d, n - 1); Tensor lastIsNaN = last.ne(last);
             Tensor nanHost = Tensor.scalar(Double.NaN, outType); Tensor nan = nanHost.to(Device.CUDA)) {
            for (int j = 0; j < qs.length; j++) {
                try (Tensor value = interpolate(sorted, d, n, qs[j]);
                     Tensor checked = Tensor.where(lastIsNaN, nan, value);
                     Tensor shaped = keepdim ? checked.unsqueeze(d) : checked.reshape(checked.shape());
                     Tensor slot = out.select(0, j)) {
                    slot.copyFrom(shaped);
                }
            }
        }
        return out;
    }

    /**
     * Linear interpolation between the closest ranks (torch.quantile's default), with equal
     * neighbours returned as they are (so [0, inf] gives inf), as the CPU backend.
     */
    private static Tensor interpolate(Tensor sorted, int d, long n, double q) {
        double pos = q * (n - 1);
        long lo = (long) Math.floor(pos), hi = (long) Math.ceil(pos);
        try (Tensor a = sorted.select(d, lo); Tensor b = sorted.select(d, hi);
             Tensor diff = b.sub(a); Tensor scaled = diff.mul(pos - lo); Tensor mixed = scaled.add(a);
             Tensor same = a.eq(b)) {
            return Tensor.where(same, a, mixed);
        }
    }
}
