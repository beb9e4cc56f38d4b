package org.ood4j.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Large off-heap host blocks kept for reuse. A fresh block of tens of MB is mapped anew and costs
 * page faults on first touch: a 40 MB zero-filled tensor took 25 ms here with 4 KiB pages, its
 * memset alone 3 ms. Ops that make such intermediates one after another (a float64 copy, a
 * centred copy, an elementwise chain) get a block back instead; a fresh one is mapped on huge
 * pages where the system allows ({@link HugePageMemory}: one fault per 2 MiB).
 *
 * <p>Blocks of at least {@link #MIN_BYTES} are rounded up to a size class (four per doubling, so at
 * most 19% is wasted) and, when freed, kept while the cache holds at most {@link #LIMIT_BYTES} —
 * beyond that they are released. Each block keeps its own shared arena, so the memory stays mapped
 * while cached: a tensor used after its close (a programming error, refused by the tensor's own
 * checks) can read another tensor's data but never crashes the JVM.
 */
final class HostBlocks {
    /** Smaller blocks come from the C library's heap, which reuses them without faults. */
    static final long MIN_BYTES = 4L << 20;
    /** The most memory kept idle: 1/16 of the JVM's heap limit, at most 512 MiB. */
    static final long LIMIT_BYTES = Math.min(512L << 20, Runtime.getRuntime().maxMemory() / 16);

    record Block(Arena arena, MemorySegment segment) {}

    private static final ConcurrentHashMap<Long, ConcurrentLinkedDeque<Block>> FREE = new ConcurrentHashMap<>();
    private static final AtomicLong CACHED = new AtomicLong();

    private HostBlocks() {}

    /** A zero-filled block of at least {@code bytes} (64-byte aligned): a cached one when there is one of its class. */
    static Block take(long bytes) {
        return take(bytes, true);
    }

    /**
     * As {@link #take(long)}; without {@code zero}, a cached block keeps what its last tensor left
     * (a fresh one is zeroed by the JDK all the same): for an output every element of which is
     * written before it is read, which saves a memset of its size (2.5 ms for 20 MB here).
     */
    static Block take(long bytes, boolean zero) {
        long size = sizeClass(bytes);
        if (size >= MIN_BYTES) {
            ConcurrentLinkedDeque<Block> free = FREE.get(size);
            Block b = free == null ? null : free.pollFirst();
            if (b != null) {
                CACHED.addAndGet(-size);
                if (zero) b.segment().asSlice(0, bytes).fill((byte) 0);
                return b;
            }
        }
        Arena arena = Arena.ofShared();
        MemorySegment mapped = size >= MIN_BYTES ? HugePageMemory.allocate(size, arena) : null;   // zeroed by the kernel
        return new Block(arena, mapped != null ? mapped : arena.allocate(size, 64));
    }

    /** Takes a block back: cached while the cache has room, else released. */
    static void give(Block b) {
        long size = b.segment().byteSize();
        if (size >= MIN_BYTES && CACHED.addAndGet(size) <= LIMIT_BYTES) {
            FREE.computeIfAbsent(size, s -> new ConcurrentLinkedDeque<>()).addFirst(b);
            return;
        }
        if (size >= MIN_BYTES) CACHED.addAndGet(-size);
        b.arena().close();
    }

    /** Below MIN_BYTES the size itself (at least 1); above, the next of four classes per doubling. */
    static long sizeClass(long bytes) {
        if (bytes < MIN_BYTES) return Math.max(bytes, 1);
        long power = Long.highestOneBit(bytes - 1);          // 2^k < bytes <= 2^(k+1)
        long step = power / 4;
        return (bytes + step - 1) / step * step;
    }
}
