package org.ood4j.engine.cuda.blas;

import static org.ood4j.engine.cuda.blas.Ffm.INT;
import static org.ood4j.engine.cuda.blas.Ffm.PTR;

import java.util.List;

/**
 * cuSOLVER (dense) through FFM, for whichever of libcusolver.so.12 / .so.11 is installed. Only
 * routines present in both majors may be bound: the classic cusolverDn{S,D}* calls and the 64-bit
 * cusolverDnX* API (CUDA 13 removed the generic cusolverDnGesvd/Syevd/Potrf...). Today this
 * class loads the library and reports its version in cudaStatus; CudaLinalg still uses the CPU.
 */
public final class Cusolver {
    private static volatile Object loaded; // a Cusolver, or the reason (String) it is missing

    private final String version;

    private Cusolver(NativeLibraries.Library lib) {
        var s = lib.symbols();
        String n = lib.name();
        // The handles a linear algebra op needs; bound here so a library lacking them reports it.
        Ffm.function(s, n, "cusolverDnCreate", PTR);
        Ffm.function(s, n, "cusolverDnSetStream", PTR, PTR);
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
}
