package org.ood4j.engine.autodiff;

import org.ood4j.engine.Tensor;

/**
 * The vector-Jacobian product of one recorded op: from dL/d(output) to dL/d(input) for each
 * input. It runs inside a scope that the tape closes, so temporaries need no care; the tensors it
 * returns are kept (they may be views of {@code grad}, never {@code grad} itself).
 */
@FunctionalInterface
interface Backward {
    /**
     * @param grad   dL/d(output), the output's shape
     * @param needed which inputs want a gradient
     * @return one gradient per input, in input order; null where not needed
     */
    Tensor[] apply(Tensor grad, boolean[] needed);
}
