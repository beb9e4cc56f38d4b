package org.ood4j.engine.cuda;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;
import org.ood4j.kernels.Kernels;

/**
 * The process's CUDA state: device 0, its primary context (retained once, shared with cuBLAS and
 * cuSOLVER, which use the same primary context through the runtime), our PTX modules (loaded once
 * from the kernels jar), and the streams that threads lease. Every entry point makes the context
 * current on the calling thread first, so any thread may run ops.
 *
 * <p>Streams are pooled, not made per thread: a thread leases one on its first op and keeps it
 * while it lives; when it has ended, the next lease takes its stream back (work already on the
 * stream stays ordered before the next lessee's). What hangs off a stream is pooled with it: the
 * allocator's free list, the cuBLAS and cuSOLVER handles bound to it, the pinned staging buffers
 * (see {@link Transfers}). So thread churn (a server's pool, virtual threads) reuses a fixed set of
 * resources, as many as threads ever ran CUDA ops at once, instead of leaking one set per thread.
 * A virtual thread may run on another carrier after any blocking call, and a CUDA context is
 * current per OS thread: it is made current at every entry point there, not once.
 */
public final class CudaContext {
    private static volatile CudaContext instance;

    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final String deviceName;
    private final int driverVersion;
    private final int multiprocessors;
    private final int computeMajor, computeMinor;
    private final Map<Kernels.Module, CUmodule> modules = new EnumMap<>(Kernels.Module.class);
    private final Map<String, CUfunction> functions = new ConcurrentHashMap<>();
    private final ThreadLocal<Boolean> current = ThreadLocal.withInitial(() -> false);
    private final ThreadLocal<Stream> streams = new ThreadLocal<>();
    private final Map<Stream, Thread> leased = new java.util.IdentityHashMap<>();  // guarded by itself
    private final java.util.ArrayDeque<Stream> idle = new java.util.ArrayDeque<>();  // guarded by leased
    private int streamsCreated;                                                      // guarded by leased
    private final DeviceAllocator allocator;

    private CudaContext() {
        JCudaDriver.setExceptionsEnabled(false);
        check(JCudaDriver.cuInit(0), "cuInit");
        int[] count = new int[1];
        check(JCudaDriver.cuDeviceGetCount(count), "cuDeviceGetCount");
        if (count[0] == 0) throw new CudaException("no CUDA device (the driver reports none)");
        check(JCudaDriver.cuDeviceGet(device, 0), "cuDeviceGet");
        byte[] name = new byte[256];
        check(JCudaDriver.cuDeviceGetName(name, name.length, device), "cuDeviceGetName");
        deviceName = cString(name);
        int[] v = new int[1];
        check(JCudaDriver.cuDriverGetVersion(v), "cuDriverGetVersion");
        driverVersion = v[0];
        multiprocessors = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        computeMajor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        computeMinor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        check(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
        makeCurrent();
        for (Kernels.Module m : Kernels.Module.values()) {
            CUmodule module = new CUmodule();
            int rc = JCudaDriver.cuModuleLoadData(module, Kernels.ptx(m));
            if (rc != CUresult.CUDA_SUCCESS) {
                throw new CudaException("loading PTX module " + m.fileName() + ".ptx (cuModuleLoadData)", rc);
            }
            modules.put(m, module);
        }
        allocator = new DeviceAllocator(this);
        org.ood4j.engine.cuda.blas.Cublas.onOutOfMemory(allocator::releaseCache);
    }

    /** The context, created on first use; throws (CudaException or a linkage error) when CUDA cannot start. */
    public static CudaContext get() {
        CudaContext c = instance;
        if (c == null) {
            synchronized (CudaContext.class) {
                if (instance == null) instance = new CudaContext();
                c = instance;
            }
        }
        c.makeCurrent();
        return c;
    }

    private int attribute(int which) {
        int[] v = new int[1];
        check(JCudaDriver.cuDeviceGetAttribute(v, which, device), "cuDeviceGetAttribute");
        return v[0];
    }

    /**
     * Makes the primary context current on the calling thread: once per platform thread, at every
     * call on a virtual thread (its carrier may have changed since; the call is a thread-local store).
     */
    void makeCurrent() {
        if (Thread.currentThread().isVirtual()) {
            check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        } else if (!current.get()) {
            check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
            current.set(true);
        }
    }

    /** The calling thread's stream, leased on first use (see the class comment). */
    Stream stream() {
        makeCurrent();
        Stream s = streams.get();
        if (s == null) {
            s = lease();
            streams.set(s);
        }
        return s;
    }

    /** A stream for the calling thread: one an ended thread held, else a new non-blocking one. */
    private Stream lease() {
        synchronized (leased) {
            for (var it = leased.entrySet().iterator(); it.hasNext(); ) {
                var e = it.next();
                if (!e.getValue().isAlive()) {
                    idle.push(e.getKey());
                    it.remove();
                }
            }
            Stream s = idle.poll();
            if (s == null) {
                s = new Stream();
                // non-blocking: it never waits for the legacy stream
                check(JCudaDriver.cuStreamCreate(s, jcuda.driver.CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
                streamsCreated++;
            }
            leased.put(s, Thread.currentThread());
            return s;
        }
    }

    /** Streams created so far: at most the number of threads that ran CUDA ops at one time. */
    int streamsCreated() {
        synchronized (leased) {
            return streamsCreated;
        }
    }

    /** Waits for the calling thread's stream. */
    void synchronize(String op) {
        check(JCudaDriver.cuStreamSynchronize(stream()), op + " (cuStreamSynchronize)");
    }

    /** A kernel by its extern "C" name, looked up once. */
    CUfunction function(Kernels.Module module, String name) {
        return functions.computeIfAbsent(name, n -> {
            CUfunction f = new CUfunction();
            check(JCudaDriver.cuModuleGetFunction(f, modules.get(module), n), "cuModuleGetFunction " + n);
            return f;
        });
    }

    DeviceAllocator allocator() { return allocator; }

    public String deviceName() { return deviceName; }

    /** "major.minor" of the driver's CUDA version. */
    public String driverVersion() { return driverVersion / 1000 + "." + (driverVersion % 1000) / 10; }

    public int multiprocessors() { return multiprocessors; }

    public String computeCapability() { return computeMajor + "." + computeMinor; }

    /** {free, total} device memory in bytes. */
    public long[] memoryInfo() {
        makeCurrent();
        long[] free = new long[1], total = new long[1];
        check(JCudaDriver.cuMemGetInfo(free, total), "cuMemGetInfo");
        return new long[] {free[0], total[0]};
    }

    /** Throws a CudaException naming the op and the CUresult when rc is not CUDA_SUCCESS. */
    static void check(int rc, String op) {
        if (rc != CUresult.CUDA_SUCCESS) throw new CudaException(op, rc);
    }

    private static String cString(byte[] bytes) {
        int n = 0;
        while (n < bytes.length && bytes[n] != 0) n++;
        return new String(bytes, 0, n, java.nio.charset.StandardCharsets.UTF_8).trim();
    }
}
