package org.ood4j.engine.cuda;

import jcuda.driver.JCudaDriver;
import org.ood4j.engine.Device;
import org.ood4j.engine.Storage;

/**
 * Device memory from the caching allocator. It remembers the stream it was allocated on (the
 * allocating thread's): work on that stream is ordered after the producer by the stream itself.
 * When another thread's stream first uses it, {@link #useOn} waits for the owner's stream (so the
 * producer's writes are complete) and marks the block shared, and freeing a shared block waits
 * for the whole device before the block can be handed out again.
 */
public final class CudaStorage extends Storage {
    private final CudaContext context;
    private final DevicePointer pointer;
    private final Stream owner;
    private volatile boolean shared;

    private CudaStorage(CudaContext context, long byteSize) {
        // Allocate before super() counts the bytes, so a failed allocation leaves no trace in MemoryStats.
        Stream stream = context.stream();
        DevicePointer block = context.allocator().allocate(byteSize, stream);
        super(byteSize);
        this.context = context;
        this.owner = stream;
        this.pointer = block;
    }

    /** Uninitialised device memory (for outputs that a kernel overwrites entirely). */
    public static CudaStorage allocate(long byteSize) {
        return new CudaStorage(CudaContext.get(), byteSize);
    }

    /** Zero-filled device memory (cuMemsetD8 on the calling thread's stream). */
    public static CudaStorage zeros(long byteSize) {
        CudaStorage s = allocate(byteSize);
        if (byteSize > 0) {
            CudaContext.check(JCudaDriver.cuMemsetD8Async(s.pointer, (byte) 0, byteSize, s.owner), "cuMemsetD8");
        }
        return s;
    }

    @Override public Device device() { return Device.CUDA; }

    /** The device address of byte 0. */
    long address() { return pointer.address(); }

    DevicePointer pointer() { return pointer; }

    /** Called for every operand of an op run on {@code stream}; see the class comment. */
    void useOn(Stream stream) {
        if (stream != owner && !shared) {
            CudaContext.check(JCudaDriver.cuStreamSynchronize(owner), "cuStreamSynchronize (a tensor of another thread)");
            shared = true;
        }
    }

    @Override
    protected void free() {
        if (shared) {
            context.makeCurrent();
            CudaContext.check(JCudaDriver.cuCtxSynchronize(), "cuCtxSynchronize before reusing a shared block");
        }
        context.allocator().release(pointer, byteSize(), owner);
    }
}
