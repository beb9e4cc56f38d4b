package org.ood4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.DetectorFiles;
import org.ood4j.detectors.FeaturesDetector;
import org.ood4j.detectors.LogitsDetector;
import org.ood4j.detectors.StructuredDetector;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/**
 * What 'score' and 'calibrate' share (a picocli mixin): a saved detector, the arrays it scores,
 * the device and the batch size, and the scoring of the files in batches of rows.
 */
final class Scoring {
    @Option(names = "--state", required = true, paramLabel = "STATE", description = "a detector saved by 'ood4j fit'")
    Path state;

    @ArgGroup(exclusive = false, multiplicity = "1")
    InputKind input;

    @Option(names = "--device", defaultValue = "auto", description = "cpu, cuda or auto (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--batch", defaultValue = "8192", description = "rows scored at once (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--quiet", description = "no progress line on stderr (there is none either when stderr is not a terminal)")
    boolean quiet;

    /** The device named by --device. */
    Device target() {
        return Devices.parse(device, "--device");
    }

    /** The saved detector, on the --device. */
    AbstractDetector load() throws IOException {
        return load(state, target());
    }

    /** A saved detector, moved to {@code target}; closed when it cannot move. */
    static AbstractDetector load(Path state, Device target) throws IOException {
        AbstractDetector d = DetectorFiles.load(state, null);
        try {
            d.to(target);
            return d;
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
    }

    /** The checked input arrays of a detector: one row per sample in each, at least one row. */
    record Arrays(List<Tensor> tensors, long rows) {}

    /** Receives each batch's scores (host, float64, in row order) as they are computed. */
    @FunctionalInterface
    interface Sink {
        void accept(Tensor scores) throws IOException;
    }

    /** Opens (memory-maps where it can) and checks the arrays the detector scores, before any scoring. */
    Arrays open(AbstractDetector d) throws IOException {
        if (batch < 1) throw new IllegalArgumentException("--batch must be at least 1, got " + batch);
        List<Path> files = files(d, input);
        List<Tensor> arrays = read(files, input);
        if (d instanceof StructuredDetector st) {   // whole, before they are cut into batches
            int layers = input.layers.size();
            st.checkInputs(arrays.subList(0, layers), arrays.size() > layers ? arrays.get(layers) : null);
        }
        long n = arrays.get(0).size(0);
        // the library refuses an empty batch; so does the command, rather than write 0 scores unchecked
        if (n == 0) throw new IllegalArgumentException(files.get(0) + " has 0 rows (shape " + Shape.toString(arrays.get(0).shape())
                + "): nothing to score");
        return new Arrays(arrays, n);
    }

    /**
     * Scores the arrays a batch of --batch rows at a time, the rows moved to the --device, and hands
     * each batch's scores to {@code sink} at once: memory holds one batch, whatever the row count.
     */
    void score(AbstractDetector d, Arrays in, PrintWriter progressTo, Sink sink) throws IOException {
        Device target = target();
        try (Progress progress = new Progress(progressTo, "scoring", in.rows(), quiet)) {
            for (long start = 0; start < in.rows(); start += batch) {
                long end = Math.min(in.rows(), start + batch);
                try (Scope chunk = Scope.open()) {
                    List<Tensor> part = new ArrayList<>();
                    for (Tensor a : in.tensors()) part.add(a.slice(0, start, end).to(target));
                    sink.accept(score(d, part, input).to(Device.CPU));
                }
                progress.update(end);
            }
        }
    }

    /** All the scores (N,) float64 on the host (for a calibration, which needs them together). */
    Tensor scores(AbstractDetector d, PrintWriter progressTo) throws IOException {
        Arrays in = open(d);
        Tensor scores = Tensor.zeros(DType.FLOAT64, in.rows());
        try {
            long[] at = {0};
            score(d, in, progressTo, batch -> {
                scores.slice(0, at[0], at[0] + batch.size(0)).copyFrom(batch);
                at[0] += batch.size(0);
            });
            return scores;
        } catch (RuntimeException | IOException e) {
            scores.close();
            throw e;
        }
    }

    /** The files the detector's interface takes, in order (structured: the layers, then the logits if given). */
    private static List<Path> files(AbstractDetector d, InputKind input) {
        List<Path> files = new ArrayList<>();
        if (d instanceof LogitsDetector) files.add(FitCommand.require(input.logits, "--logits"));
        else if (d instanceof FeaturesDetector) files.add(FitCommand.require(input.feature(), "--features"));
        else {
            files.addAll(FitCommand.require(input.layers, "--layers"));
            if (input.logits != null) files.add(input.logits);
        }
        return files;
    }

    /** The arrays, with one row per sample in every file. */
    private static List<Tensor> read(List<Path> files, InputKind input) throws IOException {
        List<Tensor> arrays = new ArrayList<>();
        for (Path f : files) {
            arrays.add(InputArrays.floating(f, f.equals(input.logits) ? "logits" : f.equals(input.feature()) ? "features" : "layer outputs"));
            long rows = arrays.getLast().size(0);
            if (rows != arrays.getFirst().size(0)) {
                throw new IllegalArgumentException(f + " has " + rows + " rows, " + files.getFirst() + " has "
                        + arrays.getFirst().size(0) + ": every input needs one row per sample");
            }
        }
        return arrays;
    }

    private static Tensor score(AbstractDetector d, List<Tensor> part, InputKind input) {
        return switch (d) {
            case LogitsDetector l -> l.predictLogits(part.get(0));
            case FeaturesDetector f -> f.predictFeatures(part.get(0));
            case StructuredDetector st -> {
                int layers = input.layers.size();
                yield st.predictStructured(part.subList(0, layers), part.size() > layers ? part.get(layers) : null);
            }
            default -> throw new IllegalArgumentException(d.name() + " cannot score arrays");
        };
    }
}
