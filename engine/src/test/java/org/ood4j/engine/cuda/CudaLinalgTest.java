package org.ood4j.engine.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.ood4j.engine.cuda.CudaTesting.*;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Linalg;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** linalg.cu's remove_top_singular through Linalg.removeTopSingular, against the CPU backend's op. */
class CudaLinalgTest {
    private Scope scope;

    @BeforeEach
    void cuda() {
        assumeCuda();
        scope = Scope.open();
    }

    @AfterEach
    void close() {
        if (scope != null) scope.close();
    }

    /**
     * {B, R, C}: R < C, R > C, R = C, k = min(R, C) = 1 either way, B = 1 and 7; rows past the 8
     * warps and columns past the 256 threads; k = 64 both ways (the kernel's limit) and k > 64
     * (the CPU fallback); a batch larger than the grid, so that blocks loop over matrices.
     */
    static final int[][] SIZES = {
        {1, 5, 3}, {7, 3, 5}, {7, 4, 4}, {1, 1, 6}, {7, 6, 1}, {1, 1, 1}, {7, 13, 2}, {1, 2, 13},
        {3, 64, 49}, {2, 1000, 7}, {2, 10, 80}, {1, 3, 600}, {2, 64, 64}, {1, 64, 300}, {1, 300, 64},
        {1, 70, 66}, {2, 65, 200}, {600, 4, 3},
    };

    @Test
    void matchesTheCpuOp() {
        for (int[] size : SIZES) {
            for (DType type : new DType[] {DType.FLOAT64, DType.FLOAT32}) {
                Tensor host = withClearTop(new SplittableRandom(size[0] * 7919L + size[1] * 31L + size[2]), type, size);
                for (Layout layout : new Layout[] {Layout.CONTIGUOUS, Layout.TRANSPOSED, Layout.SLICED}) {
                    if (layout != Layout.CONTIGUOUS && size[0] * size[1] * size[2] > 20_000) continue;
                    String what = type + " " + layout + " " + Arrays.toString(size);
                    Tensor[] x = inLayout(host, layout);
                    double[] before = x[1].toDoubleArray();
                    try (Tensor expected = Linalg.removeTopSingular(x[0]); Tensor actual = Linalg.removeTopSingular(x[1])) {
                        assertMatches(expected, actual, type == DType.FLOAT64 ? 1e-10 : 1e-6, what);
                    }
                    assertArrayEquals(before, x[1].toDoubleArray(), 0, what + ": the input is left as it was");
                    closeAll(x);
                }
            }
        }
    }

    @Test
    void aRankOneMatrixLosesEverything() {
        double[] u = {1, -2, 3, 0.5}, v = {2, 1, -1, 4, 0.25, -3, 1};
        for (boolean wide : new boolean[] {false, true}) {
            int rows = wide ? u.length : v.length, cols = wide ? v.length : u.length;
            double[] x = new double[rows * cols];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) x[i * cols + j] = wide ? u[i] * v[j] : v[i] * u[j];
            }
            Tensor device = Tensor.of(x, 1, rows, cols).to(Device.CUDA);
            for (double w : Linalg.removeTopSingular(device).toDoubleArray()) assertEquals(0, w, 1e-12);
        }
    }

    @Test
    void tiesAndZerosAgreeWithTheCpu() {
        Tensor identity = Tensor.of(new double[] {1, 0, 0, 0, 1, 0, 0, 0, 1}, 1, 3, 3);
        Tensor zeros = Tensor.zeros(DType.FLOAT32, 3, 5, 2);
        for (Tensor h : new Tensor[] {identity, zeros}) {
            try (Tensor d = h.to(Device.CUDA); Tensor e = Linalg.removeTopSingular(h); Tensor a = Linalg.removeTopSingular(d)) {
                assertMatches(e, a, 1e-12, "ties " + Arrays.toString(h.shape()));
            }
        }
    }

    @Test
    void emptyInputStaysEmptyOnCuda() {
        for (long[] shape : new long[][] {{0, 3, 4}, {2, 0, 3}, {2, 3, 0}}) {
            Tensor r = Linalg.removeTopSingular(Tensor.zeros(DType.FLOAT32, Device.CUDA, shape));
            assertEquals(Device.CUDA, r.device());
            assertArrayEquals(shape, r.shape());
        }
    }

    @Test
    void refusesNonFiniteMatricesInTheKernelAndTheFallback() {
        for (int[] size : new int[][] {{3, 2, 5}, {3, 5, 2}, {3, 66, 70}}) {
            for (double bad : new double[] {Double.NaN, Double.NEGATIVE_INFINITY, 1e200}) {
                int n = size[1] * size[2];
                double[] x = new double[size[0] * n];
                Arrays.fill(x, 1);
                x[2 * n + n / 2] = bad;                                   // matrix 2
                Tensor d = Tensor.of(x, size[0], size[1], size[2]).to(Device.CUDA);
                var e = assertThrows(IllegalArgumentException.class, () -> Linalg.removeTopSingular(d));
                String expected = "matrix 2 of " + Arrays.toString(size);
                assertTrue(e.getMessage().contains(expected) && e.getMessage().contains("NaN or Inf"), e.getMessage());
            }
        }
        // the context is still usable after a refusal
        Tensor ok = Tensor.ones(DType.FLOAT64, 2, 3, 3).to(Device.CUDA);
        for (double w : Linalg.removeTopSingular(ok).toDoubleArray()) assertEquals(0, w, 1e-12);
    }

    @Test
    void refusesBadOperands() {
        Tensor flat = Tensor.zeros(DType.FLOAT32, Device.CUDA, 3, 4);
        assertThrows(IllegalArgumentException.class, () -> Linalg.removeTopSingular(flat));
        Tensor ints = Tensor.zeros(DType.INT64, Device.CUDA, 1, 3, 4);
        assertThrows(IllegalArgumentException.class, () -> Linalg.removeTopSingular(ints));
    }

    // ---------------------------------------------------------------- helpers

    /** Gaussian (B, R, C) plus a strong rank-1 term per matrix, so that s1 is well separated from s2. */
    private static Tensor withClearTop(SplittableRandom rng, DType type, int[] size) {
        int b = size[0], rows = size[1], cols = size[2];
        double[] x = new double[b * rows * cols];
        for (int m = 0; m < b; m++) {
            double[] u = new double[rows], v = new double[cols];
            for (int i = 0; i < rows; i++) u[i] = rng.nextGaussian();
            for (int j = 0; j < cols; j++) v[j] = rng.nextGaussian();
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) x[(m * rows + i) * cols + j] = rng.nextGaussian() + 0.5 * u[i] * v[j];
            }
        }
        try (Tensor t = Tensor.of(x, b, rows, cols)) {
            return t.to(type);
        }
    }

    /** The values of host (B, R, C) as {cpu, cuda} views in a layout: transposed and sliced ones are strided. */
    private static Tensor[] inLayout(Tensor host, Layout layout) {
        long[] shape = host.shape();
        Tensor base = switch (layout) {
            case TRANSPOSED -> host.permute(2, 1, 0).copy();
            case SLICED -> {
                Tensor wide = Tensor.zeros(host.dtype(), shape[0], shape[1], shape[2] + 3);
                try (Tensor window = wide.slice(2, 2, 2 + shape[2])) {
                    window.copyFrom(host);
                }
                yield wide;
            }
            default -> host;
        };
        return pair(base, layout, shape);
    }
}
