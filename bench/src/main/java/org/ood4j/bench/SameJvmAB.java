package org.ood4j.bench;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Two or more builds of ood4j timed in one JVM, their runs interleaved: each build's jar in a class
 * loader of its own, the logits detectors' predicts on the workload's logits.npy, one run of each
 * build in turn (the order rotated every round), medians per build. On the shared 2-core machine the
 * same build measured in two JVMs a minute apart differs by 5-10% (the neighbours' load, the JIT's
 * choices), which hides most single changes; interleaved in one JVM, the medians of the same jar
 * loaded twice agree within ~2%. Runs as a source file with no classpath (the builds are loaded by
 * reflection):
 *
 * <pre>  java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *       bench/src/main/java/org/ood4j/bench/SameJvmAB.java WORKLOAD_DIR ROUNDS A.jar B.jar [...] [--only GEN,MaxLogit]</pre>
 * Prints per detector each build's median and quartiles over ROUNDS predicts (after 8 untimed rounds)
 * and its median over the first build's. Judge a change by the ratio of repeated runs, and against a
 * detector the change does not touch (its ratio is the harness's own spread).
 */
public final class SameJvmAB {
    private SameJvmAB() {}

    private static final List<String> DEFAULT = List.of("MaxSoftmax", "EnergyBased", "Entropy", "MaxLogit", "GEN");

    /** One build: its loader's logits tensor and detectors, and predict timed by reflection. */
    private record Build(String name, Object logits, Object[] detectors, Method predict, Method close, Method first) {
        static Build load(Path jar, Path dir, List<String> names) throws Exception {
            ClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader());
            Class<?> tensor = loader.loadClass("org.ood4j.engine.Tensor");
            Object logits = loader.loadClass("org.ood4j.engine.io.Npy").getMethod("read", Path.class).invoke(null, dir.resolve("logits.npy"));
            Method create = loader.loadClass("org.ood4j.detectors.DetectorRegistry").getMethod("create", String.class, Map.class,
                    loader.loadClass("org.ood4j.detectors.Network"));
            Object[] detectors = new Object[names.size()];
            for (int d = 0; d < detectors.length; d++) detectors[d] = create.invoke(null, names.get(d), Map.of(), null);
            Method predict = loader.loadClass("org.ood4j.detectors.LogitsDetector").getMethod("predictLogits", tensor);
            return new Build(jar.getFileName().toString(), logits, detectors, predict, tensor.getMethod("close"),
                    tensor.getMethod("getDouble", long[].class));
        }

        /** Seconds of one predict of detector d (its scores read, then closed). */
        double time(int d) throws Exception {
            long t0 = System.nanoTime();
            Object scores = predict.invoke(detectors[d], logits);
            first.invoke(scores, (Object) new long[] {0});
            double seconds = (System.nanoTime() - t0) / 1e9;
            close.invoke(scores);
            return seconds;
        }
    }

    public static void main(String[] args) throws Exception {
        List<String> rest = new ArrayList<>(Arrays.asList(args));
        List<String> names = DEFAULT;
        int only = rest.indexOf("--only");
        if (only >= 0) {
            names = List.of(rest.get(only + 1).split(","));
            rest.subList(only, only + 2).clear();
        }
        if (rest.size() < 4) throw new IllegalArgumentException("usage: SameJvmAB WORKLOAD_DIR ROUNDS A.jar B.jar [...] [--only NAMES]");
        Path dir = Path.of(rest.get(0));
        int rounds = Integer.parseInt(rest.get(1));
        List<Build> builds = new ArrayList<>();
        for (String jar : rest.subList(2, rest.size())) builds.add(Build.load(Path.of(jar), dir, names));
        double[][][] t = new double[builds.size()][names.size()][rounds];
        for (int round = -8; round < rounds; round++) {
            for (int k = 0; k < builds.size(); k++) {
                int b = Math.floorMod(k + round, builds.size());   // each build first in turn
                for (int d = 0; d < names.size(); d++) {
                    double s = builds.get(b).time(d);
                    if (round >= 0) t[b][d][round] = s;
                }
            }
        }
        for (int d = 0; d < names.size(); d++) {
            StringBuilder line = new StringBuilder(String.format("%-12s", names.get(d)));
            double base = median(t[0][d]);
            for (int b = 0; b < builds.size(); b++) {
                double[] s = t[b][d].clone();
                Arrays.sort(s);
                line.append(String.format("  %s %.2f ms [%.2f-%.2f] x%.3f", builds.get(b).name(), 1e3 * s[rounds / 2], 1e3 * s[rounds / 4],
                        1e3 * s[3 * rounds / 4], s[rounds / 2] / base));
            }
            System.out.println(line);
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
