package org.ood4j.bench;

import org.ood4j.engine.Backends;
import org.ood4j.engine.CudaStatus;
import org.ood4j.engine.Device;

/**
 * The {@code backend} parameter of the benchmarks ("cpu" or "cuda"). A cuda run on a machine
 * without a usable GPU fails in its setup with the reason (JMH reports that parameter set as
 * failed and goes on with the others); bench/quick.sh passes {@code -p backend=cpu} unless
 * nvidia-smi finds a GPU, so the CUDA variants are excluded by default where they cannot run.
 */
final class Backend {
    private Backend() {}

    static Device device(String backend) {
        return switch (backend) {
            case "cpu" -> Device.CPU;
            case "cuda" -> {
                CudaStatus s = Backends.cudaStatus();
                if (!s.available()) throw new UnsupportedOperationException("skipped: the CUDA backend is unavailable here: " + s.description());
                yield Device.CUDA;
            }
            default -> throw new IllegalArgumentException("backend must be cpu or cuda, got '" + backend + "'");
        };
    }
}
