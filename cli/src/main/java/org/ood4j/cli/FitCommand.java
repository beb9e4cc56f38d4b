package org.ood4j.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.DetectorFiles;
import org.ood4j.detectors.DetectorRegistry;
import org.ood4j.detectors.FeaturesDetector;
import org.ood4j.detectors.LogitsDetector;
import org.ood4j.detectors.StructuredDetector;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Json;
import org.ood4j.engine.io.Npy;

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

    @Option(names = "--labels", paramLabel = "FILE.npy", description = "int64 labels (N,); < 0 marks OOD rows, which fitting ignores")
    Path labels;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "STATE", description = "where to save the fitted detector")
    Path output;

    @Override
    public Integer call() throws Exception {
        try (Scope s = Scope.open(); AbstractDetector d = (AbstractDetector) DetectorRegistry.create(detector, parseParams(params), null)) {
            Tensor y = labels == null ? null : Npy.read(labels);
            switch (d) {
                case LogitsDetector l -> l.fitLogits(Npy.read(require(input.logits, "--logits")), y);
                case FeaturesDetector f -> f.fitFeatures(Npy.read(require(input.features, "--features")), y);
                case StructuredDetector st -> st.fitStructured(readAll(require(input.layers, "--layers")),
                        input.logits == null ? null : Npy.read(input.logits), y);
                default -> throw new IllegalArgumentException(detector + " cannot be fitted from arrays");
            }
            DetectorFiles.save(d, output);
            spec.commandLine().getOut().println("fitted " + d.name() + ", saved to " + output);
        }
        return 0;
    }

    static <T> T require(T value, String option) {
        if (value == null) throw new IllegalArgumentException("this detector needs " + option);
        return value;
    }

    static List<Tensor> readAll(List<Path> files) throws java.io.IOException {
        List<Tensor> out = new ArrayList<>();
        for (Path f : files) out.add(Npy.read(f));
        return out;
    }

    /** k=v pairs to the nested parameter map the registry takes. */
    static Map<String, Object> parseParams(List<String> pairs) throws java.io.IOException {
        Map<String, Object> out = new LinkedHashMap<>();
        for (String pair : pairs) {
            int eq = pair.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("--param needs name=value, got '" + pair + "'");
            String[] path = pair.substring(0, eq).split("\\.");
            Map<String, Object> at = out;
            for (int i = 0; i < path.length - 1; i++) {
                @SuppressWarnings("unchecked")
                Map<String, Object> next = (Map<String, Object>) at.computeIfAbsent(path[i], k -> new LinkedHashMap<String, Object>());
                at = next;
            }
            at.put(path[path.length - 1], value(pair.substring(eq + 1)));
        }
        return out;
    }

    private static Object value(String text) throws java.io.IOException {
        if (text.startsWith("@")) return Npy.read(Path.of(text.substring(1)));
        try {
            return Json.parse(text);
        } catch (RuntimeException notJson) {
            return text; // a bare word, e.g. a scoring function name
        }
    }
}
