package org.ood4j.cli;

import java.util.LinkedHashMap;
import java.util.Map;

import org.ood4j.detectors.AbstractDetector;
import org.ood4j.detectors.Calibration;
import org.ood4j.detectors.FeaturesDetector;
import org.ood4j.detectors.LogitsDetector;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;

/**
 * A fitted detector the server answers for under {@code name}: a logits or features detector,
 * read-only after loading (its predictions are thread-safe). Detectors that need per-layer arrays
 * (Gram, MultiMahalanobis) or feature maps or a model are refused when the server starts.
 */
record ServedDetector(String name, AbstractDetector detector, String input) {
    /** Serves {@code d} as {@code name}; refused unless it scores logits or features. */
    static ServedDetector of(String name, AbstractDetector d) {
        String input = switch (d) {
            case LogitsDetector l -> "logits";
            case FeaturesDetector f -> "features";
            default -> throw new IllegalArgumentException(name + ": " + d.name() + " is not served: the server takes logits or "
                    + "features detectors, and " + d.name() + " needs per-layer arrays, feature maps or a model");
        };
        return new ServedDetector(name, d, input);
    }

    /** Scores (N,) on the host for the rows {@code x} (on the detector's device). */
    double[] scores(Tensor x, Device device) {
        Tensor on = x.to(device);
        Tensor scores = detector instanceof LogitsDetector l ? l.predictLogits(on) : ((FeaturesDetector) detector).predictFeatures(on);
        return scores.to(Device.CPU).toDoubleArray();
    }

    /** The response: the name, the scores, and the decisions and p-values when the detector is calibrated. */
    Map<String, Object> answer(double[] scores) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("detector", name);
        out.put("scores", scores);
        Calibration c = detector.calibration();
        if (c != null) {
            out.put("is_ood", c.isOod(scores));
            out.put("p_value", c.pValues(scores));
        }
        return out;
    }

    /** What /health says about it. */
    Map<String, Object> describe() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("detector", detector.name());
        out.put("input", input);
        out.put("calibrated", detector.calibration() != null);
        return out;
    }
}
