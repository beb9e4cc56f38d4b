package org.ood4j.engine.cpu;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;

/** Heap arrays back into new contiguous tensors: the inverse of {@link Packing}. */
final class Unpacking {
    private Unpacking() {}

    /** A new tensor of {@code type} (float32 or float64) holding {@code data} in C order. */
    static Tensor tensor(double[] data, DType type, long... shape) {
        if (type == DType.FLOAT64) return Tensor.of(data, shape);
        if (type != DType.FLOAT32) throw new IllegalArgumentException("expected a floating dtype, got " + type);
        float[] f = new float[data.length];
        for (int i = 0; i < f.length; i++) f[i] = (float) data[i];
        return Tensor.of(f, shape);
    }
}
