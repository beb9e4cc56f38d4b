package org.ood4j.models;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Json;
import org.ood4j.engine.io.Npy;

/**
 * A network described by a conformance {@code model.json} (layer list, weights as .npy files
 * named by state_dict name, features_at, feature_maps_at, num_classes, parameters), built as a
 * {@link Sequential} in evaluation mode with its weights loaded. Closing it frees the network.
 *
 * <p>Layer types: conv2d (in, out, kernel_size, stride, padding, dilation; weight, bias),
 * batchnorm2d (num_features, eps, momentum; weight, bias, running_mean, running_var), relu,
 * maxpool2d (kernel_size, stride), dropout (p), adaptive_avgpool2d (output_size), flatten, linear
 * (in, out; weight, bias).
 */
public record ModelJson(String id, long[] inputShape, Sequential model, int featuresAt, OptionalInt featureMapsAt,
                        int numClasses, List<String> parameters) implements AutoCloseable {

    /** Reads {@code modelDir/model.json} and the weight files next to it. */
    public static ModelJson load(Path modelDir) throws IOException {
        Path json = modelDir.resolve("model.json");
        Map<String, Object> spec = asMap(Json.parse(Files.readString(json)), json.toString());
        List<Object> layerSpecs = asList(spec.get("layers"), "layers");
        List<Module> layers = new ArrayList<>();
        Map<String, String> files = new LinkedHashMap<>();
        try {
            for (int i = 0; i < layerSpecs.size(); i++) {
                Map<String, Object> layer = asMap(layerSpecs.get(i), "layer " + i);
                layers.add(build(layer, i));
                for (String tensor : List.of("weight", "bias", "running_mean", "running_var")) {
                    if (layer.get(tensor) instanceof String file) files.put(i + "." + tensor, file);
                }
            }
        } catch (RuntimeException e) {
            layers.forEach(Module::close);
            throw e;
        }
        Sequential model = new Sequential(layers);
        try {
            loadWeights(model, modelDir, files);
            List<String> params = asList(spec.get("parameters"), "parameters").stream().map(Object::toString).toList();
            if (!params.equals(new ArrayList<>(model.namedParameters().keySet()))) {
                throw new IllegalArgumentException(json + ": parameters " + params + " differ from the network's "
                        + model.namedParameters().keySet());
            }
            Object maps = spec.get("feature_maps_at");
            return new ModelJson(String.valueOf(spec.get("id")), longs(spec.get("input_shape")), model,
                    intOf(spec.get("features_at"), "features_at"),
                    maps == null ? OptionalInt.empty() : OptionalInt.of(intOf(maps, "feature_maps_at")),
                    intOf(spec.get("num_classes"), "num_classes"), params);
        } catch (RuntimeException | IOException e) {
            model.close();
            throw e;
        }
    }

    /** Backbone up to the penultimate features and the head after them. */
    public Sequential.Split featuresSplit() {
        return model.split(featuresAt);
    }

    /** Backbone up to the last feature maps and the head after them; throws for networks without maps. */
    public Sequential.Split featureMapsSplit() {
        return model.split(featureMapsAt.orElseThrow(() -> new IllegalStateException("model " + id + " has no feature maps")));
    }

    @Override
    public void close() {
        model.close();
    }

    // ---------------------------------------------------------------- layers

    private static Module build(Map<String, Object> l, int index) {
        String type = String.valueOf(l.get("type"));
        String where = "layer " + index + " (" + type + ")";
        return switch (type) {
            case "linear" -> new Linear(intOf(l.get("in"), where + ".in"), intOf(l.get("out"), where + ".out"), l.get("bias") != null);
            case "conv2d" -> {
                int k = required(l, "kernel_size", where);
                yield new Conv2d(intOf(l.get("in"), where + ".in"), intOf(l.get("out"), where + ".out"), k, k,
                        intOr(l, "stride", 1), intOr(l, "padding", 0), intOr(l, "dilation", 1), l.get("bias") != null, null);
            }
            case "batchnorm2d" -> new BatchNorm2d(intOf(l.get("num_features"), where + ".num_features"),
                    doubleOr(l, "eps", 1e-5), doubleOr(l, "momentum", 0.1));
            case "relu" -> new ReLU();
            case "maxpool2d" -> {
                int k = required(l, "kernel_size", where);
                yield new MaxPool2d(k, intOr(l, "stride", k));
            }
            case "dropout" -> new Dropout(doubleOr(l, "p", 0.5));
            case "adaptive_avgpool2d" -> {
                int size = intOr(l, "output_size", 1);
                yield new AdaptiveAvgPool2d(size, size);
            }
            case "flatten" -> new Flatten();
            default -> throw new IllegalArgumentException("model.json " + where + ": unknown layer type '" + type + "'");
        };
    }

    private static void loadWeights(Module model, Path dir, Map<String, String> files) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, String> e : files.entrySet()) tensors.put(e.getKey(), Npy.read(dir.resolve(e.getValue())));
            Weights.loadStateDict(model, tensors);
        } finally {
            tensors.values().forEach(Tensor::close);
        }
    }

    // ---------------------------------------------------------------- JSON values

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o, String what) {
        if (o instanceof Map<?, ?> m) return (Map<String, Object>) m;
        throw new IllegalArgumentException("model.json: " + what + " must be an object, got " + o);
    }

    @SuppressWarnings("unchecked")
    private static List<Object> asList(Object o, String what) {
        if (o instanceof List<?> l) return (List<Object>) l;
        throw new IllegalArgumentException("model.json: " + what + " must be a list, got " + o);
    }

    private static int intOf(Object o, String what) {
        if (o instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) return n.intValue();
        throw new IllegalArgumentException("model.json: " + what + " must be an integer, got " + o);
    }

    private static int intOr(Map<String, Object> l, String key, int fallback) {
        Object o = l.get(key);
        if (o instanceof List<?> pair && !pair.isEmpty()) {
            if (pair.stream().distinct().count() != 1) {
                throw new IllegalArgumentException("model.json: " + key + " " + pair + ": only square sizes are supported");
            }
            o = pair.get(0);
        }
        return o == null ? fallback : intOf(o, key);
    }

    private static int required(Map<String, Object> l, String key, String where) {
        if (l.get(key) == null) throw new IllegalArgumentException("model.json " + where + ": " + key + " is missing");
        return intOr(l, key, 0);
    }

    private static double doubleOr(Map<String, Object> l, String key, double fallback) {
        Object o = l.get(key);
        if (o == null) return fallback;
        if (o instanceof Number n) return n.doubleValue();
        throw new IllegalArgumentException("model.json: " + key + " must be a number, got " + o);
    }

    private static long[] longs(Object o) {
        return asList(o, "input_shape").stream().mapToLong(v -> ((Number) v).longValue()).toArray();
    }
}
