package org.ood4j.engine.cuda;

import java.util.Arrays;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.IndexOps;
import org.ood4j.kernels.Kernels;

/**
 * Gathering, masked selection and grouping with index.cu. Gathered elements are bit copies (int64
 * stays exact). A bad index or label is found by the kernel, which writes nothing for it, and
 * reported here with its value after the launch, as the CPU backend reports it.
 */
final class CudaIndexing implements IndexOps {
    private static final Kernels.Module M = Kernels.Module.INDEX;
    /** Flat positions per block in masked select: each block owns a contiguous range, in C order. */
    private static final long MASK_CHUNK = 16 * 1024;

    @Override
    public Tensor gather(Tensor x, int dim, Tensor index) {
        x.checkOpen();
        requireInt64(index, "gather index");
        if (index.rank() != x.rank()) {
            throw new IllegalArgumentException("gather index of shape " + Shape.toString(index.shape())
                    + " needs the rank of x, " + Shape.toString(x.shape()));
        }
        int d = Shape.dim(dim, x.rank());
        for (int i = 0; i < x.rank(); i++) {
            if (i != d && index.size(i) > x.size(i)) {
                throw new IllegalArgumentException("gather index of shape " + Shape.toString(index.shape())
                        + " is larger than x " + Shape.toString(x.shape()) + " in dimension " + i);
            }
        }
        return gatherAlong(x, d, index);
    }

    @Override
    public Tensor indexSelect(Tensor x, int dim, Tensor index) {
        x.checkOpen();
        requireInt64(index, "indexSelect index");
        if (index.rank() != 1) {
            throw new IllegalArgumentException("indexSelect needs a 1-D index, got shape " + Shape.toString(index.shape()));
        }
        int d = Shape.dim(dim, x.rank());
        long[] outShape = Shape.resized(x.shape(), d, index.size(0));
        long[] column = new long[x.rank()];
        Arrays.fill(column, 1);
        column[d] = index.size(0);
        try (Tensor indexAtD = index.reshape(column); Tensor expanded = indexAtD.expand(outShape)) {
            return gatherAlong(x, d, expanded);
        }
    }

    /** out = x[..., index[...], ...] along d with out of index's shape (the kernel checks the indices). */
    private static Tensor gatherAlong(Tensor x, int d, Tensor index) {
        long[] shape = index.shape();
        Tensor out = DeviceTensors.empty(x.dtype(), shape);
        if (out.numel() == 0) return out;
        if (x.size(d) == 0) {
            out.close();
            throw new IndexOutOfBoundsException("index out of range for dimension " + d + " of size 0");
        }
        // x's position with the gathered dimension at 0: x's strides, 0 along d (index's shape
        // fits inside x elsewhere, checked by the callers).
        long[] xStrides = x.strides();
        xStrides[d] = 0;
        long[] g = Geometry.pack(shape, out.strides(), index.strides(), xStrides);
        if (g == null) {
            out.close();
            throw new IllegalArgumentException("gather over a view of rank above 8 on CUDA: " + Shape.toString(shape));
        }
        DeviceTensors.use(x, index);
        try (ErrorFlag err = new ErrorFlag()) {
            Launch.of(M, "gather_strided").strided(g).i64(x.strides()[d]).i64(x.size(d)).i32(x.dtype().byteSize())
                    .ptr(DeviceTensors.address(out)).ptr(DeviceTensors.address(index)).ptr(DeviceTensors.address(x))
                    .ptr(err.address()).run1d(out.numel(), "gather");
            Long bad = err.check();
            if (bad != null) {
                out.close();
                throw new IndexOutOfBoundsException("index " + bad + " is out of range for dimension " + d
                        + " of size " + x.size(d));
            }
        }
        return out;
    }

    @Override
    public Tensor maskedSelect(Tensor x, Tensor mask) {
        x.checkOpen();
        requireInt64(mask, "maskedSelect mask");
        long[] shape = Shape.broadcast(x.shape(), mask.shape());
        long total = Shape.numel(shape);
        if (total == 0) return DeviceTensors.empty(x.dtype(), 0);
        try (Tensor xb = x.expand(shape); Tensor mb = mask.expand(shape)) {
            long[] gMask = Geometry.pack(shape, mb.strides());
            long[] gBoth = Geometry.pack(shape, xb.strides(), mb.strides());
            if (gMask == null || gBoth == null) {
                throw new IllegalArgumentException("maskedSelect over a view of rank above 8 on CUDA: " + Shape.toString(shape));
            }
            DeviceTensors.use(x, mask);
            int blocks = (int) ((total + MASK_CHUNK - 1) / MASK_CHUNK);
            try (Tensor counts = DeviceTensors.empty(DType.INT64, blocks)) {
                Launch.of(M, "mask_count").strided(gMask).i64(MASK_CHUNK)
                        .ptr(DeviceTensors.address(mb)).i32(DeviceTensors.code(DType.INT64)).ptr(DeviceTensors.address(counts))
                        .run(blocks, 1, Launch.BLOCK, 0, "maskedSelect (count)");
                long[] starts = exclusiveSums(counts.toLongArray());
                long selected = starts[blocks];
                Tensor out = DeviceTensors.empty(x.dtype(), selected);
                if (selected == 0) return out;
                try (Tensor startsHost = Tensor.of(Arrays.copyOf(starts, blocks));
                     Tensor startsDevice = startsHost.to(org.ood4j.engine.Device.CUDA)) {
                    Launch.of(M, "mask_scatter").strided(gBoth).i64(MASK_CHUNK)
                            .ptr(DeviceTensors.address(xb)).i32(x.dtype().byteSize())
                            .ptr(DeviceTensors.address(mb)).i32(DeviceTensors.code(DType.INT64))
                            .ptr(DeviceTensors.address(startsDevice)).ptr(DeviceTensors.address(out))
                            .run(blocks, 1, Launch.BLOCK, 0, "maskedSelect (scatter)");
                    CudaContext.get().synchronize("maskedSelect");   // the host starts array is freed next
                }
                return out;
            }
        }
    }

    /** {0, c0, c0 + c1, ..., total}. */
    private static long[] exclusiveSums(long[] counts) {
        long[] s = new long[counts.length + 1];
        for (int i = 0; i < counts.length; i++) s[i + 1] = s[i] + counts[i];
        return s;
    }

    @Override
    public Tensor groupSum(Tensor x, Tensor labels, int groups) {
        x.checkOpen();
        if (x.rank() < 1) throw new IllegalArgumentException("groupSum needs x of shape (N, ...), got a scalar");
        checkLabels(labels, groups, "groupSum");
        if (labels.size(0) != x.size(0)) {
            throw new IllegalArgumentException("groupSum labels of shape " + Shape.toString(labels.shape())
                    + " do not match the " + x.size(0) + " rows of x " + Shape.toString(x.shape()));
        }
        long[] outShape = x.shape();
        outShape[0] = groups;
        long rows = x.size(0), cols = Shape.numel(Arrays.copyOfRange(outShape, 1, outShape.length));
        DType outType = x.dtype().isFloating() ? x.dtype() : DType.FLOAT64;
        try (Tensor sums = DeviceTensors.zeros(DType.FLOAT64, groups, cols)) {
            if (rows > 0 && cols > 0 && groups > 0) {
                long[][] grouped = groupRows(labels, groups);
                long colTiles = (cols + Launch.BLOCK - 1) / Launch.BLOCK;
                try (Tensor rowsView = x.reshape(rows, cols); Tensor hostOrder = Tensor.of(grouped[0]);
                     Tensor order = hostOrder.to(Device.CUDA); Tensor hostStart = Tensor.of(grouped[1]);
                     Tensor start = hostStart.to(Device.CUDA)) {
                    DeviceTensors.use(rowsView);
                    Launch.of(M, "group_sum").i64(cols).i64(colTiles)
                            .ptr(DeviceTensors.address(rowsView)).i32(DeviceTensors.code(x.dtype()))
                            .i64(rowsView.strides()[0]).i64(rowsView.strides()[1])
                            .ptr(DeviceTensors.address(order)).ptr(DeviceTensors.address(start)).i64(groups)
                            .ptr(DeviceTensors.address(sums))
                            .run((int) Math.min(groups * colTiles, Integer.MAX_VALUE), 1, Launch.BLOCK, 0, "groupSum");
                }
            }
            try (Tensor typed = sums.to(outType)) {
                return typed.reshape(outShape);
            }
        }
    }

    /**
     * {order, start}: the rows with a label >= 0 grouped by label, each group's rows in
     * increasing order (a stable counting sort), group g at order[start[g] .. start[g + 1]).
     * The labels come to the host for it (N int64): a fit-time cost that buys sums in the CPU's
     * order. A label >= groups is refused here.
     */
    private static long[][] groupRows(Tensor labels, int groups) {
        long[] label = labels.toLongArray();
        long[] start = new long[groups + 1];
        for (long l : label) {
            if (l >= groups) throwBadLabel(l, groups, "groupSum");
            if (l >= 0) start[(int) l + 1]++;
        }
        for (int g = 0; g < groups; g++) start[g + 1] += start[g];
        long[] order = new long[Math.max(1, (int) start[groups])];
        long[] next = Arrays.copyOf(start, groups);
        for (int r = 0; r < label.length; r++) {
            if (label[r] >= 0) order[(int) next[(int) label[r]]++] = r;
        }
        return new long[][] {order, start};
    }

    @Override
    public Tensor groupCount(Tensor labels, int groups) {
        checkLabels(labels, groups, "groupCount");
        Tensor counts = DeviceTensors.zeros(DType.INT64, groups);
        if (labels.size(0) == 0 || groups == 0) return counts;
        try (ErrorFlag err = new ErrorFlag()) {
            DeviceTensors.use(labels);
            Launch.of(M, "group_count").i64(labels.size(0)).ptr(DeviceTensors.address(labels)).i64(labels.strides()[0])
                    .i64(groups).ptr(DeviceTensors.address(counts)).ptr(err.address())
                    .run1d(labels.size(0), "groupCount");
            Long bad = err.check();
            if (bad != null) {
                counts.close();
                throwBadLabel(bad, groups, "groupCount");
            }
        }
        return counts;
    }

    private static void throwBadLabel(Long bad, int groups, String op) {
        if (bad != null) {
            throw new IllegalArgumentException(op + " label " + bad + " is out of range for " + groups + " groups");
        }
    }

    private static void checkLabels(Tensor labels, int groups, String op) {
        requireInt64(labels, op + " labels");
        if (labels.rank() != 1) {
            throw new IllegalArgumentException(op + " needs 1-D labels, got shape " + Shape.toString(labels.shape()));
        }
        if (groups < 0) throw new IllegalArgumentException(op + " with a negative number of groups: " + groups);
    }

    private static void requireInt64(Tensor t, String what) {
        t.checkOpen();
        if (t.dtype() != DType.INT64) throw new IllegalArgumentException(what + " must be int64, got " + t.dtype());
    }
}
