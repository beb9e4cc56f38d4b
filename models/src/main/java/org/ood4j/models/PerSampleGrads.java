package org.ood4j.models;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;

import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Norm;
import org.ood4j.engine.autodiff.Tape;
import org.ood4j.engine.autodiff.Var;

/**
 * Per-sample parameter gradients in one batched forward and backward pass (GradNorm,
 * GradNormKL). The loss must be a sum of per-sample losses, L = Σ_i ℓ_i(f(x_i)), and the network
 * must not mix samples (batch norm in evaluation mode): then the gradient δ of L with respect to
 * a layer's output has row i equal to dℓ_i/d(output_i), and each layer turns its input a_i and δ_i
 * into sample i's parameter gradient ({@link PerSampleLayer}, e.g. δ_i a_iᵀ for a Linear layer,
 * whose norm needs no outer product).
 *
 * <p>How it runs: the forward pass goes on a tape with the input watched and a trace attached,
 * so every parameterised layer reports its input and output Vars; one backward pass gives δ for
 * the outputs of the layers that hold a selected parameter (and no parameter gradient at all);
 * then each such layer reduces its per-sample gradients to norms.
 *
 * <p>Parameters are selected by state_dict name ({@code "9.weight"}); a layer used twice in one
 * forward pass is refused.
 */
public final class PerSampleGrads {
    private PerSampleGrads() {}

    /**
     * Σ over selected parameters p of N(dℓ_i/dp) per sample, float64 (B,), N = {@link Norm#L1} or
     * {@link Norm#L2_SQUARED}.
     *
     * @param loss maps the logits Var to the summed loss Σ_i ℓ_i (a one-element Var)
     */
    public static Tensor norms(Module model, Tensor x, Function<Var, Var> loss, Predicate<String> filter, Norm norm) {
        return run(model, x, filter, (tape, logits, outs) -> tape.grad(loss.apply(logits), outs),
                (layer, in, delta, names) -> layer.perSampleNorms(in, delta, names, norm), PerSampleGrads::sumNorms);
    }

    /**
     * As {@link #norms(Module, Tensor, Function, Predicate, Norm)} with the loss given by its
     * gradient with respect to the logits: {@code logitGrad} maps the logits (B, C) to
     * dL/d(logits) (B, C), row i being dℓ_i/d(logits_i) (when the loss's derivative has a closed
     * form that is more accurate than differentiating it).
     */
    public static Tensor normsFromLogitGrad(Module model, Tensor x, Function<Tensor, Tensor> logitGrad, Predicate<String> filter,
                                            Norm norm) {
        return run(model, x, filter, (tape, logits, outs) -> {
            try (Tensor cot = logitGrad.apply(logits.value())) {
                return tape.vjp(logits, cot, outs);
            }
        }, (layer, in, delta, names) -> layer.perSampleNorms(in, delta, names, norm), PerSampleGrads::sumNorms);
    }

    /** The per-sample gradients themselves, (B, *parameter shape), by state_dict name, for the selected parameters. */
    public static Map<String, Tensor> gradients(Module model, Tensor x, Function<Var, Var> loss, Predicate<String> filter) {
        return run(model, x, filter, (tape, logits, outs) -> tape.grad(loss.apply(logits), outs),
                (layer, in, delta, names) -> layer.perSampleGrads(in, delta, names), (parts, input) -> {
                    Map<String, Tensor> out = new LinkedHashMap<>();
                    parts.forEach((prefix, grads) -> grads.forEach((n, g) -> out.put(prefix.isEmpty() ? n : prefix + "." + n, g)));
                    return out;
                });
    }

    // ---------------------------------------------------------------- the pass

    private interface Backward {
        List<Tensor> deltas(Tape tape, Var logits, List<Var> outputs);
    }

    private interface PerLayer<T> {
        T compute(PerSampleLayer layer, Tensor input, Tensor delta, Set<String> names);
    }

    private interface Combine<T, R> {
        R combine(Map<String, T> byPrefix, Tensor x);
    }

    private static <T, R> R run(Module model, Tensor x, Predicate<String> filter, Backward backward, PerLayer<T> perLayer,
                                Combine<T, R> combine) {
        Map<Module, Set<String>> selected = selectedByLayer(model, filter);
        Map<Module, String> prefixes = new IdentityHashMap<>();
        model.namedModules().forEach((p, m) -> prefixes.putIfAbsent(m, p));
        try (Tape tape = new Tape(); Scope scope = Scope.open()) {
            ForwardTrace trace = new ForwardTrace();
            tape.attach(ForwardTrace.class, trace);
            Var logits = model.forward(tape.watch(x));
            List<ForwardTrace.Entry> used = new ArrayList<>();
            for (ForwardTrace.Entry e : trace.entries()) {
                if (selected.containsKey(e.layer())) used.add(e);
            }
            Map<String, T> parts = new LinkedHashMap<>();
            if (!used.isEmpty()) {
                List<Tensor> deltas = backward.deltas(tape, logits, used.stream().map(ForwardTrace.Entry::output).toList());
                for (int k = 0; k < used.size(); k++) {
                    ForwardTrace.Entry e = used.get(k);
                    parts.put(prefixes.get(e.layer()),
                            perLayer.compute((PerSampleLayer) e.layer(), e.input().value(), deltas.get(k), selected.get(e.layer())));
                }
            }
            R result = combine.combine(parts, x);
            keepResult(scope, result);
            return result;
        }
    }

    /** Selected local parameter names per layer; a selected parameter of a layer without per-sample support is an error. */
    private static Map<Module, Set<String>> selectedByLayer(Module model, Predicate<String> filter) {
        Map<Module, Set<String>> out = new IdentityHashMap<>();
        model.namedModules().forEach((prefix, m) -> m.localParameters().values().stream().filter(Parameter::isTrainable).forEach(p -> {
            String name = prefix.isEmpty() ? p.name() : prefix + "." + p.name();
            if (!filter.test(name)) return;
            if (!(m instanceof PerSampleLayer)) {
                throw new IllegalArgumentException("parameter " + name + " belongs to " + m + ", which gives no per-sample gradients");
            }
            out.computeIfAbsent(m, k -> new LinkedHashSet<>()).add(p.name());
        }));
        return out;
    }

    private static Tensor sumNorms(Map<String, Tensor> parts, Tensor x) {
        Tensor total = Tensor.zeros(DType.FLOAT64, x.device(), x.size(0));
        for (Tensor t : parts.values()) total = total.add(t);
        return total;
    }

    private static void keepResult(Scope scope, Object result) {
        if (result instanceof Tensor t) scope.keep(t);
        else if (result instanceof Map<?, ?> m) m.values().forEach(t -> scope.keep((Tensor) t));
    }
}
