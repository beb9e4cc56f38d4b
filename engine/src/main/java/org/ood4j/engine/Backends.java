package org.ood4j.engine;

import org.ood4j.engine.backend.Backend;
import org.ood4j.engine.cpu.CpuBackend;

/** Finds the backend of a device, allocates storage there, and moves tensors between devices. */
public final class Backends {
    private static final Backend CPU = new CpuBackend();
    private static volatile CudaStatus cudaStatus;

    private Backends() {}

    public static Backend of(Device device) {
        return switch (device) {
            case CPU -> CPU;
            case CUDA -> throw new IllegalStateException("CUDA backend " + cudaStatus());
        };
    }

    /** Decided once per process: see {@link CudaProbe}. */
    public static CudaStatus cudaStatus() {
        CudaStatus s = cudaStatus;
        if (s == null) {
            synchronized (Backends.class) {
                if (cudaStatus == null) cudaStatus = CudaProbe.probe();
                s = cudaStatus;
            }
        }
        return s;
    }

    static Storage allocate(Device device, long bytes) {
        return switch (device) {
            case CPU -> new Storage.Host(bytes);
            case CUDA -> throw new IllegalStateException("CUDA backend " + cudaStatus());
        };
    }

    static Tensor transfer(Tensor t, Device target) {
        throw new IllegalStateException("cannot move " + t + " to " + target + ": CUDA backend " + cudaStatus());
    }

    /** Ops on tensors of two devices are refused rather than silently copied. */
    public static void sameDevice(Tensor a, Tensor b) {
        a.checkOpen();
        b.checkOpen();
        if (a.device() != b.device()) {
            throw new IllegalArgumentException("tensors on two devices: " + a + " and " + b
                    + "; move one with to(Device)");
        }
    }
}
