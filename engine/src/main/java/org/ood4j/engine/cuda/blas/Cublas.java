package org.ood4j.engine.cuda.blas;

import static org.ood4j.engine.cuda.blas.Ffm.INT;
import static org.ood4j.engine.cuda.blas.Ffm.LONG;
import static org.ood4j.engine.cuda.blas.Ffm.PTR;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;

import org.ood4j.engine.cuda.CudaException;

/**
 * cuBLAS through FFM, for whichever of libcublas.so.13 / .so.12 is installed: handle creation,
 * stream binding, and the four GEMMs (S/D, plain and strided batched), all present in both
 * majors under these names. Matrices are column-major, as cuBLAS wants; {@code CudaMatmul} maps
 * row-major tensors onto them. One handle per stream, bound to it (streams are leased by one
 * thread at a time and pooled, so the handles are too: see CudaContext). A call that fails
 * allocating device memory (CUBLAS_STATUS_ALLOC_FAILED) is tried once more after the device
 * allocator's cache is released.
 */
public final class Cublas {
    public static final int OP_N = 0, OP_T = 1;
    private static final int ALLOC_FAILED = 3;

    private static volatile Object loaded; // a Cublas, or the reason (String) it is missing

    private final String version;
    private final MethodHandle create, setStream, sgemm, dgemm, sgemmBatched, dgemmBatched;
    private final java.util.Map<Long, MemorySegment> handles = new java.util.concurrent.ConcurrentHashMap<>();

    private Cublas(NativeLibraries.Library lib) {
        String n = lib.name();
        var s = lib.symbols();
        create = Ffm.function(s, n, "cublasCreate_v2", PTR);
        setStream = Ffm.function(s, n, "cublasSetStream_v2", PTR, PTR);
        sgemm = Ffm.function(s, n, "cublasSgemm_v2", PTR, INT, INT, INT, INT, INT, PTR, PTR, INT, PTR, INT, PTR, PTR, INT);
        dgemm = Ffm.function(s, n, "cublasDgemm_v2", PTR, INT, INT, INT, INT, INT, PTR, PTR, INT, PTR, INT, PTR, PTR, INT);
        sgemmBatched = Ffm.function(s, n, "cublasSgemmStridedBatched",
                PTR, INT, INT, INT, INT, INT, PTR, PTR, INT, LONG, PTR, INT, LONG, PTR, PTR, INT, LONG, INT);
        dgemmBatched = Ffm.function(s, n, "cublasDgemmStridedBatched",
                PTR, INT, INT, INT, INT, INT, PTR, PTR, INT, LONG, PTR, INT, LONG, PTR, PTR, INT, LONG, INT);
        version = n + " " + property(Ffm.function(s, n, "cublasGetProperty", INT, PTR));
    }

    /** "major.minor.patch" from a libraryGetProperty-style function (0 major, 1 minor, 2 patch). */
    static String property(MethodHandle getProperty) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(ValueLayout.JAVA_INT);
            int[] parts = new int[3];
            for (int i = 0; i < 3; i++) {
                int status = (int) getProperty.invoke(i, v);
                if (status != 0) return "(version unknown: status " + status + ")";
                parts[i] = v.get(ValueLayout.JAVA_INT, 0);
            }
            return parts[0] + "." + parts[1] + "." + parts[2];
        } catch (Throwable t) {
            return "(version unknown: " + t + ")";
        }
    }

    /** Loads cuBLAS once; returns it, or null when it is missing (see {@link #status()}). */
    public static Cublas get() {
        Object l = loaded;
        if (l == null) {
            synchronized (Cublas.class) {
                if (loaded == null) {
                    try {
                        loaded = new Cublas(NativeLibraries.open(List.of("libcublas.so.13", "libcublas.so.12"),
                                List.of("libcublasLt.so.13", "libcublasLt.so.12")));
                    } catch (RuntimeException | LinkageError e) {
                        loaded = "missing: " + e.getMessage();
                    }
                }
                l = loaded;
            }
        }
        return l instanceof Cublas c ? c : null;
    }

    /** The library and its version, or "missing: reason". */
    public static String status() {
        Cublas c = get();
        return c != null ? c.version : (String) loaded;
    }

    /** The handle of {@code stream}, created on first use and bound to it. */
    private MemorySegment handle(long stream) throws Throwable {
        MemorySegment h = handles.get(stream);
        if (h == null) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(PTR);
                check(Ffm.retryOnOutOfMemory(ALLOC_FAILED, () -> (int) create.invoke(out)), "cublasCreate_v2");
                h = out.get(PTR, 0);
            }
            check((int) setStream.invoke(h, Ffm.ptr(stream)), "cublasSetStream_v2");
            handles.put(stream, h);
        }
        return h;
    }

    /** Sets what releases the device allocator's cache when cuBLAS or cuSOLVER cannot allocate (the CUDA context does). */
    public static void onOutOfMemory(Runnable release) { Ffm.onOutOfMemory(release); }

    /**
     * C = op(A) op(B) (column-major, alpha 1, beta 0) for {@code batch} matrices at the given
     * element strides (a stride of 0 shares one matrix); float64 when {@code doubles}.
     */
    public void gemm(boolean doubles, int transA, int transB, int m, int n, int k,
                     long a, int lda, long strideA, long b, int ldb, long strideB,
                     long c, int ldc, long strideC, int batch, long stream) {
        gemm(doubles, transA, transB, m, n, k, a, lda, strideA, b, ldb, strideB, 0, c, ldc, strideC, batch, stream);
    }

    /**
     * C = op(A) op(B) + beta C (column-major, alpha 1): with beta 1 the product is added to what C
     * holds, as when a sum of products is accumulated chunk by chunk. Otherwise as above.
     */
    public void gemm(boolean doubles, int transA, int transB, int m, int n, int k,
                     long a, int lda, long strideA, long b, int ldb, long strideB,
                     double beta, long c, int ldc, long strideC, int batch, long stream) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment h = handle(stream);
            MemorySegment one = doubles ? arena.allocateFrom(ValueLayout.JAVA_DOUBLE, 1.0) : arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1f);
            MemorySegment betaArg = doubles ? arena.allocateFrom(ValueLayout.JAVA_DOUBLE, beta)
                    : arena.allocateFrom(ValueLayout.JAVA_FLOAT, (float) beta);
            int status;
            String name;
            if (batch == 1) {
                name = doubles ? "cublasDgemm_v2" : "cublasSgemm_v2";
                status = Ffm.retryOnOutOfMemory(ALLOC_FAILED, () -> (int) (doubles ? dgemm : sgemm).invoke(h, transA, transB,
                        m, n, k, one, Ffm.ptr(a), lda, Ffm.ptr(b), ldb, betaArg, Ffm.ptr(c), ldc));
            } else {
                name = doubles ? "cublasDgemmStridedBatched" : "cublasSgemmStridedBatched";
                status = Ffm.retryOnOutOfMemory(ALLOC_FAILED, () -> (int) (doubles ? dgemmBatched : sgemmBatched).invoke(h,
                        transA, transB, m, n, k, one, Ffm.ptr(a), lda, strideA, Ffm.ptr(b), ldb, strideB, betaArg,
                        Ffm.ptr(c), ldc, strideC, batch));
            }
            check(status, name + " (m=" + m + ", n=" + n + ", k=" + k + ", batch=" + batch + ")");
        } catch (CudaException e) {
            throw e;
        } catch (Throwable t) {
            throw new CudaException("cuBLAS call failed: " + t);
        }
    }

    private static void check(int status, String call) {
        if (status != 0) throw new CudaException(call + " failed: cublasStatus_t " + status);
    }
}
