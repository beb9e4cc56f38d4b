package org.ood4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

import org.ood4j.cli.DemoDetectors.Encoded;
import org.ood4j.cli.DemoDetectors.Outcome;
import org.ood4j.detectors.Network;
import org.ood4j.engine.Device;
import org.ood4j.engine.Backends;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.models.Adam;
import org.ood4j.models.Dropout;
import org.ood4j.models.Module;
import org.ood4j.models.Sequential;
import org.ood4j.models.Training;
import org.ood4j.models.Zoo;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ood4j demo}: trains a small CNN on Fashion-MNIST classes 0–4, fits every detector on
 * its ID training images, scores ID test images against classes 5–9 (near-OOD) and noise
 * (far-OOD), prints the metrics table and writes a report folder.
 */
@Command(name = "demo", description = {"Train a CNN on Fashion-MNIST and evaluate every detector.",
        "Classes 0-4 are in-distribution; every detector is evaluated against classes 5-9 (near-OOD) and noise images "
                + "(far-OOD); prints the table and writes a report folder."})
final class DemoCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "ood4j-demo-report",
            description = "report folder: results.md, results.csv, PNG plots (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--seed", defaultValue = "42", description = "seed of the data selection, the noise and training (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--epochs", description = "training epochs (default: 3, or 1 with --quick)")
    Integer epochs;

    @Option(names = "--quick", description = "small subsets (1000 training, 300 fit and 200 images per evaluation set): a check that it all runs")
    boolean quick;

    @Option(names = "--device", defaultValue = "cpu",
            description = "cpu, cuda or auto: where the network trains and the detectors run (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--fashion-mnist", paramLabel = "DIR", defaultValue = "/usr/share/datasets/fashion-mnist",
            description = "folder with the Fashion-MNIST training split (train-*-ubyte.gz); 'none', or a folder without it, "
                    + "uses the embedded test split only (default: ${DEFAULT-VALUE})")
    String trainDir;

    /** Base width of the CNN (channels of its first conv), its dropout, and the optimiser's settings. */
    private static final int WIDTH = 8, BATCH = 64;
    private static final double DROPOUT = 0.25, LEARNING_RATE = 2e-3;

    @Override
    public Integer call() throws Exception {
        long started = System.nanoTime();
        PrintWriter console = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        DemoData.Sizes sizes = quick ? new DemoData.Sizes(1000, 300, 200) : new DemoData.Sizes(12000, 2000, 1000);
        int epochCount = epochs != null ? epochs : quick ? 1 : 3;
        if (epochCount < 0) throw new IllegalArgumentException("--epochs must be at least 0, got " + epochCount);
        List<String> summary = new ArrayList<>();
        SplittableRandom rng = new SplittableRandom(seed);
        Device target = Devices.parse(device, "--device");
        Outputs.prepareFolder(out, "--out"); // before minutes of training, not after

        try (DemoData data = DemoData.load(trainDir.equals("none") ? null : Path.of(trainDir), sizes, seed, target);
             Sequential model = Zoo.smallCnn(1, 28, 28, DemoData.ID_CLASSES, WIDTH, DROPOUT, rng.split())) {
            model.to(target);
            say(console, summary, "device: " + (target == Device.CPU ? "cpu" : "cuda (" + Backends.cudaStatus().description() + ")"));
            say(console, summary, "data: " + data.source);
            say(console, summary, "in-distribution: classes 0-4 (T-shirt/top, Trouser, Pullover, Dress, Coat); "
                    + "near-OOD: classes 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot), never trained on; far-OOD: uniform noise images");

            double trainSeconds = train(model, data.train, epochCount, rng.split(), err);
            model.eval();
            double accuracy = Training.accuracy(model, data.id.x(), data.id.y());
            long parameters = model.parameters().stream().mapToLong(p -> p.value().numel()).sum();
            say(console, summary, String.format(Locale.ROOT, "model: small CNN (%,d parameters), %d epoch%s on %d ID images in %.1f s; "
                    + "ID test accuracy %.3f on %d images", parameters, epochCount, epochCount == 1 ? "" : "s", data.train.size(),
                    trainSeconds, accuracy, data.id.size()));

            long t0 = System.nanoTime();
            try (Encoded fit = DemoDetectors.encode(model, data.fit); Encoded id = DemoDetectors.encode(model, data.id);
                 Encoded near = DemoDetectors.encode(model, data.near); Encoded far = DemoDetectors.encode(model, data.far);
                 Scope s = Scope.open()) {
                double forwardSeconds = (System.nanoTime() - t0) / 1e9;
                say(console, summary, String.format(Locale.ROOT, "detectors: fitted on %d ID training images; scored %d ID test, %d near-OOD "
                        + "and %d far-OOD images; shared forward pass %.1f s", data.fit.size(), data.id.size(), data.near.size(),
                        data.far.size(), forwardSeconds));

                List<DemoDetectors.Row> rows = DemoDetectors.rows(model, fit);
                Network network = new Network(model, DemoDetectors.FEATURES_AT, DemoDetectors.MAPS_AT);
                List<Outcome> outcomes = new ArrayList<>();
                try (Progress progress = new Progress(err, "detectors", rows.size())) {
                    for (DemoDetectors.Row row : rows) {
                        outcomes.add(DemoDetectors.run(row, network, fit, id, near, far));
                        progress.update(outcomes.size());
                    }
                }
                console.println();
                console.print(DemoReport.table(outcomes));

                List<String> notes = new ArrayList<>();
                List<String> missing = DemoDetectors.withoutRow(rows);
                if (!missing.isEmpty()) notes.add("registered detectors without a demo row: " + String.join(", ", missing));
                List<String> files = DemoReport.write(out, summary, outcomes, notes);
                console.println();
                notes.forEach(console::println);
                console.printf(Locale.ROOT, "%d detectors, %d failed; report in %s: %s%n", outcomes.size(),
                        outcomes.stream().filter(Outcome::failed).count(), out, describe(files));
                console.printf(Locale.ROOT, "total %.1f s%n", (System.nanoTime() - started) / 1e9);
            }
        }
        return 0;
    }

    private static void say(PrintWriter console, List<String> summary, String line) {
        console.println(line);
        console.flush();
        summary.add(line);
    }

    /** results.md, results.csv, then the plots in short. */
    private static String describe(List<String> files) {
        long histograms = files.stream().filter(f -> f.startsWith("histograms/")).count();
        List<String> shown = new ArrayList<>(files.stream().filter(f -> !f.startsWith("histograms/")).toList());
        if (histograms > 0) shown.add("histograms/ (" + histograms + " PNGs)");
        return String.join(", ", shown);
    }

    /** Adam on shuffled mini-batches in training mode; returns the seconds it took. */
    private static double train(Sequential model, DemoData.Images train, int epochs, SplittableRandom rng, PrintWriter err) {
        long t0 = System.nanoTime();
        for (Module m : model.layers()) if (m instanceof Dropout d) d.setRandom(rng.split());
        int n = (int) train.size(), batches = (n + BATCH - 1) / BATCH;
        try (Adam adam = new Adam(model.parameters(), LEARNING_RATE)) {
            model.train();
            for (int epoch = 1; epoch <= epochs; epoch++) {
                long[] order = permutation(n, rng);
                try (Progress progress = new Progress(err, "training epoch " + epoch + "/" + epochs, batches)) {
                    for (int b = 0; b < batches; b++) {
                        try (Scope s = Scope.open()) {
                            Tensor index = Tensor.of(Arrays.copyOfRange(order, b * BATCH, Math.min(n, (b + 1) * BATCH)))
                                    .movedTo(train.x().device());
                            Training.step(model, adam, train.x().indexSelect(0, index), train.y().indexSelect(0, index));
                        }
                        progress.update(b + 1);
                    }
                }
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private static long[] permutation(int n, SplittableRandom rng) {
        long[] p = new long[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            long t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
