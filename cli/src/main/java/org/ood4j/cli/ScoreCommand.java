package org.ood4j.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.DetectorFiles;
import org.ood4j.detectors.FeaturesDetector;
import org.ood4j.detectors.LogitsDetector;
import org.ood4j.detectors.StructuredDetector;
import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Loads a saved detector and scores an array in batches. */
@Command(name = "score", description = "Score .npy arrays with a saved detector; writes the scores (N,) float64 as .npy.")
final class ScoreCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--state", required = true, paramLabel = "STATE", description = "a detector saved by 'ood4j fit'")
    Path state;

    @ArgGroup(exclusive = false, multiplicity = "1")
    InputKind input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "SCORES.npy")
    Path output;

    @Option(names = "--device", defaultValue = "auto", description = "cpu, cuda or auto (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--batch", defaultValue = "8192", description = "rows scored at once (default: ${DEFAULT-VALUE})")
    int batch;

    @Override
    public Integer call() throws Exception {
        Device target = Devices.parse(device, "--device");
        if (batch < 1) throw new IllegalArgumentException("--batch must be at least 1, got " + batch);
        try (Scope s = Scope.open(); AbstractDetector d = DetectorFiles.load(state, null)) {
            d.to(target);
            List<Tensor> arrays = inputs(d);
            long n = arrays.get(0).size(0);
            Tensor scores = Tensor.zeros(DType.FLOAT64, n);
            try (Progress progress = new Progress(spec.commandLine().getErr(), "scoring", n)) {
                for (long start = 0; start < n; start += batch) {
                    long end = Math.min(n, start + batch);
                    try (Scope chunk = Scope.open()) {
                        List<Tensor> part = new ArrayList<>();
                        for (Tensor a : arrays) part.add(a.slice(0, start, end).to(target));
                        scores.slice(0, start, end).copyFrom(score(d, part).to(Device.CPU));
                    }
                    progress.update(end);
                }
            }
            Npy.write(output, scores);
            spec.commandLine().getOut().println("scored " + n + " samples with " + d.name() + ", wrote " + output);
        }
        return 0;
    }

    /** The arrays the detector's interface takes, in order (structured: the layers, then the logits if given). */
    private List<Tensor> inputs(AbstractDetector d) throws java.io.IOException {
        List<Tensor> arrays = new ArrayList<>();
        if (d instanceof LogitsDetector) arrays.add(Npy.read(FitCommand.require(input.logits, "--logits")));
        else if (d instanceof FeaturesDetector) arrays.add(Npy.read(FitCommand.require(input.features, "--features")));
        else {
            arrays.addAll(FitCommand.readAll(FitCommand.require(input.layers, "--layers")));
            Tensor logits = input.logits == null ? null : Npy.read(input.logits);
            if (d instanceof StructuredDetector st) st.checkInputs(arrays, logits);   // whole, before they are cut into batches
            if (logits != null) arrays.add(logits);
        }
        return arrays;
    }

    private Tensor score(AbstractDetector d, List<Tensor> part) {
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
