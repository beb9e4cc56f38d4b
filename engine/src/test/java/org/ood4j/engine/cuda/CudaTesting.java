package org.ood4j.engine.cuda;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.function.Function;

import org.junit.jupiter.api.Assumptions;
import org.ood4j.engine.Backends;
import org.ood4j.engine.CudaStatus;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/**
 * Shared by the CUDA op tests: they run only where CUDA is available (a JUnit assumption that
 * carries the reason otherwise), build the same input on both devices in several memory layouts,
 * and compare a CUDA result with the CPU backend's.
 */
final class CudaTesting {
    private CudaTesting() {}

    /**
     * Skips the calling test, with the reason, unless CUDA is available. In the build's
     * cuda-emulator execution (system property ood4j.test.cudaEmulator = the emulator's folder)
     * an emulator that was built but does not start is a failure, not a skip.
     */
    static void assumeCuda() {
        CudaStatus status = Backends.cudaStatus();
        String emulator = System.getProperty("ood4j.test.cudaEmulator");
        if (emulator != null && !status.available()) {
            Path lib = Path.of(emulator, "libcuda.so.1");
            Assumptions.assumeTrue(Files.exists(lib), "the CUDA host emulator was not built (" + lib + " is missing; no g++?)");
            fail("the CUDA host emulator at " + lib + " exists but CUDA did not start: " + status);
        }
        Assumptions.assumeTrue(status.available(), status.description());
    }

    /** How an input sits in memory: the view is applied to a base tensor on each device. */
    enum Layout {
        CONTIGUOUS, TRANSPOSED, SLICED, EXPANDED;

        /** The base shape this layout views as {@code shape}. */
        long[] base(long[] shape) {
            int r = shape.length;
            long[] b = shape.clone();
            switch (this) {
                case TRANSPOSED -> { for (int i = 0; i < r; i++) b[i] = shape[r - 1 - i]; }
                case SLICED -> { if (r > 0) b[r - 1] += 3; }
                case EXPANDED -> { if (r > 0) b[firstStretchable(shape)] = 1; }
                default -> { }
            }
            return b;
        }

        Tensor view(Tensor base, long[] shape) {
            int r = shape.length;
            return switch (this) {
                case CONTIGUOUS -> base.reshape(shape);
                case TRANSPOSED -> {
                    int[] order = new int[r];
                    for (int i = 0; i < r; i++) order[i] = r - 1 - i;
                    yield base.permute(order);
                }
                case SLICED -> r == 0 ? base.reshape(shape) : base.slice(r - 1, 2, 2 + shape[r - 1]);
                case EXPANDED -> base.expand(shape);
            };
        }

        private static int firstStretchable(long[] shape) {
            int i = 0;
            while (i < shape.length - 1 && shape[i] == 1) i++;
            return i;
        }
    }

    /** The same values on the CPU and on CUDA, in the same layout: {cpu, cuda}. */
    static Tensor[] pair(Tensor hostBase, Layout layout, long[] shape) {
        try (Tensor deviceBase = hostBase.to(Device.CUDA)) {
            return new Tensor[] {layout.view(hostBase, shape), layout.view(deviceBase, shape)};
        }
    }

    /** Standard normal values (scaled) in a layout, on both devices. */
    static Tensor[] normal(long seed, DType dtype, Layout layout, double scale, long... shape) {
        try (Tensor base = Tensor.randn(new SplittableRandom(seed), dtype, layout.base(shape));
             Tensor scaled = base.mul(scale)) {
            return pair(scaled, layout, shape);
        }
    }

    /** Integers in [0, bound) as dtype (many ties) in a layout, on both devices. */
    static Tensor[] ints(long seed, DType dtype, Layout layout, int bound, long... shape) {
        try (Tensor base = Tensor.rand(new SplittableRandom(seed), DType.INT64, 0, bound, layout.base(shape));
             Tensor typed = base.to(dtype)) {
            return pair(typed, layout, shape);
        }
    }

    /** Runs op on both of a pair and compares; closes the results. */
    static void same(Tensor[] input, Function<Tensor, Tensor> op, double tol, String what) {
        try (Tensor expected = op.apply(input[0]); Tensor actual = op.apply(input[1])) {
            assertMatches(expected, actual, tol, what);
        }
    }

    /** A CUDA result against the CPU backend's: shape, dtype, device, values (int64 exactly). */
    static void assertMatches(Tensor expected, Tensor actual, double tol, String what) {
        assertEquals(Device.CPU, expected.device(), what);
        assertEquals(Device.CUDA, actual.device(), what + ": result stays on CUDA");
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape " + Shape.toString(actual.shape()));
        assertEquals(expected.dtype(), actual.dtype(), what + ": dtype");
        if (expected.dtype() == DType.INT64) {
            assertArrayEquals(expected.toLongArray(), actual.toLongArray(), what);
            return;
        }
        double[] e = expected.toDoubleArray(), a = actual.toDoubleArray();
        for (int i = 0; i < e.length; i++) {
            if (Double.isNaN(e[i]) || Double.isInfinite(e[i])) {
                assertEquals(e[i], a[i], what + " [" + i + "]");
            } else if (!(Math.abs(e[i] - a[i]) <= tol * Math.max(1, Math.abs(e[i])))) {
                fail(what + " [" + i + "]: expected " + e[i] + ", got " + a[i] + " (relative tolerance " + tol + ")");
            }
        }
    }

    static void closeAll(Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && !t.isClosed()) t.close();
        }
    }

    /** Tolerance of float arithmetic on the GPU (float32 kernels compute in float). */
    static double tol(DType dtype) {
        return dtype == DType.FLOAT32 ? 2e-5 : 1e-11;
    }

    static final long[][] SHAPES = {{1}, {7}, {257}, {7, 257}, {1000, 7}, {1, 1000}, {3, 7, 5}};
}
