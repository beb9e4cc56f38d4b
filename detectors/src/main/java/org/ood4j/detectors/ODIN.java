package org.ood4j.detectors;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Tape;
import org.ood4j.engine.autodiff.Var;
import org.ood4j.models.Module;
import org.ood4j.models.Sequential;

/**
 * ODIN, from Liang, Li and Srikant, "Enhancing The Reliability of Out-of-distribution Image
 * Detection in Neural Networks" (ICLR 2018): the input is moved a small step against the
 * gradient of the temperature-scaled loss of the predicted class, then scored by its maximum
 * softmax probability:
 * <pre>
 *   yhat = argmax_y f(x)_y / T
 *   L    = -(1/N) sum_i f(x_i)_yhat_i / T          (NLL of the scaled logits, no log-softmax, as pytorch-ood)
 *   x'   = x - eps * sign(grad_x L) / norm_std    (sign(0) = 0; norm_std per input channel, dimension 1)
 *   score(x) = -max_y softmax(f(x'))_y            (no temperature in the score)
 * </pre>
 * {@link #preprocess} is the input step on its own (pytorch-ood's {@code odin_preprocessing});
 * given labels, they replace yhat in the loss.
 *
 * <p>The network runs in float64 (float32 weights are promoted exactly), so that no gradient
 * component changes its sign by rounding: x' is float64. The loss is a sum over samples, so the
 * sign of each sample's gradient does not depend on the other samples and the batch is scored in
 * chunks. Needs no fitting; two forward passes and one backward pass per chunk.
 */
public final class ODIN extends NetworkDetector {
    private final double eps, temperature;
    private final double[] normStd;

    /** eps = 0.05, temperature = 1000, no norm_std. */
    public ODIN(Sequential model) {
        this(model, 0.05, 1000, null);
    }

    /**
     * @param model       the network (inputs to logits), or null (then predict throws {@link ModelNotSetException})
     * @param eps         step size (>= 0; 0 scores the inputs as they are)
     * @param temperature T (> 0) of the loss
     * @param normStd     the standard deviations of the input normalisation, one per input channel, or null
     */
    public ODIN(Sequential model, double eps, double temperature, double[] normStd) {
        super(model);
        this.eps = checkEps(eps);
        this.temperature = Params.positive("temperature", temperature);
        this.normStd = checkNormStd(normStd);
    }

    public double eps() { return eps; }

    public double temperature() { return temperature; }

    @Override public boolean requiresFit() { return false; }

    @Override
    protected Tensor scoreChunk(Sequential net, Tensor x) {
        Tensor xHat = preprocess(net, x, null, eps, temperature, normStd);
        return MaxSoftmax.score(net.apply(xHat));
    }

    /**
     * The ODIN input x' = x - eps * sign(grad_x L) / norm_std (float64, the shape of x), with
     * L = -(1/N) sum_i f(x_i)_{y_i} / T and y = {@code labels}, or the predicted classes when
     * null. The result belongs to the caller.
     *
     * @param model  the network (inputs to logits (N, C))
     * @param x      inputs (N, ...), floating
     * @param labels int64 (N,) in [0, C), or null
     */
    public static Tensor preprocess(Module model, Tensor x, Tensor labels, double eps, double temperature, double[] normStd) {
        if (model == null) throw new ModelNotSetException("odin_preprocessing");
        checkEps(eps);
        Params.positive("temperature", temperature);
        checkNormStd(normStd);
        Inputs.requireNetworkInput(x);
        if (labels != null) Inputs.requireLabels(labels, x.size(0), -1);
        try (Scope s = Scope.open()) {
            if (eps == 0) return s.keep(x.dtype() == DType.FLOAT64 ? x.copy() : x.to(DType.FLOAT64));
            Tensor x64 = x.to(DType.FLOAT64);
            Tensor grad;
            try (Tape tape = new Tape()) {
                Var xv = tape.watch(x64);
                Var logits = model.forward(xv);
                if (logits.rank() != 2 || logits.size(0) != x.size(0)) {
                    throw new IllegalArgumentException("odin_preprocessing: the model must give logits (N, C), got shape "
                            + Shape.toString(logits.shape()));
                }
                Var scaled = logits.div(temperature);
                Tensor y = labels != null ? labels : scaled.value().argmax(1);
                if (labels != null) {
                    Inputs.requireLabels(labels, x.size(0), logits.size(1));
                    if (labels.min().item() < 0) throw new IllegalArgumentException("odin_preprocessing: labels must be class indices >= 0");
                }
                Var loss = scaled.mul(tape.constant(oneHot(y, logits.size(1), scaled.value()))).sum().div(-x.size(0));
                grad = tape.grad(loss, List.of(xv)).get(0);
            }
            return s.keep(signStep(x64, grad, eps, normStd));
        }
    }

    /**
     * x - eps * sign(grad) / norm_std: the input step of ODIN and of Mahalanobis's preprocessing,
     * norm_std dividing input channel i (dimension 1) of the signed gradient; in the caller's scope.
     */
    static Tensor signStep(Tensor x, Tensor grad, double eps, double[] normStd) {
        Tensor step = grad.sign();
        if (normStd != null) {
            if (x.size(1) != normStd.length) {
                throw new IllegalArgumentException("norm_std has " + normStd.length + " values, the input has " + x.size(1)
                        + " channels (dimension 1 of " + Shape.toString(x.shape()) + ")");
            }
            long[] shape = new long[x.rank()];
            Arrays.fill(shape, 1);
            shape[1] = normStd.length;
            step = step.div(Tensor.of(normStd, shape).to(x.device()));
        }
        return x.sub(step.mul(eps));
    }

    /** Rows of a one-hot matrix (N, C) for int64 labels (N,), in the dtype and on the device of {@code like}; in the caller's scope. */
    private static Tensor oneHot(Tensor labels, long classes, Tensor like) {
        Tensor row = Tensor.arange(classes, labels.device()).reshape(1, classes);
        return row.eq(labels.reshape(labels.size(0), 1)).to(like.dtype()).to(like.device());
    }

    static double checkEps(double eps) {
        if (!(eps >= 0) || Double.isInfinite(eps)) throw new IllegalArgumentException("eps must be >= 0 and finite, got " + eps);
        return eps;
    }

    static double[] checkNormStd(double[] normStd) {
        if (normStd == null) return null;
        if (normStd.length == 0) throw new IllegalArgumentException("norm_std is empty: give one standard deviation per input channel, or none");
        for (double s : normStd) Params.positive("norm_std", s);
        return normStd.clone();
    }

    @Override
    public Map<String, Object> params() {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("eps", eps);
        p.put("temperature", temperature);
        if (normStd != null) p.put("norm_std", Arrays.stream(normStd).boxed().toList());
        return p;
    }
}
