// conv.cu - the parts of 2-D convolution and pooling that are not a GEMM (NCHW, forward).
// The convolution itself is im2col here followed by a cuBLAS (strided batched) GEMM on the host side.
#include "common.cuh"

// cols[s][(c, i, j)][(oh, ow)] = x[s, c, oh*stride - pad + i*dil, ow*stride - pad + j*dil], 0 outside
// (the padding). x is a strided (N, C, H, W) view of float32 or float64 (xs: its 4 strides);
// cols is contiguous (samples, C*kh*kw, outH*outW) in x's dtype.
// Launch: 1-D grid-stride over samples x C*kh*kw x outH*outW, 256 threads.
// Traffic: each output element is one (L1/L2-cached) read and one write: kh*kw x the input size.
extern "C" __global__ void im2col(const void* x, int x_type, i64 xs0, i64 xs1, i64 xs2, i64 xs3,
                                  i64 samples, i64 c, i64 h, i64 w, int kh, int kw, int stride, int pad, int dil,
                                  i64 out_h, i64 out_w, void* cols) {
    i64 hw = out_h * out_w, rows = c * kh * kw;
    GRID_LOOP(e, samples * rows * hw) {
        i64 p = e % hw, row = (e / hw) % rows, s = e / (hw * rows);
        i64 oh = p / out_w, ow = p % out_w;
        i64 ch = row / (kh * kw), ki = (row / kw) % kh, kj = row % kw;
        i64 ih = oh * stride - pad + ki * dil, iw = ow * stride - pad + kj * dil;
        bool inside = ih >= 0 && ih < h && iw >= 0 && iw < w;
        i64 at = s * xs0 + ch * xs1 + ih * xs2 + iw * xs3;
        if (x_type == OOD_F32) ((float*) cols)[e] = inside ? ((const float*) x)[at] : 0.0f;
        else ((double*) cols)[e] = inside ? ((const double*) x)[at] : 0.0;
    }
}

#define POOL_MAX 0
#define POOL_ADAPTIVE_AVG 1

// Max pooling (no padding; NaN propagates) or adaptive average pooling with PyTorch's windows
// (rows [floor(i H / outH), ceil((i+1) H / outH)), likewise columns). out is contiguous
// (N, C, outH, outW) in x's dtype; x a strided NCHW view.
// Launch: 1-D grid-stride over the output, 256 threads. Traffic: each input read about
// (kernel / stride)^2 times (cached), the output written once; FLOPs: the window size per output.
extern "C" __global__ void pool2d(int mode, const void* x, int x_type, i64 xs0, i64 xs1, i64 xs2, i64 xs3,
                                  i64 n, i64 c, i64 h, i64 w, int kernel, int stride, i64 out_h, i64 out_w,
                                  void* out) {
    GRID_LOOP(e, n * c * out_h * out_w) {
        i64 ow = e % out_w, oh = (e / out_w) % out_h, ch = (e / (out_w * out_h)) % c, s = e / (out_w * out_h * c);
        i64 base = s * xs0 + ch * xs1;
        double r;
        if (mode == POOL_MAX) {
            double m = -__longlong_as_double(0x7ff0000000000000LL);
            for (i64 i = oh * stride; i < oh * stride + kernel; i++) {
                for (i64 j = ow * stride; j < ow * stride + kernel; j++) {
                    double v = load_as<double>(x, base + i * xs2 + j * xs3, x_type);
                    if (v > m || v != v) m = v;
                }
                if (m != m) break;
            }
            r = m;
        } else {
            i64 i0 = oh * h / out_h, i1 = ((oh + 1) * h + out_h - 1) / out_h;
            i64 j0 = ow * w / out_w, j1 = ((ow + 1) * w + out_w - 1) / out_w;
            double sum = 0;
            for (i64 i = i0; i < i1; i++) {
                for (i64 j = j0; j < j1; j++) sum += load_as<double>(x, base + i * xs2 + j * xs3, x_type);
            }
            r = sum / (double) ((i1 - i0) * (j1 - j0));
        }
        store_as<double>(out, e, x_type, r);
    }
}
