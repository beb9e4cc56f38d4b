package org.ood4j.engine;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

class HugePageMemoryTest {
    private static final long HUGE_PAGE = 2L << 20;

    @Test
    void freshLargeBlocksAreZeroedAlignedHugePageAdvisedAndUnmappedOnClose() throws IOException {
        assumeTrue(HugePageMemory.available(), "anonymous mappings are made on Linux only");
        long bytes = (24L << 20) + 4100;                      // not a multiple of any page size
        long address;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment block = HugePageMemory.allocate(bytes, arena);
            assertNotNull(block);
            address = block.address();
            assertEquals(0, address % HUGE_PAGE, "the block starts on a 2 MiB boundary");
            assertEquals(bytes, block.byteSize());
            for (long at = 0; at < bytes; at += 4096) assertEquals(0, block.get(ValueLayout.JAVA_BYTE, at), "zero at " + at);
            block.set(ValueLayout.JAVA_BYTE, bytes - 1, (byte) 7);
            block.fill((byte) 3);
            assertEquals(3, block.get(ValueLayout.JAVA_BYTE, bytes - 1));
            List<String> mapping = smapsEntry(address);
            assertFalse(mapping.isEmpty(), "mapped while its arena is open");
            if (Files.exists(Path.of("/sys/kernel/mm/transparent_hugepage/enabled"))) {
                String flags = mapping.stream().filter(l -> l.startsWith("VmFlags:")).findFirst().orElse("");
                assertTrue(flags.contains(" hg"), "advised MADV_HUGEPAGE: " + flags);
            }
        }
        assertTrue(smapsEntry(address).isEmpty(), "unmapped when its arena closed");
    }

    @Test
    void tensorsOfManyMegabytesLiveOnMappedBlocks() {
        assumeTrue(HugePageMemory.available(), "anonymous mappings are made on Linux only");
        int n = 3_000_001;                                    // 12 MB of float32: a fresh or a cached block
        try (Tensor ones = Tensor.full(1.0, DType.FLOAT32, n); Tensor sum = ones.sum()) {
            assertEquals(0, ones.storage().segment().address() % HUGE_PAGE, "a host block of 4 MiB and more is a mapping");
            assertEquals(n, sum.item());
        }
    }

    /** The lines of /proc/self/smaps for the mapping that holds {@code address}; empty if none does. */
    private static List<String> smapsEntry(long address) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            int dash = line.indexOf('-'), space = line.indexOf(' ');
            if (dash <= 0 || space < dash || !line.substring(0, dash).matches("[0-9a-f]+")) continue;
            long start = Long.parseUnsignedLong(line.substring(0, dash), 16), end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
            if (Long.compareUnsigned(address, start) < 0 || Long.compareUnsigned(address, end) >= 0) continue;
            int next = i + 1;
            while (next < lines.size() && !lines.get(next).matches("^[0-9a-f]+-[0-9a-f]+ .*")) next++;
            return lines.subList(i, next);
        }
        return List.of();
    }
}
