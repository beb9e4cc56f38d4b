package org.ood4j.engine;

/** Forward 2-D convolution and pooling over NCHW tensors. */
public final class Conv {
    private Conv() {}

    /** weight (O, C, kh, kw), bias (O) or null; zero padding; groups = 1. */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding, int dilation) {
        Backends.sameDevice(x, weight);
        if (bias != null) Backends.sameDevice(x, bias);
        return Backends.of(x.device()).conv().conv2d(x, weight, bias, stride, padding, dilation);
    }

    public static Tensor maxPool2d(Tensor x, int kernel, int stride) {
        return Backends.of(x.device()).conv().maxPool2d(x, kernel, stride);
    }

    public static Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) {
        return Backends.of(x.device()).conv().adaptiveAvgPool2d(x, outH, outW);
    }

    /**
     * adaptiveAvgPool2d(clamp(x, lower, upper), 1, 1) in one pass over x where the backend fuses
     * it (the CPU does): lower and upper are null or broadcast to (C, H, W).
     */
    public static Tensor clampedGlobalAvgPool(Tensor x, Tensor lower, Tensor upper) {
        if (lower != null) Backends.sameDevice(x, lower);
        if (upper != null) Backends.sameDevice(x, upper);
        return Backends.of(x.device()).conv().clampedGlobalAvgPool(x, lower, upper);
    }

    /**
     * {@link #clampedGlobalAvgPool}, or null when x holds NaN or an infinity, checked in the same
     * pass over x where the backend fuses it (the CPU does for float32 maps and bounds).
     */
    public static Tensor clampedGlobalAvgPoolIfFinite(Tensor x, Tensor lower, Tensor upper) {
        if (lower != null) Backends.sameDevice(x, lower);
        if (upper != null) Backends.sameDevice(x, upper);
        return Backends.of(x.device()).conv().clampedGlobalAvgPoolIfFinite(x, lower, upper);
    }
}
