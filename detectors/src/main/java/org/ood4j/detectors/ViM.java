package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Linalg;
import org.ood4j.engine.MemoryBudget;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.cpu.RowMath;

/**
 * Virtual-logit matching, from Wang et al., "ViM: Out-Of-Distribution with Virtual-logit
 * Matching" (CVPR 2022):
 * <pre>  score(z) = alpha ||(z - u) R||_2 - logsumexp(z W^T + b)</pre>
 * with origin u = -pinv(W) b, R the eigenvectors of C = X^T X / n (X = fit features - u, not
 * mean-centred) except those of the d largest eigenvalues (the residual space; the state keeps
 * the d principal ones, the smaller complement: see {@link #residualNorms(Tensor, Tensor)}), and
 * alpha = mean_i max_c logit_ic / mean_i ||(z_i - u) R|| over the fit samples, which puts the
 * virtual logit on the scale of the real ones (the paper's choice).
 */
public final class ViM extends FeaturesDetector implements StreamingFit {
    private final int d;
    private final LinearHead head;

    /** @param d dimension of the principal subspace (1 <= d < feature dimension); w (C, D), b (C,) the head */
    public ViM(Function<Tensor, Tensor> model, int d, Tensor w, Tensor b) {
        super(model);
        this.d = Params.positive("d", d);
        this.head = new LinearHead(w, b);
        if (d >= head.inputDim()) {
            throw new IllegalArgumentException("ViM: d = " + d + " must be below the feature dimension " + head.inputDim());
        }
    }

    @Override public boolean requiresFit() { return true; }

    @Override protected long expectedDim() { return head.inputDim(); }

    /** Two passes: the scatter about u, whose eigenvectors give the principal space; then alpha, which needs that space. */
    @Override
    public int fitPasses() { return 2; }

    @Override
    public FitAccumulator fitAccumulator(int pass) {
        return pass == 0 ? new SpaceFit(this) : new AlphaFit(this);
    }

    /**
     * Pass 1: the mean m and centred scatter M2 of the fit rows; then (z - u)^T (z - u) =
     * M2 + n (m - u)(m - u)^T, C = that / n, and its eigenvectors.
     */
    private static final class SpaceFit extends MomentsAccumulator<ViM> {
        SpaceFit(ViM detector) {
            super(detector, 0, new Moments(Moments.Scatter.POOLED));
        }

        @Override
        protected void addId(Tensor rows, long[] labels) {
            if (moments[0].dim() < 0) requireMemory(rows);
            moments[0].add(rows, null);
        }

        @Override
        protected void install(ViM detector) {
            Tensor w = detector.head.weight(), b = detector.head.bias();
            Tensor u = Linalg.pinv(w).matmul(b.unsqueeze(1)).reshape(-1).neg();    // (D,)
            Moments m = moments[0];
            int dim = m.dim();
            double n = m.count();
            double[] scatter = m.pooledScatter(), mean = m.mean(0), origin = u.toDoubleArray();
            for (int i = 0; i < dim; i++) {
                double di = mean[i] - origin[i];
                for (int j = 0; j < dim; j++) scatter[i * dim + j] = (scatter[i * dim + j] + n * di * (mean[j] - origin[j])) / n;
            }
            // the principal space: the eigenvectors of the d largest eigenvalues, and only those computed
            try (Linalg.Eigh eig = Linalg.eighLargest(Tensor.of(scatter, dim, dim), detector.d)) {
                detector.putState("u", u);
                detector.putState("principal_space", eig.vectors().copy());
            }
        }
    }

    /** Pass 2: alpha = mean_i max_c logit_ic / mean_i ||(z_i - u) R||, both means over the fit rows. */
    private static final class AlphaFit extends MomentsAccumulator<ViM> {
        AlphaFit(ViM detector) {
            super(detector, 1, new Moments(Moments.Scatter.NONE));
        }

        @Override
        protected void addId(Tensor rows, long[] labels) {
            ViM d = detector();
            Tensor r = d.residualNorms(rows);
            Tensor maxLogit = d.head.apply(rows).max(1).to(DType.FLOAT64);
            Tensor pairs = Tensor.cat(java.util.List.of(maxLogit.unsqueeze(1), r.unsqueeze(1)), 1);   // (n, 2)
            moments[0].add(pairs.toDoubleArray(), (int) rows.size(0), null);
        }

        @Override
        protected void install(ViM detector) {
            double[] means = moments[0].mean(0);
            detector.putState("alpha", Tensor.scalar(means[0] / means[1], DType.FLOAT64));
        }
    }

    /**
     * ||(z - u) R|| for feature rows z, through the principal space V (D x d): R R^T + V V^T = I, so
     * with x = z - u, ||x R||^2 = ||x||^2 - ||x V||^2, a product d columns wide instead of D - d (64
     * against 448 at D = 512). x V = z V - u V, so no centred copy of the rows is made; the float32
     * rows meet the float64 space in the product itself (widened as it packs them). Float64 keeps
     * the difference exact to ~1e-16 ||x||^2. {@code squares[i * step]} holds ||x_i||^2.
     */
    private static double[] residualNorms(Tensor z, double[] squares, int step, double[] origin, Tensor principal) {
        int rows = (int) z.size(0), d = (int) principal.size(1);
        double[] originInPrincipal = vectorTimes(origin, principal), product;
        try (Tensor zv = z.matmul(principal)) {
            product = zv.toDoubleArray();
        }
        double[] norms = new double[rows];
        for (int i = 0; i < rows; i++) {
            double inPrincipal = squaredDistance(product, i * d, originInPrincipal, d);
            norms[i] = Math.sqrt(Math.max(0, squares[i * step] - inPrincipal));   // a NaN survives max and root
        }
        return norms;
    }

    /** x M for a vector x (D,) and a matrix M (D, d), in plain loops: a 1 x D product is too small for the GEMM's packing. */
    private static double[] vectorTimes(double[] x, Tensor matrix) {
        int rows = (int) matrix.size(0), cols = (int) matrix.size(1);
        double[] m = matrix.toDoubleArray(), out = new double[cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) out[j] += x[i] * m[i * cols + j];
        }
        return out;
    }

    /** ||a[at..at+n) - centre||^2, in four chains (one chain of dependent adds is latency-bound). */
    private static double squaredDistance(double[] a, int at, double[] centre, int n) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int j = 0;
        for (; j + 4 <= n; j += 4) {
            double x0 = a[at + j] - centre[j], x1 = a[at + j + 1] - centre[j + 1];
            double x2 = a[at + j + 2] - centre[j + 2], x3 = a[at + j + 3] - centre[j + 3];
            s0 += x0 * x0;
            s1 += x1 * x1;
            s2 += x2 * x2;
            s3 += x3 * x3;
        }
        for (; j < n; j++) {
            double x = a[at + j] - centre[j];
            s0 += x * x;
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** ||z - u||^2 of each feature row, float32 rows centred in float64 as they are read (no float64 copy of a row). */
    private static double[] squaredDistances(Tensor z, double[] origin) {
        try (Tensor squares = z.reduceRows((row, scratch, n) -> squaredDistance(row, 0, origin, n),
                (row, scratch, n) -> RowMath.centredSquares(row, origin, n))) {
            return squares.toDoubleArray();
        }
    }

    /** ||(z - u) R||: through the principal space, or the residual space R itself in a detector saved before it was kept. */
    private Tensor residualNorms(Tensor z) {
        Tensor principal = state().get("principal_space");   // state(), not state(name): the fit's second pass reads it too
        double[] origin = state().get("u").toDoubleArray();
        if (principal != null) return on(z, residualNorms(z, squaredDistances(z, origin), 1, origin, principal));
        try (Scope s = Scope.open()) {
            return s.keep(z.to(DType.FLOAT64).sub(state("u")).matmul(state("residual_space")).normL2(1, false));
        }
    }

    /** The covariance and its eigenvectors: three D x D arrays in EJML's eigen solver, three tensors (cov, scaled, vectors). */
    private static void requireMemory(Tensor features) {
        long dim = features.size(1);
        MemoryBudget.Need matrices = MemoryBudget.Need.float64(3, dim, dim, "matrices");
        MemoryBudget.require("ViM: a fit at feature dimension " + dim, features.device(), matrices, matrices,
                "reduce the feature dimension (e.g. PCA)");
    }

    /**
     * A NaN or an infinity in z makes ||z - u||^2 or (z - u) V non-finite, hence the residual (inf -
     * inf is NaN, and NaN survives the clamp and the root) and the score: the features are checked
     * through the scores.
     */
    @Override protected boolean scoresFlagNonFinite() { return true; }

    /**
     * One pass over the rows for ||z - u||^2 and the head's logsumexp together, one product for
     * z V; the scores from those in plain loops (no tensor op per step).
     */
    @Override
    protected Tensor scoreChunk(Tensor features) {
        Tensor principal = state().get("principal_space");
        if (principal == null) {
            try (Tensor virtual = residualNorms(features).mul(state("alpha")); Tensor energies = head.logSumExps(features)) {
                return virtual.sub(energies);
            }
        }
        double[] origin = state("u").toDoubleArray(), squaresAndEnergies;
        float[][] weights = features.dtype() == DType.FLOAT32 ? head.weightFloatRows() : null;
        try (Tensor rows = features.mapRows(2, (z, scratch, n, out) -> {
            out[0] = squaredDistance(z, 0, origin, n);
            out[1] = head.rowLogSumExp(z, scratch, n);
        }, (z, scratch, n, out) -> {
            out[0] = RowMath.centredSquares(z, origin, n);
            out[1] = head.rowLogSumExp(weights, z, scratch, n);
        })) {
            squaresAndEnergies = rows.toDoubleArray();
        }
        double alpha = state("alpha").item();
        double[] residuals = residualNorms(features, squaresAndEnergies, 2, origin, principal), scores = new double[residuals.length];
        for (int i = 0; i < scores.length; i++) scores[i] = alpha * residuals[i] - squaresAndEnergies[2 * i + 1];
        return on(features, scores);
    }

    /** Per-row values computed on the host, as a (N,) float64 tensor on the rows' device (as torch returns them). */
    private static Tensor on(Tensor rows, double[] values) {
        Tensor out = Tensor.of(values, values.length);
        if (rows.device() == out.device()) return out;
        try (out) {
            return out.to(rows.device());
        }
    }

    @Override
    public void close() {
        super.close();
        head.close();
    }

    @Override
    public java.util.Map<String, Object> params() {
        return java.util.Map.of("d", d, "w", head.weight(), "b", head.bias());
    }
}
