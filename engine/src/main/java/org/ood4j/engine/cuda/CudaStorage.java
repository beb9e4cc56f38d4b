package org.ood4j.engine.cuda;

import java.util.ArrayList;
import java.util.List;

import jcuda.driver.JCudaDriver;
import org.ood4j.engine.Device;
import org.ood4j.engine.Storage;

/**
 * Device memory from the caching allocator, with what orders its users across streams (each
 * thread runs its ops on a stream of its own, and streams run concurrently on a GPU):
 * <ul>
 * <li>the stream of its last write (at first the allocating stream, which writes the op's
 *     output): a read on another stream waits for it ({@link Stream#waitFor}, cuStreamWaitEvent,
 *     no host wait), once per write;</li>
 * <li>the streams that have read it since that write: a write waits for each of them, so it
 *     never overwrites data an earlier read on another stream has not consumed yet.</li>
 * </ul>
 * Freeing makes the owner stream (whose free list the block returns to, and which alone reuses
 * it) wait for the last writer and every reader, so a reuse is ordered after all of them.
 */
public final class CudaStorage extends Storage {
    private final CudaContext context;
    private final DevicePointer pointer;
    private final Stream owner;
    private Stream writer;                                // guarded by this
    private final List<Stream> readers = new ArrayList<>(2);  // since the last write, not the writer; guarded by this

    private CudaStorage(CudaContext context, long byteSize) {
        // Allocate before super() counts the bytes, so a failed allocation leaves no trace in MemoryStats.
        Stream stream = context.stream();
        DevicePointer block = context.allocator().allocate(byteSize, stream);
        super(byteSize);
        this.context = context;
        this.owner = stream;
        this.writer = stream;
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

    /** Orders a read on {@code stream} (about to be submitted) after the last write; see the class comment. */
    synchronized void readOn(Stream stream) {
        if (stream == writer || readers.contains(stream)) return;
        stream.waitFor(writer);
        readers.add(stream);
    }

    /** Orders a write on {@code stream} (about to be submitted) after the last write and every read since. */
    synchronized void writeOn(Stream stream) {
        stream.waitFor(writer);
        for (Stream r : readers) stream.waitFor(r);
        readers.clear();
        writer = stream;
    }

    @Override
    protected void free() {
        synchronized (this) {
            if (writer != owner || !readers.isEmpty()) {
                context.makeCurrent();
                writeOn(owner);  // the next user of the block is work on the owner's stream
            }
        }
        context.allocator().release(pointer, byteSize(), owner);
    }
}
