package org.ood4j.detectors;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.Lock;

import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.models.BatchNorm2d;
import org.ood4j.models.Dropout;
import org.ood4j.models.Module;
import org.ood4j.models.Parameter;
import org.ood4j.models.Sequential;

/**
 * Monte-Carlo dropout, from Gal and Ghahramani, "Dropout as a Bayesian Approximation:
 * Representing Model Uncertainty in Deep Learning" (ICML 2016); the 'var' mode as in Kendall,
 * Badrinarayanan and Cipolla, "Bayesian SegNet" (BMVC 2017). The network runs {@code samples}
 * times with dropout active, p_n = softmax(f_n(x)):
 * <pre>
 *   mode 'mean': score(x) = -max_y (1/S) sum_n p_n,y
 *   mode 'var':  score(x) = (1/C) sum_y (1/(S-1)) sum_n (p_n,y - mu_y)^2   (the unbiased variance, as torch.var; S >= 2)
 * </pre>
 * (Welford's running mean and variance in float64.) Everything else runs in evaluation mode;
 * batch_norm = true keeps batch norm in evaluation mode (running statistics), batch_norm = false
 * puts it in training mode: it normalises with the mean and biased variance of the whole predict
 * batch, so that batch is run at once, not in chunks.
 *
 * <p>Model state: predict switches the network's modes (evaluation mode, dropout forced active,
 * batch norm in training mode for batch_norm = false) and restores every module's flags
 * afterwards, also when the pass fails; with batch_norm = false it also restores the running
 * statistics (every buffer of the network), which training mode moves. So that no other pass
 * sees the switched modes, a predict holds {@link NetworkDetector#MODES} exclusively: MCD predicts
 * run one at a time, and the passes of the other network detectors (ODIN, GradNorm, GradNormKL,
 * NACUE, Mahalanobis with eps > 0), which hold it shared, wait for them. Other code that runs the
 * same network at the same time (the detectors on logits or features through their model,
 * inference elsewhere) does not take the lock and can see the switched modes: do not run such
 * code on the network during an MCD predict. Needs no fitting.
 */
public final class MCD extends NetworkDetector {
    /** How the passes are reduced to a score. */
    public enum Mode { MEAN, VAR }

    private final int samples;
    private final Mode mode;
    private final boolean batchNorm;

    /** samples = 30, mode 'var', batch norm kept in evaluation mode. */
    public MCD(Sequential model) {
        this(model, 30, "var", true);
    }

    /**
     * @param model     the network (inputs to logits), or null
     * @param samples   number of passes (>= 1; >= 2 for 'var')
     * @param mode      "var" or "mean"
     * @param batchNorm true: batch norm keeps its running statistics; false: it uses those of the predict batch
     */
    public MCD(Sequential model, int samples, String mode, boolean batchNorm) {
        super(model);
        this.mode = switch (mode == null ? "" : mode) {
            case "var" -> Mode.VAR;
            case "mean" -> Mode.MEAN;
            default -> throw new IllegalArgumentException("MCD: mode must be 'var' or 'mean', got '" + mode + "'");
        };
        this.samples = Params.positive("samples", samples);
        if (this.mode == Mode.VAR && samples < 2) {
            throw new IllegalArgumentException("MCD: mode 'var' needs samples >= 2 (an unbiased variance of one pass is undefined), got " + samples);
        }
        this.batchNorm = batchNorm;
    }

    public int samples() { return samples; }

    public Mode mode() { return mode; }

    @Override public boolean requiresFit() { return false; }

    @Override
    protected int chunkRows() {
        return batchNorm ? Inputs.CHUNK_ROWS : Integer.MAX_VALUE;   // batch statistics of the whole batch
    }

    /** Exclusive: the modes are switched during the passes. */
    @Override
    protected Lock passLock() {
        return MODES.writeLock();
    }

    @Override
    protected Tensor scoreChunk(Sequential net, Tensor x) {
        ModeSnapshot saved = ModeSnapshot.capture(net, !batchNorm);
        try {
            net.eval();
            net.dropoutAtInference(true);
            if (!batchNorm) net.namedModules().values().forEach(m -> { if (m instanceof BatchNorm2d) m.train(true); });
            return passes(net, x);
        } finally {
            saved.restore();
        }
    }

    /** The score from {@code samples} passes: Welford's mean and sum of squared deviations of the softmax, float64. */
    private Tensor passes(Sequential net, Tensor x) {
        Tensor mean = null, m2 = null;
        for (int n = 1; n <= samples; n++) {
            try (Scope s = Scope.open()) {
                Tensor logits = net.apply(x);
                if (logits.rank() != 2 || logits.size(0) != x.size(0)) {
                    throw new IllegalArgumentException("MCD: the network must give logits (N, C), got shape " + Shape.toString(logits.shape()));
                }
                Tensor p = logits.to(DType.FLOAT64).softmax(1);
                if (mean == null) {
                    mean = s.keep(p);
                    m2 = s.keep(Tensor.zeros(DType.FLOAT64, p.device(), p.shape()));
                    continue;
                }
                Tensor delta = p.sub(mean);
                Tensor nextMean = mean.add(delta.div(n));
                Tensor nextM2 = m2.add(delta.mul(p.sub(nextMean)));
                mean.close();
                m2.close();
                mean = s.keep(nextMean);
                m2 = s.keep(nextM2);
            }
        }
        if (mode == Mode.MEAN) return mean.max(1).neg();
        return m2.div(samples - 1).mean(1);
    }

    /** Every module's training flag, every dropout's inference flag and, when asked, copies of every buffer; restored by {@link #restore}. */
    private static final class ModeSnapshot {
        private final List<Module> modules = new ArrayList<>();
        private final List<Boolean> training = new ArrayList<>();
        private final Map<Dropout, Boolean> dropout = new LinkedHashMap<>();
        private final Map<Parameter, Tensor> buffers = new LinkedHashMap<>();

        static ModeSnapshot capture(Sequential net, boolean withBuffers) {
            ModeSnapshot s = new ModeSnapshot();
            // Depth first, parents before children: restoring in this order, a parent's train(flag)
            // (which sets its descendants) is followed by each descendant's own flag.
            net.namedModules().values().forEach(m -> {
                s.modules.add(m);
                s.training.add(m.isTraining());
                if (m instanceof Dropout d) s.dropout.put(d, d.isActiveAtInference());
            });
            if (withBuffers) {
                try {
                    for (Parameter p : net.stateDict().values()) {
                        if (p.kind() == Parameter.Kind.BUFFER) s.buffers.put(p, Scope.release(p.value().copy()));
                    }
                } catch (RuntimeException e) {
                    s.buffers.values().forEach(Tensor::close);
                    throw e;
                }
            }
            return s;
        }

        void restore() {
            try {
                for (int i = 0; i < modules.size(); i++) modules.get(i).train(training.get(i));
                dropout.forEach(Dropout::setActiveAtInference);
                buffers.forEach(Parameter::set);
            } finally {
                buffers.values().forEach(Tensor::close);
            }
        }
    }

    @Override
    public Map<String, Object> params() {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("samples", samples);
        p.put("mode", mode == Mode.MEAN ? "mean" : "var");
        p.put("batch_norm", batchNorm);
        return p;
    }
}
