package org.ood4j.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.BankDetector;
import org.ood4j.detectors.DetectorFiles;
import org.ood4j.detectors.DetectorParams;
import org.ood4j.detectors.DetectorRegistry;
import org.ood4j.detectors.FeaturesDetector;
import org.ood4j.detectors.LogitsDetector;
import org.ood4j.detectors.StreamingFit;
import org.ood4j.detectors.StructuredDetector;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.SpillFile;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Builds a detector, fits it on arrays, and saves it. */
@Command(name = "fit", description = "Fit a detector on .npy arrays and save it to a state file.")
final class FitCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--detector", required = true, description = "detector name as in pytorch-ood, e.g. KLMatching, Mahalanobis")
    String detector;

    @Option(names = "--param", paramLabel = "k=v", description = "a constructor parameter: a number, a JSON list or string, "
            + "or @FILE.npy for an array; dotted names nest (head.weight=@w.npy)")
    List<String> params = new ArrayList<>();

    @ArgGroup(exclusive = false, multiplicity = "1")
    InputKind input;

    @Option(names = "--labels", paramLabel = "FILE.npy", description = "int64 labels (N,); < 0 marks OOD rows, which fitting ignores; "
            + "with several --features, one labels file (or folder of shards) per features file or folder, paired in order")
    List<Path> labels = new ArrayList<>();

    @Option(names = "--quiet", description = "no progress line on stderr (there is none either when stderr is not a terminal)")
    boolean quiet;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "STATE", description = "where to save the fitted detector")
    Path output;

    @Override
    public Integer call() throws Exception {
        Outputs.checkFile(output, "-o", inputFiles());
        try (Scope s = Scope.open(); AbstractDetector d = (AbstractDetector) DetectorRegistry.create(detector, DetectorParams.parsePairs(params, "--param"), null)) {
            // a kNN bank spills where the user says (-Dood4j.spill.dir, OOD4J_SPILL_DIR), else beside the state it will be
            // saved into: a disk chosen for a file of that size (java.io.tmpdir may be a tmpfs, i.e. memory)
            if (d instanceof BankDetector bank) {
                Path configured = SpillFile.configuredFolder();
                bank.spillFolder(configured != null ? configured : output.toAbsolutePath().getParent());
            }
            long t0 = System.nanoTime(), rows = fit(d), t1 = System.nanoTime();
            DetectorFiles.save(d, output);
            double fitSeconds = (t1 - t0) / 1e9, saveSeconds = (System.nanoTime() - t1) / 1e9;
            spec.commandLine().getOut().printf(java.util.Locale.ROOT, "fitted %s on %d rows in %.1f s (%.0f rows/s), saved to %s in %.1f s%n",
                    d.name(), rows, fitSeconds, rows / Math.max(fitSeconds, 1e-9), output, saveSeconds);
        }
        return 0;
    }

    /** Fits the detector on the input files; returns the rows. */
    private long fit(AbstractDetector d) throws java.io.IOException {
        return d instanceof FeaturesDetector f ? fitShards(f) : fitArrays(d);
    }

    /** Features stream from their shards a chunk at a time through the detector's passes, with a progress line. */
    private long fitShards(FeaturesDetector f) throws java.io.IOException {
        FeatureShards shards = FeatureShards.of(require(input.features, "--features"), labels);
        int passes = f instanceof StreamingFit streaming ? streaming.fitPasses() : 1;
        try (Progress progress = new Progress(spec.commandLine().getErr(), "fitting " + f.name(), shards.rows() * passes, quiet)) {
            f.fitFeatures(shards.onRows(progress::update));
        }
        return shards.rows();
    }

    /** Logits and layer outputs: single arrays (one labels file), memory-mapped where they can be. */
    private long fitArrays(AbstractDetector d) throws java.io.IOException {
        if (labels.size() > 1) throw new IllegalArgumentException(d.name() + " takes one --labels file, got " + labels.size());
        Tensor y = labels.isEmpty() ? null : InputArrays.labels(labels.get(0));
        switch (d) {
            case LogitsDetector l -> {
                Tensor logits = InputArrays.floating(require(input.logits, "--logits"), "logits");
                l.fitLogits(logits, y);
                return logits.size(0);
            }
            // the fit reads layers and labels; logits given with them are checked (rows, values, classes), not dropped
            case StructuredDetector st -> {
                List<Tensor> layers = InputArrays.floating(require(input.layers, "--layers"), "layer outputs");
                st.fitStructured(layers, input.logits == null ? null : InputArrays.floating(input.logits, "logits"), y);
                return layers.get(0).size(0);
            }
            default -> throw new IllegalArgumentException(detector + " cannot be fitted from arrays");
        }
    }

    /** Every file the command reads: the arrays (a folder's shards), the labels and the @FILE parameters. */
    private List<Path> inputFiles() throws java.io.IOException {
        List<Path> files = new ArrayList<>(input.files());
        if (input.features != null) files.addAll(FeatureShards.expand(input.features, "--features"));
        files.addAll(FeatureShards.expand(labels, "--labels"));
        for (String pair : params) {
            int at = pair.indexOf("=@");
            if (at > 0) files.add(Path.of(pair.substring(at + 2)));
        }
        return files;
    }

    static <T> T require(T value, String option) {
        if (value == null) throw new IllegalArgumentException("this detector needs " + option);
        return value;
    }
}
