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

    /** A device or host address as the pointer argument of a downcall. */
    static MemorySegment ptr(long address) {
        return MemorySegment.ofAddress(address);
    }
}
