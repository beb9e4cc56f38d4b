package org.ood4j.cli;

import org.ood4j.engine.Device;

/** The commands' {@code --device} value: cpu, cuda, or auto (CUDA where it is available, else the CPU). */
final class Devices {
    private Devices() {}

    static Device parse(String value, String option) {
        return switch (value) {
            case "cpu" -> Device.CPU;
            case "cuda" -> Device.CUDA;
            case "auto" -> Device.auto();
            default -> throw new IllegalArgumentException(option + " must be cpu, cuda or auto, got '" + value + "'");
        };
    }
}
