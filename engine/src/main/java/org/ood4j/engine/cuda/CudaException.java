package org.ood4j.engine.cuda;

import jcuda.driver.CUresult;

/** A CUDA driver or library call that failed: names the op and the result code. */
public class CudaException extends RuntimeException {
    private final int code;

    public CudaException(String op, int code) {
        super(op + " failed: " + CUresult.stringFor(code) + " (" + code + ")");
        this.code = code;
    }

    public CudaException(String message) {
        super(message);
        this.code = -1;
    }

    /** The CUresult (or library status) code; -1 when there is none. */
    public int code() { return code; }
}
