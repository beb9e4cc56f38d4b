package org.ood4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.ood4j.detectors.OodMetrics;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Json;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Prints AUROC, AUPR-IN, AUPR-OUT and FPR@95TPR for scores of ID and OOD samples. */
@Command(name = "eval", description = {"OOD metrics (AUROC, AUPR, FPR95) of scores.",
        "--scores-id A.npy --scores-ood B.npy, or --scores S.npy --labels L.npy (label < 0 = OOD)."})
final class EvalCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--scores-id", paramLabel = "A.npy") Path scoresId;
    @Option(names = "--scores-ood", paramLabel = "B.npy") Path scoresOod;
    @Option(names = "--scores", paramLabel = "S.npy") Path scores;
    @Option(names = "--labels", paramLabel = "L.npy") Path labels;

    /** How the metrics are printed; json keeps every digit (Java's shortest round-trip form of each double). */
    enum Format { markdown, csv, json }

    @Option(names = "--format", defaultValue = "markdown", description = "markdown (4 decimals), csv or json (full precision); "
            + "default: ${DEFAULT-VALUE}")
    Format format;

    @Override
    public Integer call() throws Exception {
        OodMetrics metrics = new OodMetrics();
        if (scoresId != null && scoresOod != null && scores == null && labels == null) {
            metrics.update(InputArrays.scores(scoresId), InputArrays.scores(scoresOod));
        } else if (scores != null && labels != null && scoresId == null && scoresOod == null) {
            double[] s = InputArrays.scores(scores);
            try (Scope scope = Scope.open()) {
                Tensor y = InputArrays.labels(labels);
                if (y.size(0) != s.length) {
                    throw new IllegalArgumentException(scores + " has " + s.length + " scores but " + labels + " has " + y.size(0)
                            + " labels: give one label per score");
                }
                metrics.update(Tensor.of(s), y);
            }
        } else {
            throw new IllegalArgumentException("give either --scores-id and --scores-ood, or --scores and --labels");
        }
        print(metrics.compute(), spec.commandLine().getOut());
        return 0;
    }

    private void print(OodMetrics.Result r, PrintWriter out) {
        switch (format) {
            case markdown -> {
                out.println("| AUROC  | AUPR-IN | AUPR-OUT | FPR95TPR | threshold at 95% TPR |");
                out.println("|--------|---------|----------|----------|----------------------|");
                out.printf(Locale.ROOT, "| %.4f | %.4f  | %.4f   | %.4f   | %-20.6g |%n", r.auroc(), r.auprIn(), r.auprOut(), r.fpr95tpr(),
                        r.threshold95());
                out.println("(OOD is the positive class: scores >= the threshold flag at least 95% of the OOD samples)");
            }
            case csv -> {
                out.println("auroc,aupr_in,aupr_out,fpr95tpr,threshold95");
                out.println(r.auroc() + "," + r.auprIn() + "," + r.auprOut() + "," + r.fpr95tpr() + "," + r.threshold95());
            }
            case json -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("auroc", r.auroc());
                m.put("aupr_in", r.auprIn());
                m.put("aupr_out", r.auprOut());
                m.put("fpr95tpr", r.fpr95tpr());
                m.put("threshold95", r.threshold95());
                out.println(Json.write(m));
            }
        }
    }
}
