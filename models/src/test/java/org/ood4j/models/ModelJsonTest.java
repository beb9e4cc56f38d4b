package org.ood4j.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ood4j.models.Fixtures.assertClose;
import static org.ood4j.models.Fixtures.caseArray;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * The conformance networks built from model.json give PyTorch's logits: the expected scores of
 * the MaxLogit, EnergyBased and MaxSoftmax model cases are -max, -logsumexp and -max softmax of them.
 */
class ModelJsonTest {

    @Test
    void metadataOfBothModels() throws IOException {
        try (ModelJson cnn = Fixtures.model("cnn-a"); ModelJson mlp = Fixtures.model("mlp-a")) {
            assertEquals("cnn-a", cnn.id());
            assertArrayEquals(new long[] {3, 8, 8}, cnn.inputShape());
            assertEquals(8, cnn.featuresAt());
            assertEquals(6, cnn.featureMapsAt().getAsInt());
            assertEquals(10, cnn.numClasses());
            assertEquals(List.of("0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias", "9.weight", "9.bias"), cnn.parameters());
            assertEquals(List.of("0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked",
                    "4.weight", "4.bias", "9.weight", "9.bias"), List.copyOf(cnn.model().stateDict().keySet()));
            assertTrue(mlp.featureMapsAt().isEmpty());
            assertEquals(4, mlp.featuresAt());
            assertTrue(mlp.model().get(2) instanceof Dropout d && d.p() == 0.3);
            assertThrows(IllegalStateException.class, mlp::featureMapsSplit);
        }
    }

    @Test
    void maxLogitScoresOfCnn() throws IOException {
        checkScores("cnn-a", "maxlogit-model-cnn-a", logits -> logits.max(1).neg(), 1e-4, 7.4e-6);
    }

    @Test
    void energyScoresOfCnn() throws IOException {
        checkScores("cnn-a", "energy-model-cnn-a", logits -> logits.logsumexp(1).neg(), 1e-4, 8.9e-6);
    }

    @Test
    void maxSoftmaxScoresOfMlp() throws IOException {
        checkScores("mlp-a", "maxsoftmax-model-mlp-a", logits -> logits.softmax(1).max(1).neg(), 1e-4, 1e-6);
    }

    /** MCD with batch_norm = false: batch norm in training mode normalises with the predict batch's statistics. */
    @Test
    void batchNormInTrainingModeMatchesMcdCase() throws IOException {
        try (ModelJson m = Fixtures.model("cnn-a")) {
            m.model().namedModules().values().forEach(l -> { if (l instanceof BatchNorm2d bn) bn.train(); });
            checkScores(m, "mcd-mean-bntrain-cnn-a", logits -> logits.softmax(1).max(1).neg(), 1e-4, 1e-6);
        }
    }

    @Test
    void splitsAtTheDeclaredIndices() throws IOException {
        try (ModelJson m = Fixtures.model("cnn-a"); Scope s = Scope.open(); Tensor x = caseArray("energy-model-cnn-a", "predict_x.npy")) {
            Sequential.Split maps = m.featureMapsSplit(), feats = m.featuresSplit();
            Tensor fm = maps.backbone().apply(x);
            assertArrayEquals(new long[] {24, 12, 4, 4}, fm.shape());
            assertArrayEquals(new long[] {24, 12}, feats.backbone().apply(x).shape());
            assertArrayEquals(m.model().apply(x).toDoubleArray(), maps.head().apply(fm).toDoubleArray(), 1e-6);
            List<Tensor> collected = m.model().forwardCollect(x, 6, 8);
            assertArrayEquals(fm.toDoubleArray(), collected.get(0).toDoubleArray());
            assertArrayEquals(new long[] {24, 10}, collected.get(2).shape());
        }
    }

    @Test
    void badFilesGiveClearErrors(@TempDir Path dir) throws IOException {
        Path src = Fixtures.resource("conformance/models/mlp-a");
        try (var files = Files.list(src)) {
            for (Path f : files.toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        Files.delete(dir.resolve("3.bias.npy"));
        long before = MemoryStats.liveBlocks();
        Exception e = assertThrows(IOException.class, () -> ModelJson.load(dir));
        assertTrue(e.getMessage().contains("3.bias.npy"), e.getMessage());
        assertEquals(before, MemoryStats.liveBlocks(), "a failed load frees what it built");
        Files.copy(src.resolve("5.bias.npy"), dir.resolve("3.bias.npy"));
        e = assertThrows(IllegalArgumentException.class, () -> ModelJson.load(dir));
        assertTrue(e.getMessage().contains("3.bias: model [24], ") && e.getMessage().contains("[10]"), e.getMessage());
        Files.writeString(dir.resolve("model.json"), Files.readString(src.resolve("model.json")).replace("\"relu\"", "\"gelu\""));
        e = assertThrows(IllegalArgumentException.class, () -> ModelJson.load(dir));
        assertTrue(e.getMessage().contains("layer 1") && e.getMessage().contains("gelu"), e.getMessage());
        assertEquals(before, MemoryStats.liveBlocks());
    }

    private static void checkScores(String model, String caseId, java.util.function.UnaryOperator<Tensor> score, double rtol, double atol)
            throws IOException {
        try (ModelJson m = Fixtures.model(model)) {
            checkScores(m, caseId, score, rtol, atol);
        }
    }

    private static void checkScores(ModelJson m, String caseId, java.util.function.UnaryOperator<Tensor> score, double rtol, double atol)
            throws IOException {
        long before = MemoryStats.liveBlocks();
        try (Scope s = Scope.open()) {
            Tensor x = caseArray(caseId, "predict_x.npy"), expected = caseArray(caseId, "expected_scores.npy");
            Tensor logits = m.model().apply(x);
            assertArrayEquals(new long[] {x.size(0), m.numClasses()}, logits.shape());
            assertClose(expected.toDoubleArray(), score.apply(logits.to(org.ood4j.engine.DType.FLOAT64)).toDoubleArray(), rtol, atol, caseId);
        }
        assertEquals(before, MemoryStats.liveBlocks(), "inference leaks nothing");
    }
}
