package org.ood4j.engine.cuda;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/** Small helpers the CUDA op families share: addresses, fresh outputs, operand checks. */
final class DeviceTensors {
    private DeviceTensors() {}

    /** The device address of element [0, ..., 0] of a CUDA tensor. */
    static long address(Tensor t) {
        return storage(t).address() + t.offset() * t.dtype().byteSize();
    }

    static CudaStorage storage(Tensor t) {
        t.checkOpen();
        if (!(t.storage() instanceof CudaStorage s)) {
            throw new IllegalArgumentException("expected a CUDA tensor, got " + t);
        }
        return s;
    }

    /**
     * Registers the operands an op reads with the calling thread's stream: the stream waits for
     * their last writes on other streams (see CudaStorage). Call before launching on them.
     */
    static void use(Tensor... operands) {
        Stream stream = CudaContext.get().stream();
        for (Tensor t : operands) {
            if (t != null) storage(t).readOn(stream);
        }
    }

    /**
     * Registers a tensor an op writes in place (not a fresh output) with the calling thread's
     * stream: the stream waits for its last write and every read since on other streams.
     */
    static void write(Tensor target) {
        storage(target).writeOn(CudaContext.get().stream());
    }

    /** A new contiguous CUDA tensor whose contents a kernel will overwrite. */
    static Tensor empty(DType dtype, long... shape) {
        long bytes = Math.multiplyExact(Shape.numel(shape), dtype.byteSize());
        return Tensor.wrap(CudaStorage.allocate(bytes), dtype, shape);
    }

    static Tensor zeros(DType dtype, long... shape) {
        return Tensor.zeros(dtype, Device.CUDA, shape);
    }

    static int code(DType dtype) { return dtype.ordinal(); }
}
