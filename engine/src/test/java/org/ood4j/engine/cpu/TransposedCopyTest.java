package org.ood4j.engine.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/** Copies and matmul packings of transposed views (read in tiles) give the transposed elements, at odd sizes past a tile. */
class TransposedCopyTest {
    private static final int ROWS = 131, COLS = 203;   // past two 64-tiles each way, neither a multiple of 64

    @Test
    void transposedViewsCopyIntoRowsAndBlocksOfRows() {
        SplittableRandom rng = new SplittableRandom(5);
        for (DType from : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            for (DType to : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                try (Scope s = Scope.open()) {
                    Tensor x = Tensor.randn(rng, from, COLS, ROWS);          // x.t() is ROWS x COLS, strides (1, ROWS)
                    double[][] expected = x.toDoubleMatrix();
                    Tensor whole = Tensor.empty(to, ROWS, COLS);
                    whole.copyFrom(x.t());
                    Tensor wide = Tensor.full(-1, to, ROWS + 3, COLS + 9);   // a block of a wider matrix: row stride COLS + 9
                    wide.slice(0, 2, ROWS + 2).slice(1, 5, COLS + 5).copyFrom(x.t());
                    double[][] w = whole.toDoubleMatrix(), b = wide.toDoubleMatrix();
                    for (int r = 0; r < ROWS; r++) {
                        for (int c = 0; c < COLS; c++) {
                            double e = to == DType.FLOAT32 ? (float) expected[c][r] : expected[c][r];
                            assertEquals(e, w[r][c], from + " -> " + to + " at (" + r + ", " + c + ")");
                            assertEquals(e, b[r + 2][c + 5], from + " -> " + to + " in the block at (" + r + ", " + c + ")");
                        }
                    }
                    for (int c = 0; c < COLS + 9; c++) assertEquals(-1, b[0][c], "untouched row 0");
                    for (int r = 0; r < ROWS + 3; r++) assertEquals(-1, b[r][COLS + 5], "untouched column " + (COLS + 5));
                }
            }
        }
    }

    @Test
    void productsOfTransposedViewsAreTheProductsOfTheirCopies() {
        SplittableRandom rng = new SplittableRandom(6);
        for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            try (Scope s = Scope.open()) {
                Tensor a = Tensor.randn(rng, type, COLS, ROWS), b = Tensor.randn(rng, type, COLS, 17);
                Tensor viaView = a.t().matmul(b), viaCopy = a.t().contiguous().matmul(b);
                assertArrayEquals(viaCopy.toDoubleArray(), viaView.toDoubleArray(), 0.0, type + ": the same packed operand, the same bits");
            }
        }
    }
}
