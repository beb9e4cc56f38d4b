package org.ood4j.engine.cuda;

import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * A JCuda stream that tells its native handle (for cublasSetStream / cusolverDnSetStream over
 * FFM) and orders itself after another stream's work without blocking the host: {@link #waitFor}
 * records the other stream's mark event and enqueues cuStreamWaitEvent on it. Streams are never
 * destroyed while the context lives (see CudaContext's lease pool), so a storage may name one
 * after its thread has ended.
 */
final class Stream extends CUstream {
    private CUevent mark;

    long handle() { return getNativePointer(); }

    /**
     * Makes work submitted to this stream from now on wait for everything already submitted to
     * {@code other} (a no-op for the same stream). The event is recorded now, so it covers
     * whatever {@code other} holds at this moment: at least the work this stream must follow.
     */
    void waitFor(Stream other) {
        if (other == this) return;
        synchronized (other) {  // record and wait as one step: no other thread moves the mark between them
            CudaContext.check(JCudaDriver.cuEventRecord(other.mark(), other), "cuEventRecord (stream order)");
            CudaContext.check(JCudaDriver.cuStreamWaitEvent(this, other.mark, 0), "cuStreamWaitEvent (stream order)");
        }
    }

    private CUevent mark() {
        if (mark == null) {
            CUevent e = new CUevent();
            CudaContext.check(JCudaDriver.cuEventCreate(e, CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate (stream order)");
            mark = e;
        }
        return mark;
    }
}
