package org.ood4j.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A block of memory that one or more tensors (a tensor and its views) look at. It is reference
 * counted: each tensor over it holds one reference, and the memory is freed when the last one
 * is closed. Subclasses hold host memory ({@link Host}) or device memory (the CUDA backend).
 */
public abstract class Storage {
    private final long byteSize;
    private final AtomicInteger refs = new AtomicInteger(1);

    protected Storage(long byteSize) {
        this.byteSize = byteSize;
        MemoryStats.allocated(byteSize);
    }

    public long byteSize() { return byteSize; }

    public abstract Device device();

    /** Host memory, when this storage is on the CPU. */
    public MemorySegment segment() {
        throw new UnsupportedOperationException("storage on " + device() + " has no host segment");
    }

    final void retain() {
        if (refs.getAndIncrement() <= 0) {
            refs.decrementAndGet();
            throw new IllegalStateException("storage of " + byteSize + " bytes was already freed");
        }
    }

    final void release() {
        int left = refs.decrementAndGet();
        if (left == 0) {
            free();
            MemoryStats.freed(byteSize);
        } else if (left < 0) {
            throw new IllegalStateException("storage of " + byteSize + " bytes released twice");
        }
    }

    /** Returns the memory to its allocator; called once, when the last reference goes. */
    protected abstract void free();

    /**
     * Off-heap host memory that any thread may read and write, from the C library's calloc and
     * returned by free: zeroed (lazily, for large blocks the kernel maps zero pages), and freed
     * at once when the last reference goes. A shared {@link Arena} per block, the fallback when
     * native access is not granted, costs a thread handshake of ~0.1 ms on every close (most of
     * a small op's time); calloc/free cost about a microsecond.
     */
    public static final class Host extends Storage {
        private final MemorySegment segment;
        private final Arena arena;   // only on the fallback path

        public Host(long byteSize) {
            super(byteSize);
            long n = Math.max(byteSize, 1);
            if (NativeHeap.AVAILABLE) {
                this.arena = null;
                this.segment = NativeHeap.calloc(n);
            } else {
                this.arena = Arena.ofShared();
                // 64-byte alignment: a cache line, and enough for any vector width.
                this.segment = arena.allocate(n, 64);
            }
        }

        @Override public Device device() { return Device.CPU; }

        @Override public MemorySegment segment() { return segment; }

        @Override protected void free() {
            if (arena != null) arena.close();
            else NativeHeap.free(segment);
        }
    }

    /** calloc and free through the FFM linker, when native access is granted. */
    private static final class NativeHeap {
        private static final MethodHandle CALLOC, FREE;
        static final boolean AVAILABLE;

        static {
            MethodHandle calloc = null, free = null;
            boolean ok = false;
            if (!Boolean.getBoolean("ood4j.arenaStorage")) {
                try {
                    Linker linker = Linker.nativeLinker();
                    SymbolLookup libc = linker.defaultLookup();
                    calloc = linker.downcallHandle(libc.find("calloc").orElseThrow(),
                            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
                    free = linker.downcallHandle(libc.find("free").orElseThrow(), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
                    MemorySegment probe = ((MemorySegment) calloc.invokeExact(1L, 8L)).reinterpret(8);
                    free.invokeExact(probe);
                    ok = true;
                } catch (Throwable e) {
                    // no native access (or no libc symbols): shared arenas instead
                }
            }
            CALLOC = calloc;
            FREE = free;
            AVAILABLE = ok;
        }

        static MemorySegment calloc(long bytes) {
            MemorySegment raw;
            try {
                raw = (MemorySegment) CALLOC.invokeExact(1L, bytes);
            } catch (Throwable e) {
                throw new IllegalStateException("calloc failed", e);
            }
            if (raw.address() == 0) throw new OutOfMemoryError("cannot allocate " + bytes + " bytes of host memory");
            return raw.reinterpret(bytes);
        }

        static void free(MemorySegment segment) {
            try {
                FREE.invokeExact(segment);
            } catch (Throwable e) {
                throw new IllegalStateException("free failed", e);
            }
        }
    }
}
