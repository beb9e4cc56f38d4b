package org.ood4j.detectors;

import java.io.IOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.ArrayFormatException;
import org.ood4j.engine.io.Json;
import org.ood4j.engine.io.Npy;
import org.ood4j.engine.io.Safetensors;

/**
 * Saves a fitted detector to one safetensors file and loads it back, giving bit-identical scores.
 * A 16-bit kNN bank ({@code bank_dtype} bfloat16 or float16) is saved as BF16 or F16 and loads
 * back as such (memory-mapped, not widened); files saved before that option load as before.
 *
 * <p>Tensors: the fitted state as {@code state.<name>} and tensor parameters as
 * {@code param.<name>} (a head as {@code param.<name>.weight/.bias}). Metadata (string values):
 * {@code format} = "ood4j-detector", {@code version}, {@code detector} (the pytorch-ood name),
 * {@code params} and {@code fit} (JSON; tensors appear there as {"tensor": key}), and
 * {@code sha256} of the name, parameters, fit info and every tensor — so a file of another kind,
 * another version, or with any changed byte is refused with a message saying which. Every
 * problem with a file is an {@link ArrayFormatException} (an IOException).
 * The network is not saved: pass it again to {@link #load(Path, Network)}.
 */
public final class DetectorFiles {
    public static final String FORMAT = "ood4j-detector";
    public static final int VERSION = 1;
    /** The metadata key and tensor of a calibrated detector's decision rule (absent when it has none). */
    private static final String CALIBRATION = "calibration", CALIBRATION_SAMPLE = "calibration.id_sample";
    /**
     * Saved tensors of at least this many bytes are memory-mapped on loading, not copied: a kNN
     * bank of any size then costs page cache, not heap or malloc'd memory (see {@link #load}).
     */
    static final long MAP_FROM = 1 << 20;

    private DetectorFiles() {}

    public static void save(AbstractDetector detector, Path file) throws IOException {
        if (!detector.isFitted()) throw new RequiresFitException(detector.name());
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, Object> params = encode("param.", detector.params(), tensors);
        detector.state().forEach((name, t) -> tensors.put("state." + name, t));
        Map<String, Tensor> onHost = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) onHost.put(e.getKey(), e.getValue().to(Device.CPU));
            Map<String, String> metadata = new LinkedHashMap<>();
            metadata.put("format", FORMAT);
            metadata.put("version", Integer.toString(VERSION));
            metadata.put("detector", detector.name());
            metadata.put("params", Json.write(params));
            metadata.put("fit", Json.write(detector.fitInfo()));
            Calibration c = detector.calibration();
            if (c != null) {
                metadata.put(CALIBRATION, Json.write(Map.of("tpr", c.tpr(), "threshold", c.threshold(), "id_count", c.idCount())));
                onHost.put(CALIBRATION_SAMPLE, Tensor.of(c.idSample()));
            }
            metadata.put("sha256", digest(metadata, onHost));
            Safetensors.write(file, onHost, metadata);
        } finally {
            onHost.values().forEach(Tensor::close);
        }
    }

    /**
     * Loads a saved detector; {@code network} (may be null) is attached for the model interface.
     * State tensors of {@link #MAP_FROM} bytes or more stay in the file, memory-mapped read-only:
     * the file must then not be truncated or written in place while the detector lives (replacing
     * it, as {@link #save} does with a rename, is safe: the detector keeps the old bytes).
     */
    public static AbstractDetector load(Path file, Network network) throws IOException {
        Map<String, String> meta = Safetensors.readMetadata(file);
        if (!FORMAT.equals(meta.get("format"))) {
            throw new ArrayFormatException(file.toString(), "not a saved ood4j detector (format '" + meta.get("format") + "')");
        }
        if (!Integer.toString(VERSION).equals(meta.get("version"))) {
            throw new ArrayFormatException(file.toString(), "saved with format version " + meta.get("version")
                    + ", this ood4j reads version " + VERSION);
        }
        Map<String, Tensor> tensors = Safetensors.read(file, MAP_FROM, true);   // a 16-bit kNN bank stays 16-bit
        try {
            if (!digest(meta, tensors).equals(meta.get("sha256"))) {
                throw new ArrayFormatException(file.toString(), "checksum mismatch: the file was changed after it was saved");
            }
            Map<String, Object> params = decode(parse(file, meta, "params"), tensors);
            AbstractDetector d;
            try {
                d = (AbstractDetector) DetectorRegistry.create(meta.get("detector"), params, network);
            } catch (RuntimeException e) {
                throw new ArrayFormatException(file.toString(), "cannot rebuild the saved " + meta.get("detector") + ": " + e.getMessage(), e);
            }
            Map<String, Tensor> state = new LinkedHashMap<>();
            tensors.forEach((k, t) -> { if (k.startsWith("state.")) state.put(k.substring(6), t); });
            d.restore(state, parse(file, meta, "fit"));
            tensors.values().removeAll(state.values());
            if (meta.containsKey(CALIBRATION)) d.setCalibration(calibration(file, parse(file, meta, CALIBRATION), tensors.get(CALIBRATION_SAMPLE)));
            return d;
        } finally {
            tensors.values().forEach(t -> { if (!t.isClosed()) t.close(); });
        }
    }

    /** The saved decision rule: threshold, tpr and ID count in the metadata, the sorted ID sample as a tensor. */
    private static Calibration calibration(Path file, Map<String, Object> meta, Tensor sample) throws ArrayFormatException {
        try {
            if (sample == null) throw new IllegalArgumentException("no tensor " + CALIBRATION_SAMPLE);
            return new Calibration(((Number) meta.get("tpr")).doubleValue(), ((Number) meta.get("threshold")).doubleValue(), ((Number) meta.get("id_count")).longValue(),
                    sample.toDoubleArray());
        } catch (RuntimeException e) {
            throw new ArrayFormatException(file.toString(), "malformed calibration: " + e.getMessage());
        }
    }

    /** Loads a detector and checks it is the expected class. */
    public static <T extends AbstractDetector> T load(Path file, Network network, Class<T> type) throws IOException {
        AbstractDetector d = load(file, network);
        if (!type.isInstance(d)) {
            String name = d.name();
            d.close();
            throw new ArrayFormatException(file.toString(), "holds a " + name + " detector, not a " + type.getSimpleName());
        }
        return type.cast(d);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> parse(Path file, Map<String, String> meta, String key) throws ArrayFormatException {
        try {
            return (Map<String, Object>) Json.parse(meta.getOrDefault(key, "{}"));
        } catch (RuntimeException e) {
            throw new ArrayFormatException(file.toString(), "metadata '" + key + "' is not valid JSON: " + e.getMessage());
        }
    }

    /** Parameters with tensors replaced by {"tensor": key}, the tensors collected under their keys. */
    private static Map<String, Object> encode(String prefix, Map<String, Object> params, Map<String, Tensor> tensors) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : params.entrySet()) {
            String key = prefix + e.getKey();
            if (e.getValue() instanceof Tensor t) {
                tensors.put(key, t);
                out.put(e.getKey(), Map.of("tensor", key));
            } else if (e.getValue() instanceof Map<?, ?> nested) {
                @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) nested;
                out.put(e.getKey(), encode(key + ".", m, tensors));
            } else {
                out.put(e.getKey(), e.getValue());
            }
        }
        return out;
    }

    private static Map<String, Object> decode(Map<String, Object> params, Map<String, Tensor> tensors) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : params.entrySet()) {
            if (e.getValue() instanceof Map<?, ?> m && m.get("tensor") instanceof String key) {
                Tensor t = tensors.get(key);
                if (t == null) throw new IllegalArgumentException("saved parameter '" + e.getKey() + "' refers to a missing tensor " + key);
                out.put(e.getKey(), t);
            } else if (e.getValue() instanceof Map<?, ?> nested) {
                @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) nested;
                out.put(e.getKey(), decode(m, tensors));
            } else {
                out.put(e.getKey(), e.getValue() instanceof List<?> l ? List.copyOf(l) : e.getValue());
            }
        }
        return out;
    }

    /** SHA-256 over the detector's name, parameters and fit info, then each tensor's key and .npy encoding in key order. */
    private static String digest(Map<String, String> metadata, Map<String, Tensor> tensors) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (String key : new String[] {"detector", "params", "fit", CALIBRATION}) {
                if (key.equals(CALIBRATION) && !metadata.containsKey(key)) continue;   // files saved before calibration existed
                md.update(String.valueOf(metadata.get(key)).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                md.update((byte) 0);
            }
            for (String key : new java.util.TreeSet<>(tensors.keySet())) {
                md.update(key.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                // streamed through the digest in chunks: a tensor of any size (a memory-mapped kNN bank) is hashed without a copy
                var sink = new java.security.DigestOutputStream(java.io.OutputStream.nullOutputStream(), md);
                Tensor t = tensors.get(key);
                if (t.dtype().isStorageOnly()) {   // .npy has no bfloat16: its dtype and shape, then the bytes as saved
                    md.update((t.dtype() + java.util.Arrays.toString(t.shape())).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    Safetensors.writeData(sink, t);
                } else {
                    Npy.write(sink, t);
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
