package org.ood4j.engine.cpu;

import java.lang.foreign.MemorySegment;
import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.MatmulOps;

/**
 * Matrix products. Operands of any strides (a transposed view costs nothing extra) are packed
 * into row-major heap arrays, multiplied by {@link Gemm}'s blocked kernels in the operands'
 * precision, and the result stored into a new contiguous tensor.
 */
final class CpuMatmul implements MatmulOps {

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        MatmulOps.check(a, b);
        checkFitsInArrays(a, b);
        boolean batched = a.rank() == 3 || b.rank() == 3;
        long batch = batched ? Math.max(a.rank() == 3 ? a.size(0) : 1, b.rank() == 3 ? b.size(0) : 1) : 1;
        int m = (int) a.size(-2), k = (int) a.size(-1), n = (int) b.size(-1);
        DType type = DType.promote(a.dtype(), b.dtype());
        Tensor out = batched ? Tensor.empty(type, batch, m, n) : Tensor.empty(type, m, n);   // every element is written below
        MemorySegment os = out.storage().segment();
        if (!batched && type == DType.FLOAT32 && a.dtype() == DType.FLOAT32 && n <= SKINNY && Packing.isTransposed(b)) {
            headProduct(a, b, m, n, k, os);
            return out;
        }
        // A 2-D operand is packed once and shared by every batch item.
        // a 2-D float32 A of a float64 product stays float32, widened by the GEMM as it packs it
        Object sharedA = a.rank() != 2 ? null : floatRowsOfDoubleProduct(a, type) ? floatRows(a) : pack(a, type);
        Object sharedB = b.rank() == 2 ? pack(b, type) : null;
        for (long bi = 0; bi < batch; bi++) {
            Object pa = sharedA != null ? sharedA : pack(a, bi, type);
            Object pb = sharedB != null ? sharedB : pack(b, bi, type);
            long outByte = bi * m * (long) n * type.byteSize();
            if (type == DType.FLOAT32) {
                float[] c = Gemm.sgemm((float[]) pa, (float[]) pb, m, n, k);
                MemorySegment.copy(c, 0, os, DType.FLOAT32.layout(), outByte, c.length);
            } else {
                double[] c = pa instanceof Gemm.Block rows ? Gemm.dgemm(rows, (double[]) pb, m, n, k)
                        : Gemm.dgemm((double[]) pa, (double[]) pb, m, n, k);
                MemorySegment.copy(c, 0, os, DType.FLOAT64.layout(), outByte, c.length);
            }
        }
        return out;
    }

    /** Columns of a float32 product up to which a B that is the transpose of a row-major W goes by row dots. */
    private static final int SKINNY = 16;
    /** Rows of A per task of {@link #headProduct}. */
    private static final int HEAD_ROWS = 64;

    /**
     * C = A W^T for float32 A (m, k) and B = W^T, W (n, k) row-major with n <= SKINNY: a linear head
     * of a few classes (x W^T in models.Linear). Each row of A against W's n rows in float32 FMA
     * chains ({@link MathKernels#dots}), W in L1 from row to row. Through the GEMM, B's one panel is
     * padded to 2 vectors (32 columns with AVX-512) and A is packed for that one panel: 0.4-0.5 ms for
     * 400 x 512 x 10, a fifth of ReAct's predict. Float32 sums as the GEMM's, in another order.
     */
    private static void headProduct(Tensor a, Tensor b, int m, int n, int k, MemorySegment os) {
        float[][] w = new float[n][k];
        try (Tensor rows = b.t()) {   // W itself
            MemorySegment ws = rows.storage().segment();
            for (int c = 0; c < n; c++) HostRows.loadFloats(ws, rows.offset() + c * rows.strides()[0], rows.strides()[1], k, w[c]);
        }
        MemorySegment as = a.storage().segment();
        long rowStride = a.strides()[0], colStride = a.strides()[1];
        float[] c = new float[m * n];
        int tasks = (m + HEAD_ROWS - 1) / HEAD_ROWS;
        java.util.stream.IntStream range = java.util.stream.IntStream.range(0, tasks);
        if (tasks > 1 && (long) m * n * k >= StridedLoop.PARALLEL_THRESHOLD) range = range.parallel();
        range.forEach(t -> {
            float[] z = new float[k], logits = new float[n];
            for (int i = t * HEAD_ROWS; i < Math.min(m, (t + 1) * HEAD_ROWS); i++) {
                HostRows.loadFloats(as, a.offset() + i * rowStride, colStride, k, z);
                MathKernels.INSTANCE.dots(z, w, k, logits);
                System.arraycopy(logits, 0, c, i * n, n);
            }
        });
        MemorySegment.copy(c, 0, os, DType.FLOAT32.layout(), 0, c.length);
    }

    /**
     * A 2-D float32 A as float rows for a float64 product: its own memory where its rows are
     * contiguous runs (a row block of features), else a packed copy.
     */
    private static Gemm.Block floatRows(Tensor a) {
        int k = (int) a.size(1);
        long m = a.size(0), rowStride = m == 1 ? k : a.strides()[0];
        if (m > 0 && (a.strides()[1] == 1 || k == 1) && rowStride >= k) {
            long floats = (m - 1) * rowStride + k;   // the last row's end: indices of one Java int
            if (floats <= org.ood4j.engine.MemoryBudget.MAX_ARRAY) {
                return Gemm.Block.ofFloatRows(a.storage().segment().asSlice(4 * a.offset(), 4 * floats), (int) rowStride);
            }
        }
        return Gemm.Block.ofFloatRows(MemorySegment.ofArray(Packing.floats(a)), k);
    }

    private static boolean floatRowsOfDoubleProduct(Tensor a, DType type) {
        return type == DType.FLOAT64 && a.dtype() == DType.FLOAT32;
    }

    private static Object pack(Tensor t, DType type) {
        return type == DType.FLOAT32 ? Packing.floats(t) : Packing.doubles(t);
    }

    /** Item {@code index} of a batched operand (a batch of one broadcasts). */
    private static Object pack(Tensor t, long index, DType type) {
        try (Tensor item = t.select(0, t.size(0) == 1 ? 0 : index)) {
            return pack(item, type);
        }
    }

    private static void checkFitsInArrays(Tensor a, Tensor b) {
        long maxArray = org.ood4j.engine.MemoryBudget.MAX_ARRAY;
        if (a.size(-2) * a.size(-1) > maxArray || b.size(-2) * b.size(-1) > maxArray
                || a.size(-2) * b.size(-1) > maxArray) {
            throw new IllegalArgumentException("matmul operand too large for one CPU block: " + Shape.toString(a.shape())
                    + " @ " + Shape.toString(b.shape()) + "; split it into row blocks");
        }
    }
}
