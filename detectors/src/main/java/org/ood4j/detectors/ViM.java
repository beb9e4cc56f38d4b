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
            Tensor u = d.state().get("u"), principal = d.state().get("principal_space");
            Tensor r = residualNorms(rows, u, principal);
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
     * against 448 at D = 512). x V = z V - u V; ||x||^2 comes from one fused pass over the rows and
     * ||x V||^2 from one over the product's, so no centred copy of either is made. Float64 keeps the
     * differences exact to ~1e-16 ||x||^2.
     */
    private static Tensor residualNorms(Tensor z, Tensor u, Tensor principal) {
        double[] origin = u.toDoubleArray();
        try (Scope s = Scope.open()) {
            // float32 rows centred in float64 as they are read: no float64 copy of a row
            Tensor squares = z.reduceRows(squaredDistances(origin), (row, scratch, n) -> RowMath.centredSquares(row, origin, n));
            // the float32 rows meet the float64 space in the product itself (widened as it packs them): no
            // float64 copy of them
            double[] originInPrincipal = u.unsqueeze(0).matmul(principal).toDoubleArray();
            Tensor inPrincipal = z.matmul(principal).reduceRows(squaredDistances(originInPrincipal));
            return s.keep(squares.sub(inPrincipal).clampMin(0).sqrt());
        }
    }

    /** ||row - centre||^2 of a float64 row (the row is overwritten by its difference). */
    private static org.ood4j.engine.RowReducer squaredDistances(double[] centre) {
        return (row, scratch, n) -> {
            for (int j = 0; j < n; j++) row[j] -= centre[j];
            return RowMath.dot(row, row, n);
        };
    }

    /** ||(z - u) R||: through the principal space, or the residual space R itself in a detector saved before it was kept. */
    private Tensor residualNorms(Tensor z) {
        Tensor principal = state().get("principal_space");
        if (principal != null) return residualNorms(z, state("u"), principal);
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

    @Override
    protected Tensor scoreChunk(Tensor features) {
        Tensor virtual = residualNorms(features).mul(state("alpha"));
        return virtual.sub(head.logSumExps(features));
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
