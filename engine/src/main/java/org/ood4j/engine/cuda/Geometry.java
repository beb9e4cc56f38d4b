package org.ood4j.engine.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code Strided} kernel parameter (kernels/src/main/cuda/common.cuh): an iteration shape and
 * up to four operands' element strides over it, as 42 longs {n, rank, shape[8], stride[4][8]}.
 * Dimensions of size 1 are dropped and neighbours that are contiguous in every operand merged
 * (the same rule as the CPU backend's loop), so most tensors arrive as rank 1 and a kernel's
 * index arithmetic needs no division.
 */
final class Geometry {
    static final int MAX_RANK = 8;
    static final int MAX_OPS = 4;
    static final int LONGS = 2 + MAX_RANK + MAX_OPS * MAX_RANK;

    private Geometry() {}

    /**
     * The packed parameter, or null when even the merged shape has more than {@link #MAX_RANK}
     * dimensions (callers then make operands contiguous or use the CPU path).
     */
    static long[] pack(long[] shape, long[]... strides) {
        if (strides.length > MAX_OPS) throw new IllegalArgumentException("at most " + MAX_OPS + " operands");
        List<Long> dims = new ArrayList<>();
        List<long[]> dimStrides = new ArrayList<>();
        long n = 1;
        for (int d = 0; d < shape.length; d++) {
            n *= shape[d];
            if (shape[d] == 1) continue;
            long[] s = new long[strides.length];
            for (int k = 0; k < strides.length; k++) s[k] = strides[k][d];
            int last = dims.size() - 1;
            if (last >= 0 && mergeable(dimStrides.get(last), shape[d], s)) {
                dims.set(last, dims.get(last) * shape[d]);
                dimStrides.set(last, s);
            } else {
                dims.add(shape[d]);
                dimStrides.add(s);
            }
        }
        if (dims.size() > MAX_RANK) return null;
        long[] p = new long[LONGS];
        p[0] = n;
        p[1] = dims.size();
        for (int d = 0; d < dims.size(); d++) {
            p[2 + d] = dims.get(d);
            for (int k = 0; k < strides.length; k++) p[2 + MAX_RANK + k * MAX_RANK + d] = dimStrides.get(d)[k];
        }
        return p;
    }

    /** Outer (strides s0) then inner (size n1, strides s1) are one dimension when s0 = s1 * n1 for all operands. */
    private static boolean mergeable(long[] s0, long n1, long[] s1) {
        for (int k = 0; k < s0.length; k++) {
            if (s0[k] != s1[k] * n1) return false;
        }
        return true;
    }
}
