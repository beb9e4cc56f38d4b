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

    private static Map<String, Object> encode(Map<String, ?> params) throws IOException {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, ?> e : params.entrySet()) out.put(e.getKey(), encodeValue(e.getValue()));
        return out;
    }

    private static Object encodeValue(Object v) throws IOException {
        if (v instanceof Tensor t) return new NpyBytes(Npy.toBytes(t));
        if (v instanceof Map<?, ?> m) {
            @SuppressWarnings("unchecked") Map<String, ?> nested = (Map<String, ?>) m;
            return encode(nested);
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            for (Object o : l) out.add(encodeValue(o));
            return out;
        }
        return v;
    }

    private static Map<String, Object> decode(Map<String, ?> params) throws IOException {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, ?> e : params.entrySet()) out.put(e.getKey(), decodeValue(e.getValue()));
        return out;
    }

    private static Object decodeValue(Object v) throws IOException {
        if (v instanceof NpyBytes b) return Npy.readBytes(b.bytes());
        if (v instanceof Map<?, ?> m) {
            @SuppressWarnings("unchecked") Map<String, ?> nested = (Map<String, ?>) m;
            return decode(nested);
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            for (Object o : l) out.add(decodeValue(o));
            return out;
        }
        return v;
    }
}
