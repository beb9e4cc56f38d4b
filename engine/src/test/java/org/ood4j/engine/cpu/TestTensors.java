package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;

import org.ood4j.engine.DType;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/**
 * Inputs and float64 references shared by the CPU op tests: random tensors in several memory
 * layouts, and the rows of a flat C-order array along one dimension.
 */
final class TestTensors {
    private TestTensors() {}

    /** Odd sizes (1, 7, 257, 1000) in 1-D, 2-D and 3-D. */
    static final long[][] SHAPES = {{7, 257}, {1000, 7}, {1, 1000}, {3, 7, 5}, {257}, {1}};

    /** How the elements of an input sit in memory. */
    enum Layout {
        CONTIGUOUS,
        /** A permuted view of a tensor stored in reverse dimension order. */
        TRANSPOSED,
        /** A slice of the last dimension of a larger tensor. */
        SLICED,
        /** A broadcast view (stride 0) along its first non-trivial dimension. */
        EXPANDED
    }

    /** One test input: a shape, a dimension to work along (sometimes negative), a layout, a dtype. */
    record Case(long[] shape, int dim, Layout layout, DType dtype) {
        int d() { return dim < 0 ? dim + shape.length : dim; }

        long n() { return shape[d()]; }

        long seed() { return Arrays.hashCode(shape) * 31L + dim * 7L + layout.ordinal() * 3L + dtype.ordinal(); }

        @Override
        public String toString() { return Shape.toString(shape) + " dim " + dim + " " + layout + " " + dtype; }
    }

    /** Every shape x dim x layout x floating dtype; dims count from the end for half the layouts. */
    static Stream<Case> cases() {
        Stream.Builder<Case> b = Stream.builder();
        for (long[] shape : SHAPES) {
            for (int d = 0; d < shape.length; d++) {
                for (Layout layout : Layout.values()) {
                    int dim = layout.ordinal() % 2 == 0 ? d : d - shape.length;
                    for (DType dtype : new DType[] {DType.FLOAT64, DType.FLOAT32}) {
                        b.add(new Case(shape, dim, layout, dtype));
                    }
                }
            }
        }
        return b.build();
    }

    /** Standard normal values for a case. */
    static Tensor normal(Case c) {
        SplittableRandom rng = new SplittableRandom(c.seed());
        return inLayout(c.layout(), c.shape(), s -> Tensor.randn(rng, c.dtype(), s));
    }

    /** Integers in [0, bound) as the case's dtype: many ties. */
    static Tensor ties(Case c, int bound) {
        SplittableRandom rng = new SplittableRandom(c.seed());
        return inLayout(c.layout(), c.shape(), s -> {
            try (Tensor ints = Tensor.rand(rng, DType.INT64, 0, bound, s)) {
                return ints.to(c.dtype());
            }
        });
    }

    /** A tensor of the given logical shape, laid out in memory as {@code layout} says; fill makes the storage. */
    static Tensor inLayout(Layout layout, long[] shape, Function<long[], Tensor> fill) {
        int rank = shape.length;
        switch (layout) {
            case CONTIGUOUS -> { return fill.apply(shape); }
            case TRANSPOSED -> {
                long[] reversed = new long[rank];
                int[] order = new int[rank];
                for (int i = 0; i < rank; i++) {
                    reversed[i] = shape[rank - 1 - i];
                    order[i] = rank - 1 - i;
                }
                try (Tensor base = fill.apply(reversed)) {
                    return base.permute(order);
                }
            }
            case SLICED -> {
                long[] wider = shape.clone();
                wider[rank - 1] += 3;
                try (Tensor base = fill.apply(wider)) {
                    return base.slice(rank - 1, 2, 2 + shape[rank - 1]);
                }
            }
            default -> {
                int stretched = 0;
                while (stretched < rank - 1 && shape[stretched] == 1) stretched++;
                long[] narrow = shape.clone();
                narrow[stretched] = 1;
                try (Tensor base = fill.apply(narrow)) {
                    return base.expand(shape);
                }
            }
        }
    }

    /** Shape without dimension d, or with it set to 1 when keepdim. */
    static long[] reducedShape(long[] shape, int d, boolean keepdim) {
        if (keepdim) {
            long[] s = shape.clone();
            s[d] = 1;
            return s;
        }
        long[] s = new long[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) if (i != d) s[j++] = shape[i];
        return s;
    }

    /**
     * The rows of a C-order array along dimension d: row r holds the values along d at the r-th
     * position (in C order) of the other dimensions.
     */
    static double[][] rowsAlong(double[] flat, long[] shape, int d) {
        int n = (int) shape[d], outer = product(shape, 0, d), inner = product(shape, d + 1, shape.length);
        double[][] rows = new double[outer * inner][n];
        for (int r = 0; r < rows.length; r++) {
            for (int j = 0; j < n; j++) rows[r][j] = flat[flatIndex(shape, d, r, j)];
        }
        return rows;
    }

    static int product(long[] shape, int from, int to) {
        int p = 1;
        for (int i = from; i < to; i++) p *= (int) shape[i];
        return p;
    }

    /** Row r of {@link #rowsAlong} sits at flat position (r / inner) * n * inner + r % inner + j * inner. */
    static int flatIndex(long[] shape, int d, int row, int j) {
        int inner = product(shape, d + 1, shape.length), n = (int) shape[d];
        return (row / inner) * n * inner + row % inner + j * inner;
    }

    /** Relative tolerance for results stored in a dtype. */
    static double tolerance(DType dtype) {
        return dtype == DType.FLOAT32 ? 1e-5 : 1e-12;
    }

    /** |expected - actual| <= tol * max(scale, |expected|); NaN and infinities must match exactly. */
    static void assertClose(double expected, double actual, double tol, double scale, String what) {
        if (Double.isNaN(expected) || Double.isInfinite(expected)) {
            assertEquals(expected, actual, what);
            return;
        }
        double bound = tol * Math.max(scale, Math.abs(expected));
        if (!(Math.abs(expected - actual) <= bound)) {
            fail(what + ": expected " + expected + ", got " + actual + " (tolerance " + bound + ")");
        }
    }

    static void assertAllClose(double[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) assertClose(expected[i], actual[i], tol, 1, what + " [" + i + "]");
    }
}
