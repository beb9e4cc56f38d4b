package org.ood4j.bench;

import java.lang.management.ManagementFactory;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.management.ObjectName;

import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.FeaturesDetector;
import org.ood4j.detectors.GMM;
import org.ood4j.detectors.KLMatching;
import org.ood4j.detectors.KNN;
import org.ood4j.detectors.LogitsDetector;
import org.ood4j.detectors.Mahalanobis;
import org.ood4j.detectors.TemperatureScaling;
import org.ood4j.engine.DType;
import org.ood4j.engine.MemoryStats;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * Fit/predict cycles of a representative set of detectors, with the JVM's own Native Memory
 * Tracking read before and after (run with -XX:NativeMemoryTracking=summary; bench/nmt-check.sh):
 * the committed native memory of the "Other" category (where FFM arenas are counted) must not
 * grow with the number of cycles. The engine's own counters are printed too.
 */
public final class NativeMemoryCheck {
    public static void main(String[] args) throws Exception {
        int cycles = args.length > 0 ? Integer.parseInt(args[0]) : 10000;
        SplittableRandom rng = new SplittableRandom(3);
        try (Tensor logits = Tensor.randn(rng, DType.FLOAT32, 64, 5); Tensor features = Tensor.randn(rng, DType.FLOAT32, 64, 8);
             Tensor labels = Tensor.of(java.util.stream.LongStream.range(0, 64).map(i -> i % 5).toArray())) {
            run(logits, features, labels, 200);                       // warm up: classes loaded, pools started
            long before = otherCommittedKb(), blocks = MemoryStats.liveBlocks();
            run(logits, features, labels, cycles);
            System.gc();
            long after = otherCommittedKb();
            System.out.printf("cycles %d: NMT 'Other' committed %d KB -> %d KB (%+d KB); engine live blocks %d -> %d%n",
                    cycles, before, after, after - before, blocks, MemoryStats.liveBlocks());
        }
    }

    private static void run(Tensor logits, Tensor features, Tensor labels, int cycles) {
        for (int c = 0; c < cycles; c++) {
            try (Scope s = Scope.open(); AbstractDetector d = switch (c % 5) {
                case 0 -> new KLMatching(null);
                case 1 -> new TemperatureScaling(null);
                case 2 -> new Mahalanobis(null, 0, null);
                case 3 -> new KNN(null);
                default -> new GMM(null);
            }) {
                if (d instanceof LogitsDetector l) {
                    l.fitLogits(logits, labels);
                    l.predictLogits(logits);
                } else {
                    ((FeaturesDetector) d).fitFeatures(features, labels);
                    ((FeaturesDetector) d).predictFeatures(features);
                }
            }
        }
    }

    /** Committed KB of NMT's "Other" category, through the DiagnosticCommand MBean (jcmd VM.native_memory). */
    private static long otherCommittedKb() throws Exception {
        String out = (String) ManagementFactory.getPlatformMBeanServer().invoke(
                new ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
                new Object[] {new String[] {"summary"}}, new String[] {String[].class.getName()});
        Matcher m = Pattern.compile("-\\s+Other \\(reserved=\\d+KB, committed=(\\d+)KB\\)").matcher(out);
        if (!m.find()) throw new IllegalStateException("no NMT data; run with -XX:NativeMemoryTracking=summary:\n" + out);
        return Long.parseLong(m.group(1));
    }
}
