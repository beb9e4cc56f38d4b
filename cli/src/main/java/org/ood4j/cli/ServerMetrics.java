package org.ood4j.cli;

import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The scoring server's counters, written in Prometheus' text format: requests by detector and
 * status code, rows scored, error responses, and latency quantiles over a bounded window of the
 * most recent requests (so memory stays flat however long the server runs).
 */
final class ServerMetrics {
    /** Latencies kept for the quantiles: the most recent this many requests. */
    static final int WINDOW = 8192;

    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    private final LongAdder rows = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final long[] recent = new long[WINDOW];
    private long recorded;
    private double secondsSum;

    /** One answered scoring request: the detector's name ("" when none was found), the status, rows scored, its time. */
    void record(String detector, int code, long scoredRows, long nanos) {
        requests.computeIfAbsent("detector=\"" + escape(detector) + "\",code=\"" + code + "\"", k -> new LongAdder()).increment();
        rows.add(scoredRows);
        if (code >= 400) errors.increment();
        synchronized (recent) {
            recent[(int) (recorded++ % WINDOW)] = nanos;
            secondsSum += nanos / 1e9;
        }
    }

    /** The exposition text (format 0.0.4). */
    String prometheus() {
        StringBuilder sb = new StringBuilder();
        header(sb, "ood4j_requests_total", "counter", "scoring requests answered, by detector and status code");
        new TreeMap<>(requests).forEach((labels, n) -> sb.append("ood4j_requests_total{").append(labels).append("} ").append(n.sum()).append('\n'));
        header(sb, "ood4j_rows_total", "counter", "rows scored");
        sb.append("ood4j_rows_total ").append(rows.sum()).append('\n');
        header(sb, "ood4j_errors_total", "counter", "scoring requests answered with a 4xx or 5xx");
        sb.append("ood4j_errors_total ").append(errors.sum()).append('\n');
        header(sb, "ood4j_request_seconds", "summary", "scoring request latency, quantiles over the last " + WINDOW + " requests");
        latency(sb);
        return sb.toString();
    }

    private void latency(StringBuilder sb) {
        long[] window;
        long count;
        double sum;
        synchronized (recent) {
            count = recorded;
            sum = secondsSum;
            window = Arrays.copyOf(recent, (int) Math.min(count, WINDOW));
        }
        Arrays.sort(window);
        for (double q : new double[] {0.5, 0.99}) {
            String value = window.length == 0 ? "NaN" : seconds(window[nearestRank(q, window.length)]);
            sb.append("ood4j_request_seconds{quantile=\"").append(q).append("\"} ").append(value).append('\n');
        }
        sb.append("ood4j_request_seconds_sum ").append(String.format(Locale.ROOT, "%.6f", sum)).append('\n');
        sb.append("ood4j_request_seconds_count ").append(count).append('\n');
    }

    /** The index of the q-quantile by the nearest-rank rule. */
    static int nearestRank(double q, int n) {
        return Math.max(0, (int) Math.ceil(q * n) - 1);
    }

    private static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.6f", nanos / 1e9);
    }

    private static void header(StringBuilder sb, String name, String type, String help) {
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
        sb.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    /** A label value as Prometheus quotes it. */
    private static String escape(String v) {
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
