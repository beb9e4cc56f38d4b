package org.ood4j.spark;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.DetectorRegistry;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

/**
 * A detector's registry name and parameters in a form that travels to executors: tensors (a
 * head's w and b, read from {@code @FILE.npy} on the driver) as their .npy bytes, so every JVM
 * builds the same detector with the same dtypes, without the files.
 */
record DetectorSpec(String name, Map<String, Object> params) implements Serializable {
    /** An .npy-encoded tensor parameter. */
    private record NpyBytes(byte[] bytes) implements Serializable {}

    static DetectorSpec of(String name, Map<String, ?> params) {
        try {
            return new DetectorSpec(name, encode(params));
        } catch (IOException e) {
            throw new UncheckedIOException(name + ": cannot encode its parameters: " + e.getMessage(), e);
        }
    }

    /**
     * Builds the detector; its tensor parameters are freed once it is built (detectors copy what
     * they keep, as {@link org.ood4j.detectors.DetectorFiles#load} relies on).
     */
    /** The same detector with parameter {@code name} set to {@code value}. */
    DetectorSpec with(String name, Object value) {
        Map<String, Object> p = new LinkedHashMap<>(params);
        p.put(name, value);
        return new DetectorSpec(this.name, p);
    }

    AbstractDetector create() {
        try (Scope s = Scope.open()) {
            if (!(DetectorRegistry.create(name, decode(params), null) instanceof AbstractDetector d)) {
                throw new IllegalArgumentException(name + " is not a detector that can be saved");
            }
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException(name + ": cannot decode its parameters: " + e.getMessage(), e);
        }
    }

    /** A leaf value's conversion (tensor to bytes or back). */
    private interface Leaf {
        Object apply(Object v) throws IOException;
    }

    private static Map<String, Object> encode(Map<String, ?> params) throws IOException {
        return walk(params, v -> v instanceof Tensor t ? new NpyBytes(Npy.toBytes(t)) : v);
    }

    private static Map<String, Object> decode(Map<String, ?> params) throws IOException {
        return walk(params, v -> v instanceof NpyBytes b ? Npy.readBytes(b.bytes()) : v);
    }

    /** The parameters with every leaf (inside nested maps and lists too) converted. */
    private static Map<String, Object> walk(Map<String, ?> params, Leaf leaf) throws IOException {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, ?> e : params.entrySet()) out.put(e.getKey(), walkValue(e.getValue(), leaf));
        return out;
    }

    private static Object walkValue(Object v, Leaf leaf) throws IOException {
        if (v instanceof Map<?, ?> m) {
            @SuppressWarnings("unchecked") Map<String, ?> nested = (Map<String, ?>) m;
            return walk(nested, leaf);
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            for (Object o : l) out.add(walkValue(o, leaf));
            return out;
        }
        return leaf.apply(v);
    }
}
