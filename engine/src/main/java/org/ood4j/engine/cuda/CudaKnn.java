package org.ood4j.engine.cuda;

import java.util.ArrayList;
import java.util.List;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.KnnOps;
import org.ood4j.kernels.Kernels;

/**
 * Exact k-NN with knn.cu's fused tiles (k <= 32): distances are computed tile by tile and folded
 * into per-query k-best lists in registers, never a Q x N matrix. The bank is split into ranges
 * so that small query batches still fill the device; a second kernel merges the ranges' lists.
 * Larger k runs on the CPU backend. L2 distances are computed directly (sum of squared
 * differences), so an exact duplicate scores 0 as on the CPU, which re-ranks exactly in float64;
 * near-ties may order differently within float32 rounding.
 */
final class CudaKnn implements KnnOps {
    /** One list entry per lane of a warp. */
    static final int MAX_K = 32;
    private static final int QUERY_TILE = 32, BANK_TILE = 64;
    private static final Kernels.Module M = Kernels.Module.KNN;

    @Override
    public Tensor[] search(Tensor queries, Tensor bank, int k, Metric metric) {
        KnnOps.check(queries, bank, k, metric);
        if (k > MAX_K) {
            return CpuFallback.run("knn search", "k > " + MAX_K,
                    h -> CpuFallback.cpu().knn().search(h[0], h[1], k, metric), queries, bank);
        }
        DType type = DType.promote(DType.promote(queries.dtype(), bank.dtype()), DType.FLOAT32);
        long nq = queries.size(0), nb = bank.size(0), d = queries.size(1);
        if (nq == 0) return new Tensor[] {DeviceTensors.empty(type, 0, k), DeviceTensors.empty(DType.INT64, 0, k)};
        List<Tensor> temporaries = new ArrayList<>();
        try {
            Tensor q = rowMajor(queries, type, temporaries), b = rowMajor(bank, type, temporaries);
            requireFinite(q, "queries");
            requireFinite(b, "bank");
            CudaContext context = CudaContext.get();
            long queryTiles = (nq + QUERY_TILE - 1) / QUERY_TILE;
            long wanted = Math.max(1, (4L * context.multiprocessors() + queryTiles - 1) / queryTiles);
            long splitRows = Math.max(BANK_TILE * 16L, (nb + wanted - 1) / wanted);
            splitRows = (splitRows + BANK_TILE - 1) / BANK_TILE * BANK_TILE;
            long splits = Math.min(65535, (nb + splitRows - 1) / splitRows);
            splitRows = (nb + splits - 1) / splits;
            Tensor partKeys = DeviceTensors.empty(type, nq * splits * k);
            Tensor partIds = DeviceTensors.empty(DType.INT64, nq * splits * k);
            temporaries.add(partKeys);
            temporaries.add(partIds);
            String suffix = type == DType.FLOAT32 ? "_f" : "_d";
            int metricCode = metric == Metric.L2 ? 0 : 1;
            DeviceTensors.use(q, b);
            Launch.of(M, "knn_tiles" + suffix)
                    .ptr(DeviceTensors.address(q)).i64(q.strides()[0]).i64(nq)
                    .ptr(DeviceTensors.address(b)).i64(b.strides()[0]).i64(nb).i64(d)
                    .i32(k).i32(metricCode).i64(splitRows)
                    .ptr(DeviceTensors.address(partKeys)).ptr(DeviceTensors.address(partIds))
                    .run((int) queryTiles, (int) splits, Launch.BLOCK, 0, "knn search (tiles)");
            Tensor values = DeviceTensors.empty(type, nq, k), indices = DeviceTensors.empty(DType.INT64, nq, k);
            Launch.of(M, "knn_merge" + suffix)
                    .ptr(DeviceTensors.address(partKeys)).ptr(DeviceTensors.address(partIds)).i64(nq)
                    .i32((int) splits).i32(k).i32(metricCode)
                    .ptr(DeviceTensors.address(values)).ptr(DeviceTensors.address(indices))
                    .run((int) Math.min((nq + 7) / 8, 32L * context.multiprocessors()), 1, Launch.BLOCK, 0, "knn search (merge)");
            return new Tensor[] {values, indices};
        } finally {
            for (Tensor t : temporaries) t.close();
        }
    }

    /** x in dtype type with unit column stride (a copy when needed). */
    private static Tensor rowMajor(Tensor x, DType type, List<Tensor> temporaries) {
        Tensor t = x;
        if (t.dtype() != type) {
            t = t.to(type);
            temporaries.add(t);
        }
        if (t.strides()[1] != 1 && t.size(1) > 1 || t.strides()[0] < t.size(1) && t.size(0) > 1) {
            t = t.copy();
            temporaries.add(t);
        }
        return t;
    }

    /** Refuses NaN and Inf, as the CPU backend: one count reduction over the rows. */
    private static void requireFinite(Tensor t, String what) {
        try (Tensor perRow = t.countNonFinite(1); Tensor flags = perRow.clampMax(1);
             Tensor worst = flags.argmax(0, false); Tensor total = perRow.sum();
             Tensor host = total.to(Device.CPU)) {
            if (host.item() > 0) {
                try (Tensor row = worst.to(Device.CPU)) {
                    throw new IllegalArgumentException("knn " + what + " " + Shape.toString(t.shape())
                            + " contain NaN or Inf (row " + (long) row.item() + ")");
                }
            }
        }
    }

}
