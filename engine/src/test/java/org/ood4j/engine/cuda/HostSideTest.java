package org.ood4j.engine.cuda;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** The host-side arithmetic of the CUDA backend, which needs no GPU. */
class HostSideTest {
    @Test
    void contiguousOperandsMergeToRankOne() {
        long[] g = Geometry.pack(new long[] {3, 4, 5}, new long[] {20, 5, 1}, new long[] {20, 5, 1});
        assertEquals(Geometry.LONGS, g.length);
        assertEquals(60, g[0]);
        assertEquals(1, g[1]);
        assertEquals(60, g[2]);
        assertEquals(1, g[2 + Geometry.MAX_RANK]);
        assertEquals(1, g[2 + 2 * Geometry.MAX_RANK]);
    }

    @Test
    void broadcastAndTransposedDimsStaySeparate() {
        // out (3, 4) contiguous; x broadcast along dim 0 (stride 0); y transposed.
        long[] g = Geometry.pack(new long[] {3, 4}, new long[] {4, 1}, new long[] {0, 1}, new long[] {1, 3});
        assertEquals(12, g[0]);
        assertEquals(2, g[1]);
        assertEquals(3, g[2]);
        assertEquals(4, g[3]);
        int s = 2 + Geometry.MAX_RANK;
        assertArrayEquals(new long[] {4, 1}, new long[] {g[s], g[s + 1]});
        assertArrayEquals(new long[] {0, 1}, new long[] {g[s + 8], g[s + 9]});
        assertArrayEquals(new long[] {1, 3}, new long[] {g[s + 16], g[s + 17]});
    }

    @Test
    void sizeOneDimsAreDroppedAndScalarsHaveRankZero() {
        long[] g = Geometry.pack(new long[] {1, 7, 1}, new long[] {7, 1, 1});
        assertEquals(7, g[0]);
        assertEquals(1, g[1]);
        long[] scalar = Geometry.pack(new long[] {}, new long[] {});
        assertEquals(1, scalar[0]);
        assertEquals(0, scalar[1]);
    }

    @Test
    void moreThanEightUnmergeableDimsAreRefused() {
        long[] shape = new long[9], strides = new long[9];
        for (int i = 0; i < 9; i++) {
            shape[i] = 2;
            strides[i] = 1L << (2 * (8 - i)); // gaps everywhere: nothing merges
        }
        assertNull(Geometry.pack(shape, strides));
    }

    @Test
    void allocatorBucketsBoundTheSlack() {
        assertEquals(512, DeviceAllocator.bucket(0));
        assertEquals(512, DeviceAllocator.bucket(1));
        assertEquals(1024, DeviceAllocator.bucket(513));
        for (long bytes : new long[] {1 << 20, (1 << 20) + 1, 3_000_000, 10_000_000_000L}) {
            long b = DeviceAllocator.bucket(bytes);
            assertTrue(b >= bytes && b <= bytes * 1.25 + 1, bytes + " -> " + b);
            assertEquals(b, DeviceAllocator.bucket(b), "a bucket is its own bucket");
        }
    }
}
