package org.ood4j.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Fresh large host blocks as anonymous mappings backed by transparent huge pages (Linux).
 *
 * <p>Why: {@code Arena.allocate} zero-fills a fresh block through the C library's mapping, one
 * page fault per 4 KiB: 100 MB took 85-107 ms here (a VM, where a fault is dear), and its release
 * another 12-15 ms. The KNN fit of the full workload's 100 MB bank paid that on every fit. An
 * anonymous mapping, aligned to 2 MiB and advised {@code MADV_HUGEPAGE} before its first touch,
 * faults once per 2 MiB: the same 100 MB took 15-21 ms to touch and 0.5 ms to unmap. The kernel
 * hands out zeroed pages, so a fresh block needs no fill of its own.
 *
 * <p>Where the mapping cannot be made (not Linux, native access not enabled for the engine, no
 * {@code mmap} symbol, or {@code -Dood4j.hugePages=false}), {@link #allocate} answers null and the
 * caller takes the arena's own memory. Huge pages are only advised: with the kernel's THP set to {@code never} the mapping
 * still works, with 4 KiB pages. Mapped blocks are not counted in Native Memory Tracking's
 * "Other" (the JVM does not see a mapping it did not make); the engine's own counters
 * ({@link MemoryStats}) count them as any block.
 */
final class HugePageMemory {
    private static final long HUGE_PAGE = 2L << 20;
    private static final int PROT_READ_WRITE = 0x1 | 0x2, MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20, MADV_HUGEPAGE = 14;
    private static final MethodHandle MMAP, MUNMAP, MADVISE;

    static {
        MethodHandle mmap = null, munmap = null, madvise = null;
        // only where native access is granted (the launcher's --enable-native-access): elsewhere the
        // linker would print the JDK's restricted-method warning on a CPU-only path that never did
        if (Boolean.parseBoolean(System.getProperty("ood4j.hugePages", "true"))
                && System.getProperty("os.name", "").startsWith("Linux")
                && HugePageMemory.class.getModule().isNativeAccessEnabled()) {
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                ValueLayout address = ValueLayout.ADDRESS, size = ValueLayout.JAVA_LONG, integer = ValueLayout.JAVA_INT;
                mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(),
                        FunctionDescriptor.of(address, address, size, integer, integer, integer, size));
                munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(), FunctionDescriptor.of(integer, address, size));
                madvise = linker.downcallHandle(libc.find("madvise").orElseThrow(), FunctionDescriptor.of(integer, address, size, integer));
            } catch (RuntimeException | LinkageError e) {
                mmap = null;                                  // no native access or no such symbol: the arena's memory
            }
        }
        MMAP = mmap;
        MUNMAP = munmap;
        MADVISE = madvise;
    }

    private HugePageMemory() {}

    /** Whether fresh large blocks are mapped here (for tests and diagnostics). */
    static boolean available() { return MMAP != null; }

    /**
     * {@code bytes} of zeroed memory aligned to 2 MiB, unmapped when {@code arena} closes; null
     * where no mapping can be made, so the caller falls back to {@code arena.allocate}.
     */
    static MemorySegment allocate(long bytes, Arena arena) {
        if (MMAP == null) return null;
        long length = bytes + HUGE_PAGE;                      // room to start the block on a 2 MiB boundary
        MemorySegment mapping;
        try {
            mapping = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, length, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
        } catch (Throwable e) {
            return null;
        }
        if (mapping.address() == -1L) return null;           // MAP_FAILED: let the arena try (and report) it
        long start = (mapping.address() + HUGE_PAGE - 1) & -HUGE_PAGE;
        MemorySegment block = MemorySegment.ofAddress(start).reinterpret(bytes);
        try {
            int ignored = (int) MADVISE.invokeExact(block, bytes, MADV_HUGEPAGE);   // advice only: 4 KiB pages if refused
        } catch (Throwable e) {
            // advice only
        }
        return block.reinterpret(bytes, arena, segment -> unmap(mapping, length));
    }

    private static void unmap(MemorySegment mapping, long length) {
        try {
            int ignored = (int) MUNMAP.invokeExact(mapping, length);
        } catch (Throwable e) {
            throw new IllegalStateException("munmap failed", e);
        }
    }
}
