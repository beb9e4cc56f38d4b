package org.ood4j.engine;

import java.util.Arrays;

/** Static helpers on shapes and strides (in elements, not bytes). */
public final class Shape {
    private Shape() {}

    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    /** Row-major (C order) strides of a shape. */
    public static long[] contiguousStrides(long[] shape) {
        long[] strides = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = s;
            s *= Math.max(shape[i], 1);
        }
        return strides;
    }

    public static long[] check(long... shape) {
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
        }
        return shape.clone();
    }

    /** NumPy broadcasting: align from the right, a dimension of 1 stretches. */
    public static long[] broadcast(long[] a, long[] b) {
        int rank = Math.max(a.length, b.length);
        long[] out = new long[rank];
        for (int i = 0; i < rank; i++) {
            long da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            long db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException("shapes " + Arrays.toString(a) + " and " + Arrays.toString(b)
                        + " do not broadcast (dimension " + i + ": " + da + " vs " + db + ")");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** Normalises a possibly negative dimension index against a rank. */
    public static int dim(int dim, int rank) {
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) {
            throw new IllegalArgumentException("dimension " + dim + " out of range for rank " + rank);
        }
        return d;
    }

    public static String toString(long[] shape) {
        return Arrays.toString(shape);
    }

    /** {@code shape} with dimension {@code d} set to {@code size}. */
    public static long[] resized(long[] shape, int d, long size) {
        long[] s = shape.clone();
        s[d] = size;
        return s;
    }

    /** {@code shape} without dimension {@code d}. */
    public static long[] removed(long[] shape, int d) {
        long[] s = new long[shape.length - 1];
        System.arraycopy(shape, 0, s, 0, d);
        System.arraycopy(shape, d + 1, s, d, shape.length - d - 1);
        return s;
    }
}
