package org.ood4j.detectors;

import org.ood4j.engine.Tensor;

/** One batch of inputs and their int64 labels (label < 0 marks an OOD sample); y may be null where no labels are needed. */
public record Batch(Tensor x, Tensor y) {}
