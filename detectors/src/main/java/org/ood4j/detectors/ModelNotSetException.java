package org.ood4j.detectors;

/** A model-based entry point ({@code fit(batches)}, {@code predict(x)}) on a detector built without a model. */
public class ModelNotSetException extends IllegalStateException {
    public ModelNotSetException(String detector) {
        super(detector + " was built without a model: use its representation interface "
                + "(predictLogits, predictFeatures, ...) or pass a model");
    }
}
