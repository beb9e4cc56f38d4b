package org.ood4j.models;

import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/** Ready-made networks, initialised from a seeded generator as PyTorch would. */
public final class Zoo {
    private Zoo() {}

    /**
     * A multi-layer perceptron: Linear → ReLU (→ Dropout when p > 0) per hidden width, then a
     * Linear to the classes.
     */
    public static Sequential mlp(int in, int[] hidden, int numClasses, double dropout, RandomGenerator rng) {
        List<Module> layers = new ArrayList<>();
        int width = in;
        for (int h : hidden) {
            layers.add(new Linear(width, h, true, rng));
            layers.add(new ReLU());
            if (dropout > 0) layers.add(new Dropout(dropout));
            width = h;
        }
        layers.add(new Linear(width, numClasses, true, rng));
        return new Sequential(layers);
    }

    /**
     * A small CNN for (C, H, W) images, H and W divisible by 4:
     * <pre>
     *  0 Conv2d(C, w, 3, pad 1)   1 BatchNorm2d   2 ReLU   3 MaxPool2d(2)
     *  4 Conv2d(w, 2w, 3, pad 1)  5 BatchNorm2d   6 ReLU   7 MaxPool2d(2)     (feature maps: 7)
     *  8 Flatten   9 Linear(2w H W / 16, 64)  10 ReLU  11 Dropout(p)          (features: 11)
     * 12 Linear(64, classes)
     * </pre>
     */
    public static Sequential smallCnn(int channels, int height, int width, int numClasses, int baseWidth, double dropout,
                                      RandomGenerator rng) {
        if (height % 4 != 0 || width % 4 != 0) {
            throw new IllegalArgumentException("smallCnn needs H and W divisible by 4, got " + height + "x" + width);
        }
        int w1 = baseWidth, w2 = 2 * baseWidth;
        return new Sequential(
                new Conv2d(channels, w1, 3, 3, 1, 1, 1, true, rng), new BatchNorm2d(w1), new ReLU(), new MaxPool2d(2),
                new Conv2d(w1, w2, 3, 3, 1, 1, 1, true, rng), new BatchNorm2d(w2), new ReLU(), new MaxPool2d(2),
                new Flatten(), new Linear(w2 * (height / 4) * (width / 4), 64, true, rng), new ReLU(), new Dropout(dropout),
                new Linear(64, numClasses, true, rng));
    }

    /** Index of the last feature maps of {@link #smallCnn}. */
    public static final int SMALL_CNN_FEATURE_MAPS_AT = 7;
    /** Index of the penultimate features of {@link #smallCnn}. */
    public static final int SMALL_CNN_FEATURES_AT = 11;

    /** ResNet-18 for 32×32 inputs; see {@link ResNets}. */
    public static Sequential resnet18(int numClasses, RandomGenerator rng) {
        return ResNets.resnet18(numClasses, rng);
    }
}
