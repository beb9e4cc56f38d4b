package org.ood4j.engine;

/**
 * Whether the CUDA backend can run here, and why not when it cannot.
 *
 * @param available   true when ops on {@link Device#CUDA} will run
 * @param description the device and library versions, or the precise reason CUDA is unavailable
 */
public record CudaStatus(boolean available, String description) {
    @Override
    public String toString() {
        return (available ? "available: " : "unavailable: ") + description;
    }
}
