package org.ood4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.Properties;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code ood4j} command. Errors are one clear line and a non-zero exit code; --verbose adds the stack trace. */
@Command(name = "ood4j", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Out-of-distribution detection on the JVM.",
        subcommands = {InfoCommand.class, FitCommand.class, CalibrateCommand.class, ScoreCommand.class, ServeCommand.class, EvalCommand.class, DemoCommand.class,
                BenchCommand.class})
public final class Main implements Runnable {
    @Option(names = "--verbose", description = "print stack traces of errors", scope = CommandLine.ScopeType.INHERIT)
    boolean verbose;

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line with the given streams; returns the exit code (used by tests). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        Main main = new Main();
        CommandLine cli = new CommandLine(main);
        for (CommandLine sub : cli.getSubcommands().values()) {
            // --help on every command: it prints the usage and exits 0, before required options are checked
            sub.getCommandSpec().addOption(CommandLine.Model.OptionSpec.builder("-h", "--help").usageHelp(true)
                    .description("Show this help message and exit.").build());
        }
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("ood4j: " + e.getClass().getSimpleName() + ": " + e.getMessage());
            if (verbose(parsed)) e.printStackTrace(cmd.getErr());
            return 1;
        });
        try {
            return cli.execute(args);
        } catch (OutOfMemoryError e) {
            // picocli hands on Errors; the detectors estimate their big allocations first, so this is the rare rest
            err.println("ood4j: out of memory (" + e.getMessage() + "): the input needs more than this JVM may use; "
                    + "raise its limit, e.g. JAVA_TOOL_OPTIONS=-Xmx16g, or use smaller inputs");
            if (java.util.Arrays.asList(args).contains("--verbose")) e.printStackTrace(err);
            return 1;
        }
    }

    /** --verbose is inherited: it may be matched by the root command or by the subcommand after it. */
    private static boolean verbose(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) return true;
        }
        return false;
    }

    /** The project version, filtered into a resource at build time. */
    static String version() {
        try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
            Properties p = new Properties();
            if (in != null) p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override public String[] getVersion() { return new String[] {"ood4j " + version()}; }
    }
}
