package org.ood4j.models;

import java.util.Map;
import java.util.Set;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Norm;

/**
 * A layer that computes per-sample gradients of its own parameters from its input and the
 * gradient of the loss with respect to its output (row i of δ is sample i's own gradient when
 * the loss is a sum of per-sample losses). See {@link org.ood4j.engine.autodiff.PerSample}.
 */
public interface PerSampleLayer {
    /**
     * Σ over the named parameters of the per-sample norm of their gradients, float64 (B,).
     *
     * @param input      the layer's input in the forward pass
     * @param outputGrad dL/d(output), the output's shape
     * @param names      local parameter names to include ("weight", "bias"), never empty
     */
    Tensor perSampleNorms(Tensor input, Tensor outputGrad, Set<String> names, Norm norm);

    /** Per-sample gradients (B, *parameter shape) of the named parameters, by local name. */
    Map<String, Tensor> perSampleGrads(Tensor input, Tensor outputGrad, Set<String> names);
}
