package org.ood4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.SplittableRandom;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

/** --logits with --layers (Gram): checked at fit and at score against the layers, never ignored nor sliced out of range. */
class StructuredLogitsTest {
    @TempDir Path dir;
    private Path layers, labels, logits200, logits100, nanLogits, state;

    private static String[] err(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new String[] {String.valueOf(code), err.toString()};
    }

    @BeforeEach
    void files() throws Exception {
        layers = dir.resolve("layer.npy");
        labels = dir.resolve("y.npy");
        logits200 = dir.resolve("logits200.npy");
        logits100 = dir.resolve("logits100.npy");
        nanLogits = dir.resolve("nan.npy");
        state = dir.resolve("gram.st");
        try (Scope s = Scope.open()) {
            SplittableRandom rng = new SplittableRandom(5);
            Npy.write(layers, Tensor.randn(rng, DType.FLOAT32, 200, 2, 3, 3));
            Npy.write(labels, Tensor.of(java.util.stream.LongStream.range(0, 200).map(i -> i % 2).toArray()));
            Npy.write(logits200, Tensor.randn(rng, DType.FLOAT32, 200, 2));
            Npy.write(logits100, Tensor.randn(rng, DType.FLOAT32, 100, 2));
            Tensor nan = Tensor.randn(rng, DType.FLOAT32, 200, 2);
            nan.set(Double.NaN, 7, 0);
            Npy.write(nanLogits, nan);
        }
    }

    private String[] fit(Path logits) {
        return err("fit", "--detector", "Gram", "--param", "num_classes=2", "--layers", layers.toString(), "--logits", logits.toString(),
                "--labels", labels.toString(), "-o", state.toString());
    }

    @Test
    void fitRefusesLogitsThatDoNotMatchTheLayers() {
        String[] rows = fit(logits100);
        assertNotEquals("0", rows[0]);
        assertTrue(rows[1].contains("Gram: logits have 100 rows, the layers 200"), rows[1]);
        String[] nan = fit(nanLogits);
        assertNotEquals("0", nan[0]);
        assertTrue(nan[1].contains("Gram: logits contain NaN or infinite values (first in row 7)"), nan[1]);
    }

    @Test
    void scoreChecksTheRowsBeforeCuttingBatches() {
        assertEquals("0", fit(logits200)[0]);
        String[] r = err("score", "--state", state.toString(), "--layers", layers.toString(), "--logits", logits100.toString(),
                "-o", dir.resolve("s.npy").toString(), "--batch", "64");
        assertNotEquals("0", r[0]);
        assertTrue(r[1].contains("logits100.npy has 100 rows") && r[1].contains("layer.npy has 200"), r[1]);
    }
}
