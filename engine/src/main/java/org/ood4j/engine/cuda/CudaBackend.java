package org.ood4j.engine.cuda;

import org.ood4j.engine.CudaStatus;
import org.ood4j.engine.Device;
import org.ood4j.engine.backend.Backend;
import org.ood4j.engine.backend.ConvGradOps;
import org.ood4j.engine.backend.ConvOps;
import org.ood4j.engine.backend.ElementwiseOps;
import org.ood4j.engine.backend.IndexOps;
import org.ood4j.engine.backend.KnnOps;
import org.ood4j.engine.backend.LinalgOps;
import org.ood4j.engine.backend.MatmulOps;
import org.ood4j.engine.backend.ReductionOps;
import org.ood4j.engine.backend.SortOps;
import org.ood4j.engine.cuda.blas.Cublas;
import org.ood4j.engine.cuda.blas.Cusolver;

/**
 * The CUDA backend: JCuda's driver API with our PTX kernels (kernels module) for elementwise ops,
 * reductions, sorting, indexing, kNN, pooling and convolution/pooling gradients; cuBLAS (FFM) for
 * matmul and the GEMMs of convolution and its gradients;
 * the CPU backend, through copies, where neither covers an op (see each family's class).
 */
public final class CudaBackend implements Backend {
    private static volatile CudaBackend instance;

    private final ElementwiseOps elementwise = new CudaElementwise();
    private final ReductionOps reductions = new CudaReductions();
    private final SortOps sorting = new CudaSorting();
    private final IndexOps indexing = new CudaIndexing();
    private final MatmulOps matmul = new CudaMatmul();
    private final LinalgOps linalg = new CudaLinalg();
    private final KnnOps knn = new CudaKnn();
    private final ConvOps conv = new CudaConv();
    private final ConvGradOps convGrad = new CudaConvGrad();

    private CudaBackend() {}

    /** The backend; only call once {@link #probe()} said CUDA is available. */
    public static CudaBackend instance() {
        CudaBackend b = instance;
        if (b == null) {
            synchronized (CudaBackend.class) {
                if (instance == null) instance = new CudaBackend();
                b = instance;
            }
        }
        return b;
    }

    /**
     * Starts CUDA (driver, device, context, our PTX) and the libraries, and says what is usable:
     * "NAME (compute X.Y, N SMs), driver A.B, cuBLAS ..., cuSOLVER ..." or why CUDA is unavailable.
     * Every failure is caught: a machine without a driver gets a reason, not a crash.
     */
    public static CudaStatus probe() {
        CudaContext context;
        try {
            context = CudaContext.get();
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            return new CudaStatus(false, "no CUDA driver library (libcuda.so.1) on this machine: " + firstLine(e));
        } catch (CudaException e) {
            return new CudaStatus(false, e.getMessage());
        } catch (RuntimeException | LinkageError e) {
            return new CudaStatus(false, "CUDA start failed: " + firstLine(e));
        }
        String description = context.deviceName() + " (compute " + context.computeCapability() + ", "
                + context.multiprocessors() + " SMs), driver " + context.driverVersion()
                + ", cuBLAS " + Cublas.status() + ", cuSOLVER " + Cusolver.status();
        return new CudaStatus(true, description);
    }

    private static String firstLine(Throwable e) {
        String m = e.getClass().getSimpleName() + ": " + e.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    @Override public Device device() { return Device.CUDA; }
    @Override public ElementwiseOps elementwise() { return elementwise; }
    @Override public ReductionOps reductions() { return reductions; }
    @Override public SortOps sorting() { return sorting; }
    @Override public IndexOps indexing() { return indexing; }
    @Override public MatmulOps matmul() { return matmul; }
    @Override public LinalgOps linalg() { return linalg; }
    @Override public KnnOps knn() { return knn; }
    @Override public ConvOps conv() { return conv; }
    @Override public ConvGradOps convGrad() { return convGrad; }
}
