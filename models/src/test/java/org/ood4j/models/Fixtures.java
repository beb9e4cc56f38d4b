package org.ood4j.models;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Npy;

/** Test resources: the conformance models and cases copied from ../shared/conformance, and other fixtures. */
final class Fixtures {
    private Fixtures() {}

    static Path resource(String name) {
        try {
            return Path.of(Fixtures.class.getResource("/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("test resource " + name + " not found", e);
        }
    }

    static ModelJson model(String id) throws IOException {
        return ModelJson.load(resource("conformance/models/" + id));
    }

    static Tensor caseArray(String caseId, String file) throws IOException {
        return Npy.read(resource("conformance/cases/" + caseId + "/" + file));
    }

    /** |actual - expected| <= atol + rtol |expected| elementwise, as the conformance README. */
    static void assertClose(double[] expected, double[] actual, double rtol, double atol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double tol = atol + rtol * Math.abs(expected[i]);
            if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
                throw new AssertionError(what + ": element " + i + " expected " + expected[i] + " but was " + actual[i]
                        + " (tolerance " + tol + ")");
            }
        }
    }
}
