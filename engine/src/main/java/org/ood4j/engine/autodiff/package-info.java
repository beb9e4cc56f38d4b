/**
 * Reverse-mode automatic differentiation over the engine's tensors.
 *
 * <ul>
 *   <li>{@link org.ood4j.engine.autodiff.Tape}: records ops, runs {@code grad} (one-element
 *       output) and {@code vjp} (any output and a cotangent) backwards, owns and frees the
 *       tensors its ops create.</li>
 *   <li>{@link org.ood4j.engine.autodiff.Var}: a value on a tape with the tensor ops
 *       (broadcasting arithmetic, unary maps, matmul, reductions, softmax family, views).</li>
 *   <li>{@link org.ood4j.engine.autodiff.Functional}: linear, conv2d, pooling, batch norm
 *       (evaluation and training), dropout.</li>
 *   <li>{@link org.ood4j.engine.autodiff.PerSample}: per-sample parameter gradients and their
 *       norms ({@link org.ood4j.engine.autodiff.Norm}) from a layer's input and output gradient.</li>
 * </ul>
 *
 * Convolution and pooling gradients are a backend op family
 * ({@link org.ood4j.engine.backend.ConvGradOps}); every op's gradient is checked against
 * central finite differences in the tests.
 */
package org.ood4j.engine.autodiff;
