package org.ood4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.ood4j.detectors.AbstractDetector;
import org.ood4j.engine.Device;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * 'ood4j serve': loads saved detectors once and answers scoring requests over HTTP until the
 * process is interrupted (Ctrl-C) or, in-process, its thread is. The work is {@link ScoringServer}'s.
 */
@Command(name = "serve", description = {"Serve saved detectors over HTTP until interrupted.",
        "POST /score/{name} (JSON or .npy batches), GET /health, GET /metrics (Prometheus)."})
final class ServeCommand implements Callable<Integer> {
    /** NAME=FILE: a name of letters, digits, '.', '_' or '-' before the first '='. */
    private static final Pattern NAMED = Pattern.compile("([A-Za-z0-9._-]+)=(.+)");

    @Spec CommandSpec spec;

    @Option(names = "--state", required = true, paramLabel = "[NAME=]STATE", description = "a detector saved by 'ood4j fit', "
            + "served at /score/NAME (default NAME: the file name without its extension); repeat for several")
    List<String> states;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "address to listen on (default: ${DEFAULT-VALUE}, this machine only)")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "port (0: a free one, printed) (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--threads", description = "request handler threads (default: the number of cores)")
    Integer threads;

    @Option(names = "--max-body", defaultValue = "64MB", paramLabel = "SIZE", description = "largest request body, e.g. 1048576, "
            + "512KB, 64MB (KB, MB, GB: powers of 1024) (default: ${DEFAULT-VALUE})")
    String maxBody;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or auto (default: ${DEFAULT-VALUE})")
    String device;

    @Override
    public Integer call() throws Exception {
        Device target = Devices.parse(device, "--device");
        ScoringServer.Config config = new ScoringServer.Config(host, port, threads == null ? Runtime.getRuntime().availableProcessors()
                : threads, parseSize(maxBody), target);   // checked before anything is loaded
        PrintWriter out = spec.commandLine().getOut();
        try (ScoringServer server = new ScoringServer(load(target), config, spec.commandLine().getErr())) {
            server.start();
            out.println("listening on " + server.url());
            server.detectors().forEach((name, d) -> out.println("  POST /score/" + name + "  " + d.detector().name() + " (" + d.input()
                    + (d.detector().calibration() == null ? "" : ", calibrated") + ")"));
            Thread hook = Thread.ofPlatform().unstarted(() -> close(server));
            Runtime.getRuntime().addShutdownHook(hook);   // Ctrl-C: stop cleanly, running requests answered
            try {
                server.awaitStop();
            } finally {
                removeHook(hook);
            }
        } catch (InterruptedException e) {
            out.println("stopped");
        }
        return 0;
    }

    /** Every --state, loaded and moved to the device; all closed again if one fails. */
    private List<ServedDetector> load(Device target) throws Exception {
        List<ServedDetector> served = new ArrayList<>();
        try {
            for (String s : states) {
                Matcher m = NAMED.matcher(s);
                Path file = Path.of(m.matches() ? m.group(2) : s);
                String name = m.matches() ? m.group(1) : stem(file);
                AbstractDetector d = Scoring.load(file, target);
                try {
                    served.add(ServedDetector.of(name, d));
                } catch (RuntimeException e) {
                    d.close();
                    throw e;
                }
            }
            return served;
        } catch (Exception e) {
            for (ServedDetector d : served) d.detector().close();
            throw e;
        }
    }

    /** kl.safetensors -> kl. */
    private static String stem(Path file) {
        String name = file.getFileName().toString();
        int dot = name.indexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }

    /** 1048576, 512KB, 64MB, 1GB (also k, m, g, KiB, ...) in bytes; at most 2 GB - 1 (one Java array). */
    static int parseSize(String text) {
        Matcher m = Pattern.compile("(\\d+)\\s*([kmg]?)(i?b)?").matcher(text.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) throw new IllegalArgumentException("--max-body must be a size such as 1048576, 512KB or 64MB, got '" + text + "'");
        int shift = switch (m.group(2)) { case "k" -> 10; case "m" -> 20; case "g" -> 30; default -> 0; };
        long bytes;
        try {
            bytes = Math.multiplyExact(Long.parseLong(m.group(1)), 1L << shift);
        } catch (ArithmeticException | NumberFormatException e) {
            bytes = Long.MAX_VALUE;
        }
        if (bytes < 1 || bytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("--max-body must be between 1 byte and 2 GB, got '" + text + "'");
        }
        return (int) bytes;
    }

    private static void close(ScoringServer server) {
        try {
            server.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook is what stopped the server
        }
    }
}
