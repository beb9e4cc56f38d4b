package org.ood4j.models;

import java.util.ArrayList;
import java.util.List;

import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Tape;
import org.ood4j.engine.autodiff.Var;

/** One optimisation step, and accuracy. */
public final class Training {
    private Training() {}

    /**
     * Forward (in the model's current mode: call {@link Module#train()} first), mean
     * cross-entropy against int64 labels, backward, one optimiser step; returns the loss.
     */
    public static double step(Module model, Optimizer optimizer, Tensor x, Tensor labels) {
        try (Tape tape = new Tape(); Scope s = Scope.open()) {
            List<Var> params = new ArrayList<>();
            for (Parameter p : optimizer.parameters()) params.add(tape.watch(p.value()));
            Var loss = Losses.crossEntropy(model.forward(tape.constant(x)), labels);
            optimizer.step(tape.grad(loss, params));
            return loss.value().item();
        }
    }

    /** Fraction of samples whose argmax logit equals the label, in the model's current mode. */
    public static double accuracy(Module model, Tensor x, Tensor labels) {
        try (Scope s = Scope.open()) {
            long[] predicted = model.forward(x).argmax(1).toLongArray(), y = labels.toLongArray();
            int hits = 0;
            for (int i = 0; i < y.length; i++) if (predicted[i] == y[i]) hits++;
            return (double) hits / y.length;
        }
    }
}
