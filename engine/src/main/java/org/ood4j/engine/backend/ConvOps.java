package org.ood4j.engine.backend;

import org.ood4j.engine.Tensor;

/** 2-D convolution and pooling over NCHW tensors (forward). */
public interface ConvOps {
    /** weight (O, C, kh, kw), bias (O) or null; zero padding; groups = 1. */
    Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding, int dilation);

    /** Max pooling, no padding. */
    Tensor maxPool2d(Tensor x, int kernel, int stride);

    /** Average pooling to (outH, outW) with PyTorch's adaptive windows. */
    Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW);
}
