package org.ood4j.models;

import java.util.Arrays;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/**
 * One named tensor of a {@link Module}: a trainable parameter (a weight, a bias) or a buffer
 * (batch-norm running statistics). The module owns the tensor; loading weights and optimiser
 * steps write into it in place, so every holder of {@link #value()} sees the update.
 */
public final class Parameter {
    /** Trainable parameters are in {@link Module#namedParameters()}; buffers only in the state dict. */
    public enum Kind { PARAMETER, BUFFER }

    private final String name;
    private final Kind kind;
    private final boolean optional;
    private Tensor value;

    Parameter(String name, Kind kind, boolean optional, Tensor value) {
        this.name = name;
        this.kind = kind;
        this.optional = optional;
        this.value = Scope.release(value);
    }

    /** The local name within its module ("weight", "running_mean"). */
    public String name() { return name; }

    public Kind kind() { return kind; }

    public boolean isTrainable() { return kind == Kind.PARAMETER; }

    /** Whether a state dict may leave it out (batch norm's num_batches_tracked). */
    public boolean isOptional() { return optional; }

    /** The live tensor; do not close it. */
    public Tensor value() { return value; }

    public long[] shape() { return value.shape(); }

    public DType dtype() { return value.dtype(); }

    /** Copies {@code src} into the parameter (converting its dtype); the shapes must be equal. */
    public void set(Tensor src) {
        if (!Arrays.equals(src.shape(), value.shape())) {
            throw new IllegalArgumentException("parameter " + name + " has shape " + Shape.toString(value.shape())
                    + ", got " + Shape.toString(src.shape()));
        }
        value.copyFrom(src);
    }

    /** Converts a floating tensor to another floating dtype (int64 buffers stay as they are). */
    void convert(DType dtype) {
        if (!value.dtype().isFloating() || value.dtype() == dtype) return;
        Tensor old = value;
        value = Scope.release(old.to(dtype));
        old.close();
    }

    /** Moves the tensor to a device (a no-op when it is there). */
    void moveTo(Device device) {
        if (value.device() == device) return;
        Tensor old = value;
        value = Scope.release(old.to(device));
        old.close();
    }

    void close() {
        if (!value.isClosed()) value.close();
    }

    @Override
    public String toString() {
        return name + Shape.toString(value.shape()) + " " + value.dtype() + (kind == Kind.BUFFER ? " (buffer)" : "");
    }
}
