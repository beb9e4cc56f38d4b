package org.ood4j.engine;

/**
 * Where a tensor's storage lives. Moving between devices is explicit ({@link Tensor#to(Device)});
 * an op on tensors of two devices throws.
 */
public enum Device {
    CPU,
    CUDA;

    /** CUDA when a device and our kernels are usable here, else CPU. */
    public static Device auto() {
        return Backends.cudaStatus().available() ? CUDA : CPU;
    }
}
