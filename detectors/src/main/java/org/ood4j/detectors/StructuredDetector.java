package org.ood4j.detectors;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import org.ood4j.engine.Scope;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.models.Sequential;

/**
 * A detector whose input is a list of per-layer representations (N, ...) of the same samples,
 * plus the logits where the detector needs them (Gram). Rows are validated across layers and
 * scored in chunks.
 */
public abstract class StructuredDetector extends AbstractDetector {
    private volatile long[][] fittedShapes;
    private final Sequential network;
    private final int[] layerIndices;

    /**
     * @param network      the network whose layer outputs are the representations, or null
     * @param layerIndices which layers' outputs (by index) feed the detector; with a network, required
     */
    protected StructuredDetector(Sequential network, int[] layerIndices) {
        super(network);
        this.network = network;
        this.layerIndices = layerIndices == null ? null : layerIndices.clone();
        if (network != null && (layerIndices == null || layerIndices.length == 0)) {
            throw new IllegalArgumentException(name() + " on a network needs the indices of the layers to use");
        }
    }

    /** The layer indices the detector reads on a network (null without one). */
    protected int[] layerIndices() {
        return layerIndices == null ? null : layerIndices.clone();
    }

    /** Fits on per-layer representations and labels (N,); rows with a label below 0 are ignored. */
    public StructuredDetector fitStructured(List<Tensor> layers, Tensor labels) {
        return fitStructured(layers, null, labels);
    }

    /**
     * As {@link #fitStructured(List, Tensor)}, with the logits of the same samples (or null). The
     * fit reads the labels, not the logits; given logits are checked as at scoring (a row per
     * sample, finite, the class count the detector scores), so that arrays that do not belong
     * together are refused here rather than silently ignored.
     */
    public StructuredDetector fitStructured(List<Tensor> layers, Tensor logits, Tensor labels) {
        long n = checkLayers(layers);
        if (logits != null) checkLogits(n, logits);
        if (requiresLabels()) Inputs.requireLabels(labels, n, -1);
        if (this instanceof StreamingFit) {
            fitStreamed(acc -> ((LayersAccumulator) acc).addLayers(layers, labels));   // in row chunks, in place
            return this;
        }
        startFit(layers.get(0).device());
        try (Scope s = Scope.open()) {
            List<Tensor> id = new ArrayList<>();
            Tensor idLabels = labels;
            if (labels != null) {
                Tensor index = Tensor.arange(n, labels.device()).maskedSelect(labels.ge(Tensor.scalar(0, org.ood4j.engine.DType.INT64)));
                if (index.numel() == 0) throw new IllegalArgumentException(name() + ": every fit sample has a label < 0 (OOD); nothing to fit");
                for (Tensor layer : layers) id.add(layer.indexSelect(0, index));
                idLabels = labels.indexSelect(0, index);
            } else {
                id.addAll(layers);
            }
            fitOnId(id, idLabels);
        }
        long[][] shapes = new long[layers.size()][];
        for (int i = 0; i < shapes.length; i++) shapes[i] = layers.get(i).shape();
        fittedShapes = shapes;
        markFitted();
        return this;
    }

    /** Outlier scores (N,) float64; {@code logits} (N, C) may be null for detectors that do not use them. */
    public Tensor predictStructured(List<Tensor> layers, Tensor logits) {
        requireFitted(layers == null || layers.isEmpty() ? logits : layers.get(0));
        long n = checkInputs(layers, logits);
        Tensor out = Tensor.zeros(org.ood4j.engine.DType.FLOAT64, n);
        try {
            for (long start = 0; start < n; start += Inputs.CHUNK_ROWS) {
                long end = Math.min(n, start + Inputs.CHUNK_ROWS);
                try (Scope s = Scope.open()) {
                    List<Tensor> chunk = new ArrayList<>();
                    for (Tensor layer : layers) chunk.add(layer.slice(0, start, end));
                    Tensor l = logits == null ? null : logits.slice(0, start, end);
                    out.slice(0, start, end).copyFrom(scoreChunk(chunk, l));
                }
            }
            return out;
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    @Override
    java.util.Map<String, Object> fitInfo() {
        long[][] shapes = fittedShapes;
        if (shapes == null) return java.util.Map.of();
        List<Object> list = new ArrayList<>();
        for (long[] sh : shapes) list.add(java.util.Arrays.stream(sh).boxed().toList());
        return java.util.Map.of("layer_shapes", list);
    }

    @Override
    void restoreFitInfo(java.util.Map<String, Object> info) {
        if (!(info.get("layer_shapes") instanceof List<?> list)) {
            fittedShapes = null;
            return;
        }
        long[][] shapes = new long[list.size()][];
        for (int i = 0; i < shapes.length; i++) {
            shapes[i] = ((List<?>) list.get(i)).stream().mapToLong(v -> ((Number) v).longValue()).toArray();
        }
        fittedShapes = shapes;
    }

    /**
     * Checks what {@link #predictStructured} is given, whole, before any of it is sliced: the
     * layers (row counts, finite, the fitted shapes) and the logits (a row per sample; required
     * where the detector reads them). Returns the number of rows. Callers that score in chunks of
     * their own call it first, so mismatched arrays get this message, not a slice out of range.
     */
    public long checkInputs(List<Tensor> layers, Tensor logits) {
        long n = checkLayers(layers);
        checkFittedShapes(layers);
        if (logits != null || requiresLogits()) checkLogits(n, logits);
        return n;
    }

    private void checkFittedShapes(List<Tensor> layers) {
        long[][] shapes = fittedShapes;
        if (shapes == null) return;
        if (shapes.length != layers.size()) {
            throw new IllegalArgumentException(name() + ": got " + layers.size() + " layers, fitted on " + shapes.length);
        }
        for (int i = 0; i < shapes.length; i++) {
            long[] have = layers.get(i).shape(), want = shapes[i];
            have[0] = want[0];
            if (!java.util.Arrays.equals(have, want)) {
                throw new IllegalArgumentException(name() + ": layer " + i + " has shape " + Shape.toString(layers.get(i).shape())
                        + ", fitted on (N" + Shape.toString(want).substring(Shape.toString(want).indexOf(',')));
            }
        }
    }

    /** Logits (N, C) of the layers' N samples: 2-D floating, finite, of the class count the detector scores. */
    private void checkLogits(long n, Tensor logits) {
        if (logits == null) throw new IllegalArgumentException(name() + " needs the logits (N, C) of the samples with the layers");
        Inputs.requireMatrix(logits, name() + ": logits");
        if (logits.size(0) != n) {
            throw new IllegalArgumentException(name() + ": logits have " + logits.size(0) + " rows, the layers " + n
                    + "; both must hold the same samples");
        }
        Inputs.requireFinite(logits, name() + ": logits");
        checkLogitClasses(logits.size(1));
    }

    /** Refuses logits of a class count the detector cannot score; any by default. */
    protected void checkLogitClasses(long classes) {}

    long checkLayers(List<Tensor> layers) {
        if (layers == null || layers.isEmpty()) throw new IllegalArgumentException(name() + " needs at least one layer");
        long n = -1;
        for (int i = 0; i < layers.size(); i++) {
            Tensor t = layers.get(i);
            if (t == null) throw new IllegalArgumentException(name() + ": layer " + i + " is null");
            t.checkOpen();
            if (t.rank() < 2 || !t.dtype().isFloating()) {
                throw new IllegalArgumentException(name() + ": layer " + i + " must be a floating (N, ...) tensor, got "
                        + t.dtype() + Shape.toString(t.shape()));
            }
            if (n >= 0 && t.size(0) != n) {
                throw new IllegalArgumentException(name() + ": layer " + i + " has " + t.size(0) + " rows, layer 0 has " + n);
            }
            n = t.size(0);
            if (n == 0) throw new IllegalArgumentException(name() + ": layer " + i + " is an empty batch (0 rows)");
            Inputs.requireFinite(t, "layer " + i);
        }
        return n;
    }

    protected boolean requiresLabels() { return true; }

    protected boolean requiresLogits() { return false; }

    /** Fits on the in-distribution rows of every layer; called inside a scope. */
    protected abstract void fitOnId(List<Tensor> layers, Tensor labels);

    /** Scores one chunk of rows of every layer (and the logits, or null). */
    protected abstract Tensor scoreChunk(List<Tensor> layers, Tensor logits);

    /**
     * A streaming fit's accumulator over per-layer representations: {@link #addLayers} takes
     * the layers of a batch; {@code add(rows, labels)} takes one layer's rows (a one-layer list).
     */
    interface LayersAccumulator extends FitAccumulator {
        /** Adds the rows of every layer (validated as {@link #fitStructured} validates them) with their labels. */
        void addLayers(List<Tensor> layers, Tensor labels);
    }

    /** The rows a layers accumulator adds, once made from the layers: a matrix, with labels. */
    @Override
    void checkFitChunk(Tensor rows, Tensor labels, long firstRow) {
        Inputs.requireMatrix(rows, name() + ": layer rows");
        Inputs.requireFinite(rows, "layer rows", firstRow);
        Inputs.requireLabels(labels, rows.size(0), -1);
    }

    /** The shapes (N, ...) of the layers of the last fit, N its rows; for the checks at scoring and for saving. */
    void fittedShapes(long[][] shapes) {
        fittedShapes = shapes;
    }

    /** Runs the network over the batches, collects the chosen layers' outputs, and fits on them. */
    @Override
    public Detector fit(Iterable<Batch> data) {
        requireModel();
        if (this instanceof StreamingFit) {
            fitStreamed(acc -> {
                int batches = 0;
                for (Batch b : data) {
                    if (b.y() == null) throw new IllegalArgumentException(name() + ": fit got no labelled batches");
                    batches++;
                    try (Scope s = Scope.open()) {
                        List<Tensor> outputs = network.forwardCollect(b.x(), layerIndices);
                        ((LayersAccumulator) acc).addLayers(outputs.subList(0, layerIndices.length), b.y());
                    }
                }
                if (batches == 0) throw new IllegalArgumentException(name() + ": fit got no labelled batches");
            });
            return this;
        }
        try (Scope s = Scope.open()) {
            List<List<Tensor>> perLayer = new ArrayList<>();
            for (int i = 0; i < layerIndices.length; i++) perLayer.add(new ArrayList<>());
            List<Tensor> labels = new ArrayList<>();
            for (Batch b : data) {
                List<Tensor> outputs = network.forwardCollect(b.x(), layerIndices);
                for (int i = 0; i < layerIndices.length; i++) perLayer.get(i).add(outputs.get(i));
                outputs.get(outputs.size() - 1).close();
                if (b.y() != null) labels.add(b.y());
            }
            if (labels.isEmpty()) throw new IllegalArgumentException(name() + ": fit got no labelled batches");
            List<Tensor> layers = new ArrayList<>();
            for (List<Tensor> parts : perLayer) layers.add(Tensor.cat(parts, 0));
            fitStructured(layers, Tensor.cat(labels, 0));
        }
        return this;
    }

    /** Runs the network once and scores its chosen layer outputs with its logits. */
    @Override
    public Tensor predict(Tensor x) {
        requireModel();
        requireFitted();
        try (Scope s = Scope.open()) {
            List<Tensor> outputs = network.forwardCollect(x, layerIndices);
            return s.keep(predictStructured(outputs.subList(0, layerIndices.length), outputs.get(outputs.size() - 1)));
        }
    }
}
