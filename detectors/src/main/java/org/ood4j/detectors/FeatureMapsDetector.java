package org.ood4j.detectors;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * A detector that reshapes the last feature maps (N, C, H, W) of a network and scores what the
 * head makes of them (ASH, ReAct, RankFeat, VRA). The model is the backbone (inputs to maps);
 * the head (maps to logits) is required, and {@code detector} turns logits into scores (default
 * {@link EnergyBased#score}).
 */
public abstract class FeatureMapsDetector extends AbstractDetector {
    protected final Function<Tensor, Tensor> head;
    protected final Function<Tensor, Tensor> detector;
    private volatile long[] fittedMapShape;

    protected FeatureMapsDetector(Function<Tensor, Tensor> backbone, Function<Tensor, Tensor> head, Function<Tensor, Tensor> detector) {
        super(backbone);
        if (head == null) throw new IllegalArgumentException(name() + " needs a head (feature maps to logits)");
        this.head = head;
        this.detector = detector == null ? EnergyBased.SCORE : detector;
        this.afterPool = afterGlobalPool(head);
    }

    /**
     * The rest of the head after a leading global average pool (a Sequential whose first layer is
     * AdaptiveAvgPool2d to 1 x 1, as ResNet-style heads are), or null: with it, a detector whose
     * shaping is a clamp ({@link #clampBounds}) pools its maps while it clamps them, in one pass.
     */
    private final Function<Tensor, Tensor> afterPool;

    private static Function<Tensor, Tensor> afterGlobalPool(Function<Tensor, Tensor> head) {
        if (head instanceof org.ood4j.models.Sequential s && s.size() > 0
                && s.get(0) instanceof org.ood4j.models.AdaptiveAvgPool2d pool && pool.isGlobal()) {
            return s.split(0).head();
        }
        return null;
    }

    /**
     * {lower, upper} (each null or broadcast to (C, H, W), on the maps' device) when {@link #shape}
     * is clamp(maps, lower, upper), else null: then a global-pooling head takes the maps through
     * {@link org.ood4j.engine.Conv#clampedGlobalAvgPoolIfFinite}, with no full-size clamped copy
     * and the NaN/infinity check of the maps in the same pass.
     */
    protected Tensor[] clampBounds(Tensor maps) {
        return null;
    }

    /**
     * The global average pool of shape(maps), (N, C, 1, 1), computed without the shaped maps
     * where the shaping allows (one pass over the maps), else null (the default; a clamp is
     * pooled through {@link #clampBounds}).
     */
    protected Tensor pooledShape(Tensor maps) {
        return null;
    }

    /**
     * head(shape(chunk)) for one chunk of {@code maps}, fused into one pass when the head starts by
     * pooling and the shaping can pool: a clamp ({@code bounds}, which then checks the chunk for
     * NaN and infinity too: non-finite maps are named as {@link Inputs#requireFinite} names them)
     * or {@link #pooledShape}.
     */
    private Tensor shapedLogits(Tensor chunk, Tensor[] bounds, Tensor maps) {
        if (bounds != null) {
            Tensor pooled = org.ood4j.engine.Conv.clampedGlobalAvgPoolIfFinite(chunk, bounds[0], bounds[1]);
            if (pooled == null) {
                Inputs.requireFinite(maps, "feature maps");
                throw new IllegalStateException(name() + ": the pool found NaN or infinity the check did not");
            }
            return afterPool.apply(pooled);
        }
        Tensor pooled = afterPool == null ? null : pooledShape(chunk);
        if (pooled != null) return afterPool.apply(pooled);
        return head.apply(shape(chunk).movedTo(chunk.device()));
    }

    /** Fits on feature maps (N, C, H, W) and labels (N,) or null; rows with a label below 0 are ignored. */
    public FeatureMapsDetector fitFeatureMaps(Tensor maps, Tensor labels) {
        if (!requiresFit()) return this;
        if (this instanceof StreamingFit) {
            fitStreamed(acc -> acc.add(maps, labels));   // in chunks of bounded size, each pass over the maps in place
            return this;
        }
        Inputs.requireRank(maps, 4, "feature maps", "(N, C, H, W)");
        Inputs.requireFinite(maps, "feature maps");
        if (labels != null) Inputs.requireLabels(labels, maps.size(0), -1);
        startFit(maps.device());
        try (Scope s = Scope.open()) {
            Tensor[] id = labels == null ? new Tensor[] {maps, null} : Inputs.idRows(maps, labels);
            if (id[0].size(0) == 0) throw new IllegalArgumentException(name() + ": every fit sample has a label < 0 (OOD); nothing to fit");
            fitOnId(id[0]);
        }
        fittedMapShape = maps.shape();
        markFitted();
        return this;
    }

    /** Outlier scores (N,) float64 for feature maps (N, C, H, W). */
    public Tensor predictFeatureMaps(Tensor maps) {
        requireFitted(maps);
        Inputs.requireRank(maps, 4, "feature maps", "(N, C, H, W)");
        long[] fitted = fittedMapShape;
        if (fitted != null) {
            for (int d = 1; d < 4; d++) {
                if (maps.size(d) != fitted[d]) {
                    throw new IllegalArgumentException(name() + ": feature maps have shape " + java.util.Arrays.toString(maps.shape())
                            + ", fitted on (N, " + fitted[1] + ", " + fitted[2] + ", " + fitted[3] + ")");
                }
            }
        }
        try (Scope s = Scope.open()) {
            // a clamp before a pooling head checks the maps while it pools (one read); else check first
            Tensor[] bounds = afterPool == null ? null : clampBounds(maps);
            if (bounds == null) Inputs.requireFinite(maps, "feature maps");
            return s.keep(Inputs.scoreRows(maps, chunk -> detector.apply(shapedLogits(chunk, bounds, maps)).to(DType.FLOAT64)));
        }
    }

    /** Fits on in-distribution maps; called inside a scope. */
    protected void fitOnId(Tensor maps) {}

    /**
     * The reshaped maps of one chunk, same shape, fed to the head. It may be computed on the
     * host; prediction moves it back to the maps' device before the head sees it.
     */
    protected abstract Tensor shape(Tensor maps);

    @Override
    java.util.Map<String, Object> fitInfo() {
        long[] s = fittedMapShape;
        return s == null ? java.util.Map.of() : java.util.Map.of("map_shape", java.util.Arrays.stream(s).boxed().toList());
    }

    @Override
    void restoreFitInfo(java.util.Map<String, Object> info) {
        fittedMapShape = info.get("map_shape") instanceof List<?> l ? l.stream().mapToLong(v -> ((Number) v).longValue()).toArray() : null;
    }

    @Override
    void checkFitChunk(Tensor rows, Tensor labels, long firstRow) {
        Inputs.requireRank(rows, 4, "feature maps", "(N, C, H, W)");
        Inputs.requireFinite(rows, "feature maps", firstRow);
        if (labels != null) Inputs.requireLabels(labels, rows.size(0), -1);
    }

    @Override
    void fitCompleted(long rows, long[] rowShape) {
        fittedMapShape = new long[] {rows, rowShape[0], rowShape[1], rowShape[2]};
        super.fitCompleted(rows, rowShape);
    }

    @Override
    public Detector fit(Iterable<Batch> data) {
        if (!requiresFit()) return this;
        Function<Tensor, Tensor> backbone = requireModel();
        if (this instanceof StreamingFit) {
            fitStreamed(acc -> feed(acc, data, backbone));
            return this;
        }
        try (Scope s = Scope.open()) {
            List<Tensor> maps = new ArrayList<>(), labels = new ArrayList<>();
            for (Batch b : data) {
                maps.add(backbone.apply(b.x()));
                if (b.y() != null) labels.add(b.y());
            }
            if (maps.isEmpty()) throw new IllegalArgumentException(name() + ": fit got no batches");
            fitFeatureMaps(Tensor.cat(maps, 0), labels.size() == maps.size() ? Tensor.cat(labels, 0) : null);
        }
        return this;
    }

    @Override
    public Tensor predict(Tensor x) {
        Function<Tensor, Tensor> backbone = requireModel();
        requireFitted();
        try (Tensor maps = backbone.apply(x)) {
            return predictFeatureMaps(maps);
        }
    }

    /** The scoring function's registry name, for saving. */
    protected String detectorName() {
        return DetectorRegistry.scoringFunctionName(detector);
    }
}
