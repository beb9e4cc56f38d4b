package org.ood4j.engine;

import java.util.concurrent.atomic.AtomicLong;

/** Counters of the engine's live native allocations, for leak checks and diagnostics. */
public final class MemoryStats {
    private static final AtomicLong LIVE_BYTES = new AtomicLong();
    private static final AtomicLong LIVE_BLOCKS = new AtomicLong();
    private static final AtomicLong TOTAL_BLOCKS = new AtomicLong();

    private MemoryStats() {}

    static void allocated(long bytes) {
        LIVE_BYTES.addAndGet(bytes);
        LIVE_BLOCKS.incrementAndGet();
        TOTAL_BLOCKS.incrementAndGet();
    }

    static void freed(long bytes) {
        LIVE_BYTES.addAndGet(-bytes);
        LIVE_BLOCKS.decrementAndGet();
    }

    /** Bytes of tensor storage currently allocated (all devices). */
    public static long liveBytes() { return LIVE_BYTES.get(); }

    /** Storage blocks currently allocated. */
    public static long liveBlocks() { return LIVE_BLOCKS.get(); }

    /** Storage blocks ever allocated. */
    public static long totalBlocks() { return TOTAL_BLOCKS.get(); }
}
