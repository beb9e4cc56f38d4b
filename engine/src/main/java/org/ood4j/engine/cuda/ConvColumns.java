package org.ood4j.engine.cuda;

import org.ood4j.engine.DType;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.backend.ConvOps;
import org.ood4j.kernels.Kernels;

/**
 * One conv2d's geometry on the CUDA backend and conv.cu's two column kernels: im2col (unfold a
 * chunk of samples into column matrices) and its adjoint col2im (fold them back onto the image).
 * What the forward convolution ({@link CudaConv}) and its gradients ({@link CudaConvGrad}) share.
 *
 * <p>The column matrix of sample s has one row per (channel, kernel row, kernel column) and one
 * column per output position: U_s[(ch, ki, kj), (oh, ow)] = x[s, ch, oh·stride - pad + ki·dil,
 * ow·stride - pad + kj·dil], zero over the padding. Column buffers are bounded by
 * {@link #MAX_COLUMN_BYTES}: callers process the batch in chunks of {@link #chunk} samples.
 */
record ConvColumns(long c, long h, long w, int kh, int kw, int stride, int padding, int dilation, long outH, long outW) {
    /** The most bytes of column (and other per-sample scratch) buffers an op allocates at once. */
    static final long MAX_COLUMN_BYTES = 512L << 20;
    /** The budget {@link #chunk} works to: {@link #MAX_COLUMN_BYTES}; tests lower it to run several chunks. */
    static volatile long columnBudget = MAX_COLUMN_BYTES;
    private static final Kernels.Module M = Kernels.Module.CONV;

    /** The geometry of an (N, C, H, W) input and a (kh, kw) kernel; the arguments are checked already. */
    static ConvColumns of(long[] inputShape, long kh, long kw, int stride, int padding, int dilation) {
        long h = inputShape[2], w = inputShape[3];
        return new ConvColumns(inputShape[1], h, w, Math.toIntExact(kh), Math.toIntExact(kw), stride, padding, dilation,
                ConvOps.outSize(h, kh, stride, padding, dilation), ConvOps.outSize(w, kw, stride, padding, dilation));
    }

    /** Rows of a column matrix, C·kh·kw. */
    long rows() { return c * kh * kw; }

    /** Columns of a column matrix: output positions, outH·outW. */
    long hw() { return outH * outW; }

    /** Elements of one input sample, C·H·W. */
    long plane() { return c * h * w; }

    /** How many of n samples to process at once when each needs {@code bytesPerSample} of scratch (at least 1). */
    static long chunk(long n, long bytesPerSample) {
        return Math.max(1, Math.min(n, columnBudget / Math.max(1, bytesPerSample)));
    }

    /**
     * Unfolds samples [s0, s0 + samples) of {@code x} (a CUDA (N, C, H, W) view, float32 or
     * float64) into the column buffer at {@code cols} (x's dtype): entry (s, row, p) of the chunk
     * goes to element s·sampleStride + row·rowStride + p. (rows·hw, hw) gives the contiguous
     * (samples, rows, hw) layout; (hw, samples·hw) the (rows, samples, hw) one, in which the
     * chunk's column matrices sit side by side as one (rows, samples·hw) matrix.
     */
    void im2col(Tensor x, long s0, long samples, long cols, long sampleStride, long rowStride, String op) {
        DType type = x.dtype();
        long[] xs = x.strides();
        Launch.of(M, "im2col").ptr(DeviceTensors.address(x) + s0 * xs[0] * type.byteSize())
                .i32(DeviceTensors.code(type)).i64(xs[0]).i64(xs[1]).i64(xs[2]).i64(xs[3])
                .i64(samples).i64(c).i64(h).i64(w).i32(kh).i32(kw).i32(stride).i32(padding).i32(dilation)
                .i64(outH).i64(outW).ptr(cols).i64(sampleStride).i64(rowStride)
                .run1d(samples * rows() * hw(), op + " (im2col)");
    }

    /**
     * Folds contiguous (samples, rows, hw) column matrices at {@code cols} back onto contiguous
     * (samples, C, H, W) images at {@code image}, both of {@code type}: each image element is the
     * sum of the column entries that im2col would have copied from it (the adjoint of im2col).
     */
    void col2im(long cols, long samples, DType type, long image, String op) {
        Launch.of(M, "col2im").ptr(cols).i32(DeviceTensors.code(type)).i64(samples).i64(c).i64(h).i64(w)
                .i32(kh).i32(kw).i32(stride).i32(padding).i32(dilation).i64(outH).i64(outW).ptr(image)
                .run1d(samples * plane(), op + " (col2im)");
    }
}
