package org.ood4j.detectors;

import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;

/**
 * An out-of-distribution detector: {@code predict} gives one outlier score per sample, higher
 * meaning more likely out-of-distribution. Detectors that learn statistics from in-distribution
 * data must be {@link #fit fitted} first; samples with a label below 0 are OOD and ignored there.
 *
 * <p>A detector owns the tensors it fitted and frees them on {@link #close()}. A fitted detector
 * is safe to call {@code predict} on from many threads at once; fitting is not.
 */
public interface Detector extends AutoCloseable {

    /** Fits on batches of raw model inputs and labels; needs the model. */
    Detector fit(Iterable<Batch> data);

    /**
     * Outlier scores (N,) float64 for raw model inputs.
     *
     * @throws ModelNotSetException  when the detector was built without a model
     * @throws RequiresFitException  when it needs fitting and was not fitted
     */
    Tensor predict(Tensor x);

    /** Whether {@link #fit} must be called before scoring. */
    boolean requiresFit();

    /** True when fitted, or when no fitting is needed. */
    boolean isFitted();

    /** Moves the fitted state to a device; returns this. */
    Detector to(Device device);

    /** Frees the fitted state. */
    @Override
    void close();
}
