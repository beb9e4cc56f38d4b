package org.ood4j.detectors;

/** Scoring with a detector that must be fitted first. */
public class RequiresFitException extends IllegalStateException {
    public RequiresFitException(String detector) {
        super(detector + " must be fitted before scoring: call fit(...) first");
    }
}
