package org.ood4j.engine;

import jcuda.driver.CUdevice;
import jcuda.driver.JCudaDriver;

/**
 * Looks for a CUDA driver and device through JCuda, catching every way that can fail on a
 * machine without one: no libcuda (JCuda's natives throw UnsatisfiedLinkError on the first touch
 * and NoClassDefFoundError on every later one), no device, or a driver error.
 */
final class CudaProbe {
    private CudaProbe() {}

    static CudaStatus probe() {
        try {
            JCudaDriver.setExceptionsEnabled(false);
            int rc = JCudaDriver.cuInit(0);
            if (rc != 0) return new CudaStatus(false, "no usable CUDA driver (cuInit: " + jcuda.driver.CUresult.stringFor(rc) + ")");
            int[] count = new int[1];
            rc = JCudaDriver.cuDeviceGetCount(count);
            if (rc != 0 || count[0] == 0) return new CudaStatus(false, "no CUDA device (the driver reports none)");
            CUdevice dev = new CUdevice();
            JCudaDriver.cuDeviceGet(dev, 0);
            byte[] name = new byte[256];
            JCudaDriver.cuDeviceGetName(name, name.length, dev);
            int[] version = new int[1];
            JCudaDriver.cuDriverGetVersion(version);
            String device = new String(name).trim().replace("\0", "") + ", CUDA driver "
                    + version[0] / 1000 + "." + (version[0] % 1000) / 10;
            return new CudaStatus(false, "device " + device + " found, but this build of ood4j has no CUDA backend yet");
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            return new CudaStatus(false, "no CUDA driver library (libcuda.so.1) on this machine: " + firstLine(e));
        } catch (RuntimeException e) {
            return new CudaStatus(false, "CUDA probe failed: " + firstLine(e));
        }
    }

    private static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
