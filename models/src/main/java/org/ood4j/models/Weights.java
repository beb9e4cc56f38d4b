package org.ood4j.models;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;
import org.ood4j.engine.io.Npz;
import org.ood4j.engine.io.Safetensors;

/**
 * Loads and saves a module's state dict by PyTorch names. Loading is strict and all-or-nothing:
 * every key is checked first, and one error lists every missing key, every unexpected key and
 * every shape mismatch (with both shapes) before anything is written. Optional entries
 * (num_batches_tracked) may be absent. Values are converted to the parameter's dtype.
 */
public final class Weights {
    private Weights() {}

    /** A directory of {@code <name>.npy} files, a {@code .safetensors} file or an {@code .npz} file. */
    public static void load(Module model, Path path) throws IOException {
        String name = path.getFileName() == null ? "" : path.getFileName().toString();
        if (Files.isDirectory(path)) loadNpyFolder(model, path);
        else if (name.endsWith(".npz")) loadFromFile(model, Npz.read(path), path);
        else loadFromFile(model, Safetensors.read(path), path);
    }

    /** Reads {@code <dir>/<state_dict name>.npy} for every entry; other .npy files there are unexpected. */
    public static void loadNpyFolder(Module model, Path dir) throws IOException {
        Map<String, Parameter> expected = model.stateDict();
        Map<String, Tensor> read = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".npy")).sorted().toList()) {
                String key = f.getFileName().toString();
                key = key.substring(0, key.length() - ".npy".length());
                read.put(key, expected.containsKey(key) ? Npy.read(f) : null);
            }
            check(model, expected, read, dir.toString());
            copy(expected, read);
        } finally {
            closeAll(read);
        }
    }

    /** Loads from tensors by state_dict name; the map's tensors stay the caller's. */
    public static void loadStateDict(Module model, Map<String, Tensor> tensors) {
        Map<String, Parameter> expected = model.stateDict();
        check(model, expected, tensors, "state dict");
        copy(expected, tensors);
    }

    private static void loadFromFile(Module model, Map<String, Tensor> tensors, Path file) {
        try {
            Map<String, Parameter> expected = model.stateDict();
            check(model, expected, tensors, file.toString());
            copy(expected, tensors);
        } finally {
            closeAll(tensors);
        }
    }

    /** Saves the state dict (parameters and buffers) as safetensors. */
    public static void save(Module model, Path file) throws IOException {
        Safetensors.write(file, stateDict(model));
    }

    /** The live tensors of the state dict by name (not copies: do not close them). */
    public static Map<String, Tensor> stateDict(Module model) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        model.stateDict().forEach((n, p) -> out.put(n, p.value()));
        return out;
    }

    // ---------------------------------------------------------------- checks

    /** Throws one error naming every problem; a null value in {@code found} stands for a key whose data was not read. */
    private static void check(Module model, Map<String, Parameter> expected, Map<String, Tensor> found, String source) {
        List<String> missing = new ArrayList<>(), shapes = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : expected.entrySet()) {
            Tensor t = found.get(e.getKey());
            Parameter p = e.getValue();
            if (t == null) {
                if (!p.isOptional()) missing.add(e.getKey());
            } else if (!Arrays.equals(t.shape(), p.shape())) {
                shapes.add(e.getKey() + ": model " + Shape.toString(p.shape()) + ", " + source + " " + Shape.toString(t.shape()));
            } else if (p.dtype().isFloating() != t.dtype().isFloating()) {
                shapes.add(e.getKey() + ": model " + p.dtype() + ", " + source + " " + t.dtype());
            }
        }
        TreeSet<String> unexpected = new TreeSet<>(found.keySet());
        unexpected.removeAll(expected.keySet());
        if (missing.isEmpty() && unexpected.isEmpty() && shapes.isEmpty()) return;
        StringBuilder msg = new StringBuilder("weights from " + source + " do not fit " + model.getClass().getSimpleName() + ":");
        if (!missing.isEmpty()) msg.append(" missing keys ").append(missing).append(';');
        if (!unexpected.isEmpty()) msg.append(" unexpected keys ").append(unexpected).append(';');
        if (!shapes.isEmpty()) msg.append(" mismatched ").append(String.join("; ", shapes)).append(';');
        msg.setLength(msg.length() - 1);
        throw new IllegalArgumentException(msg.toString());
    }

    private static void copy(Map<String, Parameter> expected, Map<String, Tensor> found) {
        expected.forEach((k, p) -> {
            Tensor t = found.get(k);
            if (t != null) p.set(t);
        });
    }

    private static void closeAll(Map<String, Tensor> tensors) {
        for (Tensor t : tensors.values()) {
            if (t != null && !t.isClosed()) t.close();
        }
    }
}
