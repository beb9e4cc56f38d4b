package org.ood4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

/**
 * The command's input arrays, checked by what the file stores before {@link Npy#read} widens it
 * (booleans and small integers become int64 there), so that every message names the file; arrays
 * stored as the engine computes are memory-mapped ({@link Npy#map}), not copied.
 */
final class InputArrays {
    private InputArrays() {}

    /** Logits, features or layer outputs: a batch (N, ...) of rank >= 2 of float16/32/64. */
    static Tensor floating(Path file, String what) throws IOException {
        return load(file, floatingInfo(file, what));
    }

    /** The header of a file {@link #floating} accepts, checked without reading the data. */
    static Npy.Info floatingInfo(Path file, String what) throws IOException {
        Npy.Info info = Npy.info(file);
        if (!info.floating()) {
            throw new IllegalArgumentException(file + ": " + what + " must be float32 or float64, got " + info.typeName());
        }
        if (info.shape().length < 2) {
            throw new IllegalArgumentException(file + ": " + what + " must be a batch of rank >= 2 (N, D, ...), got shape "
                    + Shape.toString(info.shape()));
        }
        return info;
    }

    /** Memory-mapped when stored as the engine computes (no copy, page cache instead of heap), else read and converted. */
    private static Tensor load(Path file, Npy.Info info) throws IOException {
        return info.mappable() ? Npy.map(file) : Npy.read(file);
    }

    /** Several floating arrays, e.g. the --layers files. */
    static List<Tensor> floating(List<Path> files, String what) throws IOException {
        List<Tensor> out = new ArrayList<>();
        for (Path f : files) out.add(floating(f, what));
        return out;
    }

    /** Class labels: integers (N,) or (N, 1); booleans are not labels. */
    static Tensor labels(Path file) throws IOException {
        return column(load(file, labelsInfo(file)), file, "labels");
    }

    /** The header of a file {@link #labels} accepts (integers, (N,) or (N, 1)), checked without reading the data. */
    static Npy.Info labelsInfo(Path file) throws IOException {
        Npy.Info info = Npy.info(file);
        if (!info.integer()) {
            throw new IllegalArgumentException(file + ": labels must be integers (int64 class indices, < 0 = OOD), got " + info.typeName());
        }
        long[] shape = info.shape();
        if (shape.length != 1 && !(shape.length == 2 && shape[1] == 1)) throw notColumn(shape, file, "labels");
        return info;
    }

    /** Scores (N,) or (N, 1) as doubles, without NaN (the first NaN row is named). */
    static double[] scores(Path file) throws IOException {
        Npy.Info info = Npy.info(file);
        if (!info.floating() && !info.integer()) {
            throw new IllegalArgumentException(file + ": scores must be numbers, got " + info.typeName());
        }
        double[] s;
        try (Tensor t = load(file, info)) {
            s = column(t, file, "scores").toDoubleArray();
        }
        for (int i = 0; i < s.length; i++) {
            if (Double.isNaN(s[i])) throw new IllegalArgumentException(file + ": the score in row " + i + " is NaN");
        }
        return s;
    }

    /** A 1-D array, or a column (N, 1) viewed as one; anything else is refused with its shape. */
    private static Tensor column(Tensor t, Path file, String what) {
        if (t.rank() == 1) return t;
        if (t.rank() == 2 && t.size(1) == 1) return t.reshape(-1);
        throw notColumn(t.shape(), file, what);
    }

    private static IllegalArgumentException notColumn(long[] shape, Path file, String what) {
        return new IllegalArgumentException(file + ": " + what + " must be 1-D (N,) or a column (N, 1), got shape " + Shape.toString(shape));
    }
}
