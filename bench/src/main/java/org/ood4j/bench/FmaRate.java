package org.ood4j.bench;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's float32 vector FMA rate, the ceiling of every compute-bound row (the exp-based
 * logits scores, the GEMM): ten independent FMA chains per thread (more than an FMA's latency
 * times the pipes, so the chains never wait on each other), on 1 and then on all cores, in G
 * vector FMAs a second; and one dependent chain, whose time per FMA is its latency (4 cycles on
 * Zen 3) and so gives the clock. A source-file program, as {@link SyrkCpuTime}:
 * <pre>  java --add-modules jdk.incubator.vector bench/src/main/java/org/ood4j/bench/FmaRate.java</pre>
 */
public final class FmaRate {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int STEPS = 50_000_000;

    private FmaRate() {}

    public static void main(String[] args) throws InterruptedException {
        int cores = Runtime.getRuntime().availableProcessors();
        for (int round = 0; round < 3; round++) {   // round 0 warms up: until C2 compiles them, the chains run boxed
            double clock = 4 / chainNanos();
            for (int threads : new int[] {1, cores}) {
                double rate = rate(threads);
                if (round > 0) System.out.printf("%d thread(s): %.2f G vector FMAs/s (%d lanes) per thread, %.2f for all; %.2f per cycle per thread at %.2f GHz%n",
                        threads, rate, F.length(), rate * threads, rate / clock, clock);
            }
        }
    }

    /** G vector FMAs a second per thread, {@code threads} threads at once. */
    private static double rate(int threads) throws InterruptedException {
        Thread[] workers = new Thread[threads];
        float[] sink = new float[threads];
        long t0 = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            int id = t;
            workers[t] = new Thread(() -> sink[id] = chains(STEPS));
            workers[t].start();
        }
        for (Thread w : workers) w.join();
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (Float.isNaN(sink[0])) System.out.println("NaN");   // keeps the work alive
        return 10.0 * STEPS / seconds / 1e9;
    }

    /** Ten independent chains a = a b + c, written out: a helper taking vectors could be boxed by C2. */
    private static float chains(int steps) {
        FloatVector b = FloatVector.broadcast(F, 0.999999f), c = FloatVector.broadcast(F, 1e-7f);
        FloatVector a0 = b, a1 = c, a2 = b.add(1), a3 = c.add(1), a4 = b.add(2), a5 = c.add(2), a6 = b.add(3), a7 = c.add(3), a8 = b.add(4), a9 = c.add(4);
        for (int i = 0; i < steps; i++) {
            a0 = a0.lanewise(VectorOperators.FMA, b, c);
            a1 = a1.lanewise(VectorOperators.FMA, b, c);
            a2 = a2.lanewise(VectorOperators.FMA, b, c);
            a3 = a3.lanewise(VectorOperators.FMA, b, c);
            a4 = a4.lanewise(VectorOperators.FMA, b, c);
            a5 = a5.lanewise(VectorOperators.FMA, b, c);
            a6 = a6.lanewise(VectorOperators.FMA, b, c);
            a7 = a7.lanewise(VectorOperators.FMA, b, c);
            a8 = a8.lanewise(VectorOperators.FMA, b, c);
            a9 = a9.lanewise(VectorOperators.FMA, b, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).reduceLanes(VectorOperators.ADD);
    }

    /** Nanoseconds per step of one dependent scalar FMA chain. */
    private static double chainNanos() {
        double a = 1.0000001;
        long t0 = System.nanoTime();
        for (int i = 0; i < 100_000_000; i++) a = Math.fma(a, 0.999999, 1e-9);
        double ns = (System.nanoTime() - t0) / 1e8;
        if (Double.isNaN(a)) System.out.println("NaN");
        return ns;
    }
}
