package org.ood4j.engine;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class MemoryBudgetTest {
    @Test
    void sizesReadAsPeopleWriteThem() {
        assertEquals("512 B", MemoryBudget.human(512));
        assertEquals("1.5 KB", MemoryBudget.human(1536));
        assertEquals("960 GB", MemoryBudget.human(960L << 30));
        assertEquals("5.9 GB", MemoryBudget.human((long) (5.9 * (1L << 30))));
    }

    @Test
    void sizesSaturateInsteadOfOverflowing() {
        assertEquals(Long.MAX_VALUE, MemoryBudget.bytes(1L << 40, 1L << 40, 8));
        assertEquals(Long.MAX_VALUE, MemoryBudget.plus(Long.MAX_VALUE, 1));
        assertEquals(24, MemoryBudget.bytes(3, 8));
    }

    @Test
    void aStepBeyondTheHeapIsRefusedInOneLineNamingNeedAvailableAndRemedy() {
        MemoryBudget.Need need = MemoryBudget.Need.float64(3, 200_000, 200_000, "matrices");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MemoryBudget.require("Test: a fit at dimension 200000", Device.CPU, need, need, "use fewer dimensions"));
        String m = e.getMessage();
        assertTrue(m.startsWith("Test: a fit at dimension 200000 needs about 894 GB (3 float64 200000 x 200000 matrices); about "), m);
        assertTrue(m.contains("is available (JVM heap of at most ") && m.endsWith("; use fewer dimensions or raise -Xmx"), m);
        assertEquals(1, m.lines().count());
    }

    @Test
    void anArrayBeyondOneJavaArrayIsRefusedEvenWhereMemoryWouldDo() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MemoryBudget.requireArrays("Test", 50_000L * 50_000, "a float64 50000 x 50000 matrix", "split it"));
        assertTrue(e.getMessage().contains("arrays of 2,500,000,000 elements"), e.getMessage());
    }

    @Test
    void whatFitsPasses() {
        MemoryBudget.Need small = MemoryBudget.Need.float64(3, 2048, 2048, "matrices");
        MemoryBudget.require("Test", Device.CPU, small, small, "n/a");
        assertTrue(MemoryBudget.availablePhysical() > 0);
    }
}
