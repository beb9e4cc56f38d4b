package org.ood4j.engine.cuda;

import jcuda.driver.CUstream;

/** A JCuda stream that tells its native handle, for cublasSetStream / cusolverDnSetStream over FFM. */
final class Stream extends CUstream {
    long handle() { return getNativePointer(); }
}
