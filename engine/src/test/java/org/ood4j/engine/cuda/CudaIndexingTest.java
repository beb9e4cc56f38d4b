package org.ood4j.engine.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.ood4j.engine.cuda.CudaTesting.*;

import java.util.SplittableRandom;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;

class CudaIndexingTest {
    @BeforeEach
    void cuda() { assumeCuda(); }

    private static Tensor[] onBoth(Tensor host) {
        return new Tensor[] {host, host.to(Device.CUDA)};
    }

    @Test
    void gatherAndIndexSelectMatchTheCpu() {
        for (Layout layout : Layout.values()) {
            Tensor[] x = normal(1, DType.FLOAT32, layout, 1, 257, 7);
            Tensor[] idx = onBoth(Tensor.rand(new SplittableRandom(2), DType.INT64, 0, 257, 100, 7));
            Tensor[] sel = onBoth(Tensor.rand(new SplittableRandom(3), DType.INT64, 0, 7, 1000));
            try {
                try (Tensor e = x[0].gather(0, idx[0]); Tensor a = x[1].gather(0, idx[1])) {
                    assertMatches(e, a, 0, "gather " + layout);
                }
                try (Tensor e = x[0].indexSelect(1, sel[0]); Tensor a = x[1].indexSelect(1, sel[1])) {
                    assertMatches(e, a, 0, "indexSelect " + layout);
                }
            } finally {
                closeAll(x);
                closeAll(idx);
                closeAll(sel);
            }
        }
        try (Tensor x = Tensor.zeros(DType.FLOAT32, Device.CUDA, 3, 4); Tensor bad = Tensor.of(new long[] {0, 5});
             Tensor dBad = bad.to(Device.CUDA)) {
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> x.indexSelect(1, dBad));
            assertTrue(e.getMessage().contains("5"), e.getMessage());
        }
    }

    @Test
    void maskedSelectKeepsCOrderAtAnySize() {
        for (long n : new long[] {1, 7, 257, 100_000, 1_000_003}) {
            Tensor[] x = normal(n, DType.FLOAT64, Layout.CONTIGUOUS, 1, n);
            Tensor[] m = ints(n + 1, DType.INT64, Layout.CONTIGUOUS, 2, n);
            try (Tensor e = x[0].maskedSelect(m[0]); Tensor a = x[1].maskedSelect(m[1])) {
                assertMatches(e, a, 0, "maskedSelect of " + n);
            } finally {
                closeAll(x);
                closeAll(m);
            }
        }
        Tensor[] x = normal(5, DType.FLOAT32, Layout.TRANSPOSED, 1, 7, 257);
        Tensor[] m = ints(6, DType.INT64, Layout.EXPANDED, 2, 7, 257);
        try (Tensor e = x[0].maskedSelect(m[0]); Tensor a = x[1].maskedSelect(m[1])) {
            assertMatches(e, a, 0, "maskedSelect of views");
        } finally {
            closeAll(x);
            closeAll(m);
        }
    }

    @Test
    void groupSumsAndCountsSkipNegativeLabels() {
        for (DType dtype : new DType[] {DType.FLOAT32, DType.FLOAT64, DType.INT64}) {
            Tensor[] x = dtype == DType.INT64 ? ints(7, dtype, Layout.SLICED, 100, 1000, 7)
                    : normal(7, dtype, Layout.SLICED, 1, 1000, 7);
            Tensor[] labels = onBoth(Tensor.rand(new SplittableRandom(8), DType.INT64, -1, 10, 1000));
            try {
                try (Tensor e = x[0].groupSum(labels[0], 10); Tensor a = x[1].groupSum(labels[1], 10)) {
                    assertMatches(e, a, 1e-6, "groupSum " + dtype);
                }
                try (Tensor e = x[0].groupMean(labels[0], 10); Tensor a = x[1].groupMean(labels[1], 10)) {
                    assertMatches(e, a, 1e-6, "groupMean " + dtype);
                }
                try (Tensor e = Tensor.groupCount(labels[0], 10); Tensor a = Tensor.groupCount(labels[1], 10)) {
                    assertMatches(e, a, 0, "groupCount");
                }
            } finally {
                closeAll(x);
                closeAll(labels);
            }
        }
        try (Tensor l = Tensor.of(new long[] {0, 12}); Tensor d = l.to(Device.CUDA)) {
            assertThrows(IllegalArgumentException.class, () -> Tensor.groupCount(d, 3));
            try (Tensor x = Tensor.zeros(DType.FLOAT32, Device.CUDA, 2, 3)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> x.groupSum(d, 3));
                assertTrue(e.getMessage().contains("label 12"), e.getMessage());
            }
        }
    }

    /**
     * Class sums are the same bits on CUDA as on the CPU (rows added in order, in float64), run
     * after run: values spread over many magnitudes make any other order show in the last bits
     * (float64 atomics in the emulator's shuffled block order did).
     */
    @Test
    void groupSumsAreTheCpusBitsEveryRun() {
        SplittableRandom rng = new SplittableRandom(11);
        int n = 3000, cols = 300;
        double[] values = new double[n * cols];
        for (int i = 0; i < values.length; i++) values[i] = rng.nextGaussian() * Math.pow(10, rng.nextInt(-6, 7));
        long[] label = new long[n];
        for (int i = 0; i < n; i++) label[i] = rng.nextInt(-1, 4);
        for (DType dtype : new DType[] {DType.FLOAT64, DType.FLOAT32}) {
            try (Tensor v = Tensor.of(values); Tensor flat = v.to(dtype); Tensor x = flat.reshape(n, cols);
                 Tensor l = Tensor.of(label); Tensor expected = x.groupSum(l, 4);
                 Tensor dx = x.to(Device.CUDA); Tensor dl = l.to(Device.CUDA)) {
                for (int run = 0; run < 3; run++) {
                    try (Tensor a = dx.groupSum(dl, 4)) {
                        assertArrayEquals(expected.toDoubleArray(), a.toDoubleArray(), 0, "groupSum " + dtype + ", run " + run);
                    }
                }
            }
        }
    }
}
