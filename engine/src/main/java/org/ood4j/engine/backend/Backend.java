package org.ood4j.engine.backend;

import org.ood4j.engine.Device;

/**
 * One backend per device, grouped by op family. Each family is one small interface and one
 * file per backend; {@link org.ood4j.engine.Tensor} and the static facades
 * ({@code Linalg}, {@code Knn}, {@code Conv}) dispatch here by the device of their operands.
 */
public interface Backend {
    Device device();

    ElementwiseOps elementwise();

    ReductionOps reductions();

    SortOps sorting();

    IndexOps indexing();

    MatmulOps matmul();

    LinalgOps linalg();

    KnnOps knn();

    ConvOps conv();

    /**
     * Gradients of convolution and pooling (for the autodiff tape). The default computes them on
     * the CPU backend through copies; a backend with its own kernels overrides it.
     */
    default ConvGradOps convGrad() {
        return new HostConvGrad(device());
    }
}
