package org.ood4j.cli;

import java.nio.file.Path;

import picocli.CommandLine.Option;

/** Which representation a file holds: exactly one of --logits, --features, --layers. */
final class InputKind {
    @Option(names = "--logits", paramLabel = "FILE.npy", description = "logits (N, C)")
    Path logits;

    @Option(names = "--features", paramLabel = "FILE.npy", description = "features (N, D); 'fit' takes several (repeat the option) "
            + "or a folder of .npy shards, with as many --labels")
    java.util.List<Path> features;

    @Option(names = "--layers", paramLabel = "FILE.npy", split = ",",
            description = "per-layer arrays for structured detectors, comma-separated (with --logits where the detector uses them)")
    java.util.List<Path> layers;

    /** The one --features file of a command that scores a single array. */
    Path feature() {
        if (features == null) return null;
        if (features.size() != 1) throw new IllegalArgumentException("give one --features file here, got " + features.size());
        return features.get(0);
    }

    /** The files given, whichever option named them. */
    java.util.List<Path> files() {
        java.util.List<Path> out = new java.util.ArrayList<>();
        if (logits != null) out.add(logits);
        if (features != null) out.addAll(features);
        if (layers != null) out.addAll(layers);
        return out;
    }
}
