package org.ood4j.detectors;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.IntPredicate;

/**
 * A set of class indices kept as ranges, so that a message naming them stays one short line
 * however many there are ("classes [10..99999] (99,990 classes)", not 99,990 numbers).
 */
final class ClassRanges {
    /** Ranges written out before the rest is elided. */
    private static final int SHOWN = 5;

    private final List<long[]> ranges = new ArrayList<>();
    private long count;

    /** The classes c in [0, classes) for which {@code test} holds. */
    static ClassRanges where(int classes, IntPredicate test) {
        ClassRanges r = new ClassRanges();
        for (int c = 0; c < classes; c++) if (test.test(c)) r.add(c, c);
        return r;
    }

    /** Adds the classes {@code from..to} (inclusive), above every class added before. */
    void add(long from, long to) {
        long[] last = ranges.isEmpty() ? null : ranges.get(ranges.size() - 1);
        if (last != null && last[1] + 1 == from) last[1] = to;
        else ranges.add(new long[] {from, to});
        count += to - from + 1;
    }

    boolean isEmpty() { return count == 0; }

    /** "[1]", "[1, 3, 5]", or "[0..3, 7..99999, ...] (99,997 classes)" when ranges or elisions hide the count. */
    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        for (long[] r : ranges.subList(0, Math.min(SHOWN, ranges.size()))) parts.add(r[0] == r[1] ? "" + r[0] : r[0] + ".." + r[1]);
        if (ranges.size() > SHOWN) parts.add("...");
        String list = "[" + String.join(", ", parts) + "]";
        boolean everyOneShown = ranges.size() <= SHOWN && count == ranges.size();
        return everyOneShown ? list : list + String.format(Locale.ROOT, " (%,d classes)", count);
    }
}
