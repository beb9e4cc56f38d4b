package org.ood4j.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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

    /** Whether writes are refused (a memory-mapped file); {@link #describe()} says why. */
    public boolean readOnly() { return false; }

    /** Where the memory comes from, for messages. */
    public String describe() { return byteSize + " bytes on " + device(); }

    /**
     * Off-heap host memory from a shared arena, so worker threads may read and write it. Each
     * close of an arena costs a thread handshake (~0.1 ms, measured), which calloc/free through
     * the linker would avoid — but then a tensor closed by one thread while another still reads it
     * would touch freed memory and could crash the JVM; with an arena that access throws. Blocks of
     * 4 MiB and more are pooled instead ({@link HostBlocks}): reused zero-filled, no fault per page,
     * no handshake, still mapped while pooled (a racing reader reads stale data, never crashes).
     */
    public static final class Host extends Storage {
        private final HostBlocks.Block block;
        private final MemorySegment segment;

        public Host(long byteSize) {
            this(byteSize, true);
        }

        /** Zero-filled, or (not {@code zero}) with unspecified contents: see {@link HostBlocks#take(long, boolean)}. */
        Host(long byteSize, boolean zero) {
            super(byteSize);
            // 64-byte alignment: a cache line, and enough for any vector width; large blocks are reused (HostBlocks)
            this.block = HostBlocks.take(byteSize, zero);
            this.segment = block.segment().asSlice(0, byteSize);
        }

        @Override public Device device() { return Device.CPU; }

        @Override public MemorySegment segment() { return segment; }

        @Override protected void free() { HostBlocks.give(block); }
    }

    /**
     * A read-only window on a file's bytes ({@code FileChannel.map}): the data live in the page
     * cache, not on the heap or in malloc'd memory, and a tensor of any size costs no copy. The
     * mapping is released when the last tensor over it is closed (a shared arena, as {@link Host}).
     */
    public static final class Mapped extends Storage {
        private final Arena arena;
        private final MemorySegment segment;
        private final java.nio.file.Path file;

        private Mapped(java.nio.file.Path file, Arena arena, MemorySegment segment) {
            super(segment.byteSize());
            this.file = file;
            this.arena = arena;
            this.segment = segment;
        }

        /** Maps {@code byteSize} bytes of {@code file} from {@code offset}, read-only. */
        public static Mapped map(java.nio.file.Path file, long offset, long byteSize) throws java.io.IOException {
            try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ)) {
                return map(channel, file, offset, byteSize);
            }
        }

        /**
         * Maps {@code byteSize} bytes from {@code offset} of an open channel (which may be closed
         * afterwards: the mapping does not depend on it, and outlives an unlinked file), read-only;
         * {@code file} names it in messages.
         */
        public static Mapped map(java.nio.channels.FileChannel channel, java.nio.file.Path file, long offset, long byteSize) throws java.io.IOException {
            Arena arena = Arena.ofShared();
            try {
                return new Mapped(file, arena, channel.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, offset, byteSize, arena));
            } catch (java.io.IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        }

        @Override public Device device() { return Device.CPU; }

        @Override public MemorySegment segment() { return segment; }

        @Override public boolean readOnly() { return true; }

        @Override public String describe() { return "memory-mapped read-only from " + file; }

        @Override protected void free() { arena.close(); }
    }
}
