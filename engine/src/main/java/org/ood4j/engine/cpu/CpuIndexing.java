package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.IndexOps;

/**
 * Gathering by index and grouping by label. Gathered elements are copied bit for bit (no trip
 * through double), so int64 values stay exact. Indices are checked in a first pass on the
 * calling thread, so a bad one is reported before anything is copied, with its value.
 */
final class CpuIndexing implements IndexOps {
    private static final int SEGMENT = CpuElementwise.SEGMENT;

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
        checkIndices(index, x.size(d), d);
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
        checkIndices(index, x.size(d), d);
        long[] outShape = Shape.resized(x.shape(), d, index.size(0));
        long[] column = new long[x.rank()];
        Arrays.fill(column, 1);
        column[d] = index.size(0);
        // index_select is a gather whose index is the 1-D index broadcast along every other dim.
        try (Tensor indexAtD = index.reshape(column); Tensor expanded = indexAtD.expand(outShape)) {
            return gatherAlong(x, d, expanded);
        }
    }

    /** out[..., i, ...] = x[..., index[..., i, ...], ...] along d; out has index's shape; indices already checked. */
    private static Tensor gatherAlong(Tensor x, int d, Tensor index) {
        long[] shape = index.shape();
        Tensor out = Tensor.zeros(x.dtype(), shape);
        if (out.numel() == 0) return out;
        try (Tensor rowStart = fitted(x, d, shape)) {
            StridedLoop loop = StridedLoop.over(out, index, rowStart);
            MemorySegment xs = x.storage().segment(), is = index.storage().segment(), os = out.storage().segment();
            long oStride = loop.rowStride(0), iStride = loop.rowStride(1), xStride = loop.rowStride(2);
            long dimStride = x.strides()[d];
            DType dtype = x.dtype();
            loop.forEach(SEGMENT, 1, (base, n, buf) -> {
                HostRows.load(is, DType.INT64, base[1], iStride, n, buf[0]);
                for (int i = 0; i < n; i++) {
                    long from = base[2] + i * xStride + (long) buf[0][i] * dimStride;
                    HostRows.copyElement(dtype, xs, from, os, base[0] + i * oStride);
                }
            });
        }
        return out;
    }

    /**
     * A view of x with the given shape that addresses x[..., 0, ...] along d (stride 0 there) and
     * x itself elsewhere: the position an index along d is added to. Needs shape within x's
     * extent outside d, and x.size(d) >= 1 (checked indices into a non-empty dim).
     */
    private static Tensor fitted(Tensor x, int d, long[] shape) {
        Tensor t = x.slice(d, 0, 1);
        for (int i = 0; i < shape.length; i++) {
            if (i == d) continue;
            Tensor s = t.slice(i, 0, shape[i]);
            t.close();
            t = s;
        }
        Tensor view = t.expand(shape);
        t.close();
        return view;
    }

    /** Every index must lie in [0, size): the first that does not is reported with its value. */
    private static void checkIndices(Tensor index, long size, int d) {
        if (index.numel() == 0) return;
        MemorySegment is = index.storage().segment();
        StridedLoop loop = StridedLoop.over(index);
        long stride = loop.rowStride(0);
        loop.forEachInOrder(SEGMENT, 0, (base, n, buf) -> {
            for (int i = 0; i < n; i++) {
                long j = is.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, base[0] + i * stride);
                if (j < 0 || j >= size) {
                    throw new IndexOutOfBoundsException("index " + j + " is out of range for dimension " + d
                            + " of size " + size);
                }
            }
        });
    }

    @Override
    public Tensor maskedSelect(Tensor x, Tensor mask) {
        x.checkOpen();
        requireInt64(mask, "maskedSelect mask");
        long[] shape = Shape.broadcast(x.shape(), mask.shape());
        try (Tensor xb = x.expand(shape); Tensor mb = mask.expand(shape)) {
            MemorySegment xs = x.storage().segment(), ms = mask.storage().segment();
            StridedLoop loop = StridedLoop.over(xb, mb);
            long xStride = loop.rowStride(0), mStride = loop.rowStride(1);
            AtomicLong count = new AtomicLong();
            loop.forEach(SEGMENT, 1, (base, n, buf) -> {
                HostRows.load(ms, DType.INT64, base[1], mStride, n, buf[0]);
                long c = 0;
                for (int i = 0; i < n; i++) if (buf[0][i] != 0) c++;
                count.addAndGet(c);
            });
            Tensor out = Tensor.zeros(x.dtype(), count.get());
            MemorySegment os = out.storage().segment();
            DType dtype = x.dtype();
            long[] next = {0};
            // Second pass in C order on one thread: each selected element goes to the next free slot.
            loop.forEachInOrder(SEGMENT, 1, (base, n, buf) -> {
                HostRows.load(ms, DType.INT64, base[1], mStride, n, buf[0]);
                for (int i = 0; i < n; i++) {
                    if (buf[0][i] != 0) HostRows.copyElement(dtype, xs, base[0] + i * xStride, os, next[0]++);
                }
            });
            return out;
        }
    }

    @Override
    public Tensor groupSum(Tensor x, Tensor labels, int groups) {
        return groupSum(x, labels, groups, x.dtype().isFloating() ? x.dtype() : DType.FLOAT64);
    }

    @Override
    public Tensor groupSum(Tensor x, Tensor labels, int groups, DType outType) {
        x.checkOpen();
        if (x.rank() < 1) throw new IllegalArgumentException("groupSum needs x of shape (N, ...), got a scalar");
        long[] label = labels(labels, groups, "groupSum");
        if (label.length != x.size(0)) {
            throw new IllegalArgumentException("groupSum labels of shape " + Shape.toString(labels.shape())
                    + " do not match the " + x.size(0) + " rows of x " + Shape.toString(x.shape()));
        }
        long[] outShape = x.shape();
        outShape[0] = groups;
        long rowSize = Shape.numel(Arrays.copyOfRange(outShape, 1, outShape.length));
        if (groups * rowSize > AlongDim.MAX_ROW) {
            throw new IllegalArgumentException("groupSum result " + Shape.toString(outShape) + " is too large");
        }
        if (label.length == 0 || groups * rowSize == 0) return Tensor.zeros(outType, outShape);
        Tensor out = Tensor.empty(outType, outShape);   // every element is stored below: no zero fill (8 MB for 1000 x 1000)
        double[] sums = new double[(int) (groups * rowSize)];
        try (Tensor rows = x.reshape(label.length, rowSize)) { // a view when x is contiguous
            addRows(rows, label, sums, (int) rowSize);
        }
        HostRows.store(out.storage().segment(), outType, 0, 1, sums.length, sums);
        return out;
    }

    /**
     * sums[label[i]] += rows[i] for every row with a label >= 0, in float64. Work is split by
     * column blocks, so each thread owns its part of every group's sum and no two threads add
     * to the same slot.
     */
    private static void addRows(Tensor rows, long[] label, double[] sums, int rowSize) {
        MemorySegment xs = rows.storage().segment();
        DType dtype = rows.dtype();
        long rowStride = rows.strides()[0], colStride = rows.strides()[1], offset = rows.offset();
        long work = (long) label.length * rowSize;
        int blocks = work < StridedLoop.PARALLEL_THRESHOLD ? 1
                : Math.min((rowSize + 255) / 256, 4 * Runtime.getRuntime().availableProcessors());
        boolean floatRows = dtype == DType.FLOAT32 && colStride == 1;   // added straight from memory, vectorised
        if (floatRows && label.length >= 2 * ROW_BLOCK && oneGroup(label)) {
            addRowBlocks(xs, offset, rowStride, label.length, rowSize, sums, (int) (label[0] * rowSize));
            return;
        }
        IntStream.range(0, blocks).parallel().forEach(b -> {
            int from = (int) ((long) rowSize * b / blocks), to = (int) ((long) rowSize * (b + 1) / blocks);
            double[] buf = floatRows ? null : new double[to - from];
            for (int i = 0; i < label.length; i++) {
                if (label[i] < 0) continue;
                int at = (int) (label[i] * rowSize) + from;
                if (floatRows) {   // a run of rows of one group (all of them, for a mean) in one call
                    int run = 1;
                    while (i + run < label.length && label[i + run] == label[i]) run++;
                    MathKernels.INSTANCE.addFloats(xs, 4 * (offset + i * rowStride + from), 4 * rowStride, run, to - from, sums, at);
                    i += run - 1;
                    continue;
                }
                HostRows.load(xs, dtype, offset + i * rowStride + from * colStride, colStride, to - from, buf);
                for (int j = 0; j < buf.length; j++) sums[at + j] += buf[j];
            }
        });
    }

    /**
     * Rows per partial sum of a one-group sum of float32 rows (a mean): each task reads whole rows,
     * one after another, where a split by columns had each thread read every other KiB of every row
     * (about half the rate of a sequential read here).
     */
    private static final int ROW_BLOCK = 1024;

    private static boolean oneGroup(long[] label) {
        for (long l : label) if (l != label[0]) return false;
        return label[0] >= 0;
    }

    /**
     * sums[at..at+rowSize) += the n rows: blocks of ROW_BLOCK rows summed in parallel (each in row
     * order), then added in block order, so the bits depend on the rows alone, not on the cores.
     */
    private static void addRowBlocks(MemorySegment xs, long offset, long rowStride, int n, int rowSize, double[] sums, int at) {
        int blocks = (n + ROW_BLOCK - 1) / ROW_BLOCK;
        double[][] partial = new double[blocks][];
        IntStream.range(0, blocks).parallel().forEach(b -> {
            int r0 = b * ROW_BLOCK;
            double[] p = new double[rowSize];
            MathKernels.INSTANCE.addFloats(xs, 4 * (offset + r0 * rowStride), 4 * rowStride, Math.min(ROW_BLOCK, n - r0), rowSize, p, 0);
            partial[b] = p;
        });
        for (double[] p : partial) for (int j = 0; j < rowSize; j++) sums[at + j] += p[j];
    }

    @Override
    public Tensor groupCount(Tensor labels, int groups) {
        long[] label = labels(labels, groups, "groupCount");
        long[] counts = new long[groups];
        for (long l : label) {
            if (l >= 0) counts[(int) l]++;
        }
        return Tensor.of(counts);
    }

    /** The labels as a long[], checked: int64, 1-D, and each below {@code groups}. */
    private static long[] labels(Tensor labels, int groups, String op) {
        requireInt64(labels, op + " labels");
        if (labels.rank() != 1) {
            throw new IllegalArgumentException(op + " needs 1-D labels, got shape " + Shape.toString(labels.shape()));
        }
        if (groups < 0) throw new IllegalArgumentException(op + " with a negative number of groups: " + groups);
        long[] label = labels.toLongArray();
        for (int i = 0; i < label.length; i++) {
            if (label[i] >= groups) {
                throw new IllegalArgumentException(op + " label " + label[i] + " at row " + i + " is out of range for "
                        + groups + " groups");
            }
        }
        return label;
    }

    private static void requireInt64(Tensor t, String what) {
        t.checkOpen();
        if (t.dtype() != DType.INT64) {
            throw new IllegalArgumentException(what + " must be int64, got " + t.dtype());
        }
    }
}
