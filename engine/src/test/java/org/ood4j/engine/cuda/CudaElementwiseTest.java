package org.ood4j.engine.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.ood4j.engine.cuda.CudaTesting.*;

import java.util.SplittableRandom;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.BinaryOp;
import org.ood4j.engine.backend.UnaryOp;

class CudaElementwiseTest {
    @BeforeEach
    void cuda() { assumeCuda(); }

    private static final DType[] TYPES = {DType.FLOAT32, DType.FLOAT64, DType.INT64};

    @Test
    void unaryOpsMatchTheCpuInEveryLayoutAndDtype() {
        for (long[] shape : SHAPES) {
            for (Layout layout : Layout.values()) {
                for (DType dtype : TYPES) {
                    Tensor[] x = dtype == DType.INT64 ? ints(shape.length, dtype, layout, 9, shape)
                            : normal(shape.length * 31L + layout.ordinal(), dtype, layout, 3, shape);
                    try {
                        for (UnaryOp op : UnaryOp.values()) {
                            double a = op == UnaryOp.CLAMP ? -0.5 : (op == UnaryOp.POW ? 2 : 1.5), b = op == UnaryOp.CLAMP ? 0.75 : -2;
                            same(x, t -> org.ood4j.engine.Backends.of(t.device()).elementwise().unary(op, t, a, b), tol(dtype) * 10,
                                    op + " " + layout + " " + dtype + " " + java.util.Arrays.toString(shape));
                        }
                    } finally {
                        closeAll(x);
                    }
                }
            }
        }
    }

    @Test
    void binaryOpsBroadcastAcrossLayoutsAndMixedDtypes() {
        long[][][] shapes = {{{7, 1}, {1, 257}}, {{257}, {257}}, {{1000, 7}, {7}}, {{1}, {3, 7, 5}}, {{3, 1, 5}, {7, 1}}};
        for (long[][] s : shapes) {
            for (DType ta : TYPES) {
                for (DType tb : new DType[] {DType.FLOAT32, DType.FLOAT64, DType.INT64}) {
                    Layout la = Layout.values()[(ta.ordinal() + s[0].length) % 4], lb = Layout.values()[(tb.ordinal() + 1) % 4];
                    Tensor[] x = ta == DType.INT64 ? ints(1, ta, la, 5, s[0]) : normal(2, ta, la, 2, s[0]);
                    Tensor[] y = tb == DType.INT64 ? ints(3, tb, lb, 5, s[1]) : normal(4, tb, lb, 2, s[1]);
                    try {
                        for (BinaryOp op : BinaryOp.values()) {
                            DType widest = DType.promote(ta, tb);
                            try (Tensor e = org.ood4j.engine.Backends.of(Device.CPU).elementwise().binary(op, x[0], y[0]);
                                 Tensor a = org.ood4j.engine.Backends.of(Device.CUDA).elementwise().binary(op, x[1], y[1])) {
                                assertMatches(e, a, tol(widest == DType.INT64 ? DType.FLOAT64 : widest) * 10, op + " " + ta + " " + tb);
                            }
                        }
                    } finally {
                        closeAll(x);
                        closeAll(y);
                    }
                }
            }
        }
    }

    @Test
    void largeTensorsAndNanInfPropagation() {
        Tensor[] x = normal(9, DType.FLOAT32, Layout.CONTIGUOUS, 100, 100_000);
        try (Tensor special = Tensor.of(new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f});
             Tensor s = special.to(Device.CUDA)) {
            same(x, Tensor::exp, 1e-5, "exp of 100000");
            same(x, t -> t.maximum(t.mul(0.5)), 1e-6, "maximum of 100000");
            same(new Tensor[] {special, s}, Tensor::sigmoid, 1e-6, "sigmoid of NaN/inf/0");
            same(new Tensor[] {special, s}, Tensor::sign, 0, "sign");
            same(new Tensor[] {special, s}, Tensor::nonFinite, 0, "nonFinite");
            same(new Tensor[] {special, s}, t -> t.clamp(-1, 1), 0, "clamp keeps NaN");
        } finally {
            closeAll(x);
        }
    }

    @Test
    void whereAndCopyKeepInt64Exact() {
        long big = (1L << 60) + 12345;
        try (Tensor a = Tensor.of(new long[] {big, -big, 7}); Tensor b = Tensor.of(new long[] {1, 2, 3});
             Tensor c = Tensor.of(new long[] {1, 0, 1});
             Tensor da = a.to(Device.CUDA); Tensor db = b.to(Device.CUDA); Tensor dc = c.to(Device.CUDA);
             Tensor w = Tensor.where(dc, da, db); Tensor copied = da.copy()) {
            assertArrayEquals(new long[] {big, 2, 7}, w.toLongArray());
            assertArrayEquals(a.toLongArray(), copied.toLongArray());
        }
        Tensor[] cond = ints(5, DType.INT64, Layout.EXPANDED, 2, 7, 257);
        Tensor[] x = normal(6, DType.FLOAT32, Layout.TRANSPOSED, 1, 7, 257);
        Tensor[] y = normal(7, DType.FLOAT64, Layout.SLICED, 1, 257);
        try (Tensor e = Tensor.where(cond[0], x[0], y[0]); Tensor r = Tensor.where(cond[1], x[1], y[1])) {
            assertMatches(e, r, 1e-12, "where mixed");
        } finally {
            closeAll(cond);
            closeAll(x);
            closeAll(y);
        }
        for (DType from : TYPES) {
            for (DType to : TYPES) {
                Tensor[] v = ints(8, from, Layout.TRANSPOSED, 1000, 7, 257);
                try {
                    same(v, t -> t.to(to), 0, "cast " + from + " -> " + to);
                } finally {
                    closeAll(v);
                }
            }
        }
    }

    /**
     * x[1:] = x[:-1] and the like: source and destination overlap in one storage. The CPU's
     * contiguous copy reads the source whole first (memmove); a GPU's DtoD copy or kernel has no
     * defined result there (the emulator refuses overlapping DtoD copies), so CUDA must stage it.
     */
    @Test
    void overlappingCopiesGiveTheCpusResult() {
        int n = 1000;
        for (int shift : new int[] {1, -1, 7}) {
            try (Tensor host = Tensor.rand(new SplittableRandom(shift + 10), DType.FLOAT32, -1, 1, n);
                 Tensor dev = host.to(Device.CUDA)) {
                for (Tensor x : new Tensor[] {host, dev}) {
                    long from = Math.max(0, -shift), to = Math.max(0, shift);
                    x.slice(0, to, to + n - Math.abs(shift)).copyFrom(x.slice(0, from, from + n - Math.abs(shift)));
                }
                assertArrayEquals(host.toFloatArray(), dev.toFloatArray(), "contiguous, shift " + shift);
            }
        }
        // strided (the kernel path): the source as it was before the copy, as the CPU's
        // contiguous copy gives (its strided loop's result on an overlap depends on its order)
        try (Tensor host = Tensor.rand(new SplittableRandom(3), DType.FLOAT64, -1, 1, 40, 40);
             Tensor dev = host.to(Device.CUDA); Tensor before = host.t().slice(0, 0, 39).contiguous()) {
            host.slice(0, 1, 40).copyFrom(before);
            dev.slice(0, 1, 40).copyFrom(dev.t().slice(0, 0, 39));
            assertArrayEquals(host.toDoubleArray(), dev.toDoubleArray(), "transposed onto itself");
        }
    }

    @Test
    void transfersRoundTripAcrossStagingChunks() {
        for (long n : new long[] {0, 1, 7, 1_000_003, 5_000_000}) {
            try (Tensor x = Tensor.rand(new SplittableRandom(n), DType.FLOAT32, -1, 1, n);
                 Tensor d = x.to(Device.CUDA); Tensor back = d.to(Device.CPU)) {
                assertArrayEquals(x.toFloatArray(), back.toFloatArray(), "round trip of " + n);
            }
        }
        try (Tensor z = Tensor.zeros(DType.FLOAT64, Device.CUDA, 3, 1000)) {
            assertEquals(0, z.toDoubleArray()[2999]);
        }
    }

    @Test
    void tensorsMadeOnOneThreadAreUsableOnAnother() throws Exception {
        try (Tensor x = Tensor.rand(new SplittableRandom(1), DType.FLOAT32, -1, 1, 1_000_000); Tensor d = x.to(Device.CUDA)) {
            Thread t = new Thread(() -> {
                try (Tensor y = d.mul(2); Tensor back = y.to(Device.CPU); Tensor expected = x.mul(2)) {
                    assertArrayEquals(expected.toFloatArray(), back.toFloatArray());
                }
            });
            Throwable[] failure = new Throwable[1];
            t.setUncaughtExceptionHandler((th, e) -> failure[0] = e);
            t.start();
            t.join();
            if (failure[0] != null) fail(failure[0]);
        }
    }
}
