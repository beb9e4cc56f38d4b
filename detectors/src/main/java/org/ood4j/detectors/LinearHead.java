package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Shape;
import org.ood4j.engine.Tensor;

/**
 * A linear classification head, logits = z W^T + b, with W (C, D) and b (C,) held in float64.
 * Detectors that read the head's weights (ViM, NNGuide, DICE, NCI, fDBD) take one; it also
 * works as a plain head function. The head owns copies of the given tensors.
 */
public final class LinearHead implements Function<Tensor, Tensor>, AutoCloseable {
    private final Tensor weight;
    private final Tensor bias;

    public LinearHead(Tensor weight, Tensor bias) {
        if (weight == null || bias == null) throw new IllegalArgumentException("a linear head needs a weight and a bias");
        if (weight.rank() != 2) throw new IllegalArgumentException("head weight must be 2-D (C, D), got " + Shape.toString(weight.shape()));
        if (bias.numel() != weight.size(0)) {
            throw new IllegalArgumentException("head bias has " + bias.numel() + " values for " + weight.size(0) + " classes");
        }
        try (Scope s = Scope.open()) {
            Tensor w = weight.to(DType.FLOAT64), b = bias.to(DType.FLOAT64).reshape(-1);
            if (w.countNonFinite(1).sum().item() > 0 || b.countNonFinite(0).item() > 0) {
                throw new IllegalArgumentException("head weight or bias contains NaN or infinite values");
            }
            this.weight = Scope.release(w.copy());
            this.bias = Scope.release(b.copy());
        }
    }

    /** W (C, D), float64. */
    public Tensor weight() { return weight; }

    /** b (C,), float64. */
    public Tensor bias() { return bias; }

    public long classes() { return weight.size(0); }

    /** The head of a network when it is a single linear layer (or ends in one after shape-only layers). */
    public static LinearHead of(org.ood4j.models.Sequential head) {
        org.ood4j.models.Linear linear = null;
        for (org.ood4j.models.Module m : head.layers()) {
            if (m instanceof org.ood4j.models.Linear l) {
                if (linear != null) throw new IllegalArgumentException("the head has more than one linear layer: " + head);
                linear = l;
            } else if (!(m instanceof org.ood4j.models.Flatten) && !(m instanceof org.ood4j.models.Dropout)) {
                throw new IllegalArgumentException("the head is not a linear layer: " + head);
            }
        }
        if (linear == null) throw new IllegalArgumentException("the head has no linear layer: " + head);
        return new LinearHead(linear.weight().value(), linear.bias().value());
    }

    /** {weight, bias}: the form of a head parameter. */
    public java.util.Map<String, Object> asParams() {
        return java.util.Map.of("weight", weight, "bias", bias);
    }

    /** The parameters of a head function, which must be a linear head to be saved. */
    static java.util.Map<String, Object> paramsOf(Function<Tensor, Tensor> head) {
        if (head instanceof LinearHead linear) return linear.asParams();
        throw new UnsupportedOperationException("only a LinearHead can be saved, not " + head.getClass().getName());
    }

    public long inputDim() { return weight.size(1); }

    private volatile double[][] weightRows;
    private volatile double[] biasValues;

    /** W as C rows of D doubles (read once, then shared; do not modify), for fused row kernels. */
    public double[][] weightRows() {
        double[][] w = weightRows;
        if (w == null) w = weightRows = weight.toDoubleMatrix();
        return w;
    }

    private volatile float[][] weightFloatRows;

    /** W as C rows of D floats (read once, then shared; do not modify), for fused float32 row kernels. */
    public float[][] weightFloatRows() {
        float[][] w = weightFloatRows;
        if (w == null) {
            double[][] rows = weightRows();
            w = new float[rows.length][];
            for (int c = 0; c < rows.length; c++) {
                w[c] = new float[rows[c].length];
                for (int j = 0; j < rows[c].length; j++) w[c][j] = (float) rows[c][j];
            }
            weightFloatRows = w;
        }
        return w;
    }

    /** b as C doubles (shared; do not modify). */
    public double[] biasValues() {
        double[] b = biasValues;
        if (b == null) b = biasValues = bias.toDoubleArray();
        return b;
    }

    /** logits[c] = z . w_c + b_c for one row z of n values; returns argmax (the first maximum). */
    static int rowLogits(double[][] w, double[] b, double[] z, int n, double[] logits) {
        int best = 0;
        org.ood4j.engine.cpu.RowMath.dots(z, w, n, logits);
        for (int c = 0; c < w.length; c++) {
            logits[c] += b[c];
            if (logits[c] > logits[best] || Double.isNaN(logits[c]) && !Double.isNaN(logits[best])) best = c;
        }
        return best;
    }

    /**
     * argmax of z W^T + b (the first maximum, a NaN first) for one float32 row, from float32 logits
     * ({@link org.ood4j.engine.cpu.RowMath#dots(float[], float[][], int, float[])}: 8 lanes, half the
     * bytes of W): for a detector that needs the predicted class, not the logits' digits.
     */
    static int rowArgmax(float[][] w, double[] b, float[] z, int n, float[] logits) {
        org.ood4j.engine.cpu.RowMath.dots(z, w, n, logits);
        int best = 0;
        double top = logits[0] + b[0];
        for (int c = 1; c < w.length; c++) {
            double l = logits[c] + b[c];
            if (l > top || Double.isNaN(l) && !Double.isNaN(top)) {
                best = c;
                top = l;
            }
        }
        return best;
    }

    /**
     * The predicted class of each row of {@code features} (N, D): argmax of z W^T + b (the first
     * maximum), in one fused float64 pass over the rows in their own dtype, with no logits matrix.
     */
    public long[] predictedClasses(Tensor features) {
        double[][] w = weightRows();
        double[] b = biasValues();
        int classes = w.length;
        try (Tensor predicted = features.reduceRows((z, scratch, n) ->
                rowLogits(w, b, z, n, classes <= scratch.length ? scratch : new double[classes]))) {
            double[] c = predicted.toDoubleArray();
            long[] out = new long[c.length];
            for (int i = 0; i < c.length; i++) out[i] = (long) c[i];
            return out;
        }
    }

    /**
     * logsumexp(z W^T + b) of each row of {@code features} (N, D), as (N,) float64: one fused pass, no
     * logits matrix. Float32 rows take float32 products in float32 FMA chains, as PyTorch's float32
     * head does (relative error ~1e-6 of the sum of |z_j w_cj|): their C x D float32 weights stay
     * in L1 from row to row, where the float64 weights (40 KB at 10 x 512) are re-read from L2 for
     * every row, and the row is not widened. The logits are float32, their exps summed in float64.
     */
    public Tensor logSumExps(Tensor features) {
        float[][] wf = features.dtype() == DType.FLOAT32 ? weightFloatRows() : null;
        return features.reduceRows((z, scratch, n) -> rowLogSumExp(z, scratch, n),
                (z, scratch, n) -> rowLogSumExp(wf, z, scratch, n));
    }

    /** logsumexp(z W^T + b) of one float64 row z of n values, the logits in {@code scratch} where it has room. */
    double rowLogSumExp(double[] z, double[] scratch, int n) {
        int classes = (int) classes();
        double[] logits = classes <= scratch.length ? scratch : new double[classes];
        rowLogits(weightRows(), biasValues(), z, n, logits);
        return org.ood4j.engine.cpu.RowMath.logSumExp(logits, classes);
    }

    /**
     * As {@link #rowLogSumExp(double[], double[], int)} for a float32 row and the float32 weights
     * {@code wf} ({@link #weightFloatRows}, passed in so a pass over rows reads the field once).
     */
    double rowLogSumExp(float[][] wf, float[] z, float[] scratch, int n) {
        int classes = wf.length;
        double[] b = biasValues();
        float[] logits = classes <= scratch.length ? scratch : new float[classes];
        org.ood4j.engine.cpu.RowMath.dots(z, wf, n, logits);
        for (int c = 0; c < classes; c++) logits[c] += (float) b[c];
        return org.ood4j.engine.cpu.RowMath.logSumExp(logits, classes);
    }

    /** z W^T + b in float64. */
    @Override
    public Tensor apply(Tensor z) {
        if (z.rank() != 2 || z.size(1) != inputDim()) {
            throw new IllegalArgumentException("head expects features (N, " + inputDim() + "), got " + Shape.toString(z.shape()));
        }
        try (Scope s = Scope.open()) {
            return s.keep(z.to(DType.FLOAT64).matmul(weight.t()).add(bias));
        }
    }

    @Override
    public void close() {
        weight.close();
        bias.close();
    }
}
