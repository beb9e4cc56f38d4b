package org.ood4j.engine.cpu;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.*;

/** Placeholder until this op family is written. */
final class CpuConv implements ConvOps {
    @Override public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding, int dilation) { throw new UnsupportedOperationException("not yet"); }
    @Override public Tensor maxPool2d(Tensor x, int kernel, int stride) { throw new UnsupportedOperationException("not yet"); }
    @Override public Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) { throw new UnsupportedOperationException("not yet"); }
}
