package org.ood4j.engine.cuda;

import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.LinalgOps;

/**
 * Dense linear algebra for CUDA tensors. The matrices the detectors decompose are small
 * (covariances of a few thousand features, RankFeat's C x HW maps), and the CPU backend defines
 * exact semantics (float64, sign-normalised vectors, singularity thresholds), so for now every
 * op runs there: operands are copied to the host and results back, logged once per op.
 * TODO(cuSOLVER): potrf/getrf/getrs/syevd/gesvd through blas.Cusolver (bound and reported by
 * cudaStatus) once they can be checked against the CPU on a GPU host.
 */
final class CudaLinalg implements LinalgOps {
    private static final String WHY = "no CUDA linear algebra yet";

    @Override
    public Tensor cholesky(Tensor a) {
        return CpuFallback.run1("cholesky", WHY, h -> CpuFallback.cpu().linalg().cholesky(h[0]), a);
    }

    @Override
    public Tensor solve(Tensor a, Tensor b) {
        return CpuFallback.run1("solve", WHY, h -> CpuFallback.cpu().linalg().solve(h[0], h[1]), a, b);
    }

    @Override
    public Tensor inverse(Tensor a) {
        return CpuFallback.run1("inverse", WHY, h -> CpuFallback.cpu().linalg().inverse(h[0]), a);
    }

    @Override
    public Tensor pinv(Tensor a, double rcond) {
        return CpuFallback.run1("pinv", WHY, h -> CpuFallback.cpu().linalg().pinv(h[0], rcond), a);
    }

    @Override
    public Tensor[] eigh(Tensor a) {
        return CpuFallback.run("eigh", WHY, h -> CpuFallback.cpu().linalg().eigh(h[0]), a);
    }

    @Override
    public Tensor[] svd(Tensor a, boolean full) {
        return CpuFallback.run("svd", WHY, h -> CpuFallback.cpu().linalg().svd(h[0], full), a);
    }

    @Override
    public Tensor[] slogdet(Tensor a) {
        return CpuFallback.run("slogdet", WHY, h -> CpuFallback.cpu().linalg().slogdet(h[0]), a);
    }
}
