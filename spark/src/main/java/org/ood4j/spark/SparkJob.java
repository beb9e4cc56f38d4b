package org.ood4j.spark;

import java.util.ArrayList;
import java.util.List;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

/**
 * The {@code spark-submit} entry point: fit a detector on a Parquet dataset and save the model,
 * or score a Parquet dataset with a saved model and write it back with the score columns.
 * <pre>
 * fit   --detector NAME [--param k=v]... --input PATH [--features-col C] [--label-col C] --model OUT
 * score --model PATH --input PATH --output PATH [--features-col C]
 * </pre>
 * It runs in the session {@code spark-submit} configured (or the active one); options are as
 * the CLI's ({@code --param} pairs as {@code ood4j fit --param}).
 */
public final class SparkJob {
    private SparkJob() {}

    public static void main(String[] args) throws java.io.IOException {
        run(SparkSession.builder().appName("ood4j").getOrCreate(), args);
    }

    /** Runs one command in {@code spark}; returns what it did, in one line (also printed). */
    public static String run(SparkSession spark, String... args) throws java.io.IOException {
        if (args.length == 0) throw new IllegalArgumentException("usage: fit|score [options] (see the README's \"On Spark\")");
        Options o = Options.parse(args);
        String done = switch (args[0]) {
            case "fit" -> fit(spark, o);
            case "score" -> score(spark, o);
            default -> throw new IllegalArgumentException("unknown command '" + args[0] + "': fit or score");
        };
        System.out.println(done);
        return done;
    }

    private static String fit(SparkSession spark, Options o) throws java.io.IOException {
        OodDetector estimator = new OodDetector().setDetector(o.require("--detector")).setDetectorParams(o.params.toArray(String[]::new))
                .setFeaturesCol(o.get("--features-col", "features"));
        if (o.values.containsKey("--label-col")) estimator.setLabelCol(o.values.get("--label-col"));
        long t0 = System.nanoTime();
        OodDetectorModel model = estimator.fit(spark.read().parquet(o.require("--input")));
        model.write().overwrite().save(o.require("--model"));
        return String.format(java.util.Locale.ROOT, "fitted %s in %.1f s, saved to %s", model.detectorName(), (System.nanoTime() - t0) / 1e9,
                o.require("--model"));
    }

    private static String score(SparkSession spark, Options o) {
        OodDetectorModel model = OodDetectorModel.load(o.require("--model")).setFeaturesCol(o.get("--features-col", "features"));
        long t0 = System.nanoTime();
        Dataset<Row> scored = model.transform(spark.read().parquet(o.require("--input")));
        scored.write().mode(SaveMode.Overwrite).parquet(o.require("--output"));
        return String.format(java.util.Locale.ROOT, "scored with %s in %.1f s, wrote %s", model.detectorName(), (System.nanoTime() - t0) / 1e9,
                o.require("--output"));
    }

    /** --name value options; --param repeats. */
    private record Options(java.util.Map<String, String> values, List<String> params) {
        static Options parse(String[] args) {
            Options o = new Options(new java.util.HashMap<>(), new ArrayList<>());
            for (int i = 1; i < args.length; i += 2) {
                if (!args[i].startsWith("--") || i + 1 >= args.length) throw new IllegalArgumentException("expected --option value, got '" + args[i] + "'");
                if (args[i].equals("--param")) o.params.add(args[i + 1]);
                else o.values.put(args[i], args[i + 1]);
            }
            return o;
        }

        String require(String name) {
            String v = values.get(name);
            if (v == null) throw new IllegalArgumentException("this command needs " + name);
            return v;
        }

        String get(String name, String fallback) {
            return values.getOrDefault(name, fallback);
        }
    }
}
