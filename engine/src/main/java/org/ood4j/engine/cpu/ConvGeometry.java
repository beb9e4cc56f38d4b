package org.ood4j.engine.cpu;

import org.ood4j.engine.backend.ConvOps;

/**
 * One sample's convolution geometry: input plane (C, H, W), kernel (kh, kw) and its placement,
 * and the output plane, out = (in + 2p - d(k-1) - 1) / s + 1. It unrolls receptive fields into
 * a column matrix (im2col) and folds a column matrix back onto the input plane (col2im, the
 * adjoint of im2col: overlapping windows add up, padding positions are dropped).
 *
 * <p>The column matrix has one row per (channel, kernel row, kernel column) and one column per
 * output position: U[(ch, ki, kj), (oh, ow)] = x[ch, oh s - p + ki d, ow s - p + kj d], zero where
 * the window hangs over the padding.
 */
record ConvGeometry(int c, int h, int w, int kh, int kw, int stride, int padding, int dilation, int outH, int outW) {

    ConvGeometry(int c, int h, int w, int kh, int kw, int stride, int padding, int dilation) {
        this(c, h, w, kh, kw, stride, padding, dilation,
                outSize(h, kh, stride, padding, dilation), outSize(w, kw, stride, padding, dilation));
    }

    static int outSize(int in, int k, int stride, int padding, int dilation) {
        return (int) ConvOps.outSize(in, k, stride, padding, dilation);
    }

    /** Rows of the column matrix: one per (channel, kernel row, kernel column). */
    int rows() { return c * kh * kw; }

    /** Columns of the column matrix: one per output position. */
    int cols() { return outH * outW; }

    float[] im2col(float[] src) {
        int hw = cols();
        float[] cols = new float[rows() * hw];
        for (int row = 0; row < rows(); row++) {
            int ch = row / (kh * kw), ki = row / kw % kh, kj = row % kw;
            for (int oh = 0; oh < outH; oh++) {
                int ih = oh * stride - padding + ki * dilation;
                if (ih < 0 || ih >= h) continue; // padding: the row stays zero
                int from = (ch * h + ih) * w, to = row * hw + oh * outW;
                for (int ow = 0; ow < outW; ow++) {
                    int iw = ow * stride - padding + kj * dilation;
                    if (iw >= 0 && iw < w) cols[to + ow] = src[from + iw];
                }
            }
        }
        return cols;
    }

    double[] im2col(double[] src) {
        int hw = cols();
        double[] cols = new double[rows() * hw];
        for (int row = 0; row < rows(); row++) {
            int ch = row / (kh * kw), ki = row / kw % kh, kj = row % kw;
            for (int oh = 0; oh < outH; oh++) {
                int ih = oh * stride - padding + ki * dilation;
                if (ih < 0 || ih >= h) continue;
                int from = (ch * h + ih) * w, to = row * hw + oh * outW;
                for (int ow = 0; ow < outW; ow++) {
                    int iw = ow * stride - padding + kj * dilation;
                    if (iw >= 0 && iw < w) cols[to + ow] = src[from + iw];
                }
            }
        }
        return cols;
    }

    /** The adjoint of {@link #im2col(float[])}: adds every column entry back onto its input position. */
    float[] col2im(float[] cols) {
        int hw = cols();
        float[] dst = new float[c * h * w];
        for (int row = 0; row < rows(); row++) {
            int ch = row / (kh * kw), ki = row / kw % kh, kj = row % kw;
            for (int oh = 0; oh < outH; oh++) {
                int ih = oh * stride - padding + ki * dilation;
                if (ih < 0 || ih >= h) continue;
                int to = (ch * h + ih) * w, from = row * hw + oh * outW;
                for (int ow = 0; ow < outW; ow++) {
                    int iw = ow * stride - padding + kj * dilation;
                    if (iw >= 0 && iw < w) dst[to + iw] += cols[from + ow];
                }
            }
        }
        return dst;
    }

    double[] col2im(double[] cols) {
        int hw = cols();
        double[] dst = new double[c * h * w];
        for (int row = 0; row < rows(); row++) {
            int ch = row / (kh * kw), ki = row / kw % kh, kj = row % kw;
            for (int oh = 0; oh < outH; oh++) {
                int ih = oh * stride - padding + ki * dilation;
                if (ih < 0 || ih >= h) continue;
                int to = (ch * h + ih) * w, from = row * hw + oh * outW;
                for (int ow = 0; ow < outW; ow++) {
                    int iw = ow * stride - padding + kj * dilation;
                    if (iw >= 0 && iw < w) dst[to + iw] += cols[from + ow];
                }
            }
        }
        return dst;
    }
}
