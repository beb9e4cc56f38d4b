package org.ood4j.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.Calibration;
import org.ood4j.detectors.DetectorFiles;
import org.ood4j.engine.Device;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Scores in-distribution validation arrays with a saved detector and stores its decision rule
 * ({@link Calibration}: the threshold keeping --tpr of them, the sample for p-values) in the state
 * file, which 'ood4j score' then applies.
 */
@Command(name = "calibrate", description = {"Store a decision rule (threshold, p-values) in a saved detector.",
        "The threshold keeps --tpr of the in-distribution validation samples given; their scores give p-values."})
final class CalibrateCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin Scoring scoring;

    @Option(names = "--tpr", defaultValue = "0.95", description = "fraction of the ID samples kept as ID, in [0, 1] (default: ${DEFAULT-VALUE})")
    double tpr;

    @Option(names = {"-o", "--output"}, paramLabel = "STATE", description = "where to save the calibrated detector (default: "
            + "--state itself, replaced atomically)")
    Path output;

    @Override
    public Integer call() throws Exception {
        scoring.target();   // a bad --device is named before anything is read
        if (!(tpr >= 0 && tpr <= 1)) throw new IllegalArgumentException("--tpr must be in [0, 1], got " + tpr);
        Path out = output == null ? scoring.state : output;
        Outputs.checkFile(out, "-o", scoring.input.files());   // the state itself may be updated: it is rewritten whole or not at all
        try (Scope s = Scope.open(); AbstractDetector d = scoring.load()) {
            Tensor scores = scoring.scores(d, spec.commandLine().getErr());
            Calibration c = d.calibrate(scores, tpr);
            d.to(Device.CPU);
            DetectorFiles.save(d, out);
            long kept = 0;
            for (boolean ood : c.isOod(scores.toDoubleArray())) if (!ood) kept++;
            spec.commandLine().getOut().printf(Locale.ROOT, "calibrated %s on %d ID samples: scores above %s are OOD (keeps %d, %.2f%%; "
                    + "tpr %s); saved to %s%n", d.name(), c.idCount(), c.threshold(), kept, 100.0 * kept / c.idCount(), tpr, out);
        }
        return 0;
    }
}
