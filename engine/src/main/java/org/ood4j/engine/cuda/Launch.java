package org.ood4j.engine.cuda;

import java.util.ArrayList;
import java.util.List;

import jcuda.Pointer;
import jcuda.driver.JCudaDriver;
import org.ood4j.kernels.Kernels;

/**
 * One kernel launch: parameters are appended in the order of the kernel's C signature (each a
 * pointer to its host value, as cuLaunchKernel wants; device pointers are 64-bit addresses), then
 * {@link #run} launches on the calling thread's stream and turns a failure into a CudaException
 * naming the kernel and the op.
 */
final class Launch {
    static final int BLOCK = 256;

    private final CudaContext context;
    private final Kernels.Module module;
    private final String kernel;
    private final List<Pointer> params = new ArrayList<>();

    private Launch(CudaContext context, Kernels.Module module, String kernel) {
        this.context = context;
        this.module = module;
        this.kernel = kernel;
    }

    static Launch of(Kernels.Module module, String kernel) {
        return new Launch(CudaContext.get(), module, kernel);
    }

    Launch strided(long[] geometry) { params.add(Pointer.to(geometry)); return this; }
    Launch i64(long v) { params.add(Pointer.to(new long[] {v})); return this; }
    Launch i32(int v) { params.add(Pointer.to(new int[] {v})); return this; }
    Launch f64(double v) { params.add(Pointer.to(new double[] {v})); return this; }
    /** A device address. */
    Launch ptr(long address) { return i64(address); }

    /** Blocks for a grid-stride loop over n items: enough to fill the device, no more. */
    static int gridFor(long n, CudaContext context) {
        long blocks = (n + BLOCK - 1) / BLOCK;
        return (int) Math.max(1, Math.min(blocks, 32L * context.multiprocessors()));
    }

    /** A 1-D grid-stride launch over n items with 256 threads a block. */
    void run1d(long n, String op) {
        run(gridFor(n, context), 1, BLOCK, 0, op);
    }

    void run(int gridX, int gridY, int block, int sharedBytes, String op) {
        Pointer kernelParams = Pointer.to(params.toArray(new Pointer[0]));
        int rc = JCudaDriver.cuLaunchKernel(context.function(module, kernel), gridX, gridY, 1, block, 1, 1,
                sharedBytes, context.stream(), kernelParams, null);
        CudaContext.check(rc, op + ": launch of kernel " + kernel);
    }
}
