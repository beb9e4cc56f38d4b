package org.ood4j.engine.cuda;

import jcuda.driver.CUdeviceptr;

/**
 * A JCuda device pointer that tells its address, which kernels (as a 64-bit parameter) and the FFM
 * bindings of cuBLAS/cuSOLVER need. JCuda keeps the address protected, hence the subclass.
 */
final class DevicePointer extends CUdeviceptr {
    long address() { return getNativePointer() + getByteOffset(); }
}
