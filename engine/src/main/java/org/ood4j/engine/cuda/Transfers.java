package org.ood4j.engine.cuda;

import java.lang.foreign.MemorySegment;

import jcuda.Pointer;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.JCudaDriver;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;

/**
 * Host to device and back through pinned staging buffers: two 8 MiB page-locked buffers per
 * stream (so per thread, and pooled with the stream when the thread ends), used alternately, so copying chunk i between the tensor's memory and one buffer overlaps
 * the DMA of chunk i-1 from the other (pageable memory would make the driver stage it anyway, one
 * synchronous chunk at a time). Non-contiguous tensors are made contiguous first, on their own
 * device; the result is a new contiguous tensor.
 */
public final class Transfers {
    static final long CHUNK = 8L << 20;

    /** Per stream, so leased with it (CudaContext): one thread at a time uses a stream's buffers. */
    private static final java.util.Map<Stream, Staging> STAGING = new java.util.concurrent.ConcurrentHashMap<>();

    private Transfers() {}

    /** Two pinned buffers and an event per buffer marking the end of its last DMA. */
    private static final class Staging {
        final Pointer[] host = {new Pointer(), new Pointer()};
        final MemorySegment[] segment = new MemorySegment[2];
        final CUevent[] done = {new CUevent(), new CUevent()};
        final boolean[] pending = new boolean[2];

        Staging() {
            for (int i = 0; i < 2; i++) {
                CudaContext.check(JCudaDriver.cuMemAllocHost(host[i], CHUNK), "cuMemAllocHost (pinned staging)");
                segment[i] = MemorySegment.ofBuffer(host[i].getByteBuffer(0, CHUNK));
                CudaContext.check(JCudaDriver.cuEventCreate(done[i], CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate");
            }
        }

        /** Waits until buffer i's previous DMA has finished, so it may be overwritten or read. */
        void await(int i) {
            if (pending[i]) {
                CudaContext.check(JCudaDriver.cuEventSynchronize(done[i]), "cuEventSynchronize (staging)");
                pending[i] = false;
            }
        }

        void record(int i, Stream stream) {
            CudaContext.check(JCudaDriver.cuEventRecord(done[i], stream), "cuEventRecord (staging)");
            pending[i] = true;
        }
    }

    private static Staging staging(Stream stream) {
        return STAGING.computeIfAbsent(stream, s -> new Staging());
    }

    /** A contiguous CUDA copy of a CPU tensor. */
    public static Tensor toDevice(Tensor host) {
        CudaContext context = CudaContext.get();
        try (Tensor src = host.contiguous()) {
            long bytes = src.numel() * src.dtype().byteSize();
            Tensor out = DeviceTensors.empty(src.dtype(), src.shape());
            if (bytes == 0) return out;
            MemorySegment from = src.storage().segment().asSlice(src.offset() * src.dtype().byteSize(), bytes);
            DevicePointer to = DeviceTensors.storage(out).pointer();
            Stream stream = context.stream();
            Staging st = staging(stream);
            int chunk = 0;
            for (long at = 0; at < bytes; at += CHUNK, chunk++) {
                int b = chunk & 1;
                long len = Math.min(CHUNK, bytes - at);
                st.await(b);
                MemorySegment.copy(from, at, st.segment[b], 0, len);
                CudaContext.check(JCudaDriver.cuMemcpyHtoDAsync(to.withByteOffset(at), st.host[b], len, stream),
                        "cuMemcpyHtoDAsync (to CUDA)");
                st.record(b, stream);
            }
            st.await(0);
            st.await(1);
            return out;
        }
    }

    /** A contiguous CPU copy of a CUDA tensor. */
    public static Tensor toHost(Tensor device) {
        CudaContext context = CudaContext.get();
        DeviceTensors.use(device);
        try (Tensor src = device.contiguous()) {
            long bytes = src.numel() * src.dtype().byteSize();
            Tensor out = Tensor.zeros(src.dtype(), Device.CPU, src.shape());
            if (bytes == 0) return out;
            MemorySegment to = out.storage().segment();
            long base = DeviceTensors.address(src) - DeviceTensors.storage(src).address();
            DevicePointer from = DeviceTensors.storage(src).pointer();
            Stream stream = context.stream();
            Staging st = staging(stream);
            long previousAt = -1, previousLen = 0;
            int chunk = 0;
            for (long at = 0; at < bytes; at += CHUNK, chunk++) {
                int b = chunk & 1;
                long len = Math.min(CHUNK, bytes - at);
                st.await(b);                                   // its previous chunk was already copied out
                CudaContext.check(JCudaDriver.cuMemcpyDtoHAsync(st.host[b], from.withByteOffset(base + at), len, stream),
                        "cuMemcpyDtoHAsync (to CPU)");
                st.record(b, stream);
                if (previousAt >= 0) drain(st, 1 - b, to, previousAt, previousLen);
                previousAt = at;
                previousLen = len;
            }
            drain(st, (chunk - 1) & 1, to, previousAt, previousLen);
            return out;
        }
    }

    private static void drain(Staging st, int b, MemorySegment to, long at, long len) {
        st.await(b);
        MemorySegment.copy(st.segment[b], 0, to, at, len);
    }

    /** Device-to-device copy of {@code bytes} (for benchmarks and contiguous copies). */
    static void copyDeviceToDevice(long dstAddressOffset, DevicePointer dst, long srcAddressOffset, DevicePointer src,
                                   long bytes) {
        CudaContext context = CudaContext.get();
        CudaContext.check(JCudaDriver.cuMemcpyDtoDAsync(dst.withByteOffset(dstAddressOffset),
                src.withByteOffset(srcAddressOffset), bytes, context.stream()), "cuMemcpyDtoDAsync");
    }
}
