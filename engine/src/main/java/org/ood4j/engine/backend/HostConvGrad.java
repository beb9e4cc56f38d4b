package org.ood4j.engine.backend;

import org.ood4j.engine.Backends;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Norm;

/**
 * Convolution gradients of a device without its own kernels, computed by the CPU backend: the
 * operands are copied to the host, the results back to the device. Correct everywhere, fast
 * nowhere but the CPU; a backend replaces it by overriding {@link Backend#convGrad()}.
 */
final class HostConvGrad implements ConvGradOps {
    private final Device device;

    HostConvGrad(Device device) {
        this.device = device;
    }

    private static ConvGradOps cpu() {
        return Backends.of(Device.CPU).convGrad();
    }

    private Tensor back(Tensor hostResult) {
        try (hostResult) {
            return hostResult.to(device);
        }
    }

    @Override
    public Tensor conv2dInputGrad(Tensor gradOut, Tensor weight, long[] inputShape, int stride, int padding, int dilation) {
        try (Tensor g = gradOut.to(Device.CPU); Tensor w = weight.to(Device.CPU)) {
            return back(cpu().conv2dInputGrad(g, w, inputShape, stride, padding, dilation));
        }
    }

    @Override
    public Tensor conv2dWeightGrad(Tensor x, Tensor gradOut, int kh, int kw, int stride, int padding, int dilation) {
        try (Tensor h = x.to(Device.CPU); Tensor g = gradOut.to(Device.CPU)) {
            return back(cpu().conv2dWeightGrad(h, g, kh, kw, stride, padding, dilation));
        }
    }

    @Override
    public Tensor conv2dWeightGradPerSample(Tensor x, Tensor gradOut, int kh, int kw, int stride, int padding, int dilation) {
        try (Tensor h = x.to(Device.CPU); Tensor g = gradOut.to(Device.CPU)) {
            return back(cpu().conv2dWeightGradPerSample(h, g, kh, kw, stride, padding, dilation));
        }
    }

    @Override
    public Tensor conv2dWeightGradNorms(Tensor x, Tensor gradOut, int kh, int kw, int stride, int padding, int dilation, Norm norm) {
        try (Tensor h = x.to(Device.CPU); Tensor g = gradOut.to(Device.CPU)) {
            return back(cpu().conv2dWeightGradNorms(h, g, kh, kw, stride, padding, dilation, norm));
        }
    }

    @Override
    public Tensor maxPool2dGrad(Tensor x, Tensor gradOut, int kernel, int stride) {
        try (Tensor h = x.to(Device.CPU); Tensor g = gradOut.to(Device.CPU)) {
            return back(cpu().maxPool2dGrad(h, g, kernel, stride));
        }
    }

    @Override
    public Tensor adaptiveAvgPool2dGrad(Tensor gradOut, long[] inputShape) {
        try (Tensor g = gradOut.to(Device.CPU)) {
            return back(cpu().adaptiveAvgPool2dGrad(g, inputShape));
        }
    }
}
