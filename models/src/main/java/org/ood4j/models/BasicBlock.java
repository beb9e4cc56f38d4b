package org.ood4j.models;

import java.util.random.RandomGenerator;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Var;

/**
 * ResNet's basic residual block, as torchvision's BasicBlock:
 * out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), 3×3 convolutions without bias, the
 * first with the block's stride; shortcut(x) = x, or downsample = (1×1 conv with the stride, batch
 * norm) when the stride or the width changes. Children: conv1, bn1, relu, conv2, bn2[, downsample].
 */
public final class BasicBlock extends Module {
    private final Conv2d conv1, conv2;
    private final BatchNorm2d bn1, bn2;
    private final ReLU relu;
    private final Sequential downsample;

    /** rng gives the convolutions torchvision's kaiming_normal(fan_out) initialisation; null leaves them zero (to be loaded). */
    public BasicBlock(int in, int out, int stride, RandomGenerator rng) {
        conv1 = child("conv1", ResNets.conv(in, out, 3, stride, 1, rng));
        bn1 = child("bn1", new BatchNorm2d(out));
        relu = child("relu", new ReLU());
        conv2 = child("conv2", ResNets.conv(out, out, 3, 1, 1, rng));
        bn2 = child("bn2", new BatchNorm2d(out));
        downsample = stride != 1 || in != out
                ? child("downsample", new Sequential(ResNets.conv(in, out, 1, stride, 0, rng), new BatchNorm2d(out)))
                : null;
    }

    /** The shortcut's 1×1 convolution and batch norm, or null for the identity. */
    public Sequential downsample() { return downsample; }

    @Override
    public Tensor forward(Tensor x) {
        Tensor h = then(then(then(then(conv1.forward(x), bn1), relu), conv2), bn2);
        try (h; Tensor shortcut = downsample == null ? alias(x) : downsample.forward(x); Tensor sum = h.add(shortcut)) {
            return sum.relu();
        }
    }

    /** m(h), freeing h: intermediates go as soon as they are used (a batch of 256 has large ones). */
    private static Tensor then(Tensor h, Module m) {
        try (h) {
            return m.forward(h);
        }
    }

    @Override
    public Var forward(Var x) {
        Var h = bn2.forward(conv2.forward(relu.forward(bn1.forward(conv1.forward(x)))));
        Var shortcut = downsample == null ? x : downsample.forward(x);
        return relu.forward(h.add(shortcut));
    }
}
