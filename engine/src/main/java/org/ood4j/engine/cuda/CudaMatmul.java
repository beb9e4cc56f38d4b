package org.ood4j.engine.cuda;

import java.util.ArrayList;
import java.util.List;

import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.MatmulOps;
import org.ood4j.engine.cuda.blas.Cublas;

/**
 * Matrix products through cuBLAS (S/D GEMM, strided batched for 3-D operands). cuBLAS is
 * column-major, so the row-major C = A B is computed as C^T = B^T A^T: a row-major matrix is its
 * own transpose in column-major terms, which costs nothing. Operands whose last two dimensions
 * have unit stride in either direction (transposed views included) are used in place; others are
 * copied contiguous first. Without cuBLAS the product runs on the CPU backend.
 */
final class CudaMatmul implements MatmulOps {

    /** How cuBLAS sees one operand: op (N or T) on a column-major buffer with leading dimension ld. */
    private record Operand(Tensor tensor, int op, int ld, long batchStride) {}

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        MatmulOps.check(a, b);
        Cublas blas = Cublas.get();
        if (blas == null) {
            return CpuFallback.run1("matmul", "cuBLAS " + Cublas.status(), h -> CpuFallback.cpu().matmul().matmul(h[0], h[1]), a, b);
        }
        boolean batched = a.rank() == 3 || b.rank() == 3;
        long batch = batched ? Math.max(a.rank() == 3 ? a.size(0) : 1, b.rank() == 3 ? b.size(0) : 1) : 1;
        long m = a.size(-2), k = a.size(-1), n = b.size(-1);
        DType type = DType.promote(a.dtype(), b.dtype());
        long[] shape = batched ? new long[] {batch, m, n} : new long[] {m, n};
        if (m > Integer.MAX_VALUE || n > Integer.MAX_VALUE || k > Integer.MAX_VALUE || batch > Integer.MAX_VALUE) {
            return CpuFallback.run1("matmul", "dimensions beyond cuBLAS's int range", h -> CpuFallback.cpu().matmul().matmul(h[0], h[1]), a, b);
        }
        if (Shape.numel(shape) == 0) return DeviceTensors.empty(type, shape);
        if (k == 0) return DeviceTensors.zeros(type, shape);
        List<Tensor> temporaries = new ArrayList<>();
        try {
            Operand pa = operand(a, type, temporaries), pb = operand(b, type, temporaries);
            Tensor out = DeviceTensors.empty(type, shape);
            DeviceTensors.use(pa.tensor, pb.tensor);
            blas.gemm(type == DType.FLOAT64, pb.op, pa.op, (int) n, (int) m, (int) k,
                    DeviceTensors.address(pb.tensor), pb.ld, pb.batchStride,
                    DeviceTensors.address(pa.tensor), pa.ld, pa.batchStride,
                    DeviceTensors.address(out), (int) n, m * n, (int) batch, CudaContext.get().stream().handle());
            return out;
        } finally {
            for (Tensor t : temporaries) t.close();
        }
    }

    /**
     * The cuBLAS view of a row-major operand X (rows x cols) in the product C^T = B^T A^T, where
     * cuBLAS needs X^T: unit column stride means the buffer already is X^T column-major (op N,
     * ld = row stride); unit row stride means it is X column-major (op T, ld = column stride).
     */
    private static Operand operand(Tensor x, DType type, List<Tensor> temporaries) {
        Tensor t = x;
        if (x.dtype() != type) {
            t = x.to(type);
            temporaries.add(t);
        }
        int r = t.rank();
        long rows = t.size(-2), cols = t.size(-1);
        long[] st = t.strides();
        long rowStride = st[r - 2], colStride = st[r - 1];
        long batchStride = r == 3 && t.size(0) > 1 ? st[0] : 0;
        if ((colStride == 1 || cols == 1) && (rows == 1 || rowStride >= cols) && fitsInt(rowStride)) {
            return new Operand(t, Cublas.OP_N, (int) Math.max(rows == 1 ? cols : rowStride, 1), batchStride);
        }
        if ((rowStride == 1 || rows == 1) && (cols == 1 || colStride >= rows) && fitsInt(colStride)) {
            return new Operand(t, Cublas.OP_T, (int) Math.max(cols == 1 ? rows : colStride, 1), batchStride);
        }
        Tensor c = t.copy();
        temporaries.add(c);
        return new Operand(c, Cublas.OP_N, (int) Math.max(cols, 1), r == 3 && c.size(0) > 1 ? rows * cols : 0);
    }

    private static boolean fitsInt(long v) { return v <= Integer.MAX_VALUE; }

}
