package org.ood4j.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

import org.ood4j.engine.Backends;
import org.ood4j.engine.CudaStatus;
import org.ood4j.engine.Device;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** Prints the version, the backends, and for CUDA the device or the reason it is unavailable. */
@Command(name = "info", description = "Show the version and the available backends.")
final class InfoCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        out.println("ood4j " + Main.version());
        out.println("java  " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")");
        out.println("backends:");
        out.println("  cpu   available: " + Runtime.getRuntime().availableProcessors() + " threads, "
                + System.getProperty("os.arch"));
        CudaStatus cuda = Backends.cudaStatus();
        out.println("  cuda  " + cuda);
        out.println("default device: " + Device.auto().name().toLowerCase());
        return 0;
    }
}
