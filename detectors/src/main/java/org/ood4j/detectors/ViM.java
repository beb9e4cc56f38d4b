package org.ood4j.detectors;

import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Linalg;
import org.ood4j.engine.MemoryBudget;
import org.ood4j.engine.Scope;
import org.ood4j.engine.Tensor;

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
public final class ViM extends FeaturesDetector {
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

    @Override
    protected void fitOnId(Tensor features, Tensor labels) {
        requireMemory(features);
        Tensor w = head.weight(), b = head.bias();
        Tensor u = Linalg.pinv(w).matmul(b.unsqueeze(1)).reshape(-1).neg();    // (D,)
        Tensor x = features.to(DType.FLOAT64).sub(u);
        Tensor cov = x.t().matmul(x).div(x.size(0));
        long dim = cov.size(0);
        try (Linalg.Eigh eig = Linalg.eigh(cov)) {
            // eigenvalues ascending: the principal space is the last d columns, the residual space the others
            Tensor principal = eig.vectors().slice(1, dim - d, dim).copy();
            putState("u", u);
            putState("principal_space", principal);
            Tensor r = residualNorms(x, principal);
            Tensor maxLogit = head.apply(features).max(1);
            putState("alpha", maxLogit.mean().div(r.mean()));
        }
    }

    /**
     * ||x R|| for rows x = z - u, through the principal space V (D x d): R R^T + V V^T = I, so
     * ||x R||^2 = ||x||^2 - ||x V||^2, a product d columns wide instead of D - d (64 against 448 at
     * D = 512). Float64 keeps the difference exact to ~1e-16 ||x||^2.
     */
    private static Tensor residualNorms(Tensor x, Tensor principal) {
        try (Scope s = Scope.open()) {
            Tensor inPrincipal = x.matmul(principal);
            Tensor squares = x.mul(x).sum(1, false).sub(inPrincipal.mul(inPrincipal).sum(1, false));
            return s.keep(squares.clampMin(0).sqrt());
        }
    }

    /** ||x R||: through the principal space, or the residual space R itself in a detector saved before it was kept. */
    private Tensor residualNorms(Tensor x) {
        Tensor principal = state().get("principal_space");
        return principal != null ? residualNorms(x, principal) : x.matmul(state("residual_space")).normL2(1, false);
    }

    /** The covariance and its eigenvectors: three D x D arrays in EJML's eigen solver, three tensors (cov, scaled, vectors). */
    private static void requireMemory(Tensor features) {
        long dim = features.size(1);
        MemoryBudget.Need matrices = MemoryBudget.Need.float64(3, dim, dim, "matrices");
        MemoryBudget.require("ViM: a fit at feature dimension " + dim, features.device(), matrices, matrices,
                "reduce the feature dimension (e.g. PCA)");
    }

    @Override
    protected Tensor scoreChunk(Tensor features) {
        Tensor z = features.to(DType.FLOAT64);
        Tensor virtual = residualNorms(z.sub(state("u"))).mul(state("alpha"));
        return virtual.sub(head.apply(z).logsumexp(1));
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
