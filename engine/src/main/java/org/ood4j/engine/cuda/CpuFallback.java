package org.ood4j.engine.cuda;

import java.lang.System.Logger.Level;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

import org.ood4j.engine.Backends;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.Backend;

/**
 * Runs an op on the CPU backend for the CUDA backend: the inputs are copied to the host, the CPU
 * op runs, and its results are copied back. Used where no kernel or library covers a case (a
 * library that did not load, a row longer than a kernel's limit); it is logged once per op and
 * reason, never a crash.
 */
final class CpuFallback {
    private static final System.Logger LOG = System.getLogger("org.ood4j.engine.cuda");
    private static final Set<String> LOGGED = ConcurrentHashMap.newKeySet();

    private CpuFallback() {}

    static Backend cpu() { return Backends.of(Device.CPU); }

    /** Applies {@code op} to host copies of {@code inputs} (null entries stay null) and moves its results to CUDA. */
    static Tensor[] run(String op, String reason, Function<Tensor[], Tensor[]> cpuOp, Tensor... inputs) {
        if (LOGGED.add(op + "\0" + reason)) {
            LOG.log(Level.INFO, "CUDA backend: {0} runs on the CPU backend ({1}); its operands are copied to the host and back",
                    op, reason);
        }
        Tensor[] host = new Tensor[inputs.length];
        try {
            for (int i = 0; i < inputs.length; i++) {
                if (inputs[i] != null) host[i] = inputs[i].to(Device.CPU);
            }
            Tensor[] results = cpuOp.apply(host);
            Tensor[] out = new Tensor[results.length];
            for (int i = 0; i < results.length; i++) {
                try (Tensor r = results[i]) {
                    out[i] = r.to(Device.CUDA);
                }
            }
            return out;
        } finally {
            for (Tensor h : host) {
                if (h != null) h.close();
            }
        }
    }

    /** The single-result form of {@link #run}. */
    static Tensor run1(String op, String reason, Function<Tensor[], Tensor> cpuOp, Tensor... inputs) {
        return run(op, reason, h -> new Tensor[] {cpuOp.apply(h)}, inputs)[0];
    }
}
