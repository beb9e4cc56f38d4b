package org.ood4j.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Idx;

/**
 * Trains {@link Zoo#smallCnn} on 3000 Fashion-MNIST training images (resources/fashion-mnist,
 * MIT licence) and measures accuracy on 1000 test images: chance is 10%.
 */
class FashionMnistTrainingTest {
    private static final Path DIR = Fixtures.resource("fashion-mnist");

    @Test
    void smallCnnLearnsFashionMnist() throws IOException {
        long before = MemoryStats.liveBlocks();
        try (Scope s = Scope.open()) {
            Tensor trainX = images("train-images-idx3-ubyte-first3000.gz"), trainY = Idx.read(DIR.resolve("train-labels-idx1-ubyte-first3000.gz"));
            Tensor testX = images("t10k-images-idx3-ubyte-first1000.gz"), testY = Idx.read(DIR.resolve("t10k-labels-idx1-ubyte-first1000.gz"));
            assertEquals(3000, trainX.size(0));
            SplittableRandom rng = new SplittableRandom(2024);
            try (Sequential net = Zoo.smallCnn(1, 28, 28, 10, 8, 0.0, rng); Adam adam = new Adam(net.parameters(), 2e-3)) {
                double before0 = Training.accuracy(net, testX, testY);
                long t0 = System.nanoTime();
                int batch = 50, epochs = Integer.getInteger("fmnist.epochs", 3);
                double loss = 0;
                for (int epoch = 0; epoch < epochs; epoch++) {
                    net.train();
                    long[] order = permutation(3000, rng);
                    loss = 0;
                    for (int b = 0; b < 3000 / batch; b++) {
                        try (Scope step = Scope.open()) {
                            Tensor idx = Tensor.of(java.util.Arrays.copyOfRange(order, b * batch, (b + 1) * batch));
                            loss += Training.step(net, adam, trainX.indexSelect(0, idx), trainY.indexSelect(0, idx));
                        }
                    }
                    net.eval();
                    System.out.printf("fashion-mnist epoch %d: mean loss %.3f, test accuracy %.3f, %.1f s%n", epoch + 1,
                            loss / (3000 / batch), Training.accuracy(net, testX, testY), (System.nanoTime() - t0) / 1e9);
                }
                double accuracy = Training.accuracy(net, testX, testY);
                assertTrue(accuracy > 0.75, "test accuracy " + accuracy + " (before training " + before0 + ")");
            }
        }
        assertEquals(before, MemoryStats.liveBlocks(), "training leaks nothing");
    }

    /** (N, 1, 28, 28) float32, pixels / 255 standardised with Fashion-MNIST's mean 0.2860 and std 0.3530. */
    private static Tensor images(String file) throws IOException {
        try (Tensor raw = Idx.read(DIR.resolve(file)); Scope s = Scope.open()) {
            return s.keep(raw.to(DType.FLOAT32).div(255).sub(0.2860).div(0.3530).reshape(-1, 1, 28, 28));
        }
    }

    private static long[] permutation(int n, SplittableRandom rng) {
        long[] p = new long[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            long t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
