package org.ood4j.models;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Var;

/**
 * Layers applied in order, as nn.Sequential. Layers are named "0", "1", ... (or given names, as
 * in ResNet's conv1, layer1, fc), which prefix their state_dict entries.
 *
 * <p>{@link #split(int)} cuts it into a backbone and a head that share the layers (and so the
 * parameter tensors); {@link #forwardCollect} returns chosen intermediate outputs with the final
 * one in a single pass.
 */
public class Sequential extends Module {
    private final List<Module> layers = new ArrayList<>();
    private final List<String> names = new ArrayList<>();
    private final boolean owning;

    /** Layers named by position. */
    public Sequential(Module... layers) {
        this(Arrays.asList(layers));
    }

    /** Layers named by position. */
    public Sequential(List<? extends Module> layers) {
        this.owning = true;
        for (int i = 0; i < layers.size(); i++) add(String.valueOf(i), layers.get(i));
    }

    /** Layers with the given names, in map order. */
    public Sequential(Map<String, ? extends Module> named) {
        this(named, true);
    }

    private Sequential(Map<String, ? extends Module> named, boolean owning) {
        this.owning = owning;
        named.forEach(this::add);
    }

    private void add(String name, Module layer) {
        names.add(name);
        layers.add(child(name, layer));
    }

    public int size() { return layers.size(); }

    public Module get(int index) { return layers.get(index); }

    /** The state_dict name of layer {@code index}. */
    public String nameOf(int index) { return names.get(index); }

    public List<Module> layers() { return List.copyOf(layers); }

    // ---------------------------------------------------------------- forward

    @Override
    public Tensor forward(Tensor x) {
        return forwardCollect(x).get(0);
    }

    @Override
    public Var forward(Var x) {
        Var h = x;
        for (Module layer : layers) h = layer.forward(h);
        return h;
    }

    /**
     * One inference pass that returns the outputs of the layers at {@code layerIndices} (in the
     * order given) followed by the final output. Every returned tensor belongs to the caller;
     * outputs not asked for are freed as the pass goes.
     */
    public List<Tensor> forwardCollect(Tensor x, int... layerIndices) {
        checkIndices(layerIndices);
        Tensor[] picked = new Tensor[layerIndices.length];
        Tensor h = alias(x);
        try {
            for (int i = 0; i < layers.size(); i++) {
                Tensor next = layers.get(i).forward(h);
                h.close();
                h = next;
                for (int k = 0; k < layerIndices.length; k++) {
                    if (layerIndices[k] == i) picked[k] = alias(h);
                }
            }
        } catch (RuntimeException e) {
            h.close();
            for (Tensor t : picked) if (t != null) t.close();
            throw e;
        }
        List<Tensor> out = new ArrayList<>(Arrays.asList(picked));
        out.add(h);
        return out;
    }

    /** As {@link #forwardCollect(Tensor, int...)} on a tape: the chosen layer outputs, then the final output. */
    public List<Var> forwardCollect(Var x, int... layerIndices) {
        checkIndices(layerIndices);
        Var[] picked = new Var[layerIndices.length];
        Var h = x;
        for (int i = 0; i < layers.size(); i++) {
            h = layers.get(i).forward(h);
            for (int k = 0; k < layerIndices.length; k++) {
                if (layerIndices[k] == i) picked[k] = h;
            }
        }
        List<Var> out = new ArrayList<>(Arrays.asList(picked));
        out.add(h);
        return out;
    }

    private void checkIndices(int[] indices) {
        for (int i : indices) {
            if (i < 0 || i >= layers.size()) {
                throw new IndexOutOfBoundsException("layer index " + i + " out of range for a Sequential of " + layers.size() + " layers");
            }
        }
    }

    // ---------------------------------------------------------------- split

    /** A backbone (layers 0..index) and a head (index+1..end) sharing this model's layers. */
    public record Split(Sequential backbone, Sequential head) {}

    /**
     * Cuts after layer {@code index}: backbone(x) is the output of that layer, head(backbone(x))
     * the model's output. Both keep the layer names (so their state dicts use this model's
     * names) and share its layers: closing them frees nothing; close this model instead.
     */
    public Split split(int index) {
        if (index < 0 || index >= layers.size()) {
            throw new IndexOutOfBoundsException("split index " + index + " out of range for a Sequential of " + layers.size() + " layers");
        }
        return new Split(view(0, index + 1), view(index + 1, layers.size()));
    }

    private Sequential view(int from, int to) {
        Map<String, Module> part = new LinkedHashMap<>();
        for (int i = from; i < to; i++) part.put(names.get(i), layers.get(i));
        return new Sequential(part, false);
    }

    /** Whether closing this Sequential frees its layers (false for the parts of a {@link #split}). */
    public boolean ownsLayers() { return owning; }

    @Override
    public void close() {
        if (owning) super.close();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Sequential(");
        for (int i = 0; i < layers.size(); i++) sb.append(i == 0 ? "" : ", ").append(names.get(i)).append(": ").append(layers.get(i));
        return sb.append(')').toString();
    }
}
