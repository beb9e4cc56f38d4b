package org.ood4j.cli;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.Calibration;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.AtomicFile;
import org.ood4j.engine.io.Json;
import org.ood4j.engine.io.Npy;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Loads a saved detector and scores an array in batches. A calibrated detector ('ood4j calibrate')
 * also gives each row its decision (is_ood) and p-value.
 */
@Command(name = "score", description = {"Score .npy arrays with a saved detector.",
        "Writes the scores (N,) float64, and is_ood and p_value when the detector is calibrated."})
final class ScoreCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin Scoring scoring;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT", description = "npy: the scores, and beside them "
            + "OUT.is_ood.npy (bool) and OUT.p_value.npy when calibrated; csv or jsonl: one row per sample")
    Path output;

    /** How the results are written; csv and jsonl carry every digit (Java's shortest round-trip form). */
    enum Format { npy, csv, jsonl }

    @Option(names = "--output-format", defaultValue = "npy", description = "npy, csv or jsonl (default: ${DEFAULT-VALUE})")
    Format format;

    @Override
    public Integer call() throws Exception {
        scoring.target();   // a bad --device is named before anything is read
        List<Path> inputFiles = new ArrayList<>(scoring.input.files());
        inputFiles.add(scoring.state);
        for (Path out : outputs()) Outputs.checkFile(out, "-o", inputFiles);
        try (Scope s = Scope.open(); AbstractDetector d = scoring.load()) {
            Tensor scores = scoring.scores(d, spec.commandLine().getErr());
            write(scores, d.calibration());
            spec.commandLine().getOut().println("scored " + scores.size(0) + " samples with " + d.name()
                    + (d.calibration() == null ? "" : " (calibrated: threshold " + d.calibration().threshold() + ")") + ", wrote " + output);
        }
        return 0;
    }

    /** The files written: -o, and for npy its is_ood and p_value siblings (checked before scoring even when uncalibrated). */
    private List<Path> outputs() {
        if (format != Format.npy) return List.of(output);
        return List.of(output, sibling("is_ood"), sibling("p_value"));
    }

    /** OUT.npy -> OUT.is_ood.npy. */
    private Path sibling(String what) {
        String name = output.getFileName().toString();
        String stem = name.endsWith(".npy") ? name.substring(0, name.length() - 4) : name;
        return output.resolveSibling(stem + "." + what + ".npy");
    }

    private void write(Tensor scores, Calibration c) throws IOException {
        double[] s = scores.toDoubleArray();
        boolean[] isOod = c == null ? null : c.isOod(s);
        double[] p = c == null ? null : c.pValues(s);
        switch (format) {
            case npy -> {
                Npy.write(output, scores);
                if (c != null) {
                    Npy.write(sibling("is_ood"), isOod);
                    try (Tensor pv = Tensor.of(p)) {
                        Npy.write(sibling("p_value"), pv);
                    }
                }
            }
            case csv -> AtomicFile.write(output, out -> rows(out, s, isOod, p, false));
            case jsonl -> AtomicFile.write(output, out -> rows(out, s, isOod, p, true));
        }
    }

    /** csv (a header, then score[,is_ood,p_value]) or jsonl ({"score": ..., "is_ood": ..., "p_value": ...} per line). */
    private static void rows(OutputStream stream, double[] s, boolean[] isOod, double[] p, boolean json) throws IOException {
        Writer w = new BufferedWriter(new OutputStreamWriter(stream, StandardCharsets.UTF_8));
        if (!json) w.write(isOod == null ? "score\n" : "score,is_ood,p_value\n");
        for (int i = 0; i < s.length; i++) {
            String score = Json.write(s[i]);   // JSON's spelling of infinities, also in csv
            if (json) {
                w.write("{\"score\":" + score + (isOod == null ? "" : ",\"is_ood\":" + isOod[i] + ",\"p_value\":" + p[i]) + "}\n");
            } else {
                w.write(score + (isOod == null ? "" : "," + isOod[i] + "," + p[i]) + "\n");
            }
        }
        w.flush();
    }
}
