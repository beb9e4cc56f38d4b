package org.ood4j.engine.cuda;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;

import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * A caching device allocator: freed blocks go to a free list keyed by (stream, size bucket) and
 * are handed out again without cuMemAlloc/cuMemFree, which synchronise the device and cost
 * tens of microseconds each. Buckets round a request up to a multiple of 512 bytes below 1 MiB,
 * and to one of four steps per power of two above (at most 25% slack).
 *
 * <p>A block is reused only by work on the stream it was freed from, so stream order alone makes
 * the reuse safe; when other streams have used a block, that stream is first made to wait for
 * them (see {@link CudaStorage}). On CUDA_ERROR_OUT_OF_MEMORY the cache is
 * released and the allocation tried once more; then an exception names the request and the
 * device's free and total memory.
 */
final class DeviceAllocator {
    private final CudaContext context;
    private final Map<Stream, Map<Long, ArrayDeque<DevicePointer>>> free = new IdentityHashMap<>();
    private long cachedBytes, liveBytes;

    DeviceAllocator(CudaContext context) {
        this.context = context;
    }

    /** A size bucket: what is really allocated for a request of {@code bytes}. */
    static long bucket(long bytes) {
        long b = Math.max(bytes, 1);
        if (b < (1 << 20)) return (b + 511) & ~511L;
        long step = Long.highestOneBit(b) >> 2;
        return (b + step - 1) / step * step;
    }

    /** A block of at least {@code bytes} for work on {@code stream}. */
    synchronized DevicePointer allocate(long bytes, Stream stream) {
        long size = bucket(bytes);
        ArrayDeque<DevicePointer> list = free.getOrDefault(stream, Map.of()).get(size);
        if (list != null && !list.isEmpty()) {
            cachedBytes -= size;
            liveBytes += size;
            return list.pop();
        }
        DevicePointer p = new DevicePointer();
        int rc = JCudaDriver.cuMemAlloc(p, size);
        if (rc == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
            releaseCache();
            rc = JCudaDriver.cuMemAlloc(p, size);
            if (rc == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
                long[] info = context.memoryInfo();
                throw new CudaException("out of GPU memory: cannot allocate " + bytes + " bytes (" + size
                        + " with rounding); the device has " + info[0] + " bytes free of " + info[1]
                        + " (cuMemGetInfo), " + liveBytes + " held by live ood4j tensors");
            }
        }
        CudaContext.check(rc, "cuMemAlloc of " + size + " bytes");
        liveBytes += size;
        return p;
    }

    /** Returns a block to the free list of the stream that will next use it. */
    synchronized void release(DevicePointer p, long bytes, Stream stream) {
        long size = bucket(bytes);
        free.computeIfAbsent(stream, s -> new HashMap<>()).computeIfAbsent(size, s -> new ArrayDeque<>()).push(p);
        cachedBytes += size;
        liveBytes -= size;
    }

    /** Frees every cached block (after the device is idle, so no kernel still uses one). */
    synchronized void releaseCache() {
        context.makeCurrent();
        CudaContext.check(JCudaDriver.cuCtxSynchronize(), "cuCtxSynchronize before releasing the allocator cache");
        for (Map<Long, ArrayDeque<DevicePointer>> lists : free.values()) {
            for (ArrayDeque<DevicePointer> list : lists.values()) {
                for (DevicePointer p : list) JCudaDriver.cuMemFree(p);
            }
        }
        free.clear();
        cachedBytes = 0;
    }

    /** Bytes held in free lists, ready for reuse. */
    synchronized long cachedBytes() { return cachedBytes; }
}
