package org.ood4j.models;

import java.util.List;

import org.ood4j.engine.Tensor;

/** Updates parameters in place from their gradients; holds its state (momenta) until closed. */
public interface Optimizer extends AutoCloseable {
    /** The parameters it updates, in the order {@link #step} expects their gradients. */
    List<Parameter> parameters();

    /** One update from gradients in {@link #parameters()} order (shapes as the parameters). */
    void step(List<Tensor> grads);

    /** Frees the optimiser state. */
    @Override
    void close();
}
