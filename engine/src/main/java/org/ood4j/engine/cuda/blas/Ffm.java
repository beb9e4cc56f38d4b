package org.ood4j.engine.cuda.blas;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/** Downcall handles by name; every binding here returns a C int status (0 = success). */
final class Ffm {
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    static final java.lang.foreign.AddressLayout PTR = ValueLayout.ADDRESS;

    private Ffm() {}

    /** A handle of {@code int name(args...)}; throws IllegalStateException when the symbol is absent. */
    static MethodHandle function(SymbolLookup lib, String libName, String name, MemoryLayout... args) {
        MemorySegment symbol = lib.find(name).orElseThrow(
                () -> new IllegalStateException(libName + " has no symbol " + name));
        return Linker.nativeLinker().downcallHandle(symbol, FunctionDescriptor.of(INT, args));
    }

    /** A native call answering a status. */
    interface StatusCall { int call() throws Throwable; }

    private static volatile Runnable releaseCache = () -> { };

    /**
     * What frees the device allocator's cached blocks (set by the CUDA context): cuBLAS and
     * cuSOLVER allocate device memory of their own (handles, workspaces), outside the allocator's
     * out-of-memory retry, so they get the same retry here.
     */
    static void onOutOfMemory(Runnable release) { releaseCache = release; }

    /** Calls c; when it answers {@code allocFailed}, releases the allocator's cache and calls it once more. */
    static int retryOnOutOfMemory(int allocFailed, StatusCall c) throws Throwable {
        int status = c.call();
        if (status == allocFailed) {
            releaseCache.run();
            status = c.call();
        }
        return status;
    }

    /** A device or host address as the pointer argument of a downcall. */
    static MemorySegment ptr(long address) {
        return MemorySegment.ofAddress(address);
    }
}
