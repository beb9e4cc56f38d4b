package org.ood4j.detectors;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.ood4j.engine.Tensor;

/**
 * Named constructor parameters as they come from a file or a command line (numbers, strings,
 * booleans, lists, tensors), read with defaults and checked: a parameter that the detector does
 * not take is an error, not silently ignored.
 */
public final class DetectorParams {
    private final String detector;
    private final Map<String, Object> values;
    private final Set<String> read = new HashSet<>();

    public DetectorParams(String detector, Map<String, ?> values) {
        this.detector = detector;
        this.values = new LinkedHashMap<>(values == null ? Map.of() : values);
    }

    /** The detector these parameters build, for messages. */
    public String detector() {
        return detector;
    }

    public boolean has(String name) {
        return values.get(name) != null;
    }

    public double getDouble(String name, double fallback) {
        read.add(name);
        Object v = values.get(name);
        if (v == null) return fallback;
        if (v instanceof Number n) return n.doubleValue();
        if (v instanceof String s) {
            try {
                return Double.parseDouble(s);
            } catch (NumberFormatException e) {
                throw bad(name, v, "a number");
            }
        }
        throw bad(name, v, "a number");
    }

    public int getInt(String name, int fallback) {
        double d = getDouble(name, fallback);
        if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) throw bad(name, values.get(name), "an integer");
        return (int) d;
    }

    /** A number without a default: absent is an error naming the parameter (not a placeholder value checked later). */
    public double requireDouble(String name) {
        require(name);
        return getDouble(name, Double.NaN);
    }

    /** An integer without a default, as {@link #requireDouble}. */
    public int requireInt(String name) {
        require(name);
        return getInt(name, 0);
    }

    /** A boolean (true/false, or the strings "true"/"false"). */
    public boolean getBoolean(String name, boolean fallback) {
        read.add(name);
        Object v = values.get(name);
        if (v == null) return fallback;
        if (v instanceof Boolean b) return b;
        if (v instanceof String s && (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false"))) return Boolean.parseBoolean(s);
        throw bad(name, v, "true or false");
    }

    /**
     * A value given once or once per item: a number (repeated {@code count} times), a list of
     * exactly {@code count} numbers, or {@code fallback} repeated when absent.
     */
    public double[] getOneOrPer(String name, double fallback, int count, String perWhat) {
        read.add(name);
        Object v = values.get(name);
        if (!(v instanceof List<?>)) {
            double one = getDouble(name, fallback);
            double[] out = new double[count];
            java.util.Arrays.fill(out, one);
            return out;
        }
        double[] list = getDoubles(name);
        if (list.length != count) {
            throw new IllegalArgumentException(detector + ": parameter '" + name + "' must be one number or one per " + perWhat + " ("
                    + count + "), got " + list.length + " values");
        }
        return list;
    }

    public String getString(String name, String fallback) {
        read.add(name);
        Object v = values.get(name);
        return v == null ? fallback : v.toString();
    }

    public Tensor getTensor(String name) {
        read.add(name);
        Object v = values.get(name);
        if (v == null) return null;
        if (v instanceof Tensor t) return t;
        throw bad(name, v, "an array");
    }

    public Tensor requireTensor(String name) {
        require(name);
        return getTensor(name);
    }

    private void require(String name) {
        if (!has(name)) throw new IllegalArgumentException(detector + ": parameter '" + name + "' is required");
    }

    public List<?> getList(String name) {
        read.add(name);
        Object v = values.get(name);
        if (v == null) return null;
        if (v instanceof List<?> l) return l;
        throw bad(name, v, "a list");
    }

    /** A list of numbers as double[], or null when absent. */
    public double[] getDoubles(String name) {
        List<?> list = getList(name);
        if (list == null) return null;
        double[] out = new double[list.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(list.get(i) instanceof Number n)) throw bad(name, list, "a list of numbers");
            out[i] = n.doubleValue();
        }
        return out;
    }

    /** A list of integers as int[], or null when absent. */
    public int[] getInts(String name) {
        double[] d = getDoubles(name);
        if (d == null) return null;
        int[] out = new int[d.length];
        for (int i = 0; i < d.length; i++) {
            if (d[i] != Math.rint(d[i])) throw bad(name, values.get(name), "a list of integers");
            out[i] = (int) d[i];
        }
        return out;
    }

    /** A nested map (e.g. a linear head {weight, bias}), or null when absent. */
    @SuppressWarnings("unchecked")
    public Map<String, ?> getMap(String name) {
        read.add(name);
        Object v = values.get(name);
        if (v == null) return null;
        if (v instanceof Map<?, ?> m) return (Map<String, ?>) m;
        throw bad(name, v, "a map");
    }

    /** Throws when a parameter was given that the detector never read. */
    public void checkAllRead() {
        for (String name : values.keySet()) {
            if (!read.contains(name)) {
                throw new IllegalArgumentException(detector + " has no parameter '" + name + "'");
            }
        }
    }

    /**
     * {@code name=value} pairs (the command line's --param, a Spark stage's detector parameters) to
     * the nested parameter map the registry takes: a value is a number, JSON (list, string, ...),
     * {@code @FILE.npy} for an array, or else a bare word; dotted names nest (head.weight=@w.npy).
     * A name given twice is refused; {@code option} names the option in messages.
     */
    public static Map<String, Object> parsePairs(List<String> pairs, String option) throws java.io.IOException {
        Map<String, Object> out = new LinkedHashMap<>();
        for (String pair : pairs) {
            int eq = pair.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException(option + " needs name=value, got '" + pair + "'");
            String name = pair.substring(0, eq);
            String[] path = name.split("\\.");
            Map<String, Object> at = out;
            for (int i = 0; i < path.length - 1; i++) {
                Object next = at.computeIfAbsent(path[i], k -> new LinkedHashMap<String, Object>());
                if (!(next instanceof Map<?, ?>)) throw repeated(option, name, String.join(".", java.util.Arrays.copyOf(path, i + 1)));
                @SuppressWarnings("unchecked")
                Map<String, Object> nested = (Map<String, Object>) next;
                at = nested;
            }
            if (at.containsKey(path[path.length - 1])) throw repeated(option, name, name);
            at.put(path[path.length - 1], pairValue(pair.substring(eq + 1)));
        }
        return out;
    }

    private static IllegalArgumentException repeated(String option, String name, String clash) {
        return new IllegalArgumentException(option + " '" + name + "' is given more than once"
                + (clash.equals(name) ? "" : " (it clashes with '" + clash + "')") + ": give each parameter once");
    }

    private static Object pairValue(String text) throws java.io.IOException {
        if (text.startsWith("@")) return org.ood4j.engine.io.Npy.read(java.nio.file.Path.of(text.substring(1)));
        try {
            return org.ood4j.engine.io.Json.parse(text);
        } catch (RuntimeException notJson) {
            return text; // a bare word, e.g. a scoring function name
        }
    }

    private IllegalArgumentException bad(String name, Object v, String expected) {
        return new IllegalArgumentException(detector + ": parameter '" + name + "' must be " + expected + ", got " + v);
    }
}
