package org.ood4j.engine;

import org.ood4j.engine.backend.Backend;
import org.ood4j.engine.cpu.CpuBackend;
import org.ood4j.engine.cuda.CudaBackend;
import org.ood4j.engine.cuda.CudaStorage;
import org.ood4j.engine.cuda.Transfers;

/** Finds the backend of a device, allocates storage there, and moves tensors between devices. */
public final class Backends {
    private static final Backend CPU = new CpuBackend();
    private static volatile CudaStatus cudaStatus;

    private Backends() {}

    public static Backend of(Device device) {
        return switch (device) {
            case CPU -> CPU;
            case CUDA -> {
                requireCuda("the CUDA backend");
                yield CudaBackend.instance();
            }
        };
    }

    /** Throws IllegalStateException naming why CUDA is unavailable, if it is. */
    private static void requireCuda(String what) {
        CudaStatus s = cudaStatus();
        if (!s.available()) throw new IllegalStateException(what + " is unavailable: " + s.description());
    }

    /** Decided once per process: see {@link CudaBackend#probe()}. */
    public static CudaStatus cudaStatus() {
        CudaStatus s = cudaStatus;
        if (s == null) {
            synchronized (Backends.class) {
                if (cudaStatus == null) cudaStatus = CudaBackend.probe();
                s = cudaStatus;
            }
        }
        return s;
    }

    /** Zero-filled storage, or (not {@code zero}) with unspecified host contents (CUDA memory is zeroed all the same). */
    static Storage allocate(Device device, long bytes, boolean zero) {
        return switch (device) {
            case CPU -> new Storage.Host(bytes, zero);
            case CUDA -> {
                requireCuda("allocating " + bytes + " bytes on CUDA");
                yield CudaStorage.zeros(bytes);
            }
        };
    }

    /** A copy of t on the target device (t's device differs); a non-contiguous t is made contiguous first. */
    static Tensor transfer(Tensor t, Device target) {
        requireCuda("moving " + t + " to " + target);
        return target == Device.CUDA ? Transfers.toDevice(t) : Transfers.toHost(t);
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
