package org.ood4j.engine.cuda;

import static org.ood4j.engine.cuda.CudaTesting.*;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.ood4j.engine.Backends;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.ReduceOp;

class CudaReductionsTest {
    @BeforeEach
    void cuda() { assumeCuda(); }

    @Test
    void everyReductionAlongEveryDimMatchesTheCpu() {
        for (long[] shape : SHAPES) {
            for (Layout layout : Layout.values()) {
                for (DType dtype : new DType[] {DType.FLOAT32, DType.FLOAT64, DType.INT64}) {
                    Tensor[] x = dtype == DType.INT64 ? ints(shape.length, dtype, layout, 50, shape)
                            : normal(shape.length * 7L + layout.ordinal(), dtype, layout, 2, shape);
                    try {
                        for (int d = 0; d < shape.length; d++) {
                            for (ReduceOp op : ReduceOp.values()) {
                                for (boolean keep : new boolean[] {false, true}) {
                                    int dim = keep ? d - shape.length : d;
                                    same(x, t -> Backends.of(t.device()).reductions().reduce(op, t, dim, keep),
                                            tol(dtype == DType.INT64 ? DType.FLOAT64 : dtype) * 10,
                                            op + " dim " + dim + " " + layout + " " + dtype + " " + java.util.Arrays.toString(shape));
                                }
                            }
                        }
                    } finally {
                        closeAll(x);
                    }
                }
            }
        }
    }

    @Test
    void softmaxFamilyOnLargeRowsAndExtremeInputs() {
        for (DType dtype : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            for (double scale : new double[] {1, 1e4}) {
                Tensor[] x = normal(11, dtype, Layout.CONTIGUOUS, scale, 1000, 1000);
                Tensor[] t = normal(12, dtype, Layout.TRANSPOSED, scale, 257, 7);
                try {
                    double tol = tol(dtype) * (scale > 1 ? 10 : 5);
                    same(x, v -> v.softmax(1), tol, "softmax " + dtype + " x" + scale);
                    same(x, v -> v.logSoftmax(1), tol, "logSoftmax " + dtype + " x" + scale);
                    same(x, v -> v.logsumexp(1), tol, "logsumexp " + dtype + " x" + scale);
                    same(t, v -> v.softmax(0), tol, "softmax dim 0 " + dtype);
                    same(t, v -> v.logSoftmax(-1), tol, "logSoftmax transposed " + dtype);
                } finally {
                    closeAll(x);
                    closeAll(t);
                }
            }
            double inf = Double.POSITIVE_INFINITY;
            double[][] rows = {
                {0, -inf, 3, -inf}, {-inf, -inf, -inf, -inf}, {1, inf, 2, 3}, {1, Double.NaN, 2, 3}, {1e4, -1e4, 1e4 - 1, 0}};
            try (Tensor h = Tensor.of(rows); Tensor typed = h.to(dtype); Tensor d = typed.to(Device.CUDA)) {
                Tensor[] p = {typed, d};
                same(p, v -> v.softmax(1), 1e-6, "softmax extremes " + dtype);
                same(p, v -> v.logSoftmax(1), 1e-6, "logSoftmax extremes " + dtype);
                same(p, v -> v.logsumexp(1), 1e-6, "logsumexp extremes " + dtype);
                same(p, v -> v.max(1), 0, "max extremes " + dtype);
                same(p, v -> v.argmax(1), 0, "argmax extremes " + dtype);
                same(p, v -> v.normL2(1, false), 1e-6, "normL2 extremes " + dtype);
                same(p, v -> v.countNonFinite(1), 0, "countNonFinite " + dtype);
            }
        }
    }

    @Test
    void longRowsAndManyRows() {
        Tensor[] wide = normal(21, DType.FLOAT32, Layout.CONTIGUOUS, 1, 3, 100_000);
        Tensor[] tall = normal(22, DType.FLOAT64, Layout.SLICED, 1, 100_000, 10);
        try {
            for (ReduceOp op : ReduceOp.values()) {
                same(wide, t -> Backends.of(t.device()).reductions().reduce(op, t, 1, false), 1e-4, op + " of rows of 100000");
                same(tall, t -> Backends.of(t.device()).reductions().reduce(op, t, 1, false), 1e-11, op + " of 100000 rows");
                same(tall, t -> Backends.of(t.device()).reductions().reduce(op, t, 0, false), 1e-10, op + " down 100000 rows");
            }
            same(wide, Tensor::sum, 1e-4, "sum of all");
            same(tall, Tensor::mean, 1e-10, "mean of all");
        } finally {
            closeAll(wide);
            closeAll(tall);
        }
    }

    @Test
    void int64SumsAreExact() {
        long big = (1L << 58) + 3;
        try (Tensor h = Tensor.of(new long[] {big, big, 1, -5}, 2, 2); Tensor d = h.to(Device.CUDA)) {
            same(new Tensor[] {h, d}, t -> t.sum(1), 0, "int64 sum");
            same(new Tensor[] {h, d}, t -> t.max(0), 0, "int64 max");
            same(new Tensor[] {h, d}, t -> t.min(1), 0, "int64 min");
        }
    }
}
