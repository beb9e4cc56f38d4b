package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.SortOps;

/**
 * Sorting and order statistics along one dimension. As in {@link CpuReductions}, the dimension is
 * moved last and each row is loaded whole into a double[]; rows run in parallel.
 *
 * <p>Order: NaN sorts above every number (as torch), and -0.0 equals 0.0, so ties, including
 * those, keep their original order: equal values come out lower index first, in either direction.
 */
final class CpuSorting implements SortOps {
    private static final int WHOLE_ROW = CpuReductions.WHOLE_ROW;

    /** An order on positions 0..n-1 of a row; orders used here never call two positions equal. */
    private interface PositionOrder {
        /** Whether position i comes before position j. */
        boolean before(int i, int j);
    }

    @Override
    public Tensor[] sort(Tensor x, int dim, boolean descending) {
        x.checkOpen();
        int d = Shape.dim(dim, x.rank());
        int n = AlongDim.rowLength(x, d);
        return selectRows(x, d, n, descending, n);
    }

    @Override
    public Tensor[] topk(Tensor x, int k, int dim, boolean largest) {
        x.checkOpen();
        int d = Shape.dim(dim, x.rank());
        int n = AlongDim.rowLength(x, d);
        if (k < 0 || k > n) {
            throw new IllegalArgumentException("topk k = " + k + " out of range for dimension " + d
                    + " of size " + n + " (shape " + Shape.toString(x.shape()) + ")");
        }
        return selectRows(x, d, n, largest, k);
    }

    /**
     * The first k positions of each row in the given direction: {values in x's dtype, int64 indices},
     * both of x's shape with dimension d of size k.
     */
    private static Tensor[] selectRows(Tensor x, int d, int n, boolean descending, int k) {
        long[] outShape = Shape.resized(x.shape(), d, k);
        Tensor values = Tensor.zeros(x.dtype(), outShape);
        Tensor indices = Tensor.zeros(DType.INT64, outShape);
        try (Tensor xRows = x.moveDimToEnd(d); Tensor vRows = values.moveDimToEnd(d);
             Tensor iRows = indices.moveDimToEnd(d)) {
            StridedLoop loop = StridedLoop.overRows(xRows, vRows, iRows);
            MemorySegment xs = x.storage().segment(), vs = values.storage().segment(), is = indices.storage().segment();
            DType dtype = x.dtype();
            long xStride = loop.rowStride(0), vStride = loop.rowStride(1), iStride = loop.rowStride(2);
            loop.forEach(WHOLE_ROW, 1, (base, len, buf) -> {
                double[] row = buf[0];
                HostRows.load(xs, dtype, base[0], xStride, len, row);
                int[] order = firstPositions(row, len, k, descending);
                for (int j = 0; j < k; j++) {
                    // Values are copied from x bit for bit, so int64 stays exact.
                    HostRows.copyElement(dtype, xs, base[0] + order[j] * xStride, vs, base[1] + j * vStride);
                    HostRows.set(is, DType.INT64, base[2] + j * iStride, order[j]);
                }
            });
        }
        return new Tensor[] {values, indices};
    }

    /**
     * The positions of the k first values of v[0..n) in sorted order. For small k a bounded heap
     * keeps the k best seen so far (O(n log k)); otherwise the whole row is sorted (O(n log n)).
     */
    static int[] firstPositions(double[] v, int n, int k, boolean descending) {
        PositionOrder order = descending
                ? (i, j) -> precedes(v[j], v[i], i, j)
                : (i, j) -> precedes(v[i], v[j], i, j);
        int[] positions;
        if (k <= n / 4) {
            positions = boundedHeap(n, k, order);
        } else {
            positions = new int[n];
            for (int i = 0; i < n; i++) positions[i] = i;
        }
        mergeSort(positions, order);
        return positions.length == k ? positions : Arrays.copyOf(positions, k);
    }

    /**
     * Whether the value {@code a} at position i sorts before the value {@code b} at position j,
     * ascending: by value (NaN above all, -0.0 equal to 0.0), then by lower position. Descending
     * order passes the values swapped but keeps the positions, so ties stay lower position first.
     */
    static boolean precedes(double a, double b, int i, int j) {
        int c = compareValues(a, b);
        return c != 0 ? c < 0 : i < j;
    }

    /** Total order on values for sorting: NaN is the largest, and -0.0 == 0.0 (unlike Double.compare). */
    static int compareValues(double a, double b) {
        if (a < b) return -1;
        if (a > b) return 1;
        boolean aNaN = Double.isNaN(a), bNaN = Double.isNaN(b);
        return aNaN == bNaN ? 0 : (aNaN ? 1 : -1);
    }

    /**
     * The k positions of 0..n-1 that come first in {@code order}, unsorted. The heap's root is the
     * last of those kept, and a new position replaces it when it comes before it.
     */
    private static int[] boundedHeap(int n, int k, PositionOrder order) {
        int[] heap = new int[k];
        if (k == 0) return heap;
        for (int i = 0; i < k; i++) {
            heap[i] = i;
            siftUp(heap, i, order);
        }
        for (int i = k; i < n; i++) {
            if (order.before(i, heap[0])) {
                heap[0] = i;
                siftDown(heap, k, order);
            }
        }
        return heap;
    }

    /** Heap property: a parent comes after its children in {@code order} (the last one is at the root). */
    private static void siftUp(int[] heap, int at, PositionOrder order) {
        while (at > 0) {
            int parent = (at - 1) / 2;
            if (!order.before(heap[parent], heap[at])) return;
            swap(heap, parent, at);
            at = parent;
        }
    }

    private static void siftDown(int[] heap, int size, PositionOrder order) {
        int at = 0;
        while (true) {
            int child = 2 * at + 1;
            if (child >= size) return;
            if (child + 1 < size && order.before(heap[child], heap[child + 1])) child++;
            if (!order.before(heap[at], heap[child])) return;
            swap(heap, at, child);
            at = child;
        }
    }

    private static void swap(int[] a, int i, int j) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }

    /** Sorts positions by {@code order}: top-down merge sort, O(n log n) in the worst case. */
    static void mergeSort(int[] a, PositionOrder order) {
        if (a.length < 2) return;
        int[] tmp = a.clone();
        mergeSort(tmp, a, 0, a.length, order);
    }

    /** Sorts src[lo, hi) into dst[lo, hi); src and dst start as equal copies and src is scratch. */
    private static void mergeSort(int[] src, int[] dst, int lo, int hi, PositionOrder order) {
        if (hi - lo < 2) return;
        int mid = (lo + hi) >>> 1;
        mergeSort(dst, src, lo, mid, order);
        mergeSort(dst, src, mid, hi, order);
        for (int i = lo, p = lo, q = mid; i < hi; i++) {
            if (q >= hi || (p < mid && !order.before(src[q], src[p]))) dst[i] = src[p++];
            else dst[i] = src[q++];
        }
    }

    @Override
    public Tensor kthvalue(Tensor x, int k, int dim, boolean keepdim) {
        x.checkOpen();
        int d = Shape.dim(dim, x.rank());
        int n = AlongDim.rowLength(x, d);
        if (k < 1 || k > n) {
            throw new IllegalArgumentException("kthvalue k = " + k + " out of range [1, " + n + "] for dimension "
                    + d + " of shape " + Shape.toString(x.shape()));
        }
        return perRow(x, d, keepdim, x.dtype(), 1, false, (sorted, out) -> out[0] = sorted[k - 1]);
    }

    @Override
    public Tensor quantile(Tensor x, double[] qs, int dim, boolean keepdim) {
        x.checkOpen();
        SortOps.checkQuantiles(qs);
        int d = Shape.dim(dim, x.rank());
        int n = AlongDim.rowLength(x, d);
        if (n == 0) {
            throw new IllegalArgumentException("quantile over dimension " + d + " of shape "
                    + Shape.toString(x.shape()) + ", which is empty (size 0)");
        }
        DType outType = x.dtype().isFloating() ? x.dtype() : DType.FLOAT64;
        return perRow(x, d, keepdim, outType, qs.length, true, (sorted, out) -> {
            for (int j = 0; j < qs.length; j++) out[j] = quantileOfSorted(sorted, n, qs[j]);
        });
    }

    /**
     * Linear interpolation between the closest ranks, as torch.quantile's default: position
     * q*(n-1) between ranks lo = floor and hi = ceil. A row holding NaN gives NaN (sorted last).
     * Equal neighbours are returned as is, so [0, inf] gives inf rather than the NaN of
     * inf + 0*(inf - inf) (a known torch quirk, pytorch#133998).
     */
    static double quantileOfSorted(double[] sorted, int n, double q) {
        if (Double.isNaN(sorted[n - 1])) return Double.NaN;
        double pos = q * (n - 1);
        int lo = (int) Math.floor(pos), hi = (int) Math.ceil(pos);
        double a = sorted[lo], b = sorted[hi];
        if (a == b) return a;
        return a + (b - a) * (pos - lo);
    }

    /** Computes {@code count} values from one sorted row. */
    private interface SortedRowFn {
        void apply(double[] sorted, double[] out);
    }

    /**
     * Sorts each row (a copy, ascending, NaN last) and writes {@code count} values from it. The
     * result has x's shape with dimension d reduced (kept as size 1 when keepdim), preceded by a
     * dimension of {@code count} when {@code leading} (the layout of torch.quantile's q axis).
     */
    private static Tensor perRow(Tensor x, int d, boolean keepdim, DType outType, int count, boolean leading,
                                 SortedRowFn fn) {
        long[] kept = Shape.resized(x.shape(), d, 1);
        long[] reduced = keepdim ? kept : Shape.removed(x.shape(), d);
        Tensor out = Tensor.zeros(outType, leading ? prepend(count, reduced) : reduced);
        // The loop's view of out: the outer dims of x (all but d) in order, then the count values of a row.
        try (Tensor countFirst = out.reshape(prepend(count, kept));
             Tensor withoutD = countFirst.squeeze(d + 1);
             Tensor outRows = withoutD.moveDimToEnd(0);
             Tensor xRows = x.moveDimToEnd(d)) {
            StridedLoop loop = StridedLoop.overRows(xRows, outRows);
            MemorySegment xs = x.storage().segment(), os = out.storage().segment();
            DType inType = x.dtype();
            long xStride = loop.rowStride(0), oStride = loop.rowStride(1);
            loop.forEach(WHOLE_ROW, 2, (base, n, buf) -> {
                HostRows.load(xs, inType, base[0], xStride, n, buf[0]);
                Arrays.sort(buf[0], 0, n);
                double[] values = count <= buf[1].length ? buf[1] : new double[count];
                fn.apply(buf[0], values);
                HostRows.store(os, outType, base[1], oStride, count, values);
            });
        }
        return out;
    }

    private static long[] prepend(long first, long[] rest) {
        long[] s = new long[rest.length + 1];
        s[0] = first;
        System.arraycopy(rest, 0, s, 1, rest.length);
        return s;
    }
}
