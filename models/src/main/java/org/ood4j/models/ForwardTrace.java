package org.ood4j.models;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import org.ood4j.engine.autodiff.Var;

/**
 * The input and output Var of every {@link PerSampleLayer} in a forward pass, collected through a
 * tape attachment ({@link Module#traced}).
 */
final class ForwardTrace {
    record Entry(Module layer, Var input, Var output) {}

    private final List<Entry> entries = new ArrayList<>();
    private final Map<Module, Entry> byLayer = new IdentityHashMap<>();

    void record(Module layer, Var input, Var output) {
        if (byLayer.containsKey(layer)) {
            throw new IllegalStateException("layer " + layer + " ran twice in one forward pass: its per-sample gradient"
                    + " would be a sum over both uses, which the per-sample norms do not support");
        }
        Entry e = new Entry(layer, input, output);
        entries.add(e);
        byLayer.put(layer, e);
    }

    Entry of(Module layer) {
        return byLayer.get(layer);
    }

    List<Entry> entries() {
        return entries;
    }
}
