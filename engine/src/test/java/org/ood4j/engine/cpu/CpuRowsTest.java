package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** Tensor.reduceRows: every row once, any dtype and strides, in parallel for big inputs. */
class CpuRowsTest {
    @Test
    void reducesEachRowToFloat64() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(new SplittableRandom(1), DType.FLOAT32, 5000, 33);   // parallel path
            Tensor sums = x.reduceRows((row, scratch, n) -> {
                assertTrue(scratch.length >= n);
                double t = 0;
                for (int j = 0; j < n; j++) t += row[j];
                return t;
            });
            assertEquals(DType.FLOAT64, sums.dtype());
            assertArrayEquals(new long[] {5000}, sums.shape());
            assertArrayEquals(x.to(DType.FLOAT64).sum(1).toDoubleArray(), sums.toDoubleArray(), 1e-9);
            Tensor lse = x.reduceRows((row, scratch, n) -> RowMath.logSumExp(row, n));
            assertArrayEquals(x.to(DType.FLOAT64).logsumexp(1).toDoubleArray(), lse.toDoubleArray(), 1e-12);
        }
    }

    @Test
    void stridedViewsAndEdgeShapes() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new double[][] {{1, 2, 3}, {4, 5, 6}});
            assertArrayEquals(new double[] {5, 7, 9}, x.t().reduceRows((r, b, n) -> r[0] + r[1]).toDoubleArray());
            assertArrayEquals(new double[] {3, 6}, x.reduceRows((r, b, n) -> RowMath.max(r, n)).toDoubleArray());
            assertArrayEquals(new double[] {2, 2}, x.reduceRows((r, b, n) -> RowMath.argmax(r, n)).toDoubleArray());
            assertEquals(0, Tensor.zeros(DType.FLOAT32, 0, 4).reduceRows((r, b, n) -> 1).numel());
            assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(DType.FLOAT32, 3).reduceRows((r, b, n) -> 1));
        }
    }
}
