package org.ood4j.detectors;

import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import org.ood4j.engine.Tensor;
import org.ood4j.models.Sequential;

/**
 * A detector that runs the network itself — differentiates it (ODIN, GradNorm, GradNormKL,
 * NACUE) or runs it several times with dropout (MCD) — so it has no representation interface:
 * only {@link #fit} on batches of raw inputs and {@link #predict} on raw inputs.
 *
 * <p>The network is a {@link Sequential} (the whole model, inputs to logits), used as it is:
 * these detectors expect it in evaluation mode (batch norm with running statistics, dropout off),
 * as modules start; only MCD changes modes, for the duration of its predict. A detector built
 * without a network throws {@link ModelNotSetException} from {@code fit} and {@code predict}.
 *
 * <p>Inputs are validated (floating, a batch of rank >= 2, finite) and scored in chunks of
 * {@link #CHUNK_ROWS} rows, so the activations a backward pass keeps do not grow with the batch;
 * every detector here scores each sample independently of the others in its chunk (except MCD
 * with batch-norm statistics of the batch, which takes the whole batch at once).
 *
 * <p>Threads: a fitted detector's predict may be called from many threads at once (each pass has
 * its own tape). MCD is the one detector that switches the network's modes while it runs; so that
 * no other pass sees them, every fit and predict here holds {@link #MODES} — shared, so these
 * passes run in parallel — and MCD holds it exclusively. One lock for all networks, because a
 * network's parts (an encoder view, the whole model) share their layers. Code outside these
 * detectors that runs the same network while an MCD predict is running does not take the lock
 * and can see the switched modes.
 */
public abstract class NetworkDetector extends AbstractDetector {
    /** Rows run through the network (and back) at once. */
    static final int CHUNK_ROWS = 128;

    /** Shared by the network passes of these detectors, exclusive while MCD has switched a network's modes. */
    static final ReentrantReadWriteLock MODES = new ReentrantReadWriteLock();

    /** The network, or null when the detector was built without one. */
    protected final Sequential network;

    protected NetworkDetector(Sequential network) {
        super(network);
        this.network = network;
    }

    /** The network this detector runs, or null. */
    public Sequential network() {
        return network;
    }

    /** The network, or {@link ModelNotSetException}. */
    protected Sequential requireNetwork() {
        if (network == null) throw new ModelNotSetException(name());
        return network;
    }

    /** Detectors that need no fitting accept the call (after checking that there is a network) and do nothing. */
    @Override
    public Detector fit(Iterable<Batch> data) {
        Sequential net = requireNetwork();
        if (!requiresFit()) return this;
        Lock lock = passLock();
        lock.lock();
        try {
            fitNetwork(net, data);
        } finally {
            lock.unlock();
        }
        return this;
    }

    /** Fits on batches of raw inputs; called only by detectors that {@link #requiresFit()}. */
    protected void fitNetwork(Sequential net, Iterable<Batch> data) {
        throw new UnsupportedOperationException(name() + " has nothing to fit");
    }

    @Override
    public Tensor predict(Tensor x) {
        Sequential net = requireNetwork();
        requireFitted(x);
        Inputs.requireNetworkInput(x);
        Lock lock = passLock();
        lock.lock();
        try {
            return Inputs.scoreRows(x, chunkRows(), chunk -> scoreChunk(net, chunk));
        } finally {
            lock.unlock();
        }
    }

    /** The lock a pass holds: {@link #MODES} shared; exclusive for detectors that switch the network's modes. */
    protected Lock passLock() {
        return MODES.readLock();
    }

    /** Rows scored at once. */
    protected int chunkRows() {
        return CHUNK_ROWS;
    }

    /** Scores one validated chunk of raw inputs (n, ...) to (n,) float64; intermediates may be left to the caller's scope. */
    protected abstract Tensor scoreChunk(Sequential net, Tensor x);
}
