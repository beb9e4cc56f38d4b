package org.ood4j.engine;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A check, before a large step allocates, that the memory it needs is there: a step that cannot
 * fit is refused at once with one line (what it needs, what is available, how to need less)
 * instead of ending minutes later in an {@link OutOfMemoryError} or an engine limit.
 *
 * <p>Two pools are checked separately: the JVM heap, where CPU linear algebra (EJML) and packed
 * matmul operands live, and physical memory, where off-heap tensor storage lives; and since the CPU
 * backend packs a matrix into one Java array, no array may exceed {@link #MAX_ARRAY} elements.
 * Estimates are the arrays a step certainly holds at once, so a step that works is never refused.
 * On a GPU the step is not checked here: the CUDA allocator refuses with the device's free memory.
 *
 * <p>A refusal is an {@link IllegalArgumentException}, like other inputs this machine cannot take
 * (they are the cause, and a smaller input is the remedy), not an {@link OutOfMemoryError}: nothing
 * was allocated and the JVM is in a sound state.
 */
public final class MemoryBudget {
    /** Bytes of one float64 element. */
    public static final long FLOAT64 = 8;

    /** Elements of the largest Java array (VM limit): the CPU backend's matmul, linear algebra and group sums each work on one. */
    public static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    private MemoryBudget() {}

    /**
     * What a step holds in one pool: its bytes, the elements of its largest single array, and
     * for the message what they are.
     */
    public record Need(long bytes, long largest, String what) {
        /** {@code count} float64 rows x cols arrays, e.g. "3 float64 200000 x 200000 matrices". */
        public static Need float64(long count, long rows, long cols, String noun) {
            return of(count, DType.FLOAT64, rows, cols, noun);
        }

        /** {@code count} rows x cols arrays of {@code type}, e.g. "int64 4096 x 1000000 indices". */
        public static Need of(long count, DType type, long rows, long cols, String noun) {
            return new Need(MemoryBudget.bytes(count, rows, cols, type.byteSize()), MemoryBudget.bytes(rows, cols),
                    (count == 1 ? "" : count + " ") + type.name().toLowerCase(Locale.ROOT) + " " + rows + " x " + cols + " " + noun);
        }

        /** Both needs at once. */
        public Need and(Need other) {
            return new Need(plus(bytes, other.bytes), Math.max(largest, other.largest), what + " and " + other.what);
        }
    }

    /**
     * Refuses {@code step} on {@code device} unless the heap holds {@code heap}, physical memory
     * {@code offHeap}, and each array fits one Java array; see the separate checks. GPU steps pass.
     */
    public static void require(String step, Device device, Need heap, Need offHeap, String remedy) {
        if (device != Device.CPU) return;
        requireHeap(step, heap.bytes(), heap.what(), remedy);
        requireNative(step, offHeap.bytes(), offHeap.what(), remedy);
        requireArrays(step, Math.max(heap.largest(), offHeap.largest()), heap.what(), remedy);
    }

    /** Refuses {@code step} when one of its arrays has more elements than a Java array holds. */
    public static void requireArrays(String step, long elements, String detail, String remedy) {
        if (elements <= MAX_ARRAY) return;
        throw new IllegalArgumentException(step + " needs arrays of " + String.format(Locale.ROOT, "%,d", elements) + " elements (" + detail
                + "), more than the " + String.format(Locale.ROOT, "%,d", MAX_ARRAY) + " one array holds on the CPU; " + remedy);
    }

    /**
     * Refuses {@code step} when it needs more JVM heap than is free.
     *
     * @param step   who does what, e.g. "Mahalanobis: a fit at feature dimension 200000"
     * @param bytes  the heap it needs
     * @param detail what those bytes are, e.g. "3 float64 200000 x 200000 matrices"
     * @param remedy how to need less, e.g. "reduce the feature dimension (e.g. PCA)"
     */
    public static void requireHeap(String step, long bytes, String detail, String remedy) {
        long available = availableHeap();
        if (bytes <= available) return;
        if (bytes <= Runtime.getRuntime().maxMemory()) {
            // Garbage counts as used until collected: collect once before refusing a step that may fit.
            System.gc();
            available = availableHeap();
            if (bytes <= available) return;
        }
        throw refusal(step, bytes, detail, available, "JVM heap of at most " + human(Runtime.getRuntime().maxMemory()), remedy + " or raise -Xmx");
    }

    /** Refuses {@code step} when its off-heap tensors need more than the machine's available physical memory. */
    public static void requireNative(String step, long bytes, String detail, String remedy) {
        long available = availablePhysical();
        if (bytes <= available) return;
        throw refusal(step, bytes, detail, available, "physical memory", remedy + " or free memory");
    }

    /** Heap the JVM can still give: its maximum less what is in use. */
    public static long availableHeap() {
        Runtime rt = Runtime.getRuntime();
        return rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
    }

    /**
     * Physical memory available to new allocations: Linux's MemAvailable (free memory plus the
     * page cache it can drop), else what the JVM reports as free.
     */
    public static long availablePhysical() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux, or an unexpected format: fall back to the JVM's view
        }
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getFreeMemorySize();
    }

    /** The product of sizes in bytes, saturating at Long.MAX_VALUE instead of overflowing. */
    public static long bytes(long... factors) {
        long product = 1;
        for (long f : factors) {
            if (f != 0 && product > Long.MAX_VALUE / f) return Long.MAX_VALUE;
            product *= f;
        }
        return product;
    }

    /** a + b for sizes, saturating at Long.MAX_VALUE. */
    public static long plus(long a, long b) {
        long sum = a + b;
        return sum < 0 ? Long.MAX_VALUE : sum;
    }

    /** A size for people: 512 B, 3.2 KB, 960 GB (powers of 1024). */
    public static String human(long bytes) {
        String[] units = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        if (u == 0) return bytes + " B";
        return String.format(Locale.ROOT, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
    }

    private static IllegalArgumentException refusal(String step, long bytes, String detail, long available, String pool, String remedy) {
        String need = bytes == Long.MAX_VALUE ? "more than " + human(Long.MAX_VALUE) : "about " + human(bytes);
        return new IllegalArgumentException(step + " needs " + need + " (" + detail + "); about " + human(Math.max(available, 0))
                + " is available (" + pool + "); " + remedy);
    }
}
