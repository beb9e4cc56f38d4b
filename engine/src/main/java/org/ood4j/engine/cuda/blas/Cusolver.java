package org.ood4j.engine.cuda.blas;

import static org.ood4j.engine.cuda.blas.Ffm.INT;
import static org.ood4j.engine.cuda.blas.Ffm.PTR;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;

import org.ood4j.engine.cuda.CudaException;

/**
 * cuSOLVER (dense, float64) through FFM, for whichever of libcusolver.so.12 / .so.11 is
 * installed. Only routines present in both majors are bound: the classic cusolverDnD* calls
 * (CUDA 13 removed the generic cusolverDnPotrf/Syevd/Getrf...). Matrices are column-major;
 * device addresses are passed as longs; devInfo is a device int the caller reads. One handle per
 * stream, bound to it (pooled with the stream: see Cublas). A call that fails allocating device
 * memory (CUSOLVER_STATUS_ALLOC_FAILED) is tried once more after the allocator's cache is released.
 */
public final class Cusolver {
    public static final int FILL_LOWER = 0, FILL_UPPER = 1;
    public static final int OP_N = 0, OP_T = 1;
    public static final int EIG_VECTORS = 1;
    /** gesvd's jobu / jobvt: all columns of U (rows of VT), the first min(m, n), over A, none. */
    public static final byte SVD_ALL = 'A', SVD_SOME = 'S', SVD_OVERWRITE = 'O', SVD_NONE = 'N';
    private static final ValueLayout.OfByte CHAR = ValueLayout.JAVA_BYTE; // C signed char

    private static volatile Object loaded; // a Cusolver, or the reason (String) it is missing

    private final String version;
    private final MethodHandle create, setStream;
    private final MethodHandle potrfSize, potrf, getrfSize, getrf, getrs, syevdSize, syevd, gesvdSize, gesvd;
    private final java.util.Map<Long, MemorySegment> handles = new java.util.concurrent.ConcurrentHashMap<>();
    private static final int ALLOC_FAILED = 2;

    private Cusolver(NativeLibraries.Library lib) {
        var s = lib.symbols();
        String n = lib.name();
        create = Ffm.function(s, n, "cusolverDnCreate", PTR);
        setStream = Ffm.function(s, n, "cusolverDnSetStream", PTR, PTR);
        potrfSize = Ffm.function(s, n, "cusolverDnDpotrf_bufferSize", PTR, INT, INT, PTR, INT, PTR);
        potrf = Ffm.function(s, n, "cusolverDnDpotrf", PTR, INT, INT, PTR, INT, PTR, INT, PTR);
        getrfSize = Ffm.function(s, n, "cusolverDnDgetrf_bufferSize", PTR, INT, INT, PTR, INT, PTR);
        getrf = Ffm.function(s, n, "cusolverDnDgetrf", PTR, INT, INT, PTR, INT, PTR, PTR, PTR);
        getrs = Ffm.function(s, n, "cusolverDnDgetrs", PTR, INT, INT, INT, PTR, INT, PTR, PTR, INT, PTR);
        syevdSize = Ffm.function(s, n, "cusolverDnDsyevd_bufferSize", PTR, INT, INT, INT, PTR, INT, PTR, PTR);
        syevd = Ffm.function(s, n, "cusolverDnDsyevd", PTR, INT, INT, INT, PTR, INT, PTR, PTR, INT, PTR);
        gesvdSize = Ffm.function(s, n, "cusolverDnDgesvd_bufferSize", PTR, INT, INT, PTR);
        gesvd = Ffm.function(s, n, "cusolverDnDgesvd", PTR, CHAR, CHAR, INT, INT, PTR, INT, PTR, PTR, INT, PTR, INT,
                PTR, INT, PTR, PTR);
        version = n + " " + Cublas.property(Ffm.function(s, n, "cusolverGetProperty", INT, PTR));
    }

    public static Cusolver get() {
        Object l = loaded;
        if (l == null) {
            synchronized (Cusolver.class) {
                if (loaded == null) {
                    try {
                        loaded = new Cusolver(NativeLibraries.open(List.of("libcusolver.so.12", "libcusolver.so.11"),
                                List.of("libnvJitLink.so.13", "libnvJitLink.so.12", "libcublasLt.so.13", "libcublasLt.so.12",
                                        "libcublas.so.13", "libcublas.so.12", "libcusparse.so.12")));
                    } catch (RuntimeException | LinkageError e) {
                        loaded = "missing: " + e.getMessage();
                    }
                }
                l = loaded;
            }
        }
        return l instanceof Cusolver c ? c : null;
    }

    /** The library and its version, or "missing: reason". */
    public static String status() {
        Cusolver c = get();
        return c != null ? c.version : (String) loaded;
    }

    /** Workspace (in doubles) of potrf for an n x n matrix at a. */
    public int potrfBufferSize(int uplo, int n, long a, int lda, long stream) {
        return bufferSize("cusolverDnDpotrf_bufferSize", stream, (h, out) -> potrfSize.invoke(h, uplo, n, Ffm.ptr(a), lda, out));
    }

    public void potrf(int uplo, int n, long a, int lda, long work, int lwork, long info, long stream) {
        call("cusolverDnDpotrf", stream, h -> potrf.invoke(h, uplo, n, Ffm.ptr(a), lda, Ffm.ptr(work), lwork, Ffm.ptr(info)));
    }

    public int getrfBufferSize(int m, int n, long a, int lda, long stream) {
        return bufferSize("cusolverDnDgetrf_bufferSize", stream, (h, out) -> getrfSize.invoke(h, m, n, Ffm.ptr(a), lda, out));
    }

    /** LU with partial pivoting; ipiv: n device ints (1-based row interchanges, as LAPACK). */
    public void getrf(int m, int n, long a, int lda, long work, long ipiv, long info, long stream) {
        call("cusolverDnDgetrf", stream, h -> getrf.invoke(h, m, n, Ffm.ptr(a), lda, Ffm.ptr(work), Ffm.ptr(ipiv), Ffm.ptr(info)));
    }

    public void getrs(int trans, int n, int nrhs, long a, int lda, long ipiv, long b, int ldb, long info, long stream) {
        call("cusolverDnDgetrs", stream, h -> getrs.invoke(h, trans, n, nrhs, Ffm.ptr(a), lda, Ffm.ptr(ipiv), Ffm.ptr(b), ldb, Ffm.ptr(info)));
    }

    public int syevdBufferSize(int jobz, int uplo, int n, long a, int lda, long w, long stream) {
        return bufferSize("cusolverDnDsyevd_bufferSize", stream,
                (h, out) -> syevdSize.invoke(h, jobz, uplo, n, Ffm.ptr(a), lda, Ffm.ptr(w), out));
    }

    /** Symmetric eigen-decomposition: eigenvalues ascending into w, eigenvectors over a (columns). */
    public void syevd(int jobz, int uplo, int n, long a, int lda, long w, long work, int lwork, long info, long stream) {
        call("cusolverDnDsyevd", stream, h -> syevd.invoke(h, jobz, uplo, n, Ffm.ptr(a), lda, Ffm.ptr(w), Ffm.ptr(work), lwork, Ffm.ptr(info)));
    }

    /** Workspace (in doubles) of gesvd for an m x n matrix (it does not depend on jobu / jobvt). */
    public int gesvdBufferSize(int m, int n, long stream) {
        return bufferSize("cusolverDnDgesvd_bufferSize", stream, (h, out) -> gesvdSize.invoke(h, m, n, out));
    }

    /**
     * SVD A = U diag(S) VT of the m x n matrix at a, m >= n (cuSOLVER refuses m < n): S descending
     * (min(m, n) doubles); U m x m (jobu 'A') or m x min(m, n) ('S'); VT n x n. A is destroyed.
     * rwork: min(m, n) - 1 doubles, the unconverged superdiagonal when devInfo > 0.
     */
    public void gesvd(byte jobu, byte jobvt, int m, int n, long a, int lda, long s, long u, int ldu, long vt, int ldvt,
                      long work, int lwork, long rwork, long info, long stream) {
        call("cusolverDnDgesvd", stream, h -> gesvd.invoke(h, jobu, jobvt, m, n, Ffm.ptr(a), lda, Ffm.ptr(s), Ffm.ptr(u), ldu,
                Ffm.ptr(vt), ldvt, Ffm.ptr(work), lwork, Ffm.ptr(rwork), Ffm.ptr(info)));
    }

    private interface Call { Object invoke(MemorySegment handle) throws Throwable; }

    private interface SizeCall { Object invoke(MemorySegment handle, MemorySegment out) throws Throwable; }

    private int bufferSize(String name, long stream, SizeCall c) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            call(name, stream, h -> c.invoke(h, out));
            int lwork = out.get(ValueLayout.JAVA_INT, 0);
            if (lwork < 0) {  // the 32-bit API's size wrapped: a buffer of that "size" would be overrun
                throw new CudaException(name + ": workspace size " + lwork + " overflows cuSOLVER's 32-bit lwork");
            }
            return Math.max(1, lwork);
        }
    }

    private void call(String name, long stream, Call c) {
        int status;
        try {
            MemorySegment h = handle(stream);
            status = Ffm.retryOnOutOfMemory(ALLOC_FAILED, () -> (int) c.invoke(h));
        } catch (CudaException e) {
            throw e;
        } catch (Throwable t) {
            throw new CudaException(name + " call failed: " + t);
        }
        if (status != 0) throw new CudaException(name + " failed: cusolverStatus_t " + status);
    }

    private MemorySegment handle(long stream) throws Throwable {
        MemorySegment h = handles.get(stream);
        if (h == null) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(PTR);
                int status = Ffm.retryOnOutOfMemory(ALLOC_FAILED, () -> (int) create.invoke(out));
                if (status != 0) throw new CudaException("cusolverDnCreate failed: cusolverStatus_t " + status);
                h = out.get(PTR, 0);
            }
            int status = (int) setStream.invoke(h, Ffm.ptr(stream));
            if (status != 0) throw new CudaException("cusolverDnSetStream failed: cusolverStatus_t " + status);
            handles.put(stream, h);
        }
        return h;
    }
}
