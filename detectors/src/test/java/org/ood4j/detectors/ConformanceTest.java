package org.ood4j.detectors;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.ood4j.engine.Backends;
import org.ood4j.engine.Device;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.io.Json;
import org.ood4j.engine.io.Npy;
import org.ood4j.models.ModelJson;
import org.opentest4j.TestAbortedException;

/**
 * Runs every reference case of the conformance set (bundled as test resources, or the folder
 * given by {@code -Dconformance.dir=DIR}) and prints one line per case and the closing
 * {@code conformance: N passed, M failed, S skipped}.
 *
 * <p>A case is skipped only when its detector is not built yet; a built detector that gives
 * other scores or another error fails.
 *
 * <p>{@code -Dconformance.device=cuda} runs the cases on the CUDA backend: every input, parameter
 * tensor and model moves to the device before the detector sees it (expected values stay on the
 * host) and the summary line reads {@code conformance on CUDA: N passed, ...}. Where CUDA is
 * unavailable each case is skipped with the reason.
 */
class ConformanceTest {
    private static final AtomicInteger PASSED = new AtomicInteger(), FAILED = new AtomicInteger(), SKIPPED = new AtomicInteger();
    private static final Device DEVICE = "cuda".equalsIgnoreCase(System.getProperty("conformance.device", "cpu").trim())
            ? Device.CUDA : Device.CPU;

    /** DIR of -Dconformance.dir, unless conformance.bundledOnly is set (the build's emulated CUDA run); else the bundled cases. */
    static Path root() throws URISyntaxException {
        String dir = Boolean.getBoolean("conformance.bundledOnly") ? null : System.getProperty("conformance.dir");
        if (dir != null && !dir.isBlank() && !dir.startsWith("${")) return Path.of(dir);
        return Path.of(ConformanceTest.class.getResource("/conformance/manifest.json").toURI()).getParent();
    }

    /** Case folders: DIR/cases/* when present, else DIR/* — every folder holding a case.json. */
    static Stream<String> cases() throws Exception {
        Path root = root();
        Path base = Files.isDirectory(root.resolve("cases")) ? root.resolve("cases") : root;
        List<String> ids = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(base)) {
            dirs.filter(d -> Files.isRegularFile(d.resolve("case.json"))).sorted()
                    .forEach(d -> ids.add(d.getFileName().toString()));
        }
        if (ids.isEmpty()) throw new IllegalStateException("no conformance cases under " + base);
        return ids.stream();
    }

    static Path caseDir(String id) throws URISyntaxException {
        Path root = root();
        return Files.isDirectory(root.resolve("cases")) ? root.resolve("cases").resolve(id) : root.resolve(id);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void conformance(String id) throws Exception {
        try {
            run(caseDir(id));
            PASSED.incrementAndGet();
            System.out.println("conformance case " + id + ": passed");
        } catch (TestAbortedException e) {
            SKIPPED.incrementAndGet();
            System.out.println("conformance case " + id + ": skipped (" + e.getMessage() + ")");
            throw e;
        } catch (Throwable e) {
            FAILED.incrementAndGet();
            System.out.println("conformance case " + id + ": FAILED (" + e + ")");
            throw e;
        }
    }

    @AfterAll
    static void summary() {
        String counts = PASSED.get() + " passed, " + FAILED.get() + " failed, " + SKIPPED.get() + " skipped";
        if (DEVICE == Device.CPU) {
            System.out.println("conformance: " + counts);
        } else {           // a line of its own: "conformance: ..." is the CPU backend's, the contract
            System.out.println("conformance on " + DEVICE + ": " + counts + " (" + Backends.cudaStatus() + ")");
        }
    }

    // ------------------------------------------------------------------ one case

    @SuppressWarnings("unchecked")
    private static void run(Path dir) throws IOException {
        Map<String, Object> spec = (Map<String, Object>) Json.parse(Files.readString(dir.resolve("case.json")));
        String detector = (String) spec.get("detector");
        String iface = (String) spec.get("interface");
        String expectedError = (String) spec.get("expected_error");
        boolean functional = DetectorRegistry.hasFunction(detector);
        Assumptions.assumeTrue(DetectorRegistry.has(detector) || functional, "detector " + detector + " is not built yet");
        if (DEVICE == Device.CUDA) Assumptions.assumeTrue(Backends.cudaStatus().available(), "CUDA " + Backends.cudaStatus());

        try (Scope scope = Scope.open(); ModelJson net = spec.get("model") == null ? null : loadModel((String) spec.get("model"))) {
            if (net != null && DEVICE != Device.CPU) net.model().to(DEVICE);
            Network network = net == null ? null : new Network(net.model(), net.featuresAt(), net.featureMapsAt().orElse(-1));
            Map<String, Object> params = resolveParams(dir, (Map<String, Object>) spec.getOrDefault("params", Map.of()));
            if (expectedError != null) {
                Throwable thrown = assertThrows(Throwable.class, () -> {
                    if (functional) applyFunction(dir, spec, detector, params, network);
                    else execute(dir, spec, detector, iface, params, network);
                }, "expected a " + expectedError + " error");
                assertExpectedError(expectedError, thrown);
                return;
            }
            Map<String, Object> tol = (Map<String, Object>) spec.get("tolerance");
            double rtol = ((Number) tol.get("rtol")).doubleValue(), atol = ((Number) tol.get("atol")).doubleValue();
            Map<String, Object> expected = (Map<String, Object>) spec.get("expected");
            if (functional) {
                // A functional form (odin_preprocessing): every expected entry is one of its outputs (x_hat).
                assertEquals("model", iface, "functional cases run on the model interface");
                Tensor out = applyFunction(dir, spec, detector, params, network);
                assertEquals(1, expected.size(), "one expected output of " + detector);
                for (Map.Entry<String, Object> e : expected.entrySet()) assertClose(e.getKey(), hostNpy(dir, e.getValue()), out, rtol, atol);
                return;
            }
            try (Detector d = DetectorRegistry.create(detector, params, network)) {
                Object px = ((Map<String, Object>) spec.get("predict")).get("x");
                Tensor predictX = px == null ? null : npy(dir, px);
                Tensor scores = fitAndPredict(dir, spec, d, iface);
                assertClose("scores", hostNpy(dir, expected.get("scores")), scores, rtol, atol);
                Map<String, Object> extras = (Map<String, Object>) spec.getOrDefault("extra_expected", Map.of());
                for (Map.Entry<String, Object> e : extras.entrySet()) {
                    Tensor want = e.getValue() instanceof Number n ? Tensor.scalar(n.doubleValue(), org.ood4j.engine.DType.FLOAT64)
                            : hostNpy(dir, ((Map<String, Object>) e.getValue()).get("npy"));
                    Tensor logitsOrX = "model".equals(iface) && network != null ? network.model().apply(predictX) : predictX;
                    assertClose(e.getKey(), want, extra(d, e.getKey(), logitsOrX), rtol, atol);
                }
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static void execute(Path dir, Map<String, Object> spec, String detector, String iface, Map<String, Object> params,
                                Network network) throws IOException {
        try (Detector d = DetectorRegistry.create(detector, params, network)) {
            fitAndPredict(dir, spec, d, iface);
        }
    }

    /** A functional form on the case's predict.x and optional predict.y. */
    @SuppressWarnings("unchecked")
    private static Tensor applyFunction(Path dir, Map<String, Object> spec, String name, Map<String, Object> params, Network network)
            throws IOException {
        Map<String, Object> predict = (Map<String, Object>) spec.get("predict");
        Tensor y = predict.get("y") == null ? null : npy(dir, predict.get("y"));
        return DetectorRegistry.apply(name, params, network, npy(dir, predict.get("x")), y);
    }

    /** Fits (when the case has fit data) and predicts through the case's interface. */
    @SuppressWarnings("unchecked")
    private static Tensor fitAndPredict(Path dir, Map<String, Object> spec, Detector d, String iface) throws IOException {
        Map<String, Object> fit = (Map<String, Object>) spec.get("fit");
        Map<String, Object> predict = (Map<String, Object>) spec.get("predict");
        Tensor x = predict.get("x") == null ? null : npy(dir, predict.get("x"));
        switch (iface) {
            case "logits" -> {
                LogitsDetector ld = (LogitsDetector) d;
                if (fit != null) ld.fitLogits(npy(dir, fit.get("x")), npy(dir, fit.get("y")));
                return ld.predictLogits(x);
            }
            case "features" -> {
                FeaturesDetector fd = (FeaturesDetector) d;
                if (fit != null) fd.fitFeatures(npy(dir, fit.get("x")), fit.get("y") == null ? null : npy(dir, fit.get("y")));
                return fd.predictFeatures(x);
            }
            case "feature_maps" -> {
                FeatureMapsDetector md = (FeatureMapsDetector) d;
                if (fit != null) md.fitFeatureMaps(npy(dir, fit.get("x")), fit.get("y") == null ? null : npy(dir, fit.get("y")));
                return md.predictFeatureMaps(x);
            }
            case "structured" -> {
                StructuredDetector sd = (StructuredDetector) d;
                if (fit != null) sd.fitStructured(npys(dir, fit.get("xs")), fit.get("y") == null ? null : npy(dir, fit.get("y")));
                Tensor logits = predict.get("logits") == null ? null : npy(dir, predict.get("logits"));
                return sd.predictStructured(npys(dir, predict.get("xs")), logits);
            }
            case "model" -> {
                if (fit != null) d.fit(List.of(new Batch(npy(dir, fit.get("x")), fit.get("y") == null ? null : npy(dir, fit.get("y")))));
                return d.predict(x);
            }
            default -> throw new AssertionError("interface " + iface + " of " + d + " is not supported by the runner yet");
        }
    }

    /** A fitted value named by the case: a state tensor, or a per-sample quantity of the detector. */
    private static Tensor extra(Detector d, String name, Tensor predictX) {
        if (d instanceof OpenMax om && name.equals("pseudo_activation")) return om.pseudoActivation(predictX);
        Tensor t = ((AbstractDetector) d).state().get(name);
        assertNotNull(t, d + " has no fitted value '" + name + "'");
        return t;
    }

    private static void assertExpectedError(String expected, Throwable thrown) {
        Class<? extends Throwable> type = switch (expected) {
            case "RequiresFit" -> RequiresFitException.class;
            case "ModelNotSet" -> ModelNotSetException.class;
            case "InvalidInput" -> IllegalArgumentException.class;
            default -> throw new AssertionError("unknown expected_error " + expected);
        };
        if (!type.isInstance(thrown)) {
            throw new AssertionError("expected " + type.getSimpleName() + " but got " + thrown, thrown);
        }
    }

    private static void assertClose(String what, Tensor expected, Tensor actual, double rtol, double atol) {
        assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
        double[] e = expected.toDoubleArray(), a = actual.toDoubleArray();
        for (int i = 0; i < e.length; i++) {
            boolean ok = Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]) || (e[i] == a[i]);
            if (!ok) fail(what + "[" + i + "] = " + a[i] + ", expected " + e[i] + " (rtol " + rtol + ", atol " + atol + ")");
        }
    }

    // ------------------------------------------------------------------ parameters and arrays

    /** Replaces {"npy": file} by tensors and linear layers {"weight", "bias"} by a map of tensors. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> resolveParams(Path dir, Map<String, Object> params) throws IOException {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : params.entrySet()) out.put(e.getKey(), resolve(dir, e.getValue()));
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Object resolve(Path dir, Object v) throws IOException {
        if (v instanceof Map<?, ?> m) {
            if (m.containsKey("npy")) return npy(dir, m.get("npy"));
            return resolveParams(dir, (Map<String, Object>) m);
        }
        return v;
    }

    /** A fixture network of the case set: models/<id>/model.json with its weights. */
    private static ModelJson loadModel(String id) throws IOException {
        try {
            return ModelJson.load(root().resolve("models").resolve(id));
        } catch (URISyntaxException e) {
            throw new IOException(e);
        }
    }

    private static List<Tensor> npys(Path dir, Object files) throws IOException {
        List<Tensor> out = new ArrayList<>();
        for (Object f : (List<?>) files) out.add(npy(dir, f));
        return out;
    }

    /** An input of the case, on the device the cases run on. */
    private static Tensor npy(Path dir, Object file) throws IOException {
        Tensor host = hostNpy(dir, file);
        if (DEVICE == Device.CPU) return host;
        try (host) {
            return host.to(DEVICE);
        }
    }

    /** An expected value: compared on the host. */
    private static Tensor hostNpy(Path dir, Object file) throws IOException {
        return Npy.read(dir.resolve((String) file));
    }
}
