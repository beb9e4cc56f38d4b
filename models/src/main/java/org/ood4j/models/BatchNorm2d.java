package org.ood4j.models;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Functional;
import org.ood4j.engine.autodiff.Norm;
import org.ood4j.engine.autodiff.PerSample;
import org.ood4j.engine.autodiff.Var;

/**
 * Batch normalisation over the channels of (N, C, H, W), as nn.BatchNorm2d:
 * y = (x - μ_c) / √(σ²_c + eps) · γ_c + β_c.
 * <ul>
 *   <li>Evaluation mode: μ, σ² are the running statistics.</li>
 *   <li>Training mode: μ, σ² are the mean and biased variance of the batch over N, H, W, and the
 *       running statistics move towards them: r ← (1 - m) r + m s, momentum m = 0.1, with the
 *       unbiased variance (n / (n - 1)) for running_var, n = N H W; num_batches_tracked counts
 *       the updates.</li>
 * </ul>
 * State dict: weight, bias, running_mean, running_var, num_batches_tracked (int64, optional
 * when loading). Per-sample gradients (evaluation mode): weight Σ_hw δ x̂, bias Σ_hw δ.
 */
public final class BatchNorm2d extends Module implements PerSampleLayer {
    private final int channels;
    private final double eps, momentum;
    private final Parameter weight, bias, runningMean, runningVar, batchesTracked;

    public BatchNorm2d(int channels) {
        this(channels, 1e-5, 0.1);
    }

    public BatchNorm2d(int channels, double eps, double momentum) {
        this.channels = channels;
        this.eps = eps;
        this.momentum = momentum;
        this.weight = parameter("weight", Tensor.ones(DType.FLOAT32, channels));
        this.bias = parameter("bias", Tensor.zeros(DType.FLOAT32, channels));
        this.runningMean = buffer("running_mean", Tensor.zeros(DType.FLOAT32, channels), false);
        this.runningVar = buffer("running_var", Tensor.ones(DType.FLOAT32, channels), false);
        this.batchesTracked = buffer("num_batches_tracked", Tensor.zeros(DType.INT64), true);
    }

    public double eps() { return eps; }

    public Parameter weight() { return weight; }

    public Parameter bias() { return bias; }

    public Parameter runningMean() { return runningMean; }

    public Parameter runningVar() { return runningVar; }

    @Override
    public Tensor forward(Tensor x) {
        checkInput(x.shape());
        try (Scope s = Scope.open()) {
            long[] b = {1, channels, 1, 1};
            Tensor mean, var;
            if (isTraining()) {
                mean = x.mean(0, true).mean(2, true).mean(3, true);
                Tensor centred = x.sub(mean);
                var = centred.mul(centred).mean(0, true).mean(2, true).mean(3, true);
                updateRunningStats(mean.reshape(channels), var.reshape(channels), x.numel() / channels);
            } else {
                mean = runningMean.value().reshape(b);
                var = runningVar.value().reshape(b);
            }
            // (x - μ) · (γ / √(σ² + eps)) + β: two passes over x after the centring, the per-channel factor computed once.
            Tensor scale = weight.value().reshape(b).div(var.add(eps).sqrt());
            return s.keep(x.sub(mean).mul(scale).add(bias.value().reshape(b)));
        }
    }

    @Override
    public Var forward(Var x) {
        checkInput(x.shape());
        var tape = x.tape();
        Var w = tape.leaf(weight.value()), b = tape.leaf(bias.value());
        if (!isTraining()) {
            return traced(x, Functional.batchNormEval(x, w, b, runningMean.value(), runningVar.value(), eps));
        }
        Functional.BatchNormResult r = Functional.batchNormTrain(x, w, b, eps);
        updateRunningStats(r.batchMean(), r.batchVar(), x.value().numel() / channels);
        return traced(x, r.output());
    }

    /** r ← (1 - m) r + m s for both statistics, the variance made unbiased. */
    private void updateRunningStats(Tensor mean, Tensor biasedVar, long n) {
        try (Scope s = Scope.open()) {
            double unbias = n > 1 ? (double) n / (n - 1) : 1;
            runningMean.set(runningMean.value().mul(1 - momentum).add(mean.mul(momentum)));
            runningVar.set(runningVar.value().mul(1 - momentum).add(biasedVar.mul(momentum * unbias)));
            batchesTracked.set(batchesTracked.value().add(1));
        }
    }

    private void checkInput(long[] shape) {
        if (shape.length != 4 || shape[1] != channels) {
            throw new IllegalArgumentException("BatchNorm2d(" + channels + ") needs input (N, " + channels + ", H, W), got "
                    + Shape.toString(shape));
        }
    }

    private void requireEval() {
        if (isTraining()) {
            throw new IllegalStateException("per-sample gradients through a BatchNorm2d in training mode are not defined:"
                    + " batch statistics mix the samples; call eval()");
        }
    }

    @Override
    public Tensor perSampleNorms(Tensor input, Tensor outputGrad, Set<String> names, Norm norm) {
        requireEval();
        try (Scope s = Scope.open()) {
            Tensor total = Tensor.zeros(DType.FLOAT64, input.device(), input.size(0));
            for (Tensor g : perSampleGrads(input, outputGrad, names).values()) total = total.add(PerSample.norms(g, norm));
            return s.keep(total);
        }
    }

    @Override
    public Map<String, Tensor> perSampleGrads(Tensor input, Tensor outputGrad, Set<String> names) {
        requireEval();
        Map<String, Tensor> out = new LinkedHashMap<>();
        if (names.contains("weight")) {
            out.put("weight", PerSample.batchNormWeightGrads(input, outputGrad, runningMean.value(), runningVar.value(), eps));
        }
        if (names.contains("bias")) out.put("bias", PerSample.channelBiasGrads(outputGrad));
        return out;
    }

    @Override
    public String toString() {
        return "BatchNorm2d(" + channels + ", eps " + eps + ", momentum " + momentum + ")";
    }
}
