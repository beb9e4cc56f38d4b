package org.ood4j.engine;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class TensorTest {

    @Test
    void emptyTensorsReuseDirtyBlocksAndOpsOverwriteEveryElement() {
        int n = 2_000_000;   // 8 MB of float32: a block size the host cache keeps
        for (int round = 0; round < 2; round++) {
            try (Tensor dirty = Tensor.full(Double.NaN, DType.FLOAT32, n)) {
                assertTrue(Double.isNaN(dirty.getDouble(n - 1)));
            }
            if (round == 0) {
                try (Tensor z = Tensor.zeros(DType.FLOAT32, n)) {   // zeros stay zeros on a reused block
                    for (double v : z.toDoubleArray()) assertEquals(0.0, v);
                }
            } else {
                try (Tensor ids = Tensor.arange(n); Tensor x = ids.to(DType.FLOAT32); Tensor y = x.add(x); Tensor c = y.clamp(0, 1e6)) {
                    double[] xs = x.toDoubleArray(), ys = y.toDoubleArray(), cs = c.toDoubleArray();
                    for (int i = 0; i < n; i++) {
                        assertEquals((float) i, xs[i]);
                        assertEquals(2.0 * (float) i, ys[i]);
                        assertEquals(Math.min(2.0 * (float) i, 1e6), cs[i]);
                    }
                }
            }
        }
        try (Tensor e = Tensor.empty(DType.FLOAT64, 3, 4)) {
            assertArrayEquals(new long[] {3, 4}, e.shape());
            assertEquals(DType.FLOAT64, e.dtype());
            assertTrue(e.isContiguous());
        }
    }

    @Test
    void createsFromArraysAndReadsBack() {
        try (Tensor t = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3)) {
            assertArrayEquals(new long[] {2, 3}, t.shape());
            assertEquals(DType.FLOAT32, t.dtype());
            assertEquals(Device.CPU, t.device());
            assertEquals(6, t.getDouble(1, 2));
            assertArrayEquals(new double[] {1, 2, 3, 4, 5, 6}, t.toDoubleArray());
        }
        try (Tensor t = Tensor.of(new long[] {Long.MAX_VALUE, -3})) {
            assertArrayEquals(new long[] {Long.MAX_VALUE, -3}, t.toLongArray(), "int64 round trip is exact");
        }
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[5], 2, 3));
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[][] {{1, 2}, {3}}));
    }

    @Test
    void viewsShareStorageAndSeeTheRightElements() {
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.of(new double[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 3, 4);
            Tensor tt = t.t();
            assertArrayEquals(new long[] {4, 3}, tt.shape());
            assertFalse(tt.isContiguous());
            assertArrayEquals(new double[] {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, tt.toDoubleArray());
            assertArrayEquals(new double[] {5, 6}, t.slice(1, 1, 3).select(0, 1).toDoubleArray());
            assertArrayEquals(new double[] {4, 5, 6, 7}, t.select(0, 1).toDoubleArray());
            assertArrayEquals(new long[] {3, 1, 4}, t.unsqueeze(1).shape());
            assertArrayEquals(new long[] {3, 4}, t.unsqueeze(1).squeeze(1).shape());
            Tensor col = t.slice(1, 0, 1);                       // (3, 1)
            assertArrayEquals(new double[] {0, 0, 4, 4, 8, 8}, col.expand(3, 2).toDoubleArray());
            assertArrayEquals(new long[] {2, 6}, t.reshape(2, -1).shape());
            // reshape of a non-contiguous view copies
            assertArrayEquals(new double[] {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, tt.reshape(-1).toDoubleArray());
            Tensor p = Tensor.zeros(DType.FLOAT32, 2, 3, 4).permute(2, 0, 1);
            assertArrayEquals(new long[] {4, 2, 3}, p.shape());
            // writes through one view are seen by another
            t.select(0, 2).set(-1, 3);
            assertEquals(-1, t.getDouble(2, 3));
            assertEquals(-1, tt.getDouble(3, 2));
        }
    }

    @Test
    void viewErrorsNameTheShape() {
        try (Tensor t = Tensor.zeros(DType.FLOAT32, 3, 4)) {
            var e = assertThrows(IllegalArgumentException.class, () -> t.reshape(5, -1));
            assertTrue(e.getMessage().contains("[3, 4]"), e.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> t.slice(0, 2, 5));
            assertThrows(IndexOutOfBoundsException.class, () -> t.select(1, 4));
            assertThrows(IllegalArgumentException.class, () -> t.squeeze(0));
            assertThrows(IllegalArgumentException.class, () -> t.expand(3, 5));
            assertThrows(IllegalArgumentException.class, () -> t.permute(0, 0));
            assertThrows(IllegalArgumentException.class, () -> t.sum(2));
        }
    }

    @Test
    void useAfterCloseThrowsNamingTheShape() {
        Tensor t = Tensor.zeros(DType.FLOAT64, 2, 5);
        t.close();
        var e = assertThrows(IllegalStateException.class, t::toDoubleArray);
        assertTrue(e.getMessage().contains("[2, 5]") && e.getMessage().contains("closed"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> t.add(1));
        assertThrows(IllegalStateException.class, t::close, "closing twice fails loudly");
    }

    @Test
    void storageIsFreedWhenTheLastViewCloses() {
        long before = MemoryStats.liveBlocks();
        Tensor t = Tensor.zeros(DType.FLOAT32, 100);
        Tensor v = t.slice(0, 10, 20);
        assertEquals(before + 1, MemoryStats.liveBlocks());
        t.close();
        assertEquals(before + 1, MemoryStats.liveBlocks(), "the view keeps the storage alive");
        try (Tensor sum = v.sum()) {
            assertEquals(0, sum.item());
        }
        v.close();
        assertEquals(before, MemoryStats.liveBlocks());
    }

    @Test
    void scopeFreesWhatItDoesNotKeep() {
        long before = MemoryStats.liveBlocks();
        Tensor kept;
        try (Scope outer = Scope.open()) {
            try (Scope inner = Scope.open()) {
                Tensor a = Tensor.ones(DType.FLOAT32, 10);
                Tensor b = a.mul(3).add(1);
                kept = inner.keep(b.sum());
                a.close(); // closing inside a scope is fine; the scope skips it
            }
            assertEquals(40, kept.item());
            assertEquals(before + 1, MemoryStats.liveBlocks(), "only the kept tensor is alive");
        }
        assertTrue(kept.isClosed(), "the outer scope owned the kept tensor");
        assertEquals(before, MemoryStats.liveBlocks());
    }

    @Test
    void keptOutOfTheOutermostScopeIsUnowned() {
        Tensor t;
        try (Scope s = Scope.open()) {
            t = s.keep(Tensor.ones(DType.FLOAT32, 3));
        }
        assertFalse(t.isClosed());
        t.close();
    }

    @Test
    void randomTensorsAreSeeded() {
        try (Scope s = Scope.open()) {
            double[] a = Tensor.randn(new SplittableRandom(7), DType.FLOAT64, 50).toDoubleArray();
            double[] b = Tensor.randn(new SplittableRandom(7), DType.FLOAT64, 50).toDoubleArray();
            assertArrayEquals(a, b);
            long[] ints = Tensor.rand(new SplittableRandom(1), DType.INT64, 0, 3, 1000).toLongArray();
            for (long v : ints) assertTrue(v >= 0 && v < 3);
        }
    }

    @Test
    void dtypeConversionAndCopies() {
        try (Scope s = Scope.open()) {
            Tensor f = Tensor.of(new float[] {1.5f, -2.5f, 3});
            assertArrayEquals(new long[] {1, -2, 3}, f.to(DType.INT64).toLongArray());
            Tensor c = f.copy();
            c.set(9, 0);
            assertEquals(1.5, f.getDouble(0), "copy has its own storage");
            assertEquals(DType.FLOAT64, f.to(DType.FLOAT64).dtype());
        }
    }

    @Test
    void cudaIsRefusedWithTheProbeReason() {
        CudaStatus status = Backends.cudaStatus();
        assertNotNull(status.description());
        assertFalse(status.description().isBlank());
        if (!status.available()) {
            try (Tensor t = Tensor.zeros(DType.FLOAT32, 2)) {
                var e = assertThrows(IllegalStateException.class, () -> t.to(Device.CUDA));
                assertTrue(e.getMessage().contains(status.description()), e.getMessage());
            }
        }
    }

    @Test
    void catJoinsAndCopyFromWritesSlices() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.of(new double[] {1, 2, 3, 4}, 2, 2);
            Tensor b = Tensor.of(new float[] {5, 6}, 1, 2);
            Tensor c = Tensor.cat(java.util.List.of(a, b), 0);
            assertArrayEquals(new long[] {3, 2}, c.shape());
            assertEquals(DType.FLOAT64, c.dtype());
            assertArrayEquals(new double[] {1, 2, 3, 4, 5, 6}, c.toDoubleArray());
            Tensor d = Tensor.cat(java.util.List.of(a, a.t()), 1);
            assertArrayEquals(new double[] {1, 2, 1, 3, 3, 4, 2, 4}, d.toDoubleArray());
            assertThrows(IllegalArgumentException.class, () -> Tensor.cat(java.util.List.of(a, Tensor.zeros(DType.FLOAT64, 2, 3)), 0));
            Tensor out = Tensor.zeros(DType.FLOAT32, 4);
            out.slice(0, 1, 3).copyFrom(Tensor.of(new double[] {7, 8}));
            assertArrayEquals(new double[] {0, 7, 8, 0}, out.toDoubleArray());
            assertThrows(IllegalArgumentException.class, () -> out.reshape(1, 4).expand(3, 4).copyFrom(out));
        }
    }
}
