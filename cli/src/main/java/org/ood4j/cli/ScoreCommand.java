package org.ood4j.cli;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.Calibration;
import org.ood4j.engine.DType;
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
            Scoring.Arrays in = scoring.open(d);
            write(in.rows(), d.calibration(), sink -> scoring.score(d, in, spec.commandLine().getErr(), sink));
            spec.commandLine().getOut().println("scored " + in.rows() + " samples with " + d.name()
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

    /** The scoring run, which hands each batch's scores to a sink as it goes. */
    @FunctionalInterface
    private interface Run {
        void into(Scoring.Sink sink) throws IOException;
    }

    /**
     * Writes the results as the batches are scored, so memory holds one batch whatever the row
     * count; each file is atomic (see {@link AtomicFile}): an error or a killed run leaves the
     * previous files whole. The npy files are written side by side, each finished only once every
     * batch is in.
     */
    private void write(long n, Calibration c, Run run) throws IOException {
        long[] shape = {n};
        switch (format) {
            case npy -> Npy.write(output, DType.FLOAT64, shape, scores -> {
                if (c == null) {
                    run.into(scores::write);
                    return;
                }
                Npy.write(sibling("p_value"), DType.FLOAT64, shape, pValues -> Npy.writeBool(sibling("is_ood"), shape, isOod -> run.into(batch -> {
                    double[] s = batch.toDoubleArray();
                    scores.write(batch);
                    pValues.write(Tensor.of(c.pValues(s)));
                    isOod.write(Tensor.of(booleans(c.isOod(s))));
                })));
            });
            case csv, jsonl -> AtomicFile.write(output, out -> {
                Writer w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8));
                if (format == Format.csv) w.write(c == null ? "score\n" : "score,is_ood,p_value\n");
                run.into(batch -> {
                    double[] s = batch.toDoubleArray();
                    rows(w, s, c == null ? null : c.isOod(s), c == null ? null : c.pValues(s), format == Format.jsonl);
                });
                w.flush();
            });
        }
    }

    /** 0/1 as int64 for the bool writer. */
    private static long[] booleans(boolean[] b) {
        long[] out = new long[b.length];
        for (int i = 0; i < b.length; i++) out[i] = b[i] ? 1 : 0;
        return out;
    }

    /** csv rows (score[,is_ood,p_value]) or jsonl lines ({"score": ..., "is_ood": ..., "p_value": ...}) of one batch. */
    private static void rows(Writer w, double[] s, boolean[] isOod, double[] p, boolean json) throws IOException {
        for (int i = 0; i < s.length; i++) {
            String score = Json.write(s[i]);   // JSON's spelling of infinities, also in csv
            if (json) {
                w.write("{\"score\":" + score + (isOod == null ? "" : ",\"is_ood\":" + isOod[i] + ",\"p_value\":" + p[i]) + "}\n");
            } else {
                w.write(score + (isOod == null ? "" : "," + isOod[i] + "," + p[i]) + "\n");
            }
        }
    }
}
