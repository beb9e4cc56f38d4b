package org.ood4j.engine.cuda;

import jcuda.Pointer;
import jcuda.driver.JCudaDriver;
import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;

/**
 * Two int64 in device memory {flag, value} where a kernel records the first bad index or label
 * it meets (common.cuh's report_error); {@link #check} waits for the stream and reads them.
 */
final class ErrorFlag implements AutoCloseable {
    private final Tensor cell = DeviceTensors.zeros(DType.INT64, 2);

    long address() { return DeviceTensors.address(cell); }

    /** The recorded value, or null when the kernels found nothing wrong. */
    Long check() {
        long[] host = new long[2];
        CudaContext context = CudaContext.get();
        CudaStorage s = DeviceTensors.storage(cell);
        // Wait for the stream, then a synchronous copy: an async copy into a Java array could land after JCuda released it.
        context.synchronize("reading an error flag");
        CudaContext.check(JCudaDriver.cuMemcpyDtoH(Pointer.to(host), s.pointer(), 16), "cuMemcpyDtoH (error flag)");
        return host[0] != 0 ? host[1] : null;
    }

    @Override public void close() { cell.close(); }
}
