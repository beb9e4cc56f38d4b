package org.ood4j.detectors;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Norm;
import org.ood4j.models.PerSampleGrads;
import org.ood4j.models.Sequential;

/**
 * What GradNorm and GradNormKL share: the parameter selection (param_filter) and the per-sample
 * gradient norms of binary_cross_entropy(softmax(f(x)), t, 'sum') in one batched pass
 * ({@link PerSampleGrads#normsFromLogitGrad}), from the closed-form logit gradient below.
 */
final class GradientNorms {
    /** torch's clamp of the BCE backward denominator p (1 - p). */
    static final double BCE_EPS = 1e-12;

    private GradientNorms() {}

    /** A param_filter given as names: every name must be one of the network's trainable parameters. */
    static List<String> checkNames(String detector, Sequential network, List<String> names) {
        if (names == null) return null;
        if (names.isEmpty()) {
            throw new IllegalArgumentException(detector + ": param_filter is empty, so no parameter would be scored;"
                    + " leave it out to use every parameter");
        }
        List<String> copy = List.copyOf(names);
        if (network != null) {
            Set<String> known = network.namedParameters().keySet();
            List<String> unknown = new ArrayList<>();
            for (String n : copy) if (!known.contains(n)) unknown.add(n);
            if (!unknown.isEmpty()) {
                throw new IllegalArgumentException(detector + ": param_filter names " + unknown + ", which the network does not have;"
                        + " its parameters are " + known);
            }
        }
        return copy;
    }

    /** The predicate of a list of names (null = every parameter). */
    static Predicate<String> predicateOf(List<String> names) {
        if (names == null) return name -> true;
        Set<String> set = new LinkedHashSet<>(names);
        return set::contains;
    }

    /**
     * Per-sample sum over the selected parameters of N(d loss_i / d param), float64 (n,), with
     * loss_i = binary_cross_entropy(softmax(f(x_i)), t, 'sum'); the network runs in float64.
     *
     * @param target t, or NaN for 1/C
     */
    static Tensor norms(Sequential net, Tensor x, double target, Predicate<String> filter, Norm norm) {
        Tensor x64 = x.to(DType.FLOAT64);
        return PerSampleGrads.normsFromLogitGrad(net, x64, logits -> bceSoftmaxLogitGrad(logits, target), filter, norm);
    }

    /**
     * d loss / d logits (n, C) of loss = sum_j BCE(p_j, t), p = softmax(z), differentiated as torch
     * does: q_j = 1 - p_j, b_j = (p_j - t) / max(p_j q_j, 1e-12), d loss / d z_k = b_k p_k - p_k sum_j b_j p_j.
     * Computed in float64 without cancellation: q_j as the sum of the other probabilities, and the
     * gradient as b_k p_k q_k - p_k sum_{j != k} b_j p_j, the sums over "all but one" from prefix and
     * suffix sums (O(C) per row).
     *
     * @param target t, or NaN for 1/C
     */
    static Tensor bceSoftmaxLogitGrad(Tensor logits, double target) {
        double[][] z = logits.toDoubleMatrix();
        double[][] g = new double[z.length][];
        for (int i = 0; i < z.length; i++) g[i] = rowGrad(z[i], Double.isNaN(target) ? 1.0 / z[i].length : target);
        try (Tensor host = Tensor.of(g)) {
            return host.to(logits.device());
        }
    }

    private static double[] rowGrad(double[] z, double t) {
        int c = z.length;
        double max = Double.NEGATIVE_INFINITY;
        for (double v : z) max = Math.max(max, v);
        double[] e = new double[c];
        double sum = 0;
        for (int j = 0; j < c; j++) sum += e[j] = Math.exp(z[j] - max);
        double[] others = othersSums(e);
        double[] p = new double[c], q = new double[c], bp = new double[c];
        for (int j = 0; j < c; j++) {
            p[j] = e[j] / sum;
            q[j] = others[j] / sum;
            bp[j] = (p[j] - t) / Math.max(p[j] * q[j], BCE_EPS) * p[j];
        }
        double[] bpOthers = othersSums(bp);
        double[] g = new double[c];
        for (int k = 0; k < c; k++) {
            g[k] = (p[k] - t) * p[k] * q[k] / Math.max(p[k] * q[k], BCE_EPS) - p[k] * bpOthers[k];
        }
        return g;
    }

    /** out[k] = sum_{j != k} v_j, as a prefix sum plus a suffix sum (no subtraction). */
    private static double[] othersSums(double[] v) {
        int c = v.length;
        double[] out = new double[c];
        double acc = 0;
        for (int k = 0; k < c; k++) {
            out[k] = acc;
            acc += v[k];
        }
        acc = 0;
        for (int k = c - 1; k >= 0; k--) {
            out[k] += acc;
            acc += v[k];
        }
        return out;
    }
}
