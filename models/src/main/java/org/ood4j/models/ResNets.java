package org.ood4j.models;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * ResNet-18 for 32×32 inputs (the CIFAR variant): a 3×3 stride-1 stem without max pooling, then
 * four stages of two {@link BasicBlock}s (widths w, 2w, 4w, 8w; strides 1, 2, 2, 2), global
 * average pooling and a linear classifier. State_dict names are torchvision's: conv1, bn1,
 * layer1.0.conv1, ..., layer2.0.downsample.0, ..., fc.
 *
 * <p>It is a {@link Sequential} of [conv1, bn1, relu, layer1, layer2, layer3, layer4, avgpool,
 * flatten, fc] (indices 0-9), so {@code split(6)} gives the backbone up to the last feature maps
 * (8w × 4 × 4 for 32×32 input) and the head, and {@code split(8)} the penultimate features.
 */
public final class ResNets {
    /** Index of layer4 (the last feature maps) in the Sequential. */
    public static final int FEATURE_MAPS_AT = 6;
    /** Index of flatten (the penultimate features) in the Sequential. */
    public static final int FEATURES_AT = 8;

    private ResNets() {}

    /** ResNet-18 of width 64 (11.2 M parameters). */
    public static Sequential resnet18(int numClasses, RandomGenerator rng) {
        return resnet18(3, numClasses, 64, rng);
    }

    /**
     * ResNet-18 with stage widths w, 2w, 4w, 8w. rng initialises it as torchvision does
     * (kaiming_normal fan_out for convolutions, batch norms 1 and 0, fc PyTorch's default);
     * null leaves zeros, to be loaded.
     */
    public static Sequential resnet18(int inChannels, int numClasses, int width, RandomGenerator rng) {
        Map<String, Module> m = new LinkedHashMap<>();
        m.put("conv1", conv(inChannels, width, 3, 1, 1, rng));
        m.put("bn1", new BatchNorm2d(width));
        m.put("relu", new ReLU());
        int in = width;
        for (int stage = 0; stage < 4; stage++) {
            int out = width << stage;
            m.put("layer" + (stage + 1), new Sequential(
                    new BasicBlock(in, out, stage == 0 ? 1 : 2, rng),
                    new BasicBlock(out, out, 1, rng)));
            in = out;
        }
        m.put("avgpool", new AdaptiveAvgPool2d());
        m.put("flatten", new Flatten());
        m.put("fc", new Linear(in, numClasses, true, rng));
        return new Sequential(m);
    }

    /** A bias-free convolution, kaiming_normal(fan_out, relu): std = √(2 / (out k k)). */
    static Conv2d conv(int in, int out, int k, int stride, int padding, RandomGenerator rng) {
        Conv2d c = new Conv2d(in, out, k, k, stride, padding, 1, false, null);
        if (rng != null) {
            try (var w = Init.normal(rng, Math.sqrt(2.0 / (out * k * k)), out, in, k, k)) {
                c.weight().set(w);
            }
        }
        return c;
    }
}
