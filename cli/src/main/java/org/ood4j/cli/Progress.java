package org.ood4j.cli;

import java.io.PrintWriter;

/**
 * A one-line progress bar on an interactive terminal; silent when the output is piped or
 * redirected (no console), so logs and scripts stay clean.
 */
final class Progress implements AutoCloseable {
    private final PrintWriter err;
    private final String label;
    private final long total;
    private final boolean enabled;
    private long lastDrawn = -1;

    Progress(PrintWriter err, String label, long total) {
        this.err = err;
        this.label = label;
        this.total = Math.max(total, 1);
        this.enabled = System.console() != null && System.console().isTerminal();
    }

    void update(long done) {
        if (!enabled) return;
        long percent = 100 * done / total;
        if (percent == lastDrawn) return;
        lastDrawn = percent;
        int width = 30, filled = (int) (width * done / total);
        err.print("\r" + label + " [" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + percent + "%");
        err.flush();
    }

    @Override
    public void close() {
        if (enabled && lastDrawn >= 0) {
            err.print("\r" + " ".repeat(label.length() + 40) + "\r");
            err.flush();
        }
    }
}
