package org.ood4j.engine.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.ood4j.engine.cuda.CudaTesting.*;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.SortOps;

class CudaSortingTest {
    @BeforeEach
    void cuda() { assumeCuda(); }

    private static void sameSort(Tensor[] x, int dim, boolean desc, String what) {
        Tensor[] e = x[0].sort(dim, desc), a = x[1].sort(dim, desc);
        try {
            assertMatches(e[0], a[0], 0, what + " values");
            assertMatches(e[1], a[1], 0, what + " indices");
        } finally {
            closeAll(e);
            closeAll(a);
        }
    }

    private static void sameTopk(Tensor[] x, int k, int dim, boolean largest, String what) {
        Tensor[] e = x[0].topk(k, dim, largest), a = x[1].topk(k, dim, largest);
        try {
            assertMatches(e[0], a[0], 0, what + " values");
            assertMatches(e[1], a[1], 0, what + " indices");
        } finally {
            closeAll(e);
            closeAll(a);
        }
    }

    @Test
    void sortsAndTopkWithTiesMatchTheCpuExactly() {
        for (long[] shape : SHAPES) {
            for (Layout layout : Layout.values()) {
                for (DType dtype : new DType[] {DType.FLOAT32, DType.FLOAT64, DType.INT64}) {
                    Tensor[] x = ints(shape.length + layout.ordinal(), dtype, layout, 5, shape);
                    try {
                        for (int d = 0; d < shape.length; d++) {
                            String what = dtype + " " + layout + " " + java.util.Arrays.toString(shape) + " dim " + d;
                            sameSort(x, d, false, "sort " + what);
                            sameSort(x, d, true, "sort desc " + what);
                            int k = (int) Math.min(3, shape[d]);
                            sameTopk(x, k, d, true, "topk " + what);
                            sameTopk(x, k, d, false, "bottomk " + what);
                            int kk = k;
                            int dd = d;
                            same(x, t -> t.kthvalue(kk, dd, false), 0, "kthvalue " + what);
                            same(x, t -> t.quantile(new double[] {0, 0.3, 0.5, 1}, dd, true), tol(dtype == DType.INT64 ? DType.FLOAT64 : dtype), "quantile " + what);
                        }
                    } finally {
                        closeAll(x);
                    }
                }
            }
        }
    }

    @Test
    void nanSortsLastAndLongRowsUseLocalListsOrTheCpu() {
        try (Tensor h = Tensor.of(new double[] {3, Double.NaN, -0.0, 0.0, 1, Double.NaN}, 1, 6); Tensor d = h.to(Device.CUDA)) {
            sameSort(new Tensor[] {h, d}, 1, false, "NaN ascending");
            sameSort(new Tensor[] {h, d}, 1, true, "NaN descending");
        }
        Tensor[] x = normal(3, DType.FLOAT32, Layout.CONTIGUOUS, 1, 5, 100_000);
        try {
            sameTopk(x, 1, 1, true, "top-1 of 100000");
            sameTopk(x, 16, 1, false, "bottom-16 of 100000");
            sameTopk(x, 40, 1, true, "top-40 of 100000 (CPU path)");
            sameSort(x, 1, false, "sort of 100000 (CPU path)");
            same(x, t -> t.kthvalue(10, 1, true), 0, "kthvalue of 100000");
            same(x, t -> t.quantile(0.9, 1, false), 1e-6, "quantile of 100000 (CPU path)");
        } finally {
            closeAll(x);
        }
    }

    /**
     * A row of 2^31 or more elements (an expanded view costs no memory) would wrap topk.cu's int
     * positions (a negative index, and on a real row a read before the buffer, a sticky
     * CUDA_ERROR_ILLEGAL_ADDRESS): CUDA refuses it as the CPU does, before any copy or launch.
     */
    @Test
    void rowsLongerThanTheCpusLimitAreRefusedAlike() {
        long n = SortOps.MAX_ROW + 1;
        try (Tensor one = Tensor.zeros(DType.FLOAT32, Device.CUDA, 1); Tensor row = one.expand(n);
             Tensor hostOne = Tensor.zeros(DType.FLOAT32, 1); Tensor hostRow = hostOne.expand(n)) {
            String cpu = assertThrows(IllegalArgumentException.class, () -> hostRow.topk(1, 0, true)).getMessage();
            assertEquals(cpu, assertThrows(IllegalArgumentException.class, () -> row.topk(1, 0, true)).getMessage());
            assertEquals(cpu, assertThrows(IllegalArgumentException.class, () -> row.kthvalue(2, 0, false)).getMessage());
            assertEquals(cpu, assertThrows(IllegalArgumentException.class, () -> row.sort(0, false)).getMessage());
        }
    }
}
