package org.ood4j.detectors;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

import org.ood4j.engine.Device;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

/**
 * What every detector shares: the optional model, the fitted state as named tensors (which
 * {@link #to}, {@link #close} and saving work on), and the fit/model checks.
 */
public abstract class AbstractDetector implements Detector {
    /** The network, or null when the detector is used through its representation interface. */
    protected final Function<Tensor, Tensor> model;

    private final Map<String, Tensor> state = new LinkedHashMap<>();
    private Device stateDevice;   // where putState puts the state of the current fit (null: where it was made)
    private volatile boolean fitted;
    private volatile Calibration calibration;

    protected AbstractDetector(Function<Tensor, Tensor> model) {
        this.model = model;
    }

    /** The detector's name as in pytorch-ood (the class name). */
    public String name() {
        return getClass().getSimpleName();
    }

    /**
     * The constructor parameters by their spec names, as {@link DetectorRegistry#create} takes
     * them (numbers, strings, lists, tensors; a linear head as {weight, bias}): what a saved
     * detector records to rebuild itself.
     */
    public abstract java.util.Map<String, Object> params();

    @Override
    public boolean isFitted() {
        return fitted || !requiresFit();
    }

    /** Throws {@link RequiresFitException} when scoring needs a fit that has not happened. */
    protected void requireFitted() {
        if (!isFitted()) throw new RequiresFitException(name());
    }

    /**
     * As {@link #requireFitted()}, and the fitted state must live on the input's device: state
     * moves only with {@link #to(Device)} (an explicit move, so concurrent predictions never race
     * on it), and a mismatch is named here rather than deep inside an op.
     */
    protected void requireFitted(Tensor input) {
        requireFitted();
        if (input == null || input.isClosed()) return;          // the input's own checks name these
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            Device at = e.getValue().device();
            if (at != input.device()) {
                throw new IllegalArgumentException(name() + ": the fitted state ('" + e.getKey() + "') is on " + at
                        + " and the input on " + input.device() + "; move the detector with to(Device." + input.device()
                        + ") or the input with to(Device." + at + ")");
            }
        }
    }

    /** The model, or {@link ModelNotSetException}. */
    protected Function<Tensor, Tensor> requireModel() {
        if (model == null) throw new ModelNotSetException(name());
        return model;
    }

    /** The fitted tensors by name (read-only view), e.g. class means "mu". */
    public Map<String, Tensor> state() {
        return Collections.unmodifiableMap(state);
    }

    /** A fitted tensor by name. */
    protected Tensor state(String name) {
        requireFitted();
        Tensor t = state.get(name);
        if (t == null) throw new IllegalStateException(name() + " has no fitted '" + name + "'");
        return t;
    }

    /**
     * Stores a fitted tensor, closing the one it replaces; the detector now owns it. It goes to the
     * device of the fit's input (see {@link #startFit}) even when it was computed on the host, so
     * a fitted detector's state lives on one device and moves with {@link #to(Device)}.
     */
    protected void putState(String name, Tensor t) {
        if (stateDevice != null) t = t.movedTo(stateDevice);
        Scope.release(t);
        Tensor old = state.put(name, t);
        if (old != null && old != t) old.close();
    }

    /**
     * Learns the decision rule from this detector's scores of in-distribution validation samples:
     * the threshold that keeps a fraction {@code tpr} of them, and the sample for p-values (see
     * {@link Calibration} for the convention). A refit forgets it; saving keeps it.
     */
    public Calibration calibrate(Tensor idScores, double tpr) {
        requireFitted();
        if (idScores == null) throw new IllegalArgumentException("idScores is null");
        idScores.checkOpen();
        if (idScores.rank() != 1 || !idScores.dtype().isFloating()) {
            throw new IllegalArgumentException("idScores must be 1-D floating scores (N,), got " + idScores.dtype() + " "
                    + org.ood4j.engine.Shape.toString(idScores.shape()));
        }
        Calibration c = Calibration.of(idScores.toDoubleArray(), tpr);
        calibration = c;
        return c;
    }

    /** The decision rule of {@link #calibrate}, or null when the detector is not calibrated. */
    public Calibration calibration() {
        return calibration;
    }

    /** Sets (or with null, removes) the decision rule, e.g. one loaded with the detector. */
    void setCalibration(Calibration c) {
        calibration = c;
    }

    /** Forgets any previous fit (a refit starts clean). */
    protected void clearState() {
        fitted = false;
        calibration = null;
        state.values().forEach(Tensor::close);
        state.clear();
    }

    /** Starts a fit on input that lives on {@code device}: forgets the previous fit; the new state goes there. */
    protected void startFit(Device device) {
        clearState();
        stateDevice = device;
    }

    protected void markFitted() {
        fitted = true;
    }

    /**
     * Validates one chunk of a streaming fit's rows and labels as this family's array fit
     * validates its whole input, numbering rows from {@code firstRow}.
     */
    void checkFitChunk(Tensor rows, Tensor labels, long firstRow) {
        throw new UnsupportedOperationException(name() + " has no streaming fit");
    }

    /** The end of a streaming fit's last pass over {@code rows} rows of shape rowShape (OOD ones included): marks the detector fitted. */
    void fitCompleted(long rows, long[] rowShape) {
        markFitted();
    }

    /**
     * Runs every pass of this detector's streaming fit: {@code feed} adds all the fit data to the
     * pass's accumulator, which is then finished.
     */
    void fitStreamed(java.util.function.Consumer<FitAccumulator> feed) {
        ((StreamingFit) this).fitStreaming(feed);
    }

    /**
     * Adds every batch, through the model (encoder), to a streaming fit's accumulator: one batch's output at a time
     * (each pass of a two-pass fit iterates the data again).
     */
    void feed(FitAccumulator acc, Iterable<Batch> data, java.util.function.Function<Tensor, Tensor> encoder) {
        int batches = 0, labelled = 0;
        for (Batch b : data) {
            batches++;
            if (b.y() != null) labelled++;
            if (labelled != 0 && labelled != batches) throw new IllegalArgumentException(name() + ": some batches have labels and some do not");
            try (Scope s = Scope.open()) {
                acc.add(encoder.apply(b.x()), b.y());
            }
        }
        if (batches == 0) throw new IllegalArgumentException(name() + ": fit got no batches");
    }

    /** What a fit learned besides the state tensors (input sizes), for saving; empty by default. */
    Map<String, Object> fitInfo() {
        return Map.of();
    }

    /** Restores a saved fit: the state tensors (now owned by this detector) and {@link #fitInfo}. */
    void restore(Map<String, Tensor> savedState, Map<String, Object> info) {
        startFit(null);
        savedState.forEach(this::putState);
        restoreFitInfo(info);
        if (requiresFit()) markFitted();
    }

    void restoreFitInfo(Map<String, Object> info) {}

    @Override
    public Detector to(Device device) {
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            Tensor moved = e.getValue().to(device);
            e.getValue().close();
            e.setValue(moved);
        }
        stateDevice = device;
        return this;
    }

    @Override
    public void close() {
        clearState();
    }
}
