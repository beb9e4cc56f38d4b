package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** Matrix products against a float64 triple loop. */
class CpuMatmulTest {
    private static final int[] SIZES = {1, 7, 257};
    private Scope scope;
    private final SplittableRandom rng = new SplittableRandom(3);

    @BeforeEach void open() { scope = Scope.open(); }
    @AfterEach void close() { scope.close(); }

    @Test
    void twoDimensionalAllSizeCombinations() {
        for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            for (int m : SIZES) {
                for (int k : SIZES) {
                    for (int n : SIZES) {
                        Tensor a = Tensor.randn(rng, type, m, k), b = Tensor.randn(rng, type, k, n);
                        check(a, b);
                    }
                }
            }
        }
    }

    /** x W^T with a few classes (a linear head) goes by row dots: any row count, depth and strides of x, up to 16 classes and past. */
    @Test
    void linearHeadsOfAFewClasses() {
        for (int n : new int[] {1, 3, 10, 16, 17}) {
            for (int k : new int[] {1, 17, 512}) {
                for (int m : new int[] {1, 70, 130}) {
                    Tensor w = Tensor.randn(rng, DType.FLOAT32, n, k);
                    check(Tensor.randn(rng, DType.FLOAT32, m, k), w.t());
                    check(Tensor.randn(rng, DType.FLOAT32, k, m).t(), w.t());   // x itself a transposed view
                }
            }
        }
    }

    @Test
    void batched() {
        for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            check(Tensor.randn(rng, type, 3, 7, 257), Tensor.randn(rng, type, 3, 257, 7));
            check(Tensor.randn(rng, type, 5, 1, 7), Tensor.randn(rng, type, 5, 7, 1));
            check(Tensor.randn(rng, type, 2, 257, 7), Tensor.randn(rng, type, 2, 7, 257));
        }
    }

    @Test
    void twoDimensionalOperandBroadcastsOverBatch() {
        for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            check(Tensor.randn(rng, type, 4, 7, 9), Tensor.randn(rng, type, 9, 257));
            check(Tensor.randn(rng, type, 7, 9), Tensor.randn(rng, type, 4, 9, 5));
            check(Tensor.randn(rng, type, 1, 7, 9), Tensor.randn(rng, type, 3, 9, 5));   // batch of one
            check(Tensor.randn(rng, type, 3, 7, 9), Tensor.randn(rng, type, 1, 9, 5));
        }
    }

    @Test
    void transposedAndSlicedViews() {
        for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            Tensor base = Tensor.randn(rng, type, 257, 40);
            try (Tensor at = base.t();                                    // (40, 257), column-major
                 Tensor bs = Tensor.randn(rng, type, 300, 20).slice(0, 20, 277).slice(1, 3, 10);  // (257, 7), strided
                 Tensor a3 = Tensor.randn(rng, type, 2, 9, 7).transpose(1, 2);                    // (2, 7, 9)
                 Tensor b3 = Tensor.randn(rng, type, 2, 11, 9).transpose(1, 2)) {                 // (2, 9, 11)
                check(at, bs);
                check(at, base);
                check(a3, b3);
                try (Tensor row = at.slice(0, 5, 6)) {              // (1, 257)
                    check(row, bs);
                }
            }
        }
    }

    @Test
    void mixedDtypesPromote() {
        Tensor a = Tensor.randn(rng, DType.FLOAT32, 7, 9), b = Tensor.randn(rng, DType.FLOAT64, 9, 7);
        assertEquals(DType.FLOAT64, check(a, b).dtype());
        assertEquals(DType.FLOAT64, check(b, a).dtype());
    }

    /**
     * A float32 A of a float64 product is read where it lies (a row block at an offset, rows with a
     * gap between them, one row) or packed first (a transposed view): either way, the bits of the
     * product of its float64 copy.
     */
    @Test
    void floatRowsOfADoubleProductReadInPlace() {
        Tensor b = Tensor.randn(rng, DType.FLOAT64, 40, 33);
        Tensor base = Tensor.randn(rng, DType.FLOAT32, 300, 50);
        for (Tensor a : new Tensor[] {Tensor.randn(rng, DType.FLOAT32, 100, 40), base.slice(0, 17, 290).slice(1, 0, 40),
                base.slice(0, 5, 6).slice(1, 10, 50), Tensor.randn(rng, DType.FLOAT32, 60, 2, 40).select(1, 1), base.slice(0, 0, 40).t()}) {
            try (Tensor wide = a.to(DType.FLOAT64)) {
                assertArrayEquals(wide.matmul(b).toDoubleArray(), a.matmul(b).toDoubleArray(), java.util.Arrays.toString(a.strides()));
            }
        }
    }

    @Test
    void refusesMismatchedOperands() {
        Tensor a = Tensor.randn(rng, DType.FLOAT32, 7, 9);
        var e = assertThrows(IllegalArgumentException.class, () -> a.matmul(Tensor.randn(rng, DType.FLOAT32, 8, 3)));
        assertTrue(e.getMessage().contains("[7, 9]") && e.getMessage().contains("[8, 3]"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Tensor.randn(rng, DType.FLOAT32, 2, 7, 9).matmul(Tensor.randn(rng, DType.FLOAT32, 3, 9, 4)));
        assertThrows(IllegalArgumentException.class, () -> a.matmul(Tensor.randn(rng, DType.FLOAT32, 9)));
        assertThrows(IllegalArgumentException.class, () -> a.matmul(Tensor.arange(18).reshape(9, 2)));
    }

    /** Compares a @ b to the definition, each element to within the rounding of its own sum. */
    private static Tensor check(Tensor a, Tensor b) {
        Tensor c = a.matmul(b);
        boolean batched = a.rank() == 3 || b.rank() == 3;
        int batch = (int) Math.max(a.rank() == 3 ? a.size(0) : 1, b.rank() == 3 ? b.size(0) : 1);
        int m = (int) a.size(-2), k = (int) a.size(-1), n = (int) b.size(-1);
        assertArrayEquals(batched ? new long[] {batch, m, n} : new long[] {m, n}, c.shape());
        assertEquals(DType.promote(a.dtype(), b.dtype()), c.dtype());
        double[] av = a.toDoubleArray(), bv = b.toDoubleArray(), cv = c.toDoubleArray();
        double eps = c.dtype() == DType.FLOAT32 ? 1e-6 : 1e-15;
        for (int t = 0; t < batch; t++) {
            int ao = a.rank() == 3 && a.size(0) > 1 ? t * m * k : 0;
            int bo = b.rank() == 3 && b.size(0) > 1 ? t * k * n : 0;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0, abs = 0;
                    for (int p = 0; p < k; p++) {
                        double x = av[ao + i * k + p] * bv[bo + p * n + j];
                        sum += x;
                        abs += Math.abs(x);
                    }
                    assertEquals(sum, cv[(t * m + i) * n + j], eps * (k + 2) * abs + 1e-300);
                }
            }
        }
        return c;
    }
}
