package org.ood4j.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A one-line progress bar on an interactive terminal; silent when the output is piped or
 * redirected (no console), or when the user asks for quiet, so logs and scripts stay clean.
 * Counted in rows it also shows the rate and the time left (rows done / seconds so far).
 */
final class Progress implements AutoCloseable {
    /** Redraws at most this often (ns), besides every whole percent. */
    private static final long REDRAW_NS = 250_000_000L;
    private final PrintWriter err;
    private final String label;
    private final long total;
    private final boolean enabled, rows;
    private final long started = System.nanoTime();
    private long lastDrawn = -1, lastAt;
    private int lastWidth;

    Progress(PrintWriter err, String label, long total) {
        this(err, label, total, false, false);
    }

    /** A bar counting rows (rate and time left shown), quiet on request. */
    Progress(PrintWriter err, String label, long totalRows, boolean quiet) {
        this(err, label, totalRows, quiet, true);
    }

    private Progress(PrintWriter err, String label, long total, boolean quiet, boolean rows) {
        this.err = err;
        this.label = label;
        this.total = Math.max(total, 1);
        this.rows = rows;
        this.enabled = !quiet && System.console() != null && System.console().isTerminal();
    }

    void update(long done) {
        if (!enabled) return;
        long percent = 100 * done / total, now = System.nanoTime();
        if (percent == lastDrawn && now - lastAt < REDRAW_NS) return;
        lastDrawn = percent;
        lastAt = now;
        int width = 30, filled = (int) (width * Math.min(done, total) / total);
        String line = label + " [" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + percent + "%" + (rows ? rate(done, now) : "");
        err.print("\r" + line + " ".repeat(Math.max(0, lastWidth - line.length())));
        lastWidth = line.length();
        err.flush();
    }

    /** "  12,345 rows/s, 1m02s left" from the average rate so far. */
    private String rate(long done, long now) {
        double seconds = (now - started) / 1e9, perSecond = seconds > 0 ? done / seconds : 0;
        if (perSecond <= 0) return "";
        long left = Math.round((total - Math.min(done, total)) / perSecond);
        return String.format(Locale.ROOT, "  %,.0f rows/s, %dm%02ds left", perSecond, left / 60, left % 60);
    }

    @Override
    public void close() {
        if (enabled && lastDrawn >= 0) {
            err.print("\r" + " ".repeat(Math.max(lastWidth, label.length() + 40)) + "\r");
            err.flush();
        }
    }
}
