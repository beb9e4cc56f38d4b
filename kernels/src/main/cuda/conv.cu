// conv.cu - the parts of 2-D convolution and pooling that are not a GEMM (NCHW), forward and
// backward. The convolution itself is im2col here followed by a cuBLAS (strided batched) GEMM on
// the host side; its input gradient is a GEMM followed by col2im. Every backward kernel here is a
// gather (each thread owns one input element and sums what reaches it in a fixed order): no
// atomics, and the same result on every run.
//
// nvcc-flags: (none: nvcc's default --fmad=true; these kernels copy, add, compare and divide, no multiply-add)
#include "common.cuh"

// cols[s][(c, i, j)][(oh, ow)] = x[s, c, oh*stride - pad + i*dil, ow*stride - pad + j*dil], 0 outside
// (the padding). x is a strided (N, C, H, W) view of float32 or float64 (xs: its 4 strides);
// cols is in x's dtype with element strides cs0 (sample) and cs1 (row), the output positions of
// a row contiguous: (samples, C*kh*kw, outH*outW) contiguous for the forward GEMM, or
// (C*kh*kw, samples, outH*outW) for the weight gradient's single GEMM over the batch.
// Launch: 1-D grid-stride over samples x C*kh*kw x outH*outW, 256 threads.
// Traffic: each output element is one (L1/L2-cached) read and one write: kh*kw x the input size.
extern "C" __global__ void im2col(const void* x, int x_type, i64 xs0, i64 xs1, i64 xs2, i64 xs3,
                                  i64 samples, i64 c, i64 h, i64 w, int kh, int kw, int stride, int pad, int dil,
                                  i64 out_h, i64 out_w, void* cols, i64 cs0, i64 cs1) {
    i64 hw = out_h * out_w, rows = c * kh * kw;
    GRID_LOOP(e, samples * rows * hw) {
        i64 p = e % hw, row = (e / hw) % rows, s = e / (hw * rows);
        i64 oh = p / out_w, ow = p % out_w;
        i64 ch = row / (kh * kw), ki = (row / kw) % kh, kj = row % kw;
        i64 ih = oh * stride - pad + ki * dil, iw = ow * stride - pad + kj * dil;
        bool inside = ih >= 0 && ih < h && iw >= 0 && iw < w;
        i64 at = s * xs0 + ch * xs1 + ih * xs2 + iw * xs3, to = s * cs0 + row * cs1 + p;
        if (x_type == OOD_F32) ((float*) cols)[to] = inside ? ((const float*) x)[at] : 0.0f;
        else ((double*) cols)[to] = inside ? ((const double*) x)[at] : 0.0;
    }
}

// The output position whose tap k reads padded input coordinate t (t = ih + pad) along one axis:
// (t - k*dil) / stride when that is a whole number in [0, out), else -1 (no window reads it there).
__device__ __forceinline__ i64 reader(i64 t, i64 k, int stride, int dil, i64 out) {
    i64 u = t - k * dil;
    if (u < 0 || u % stride != 0) return -1;
    u /= stride;
    return u < out ? u : -1;
}

// The adjoint of im2col, in gather form: x[s, c, ih, iw] = sum over the taps (ki, kj) of
// cols[s][(c, ki, kj)][(oh, ow)] where oh*stride - pad + ki*dil = ih and ow*stride - pad + kj*dil = iw
// (each input element reads the at most kh*kw column entries that copied it), summed in tap order
// (ki, then kj) in T, the order and precision of the CPU backend's col2im. cols is contiguous
// (samples, C*kh*kw, outH*outW), x contiguous (samples, C, H, W), both of type T.
// Launch: 1-D grid-stride over samples x C x H x W, 256 threads.
// Traffic: the column matrix read once in all (kh*kw x the input size, gathered: adjacent threads
// read adjacent positions of a row when stride = 1), the input written once; kh*kw adds per element.
template <typename T>
__device__ void col2im_t(const T* cols, i64 samples, i64 c, i64 h, i64 w, int kh, int kw, int stride, int pad, int dil,
                         i64 out_h, i64 out_w, T* x) {
    i64 hw = out_h * out_w;
    GRID_LOOP(e, samples * c * h * w) {
        i64 iw = e % w, ih = (e / w) % h, plane = e / (w * h);   // plane = s * c + ch
        const T* rows = cols + plane * (i64) kh * kw * hw;        // row (ch, 0, 0) of sample s
        T sum = 0;
        for (int ki = 0; ki < kh; ki++) {
            i64 oh = reader(ih + pad, ki, stride, dil, out_h);
            if (oh < 0) continue;
            for (int kj = 0; kj < kw; kj++) {
                i64 ow = reader(iw + pad, kj, stride, dil, out_w);
                if (ow >= 0) sum += rows[(i64) (ki * kw + kj) * hw + oh * out_w + ow];
            }
        }
        x[e] = sum;
    }
}

extern "C" __global__ void col2im(const void* cols, int type, i64 samples, i64 c, i64 h, i64 w, int kh, int kw,
                                  int stride, int pad, int dil, i64 out_h, i64 out_w, void* x) {
    if (type == OOD_F32) col2im_t((const float*) cols, samples, c, h, w, kh, kw, stride, pad, dil, out_h, out_w, (float*) x);
    else col2im_t((const double*) cols, samples, c, h, w, kh, kw, stride, pad, dil, out_h, out_w, (double*) x);
}

#define POOL_MAX 0
#define POOL_ADAPTIVE_AVG 1

__device__ __forceinline__ i64 imin(i64 a, i64 b) { return a < b ? a : b; }

// PyTorch's adaptive window [i0, i1) of output index o of out along an input of size in.
__device__ __forceinline__ i64 adaptive_start(i64 o, i64 in, i64 out) { return o * in / out; }
__device__ __forceinline__ i64 adaptive_end(i64 o, i64 in, i64 out) { return ((o + 1) * in + out - 1) / out; }

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
            i64 i0 = adaptive_start(oh, h, out_h), i1 = adaptive_end(oh, h, out_h);
            i64 j0 = adaptive_start(ow, w, out_w), j1 = adaptive_end(ow, w, out_w);
            double sum = 0;
            for (i64 i = i0; i < i1; i++) {
                for (i64 j = j0; j < j1; j++) sum += load_as<double>(x, base + i * xs2 + j * xs3, x_type);
            }
            r = sum / (double) ((i1 - i0) * (j1 - j0));
        }
        store_as<double>(out, e, x_type, r);
    }
}

// The first maximum of max-pooling window (oh, ow) of one plane (base: the plane's offset in x),
// as an offset into the window (i * kernel + j): the CPU backend's rule exactly. The first element
// starts the search, a later one wins only when strictly greater or NaN, and the first NaN ends it
// (so the gradient goes where the forward pool's value came from: its first maximum or first NaN).
__device__ __forceinline__ int window_argmax(const void* x, int x_type, i64 base, i64 xs2, i64 xs3,
                                             i64 oh, i64 ow, int kernel, int stride) {
    int best = -1;
    double m = 0;
    for (int i = 0; i < kernel; i++) {
        for (int j = 0; j < kernel; j++) {
            double v = load_as<double>(x, base + (oh * stride + i) * xs2 + (ow * stride + j) * xs3, x_type);
            if (best < 0 || v > m || v != v) { m = v; best = i * kernel + j; }
            if (m != m) return best;
        }
    }
    return best;
}

// Gradient of pool2d, gathered: dx[s, c, ih, iw] = the sum of gradOut over the output positions
// whose window sends its gradient to (ih, iw), taken in (oh, ow) order in double and stored in
// dx's type (the CPU backend's order and precision, so the results agree exactly).
//   max: the windows holding (ih, iw) (several when stride < kernel) whose first maximum
//        (window_argmax) is (ih, iw); each of those windows is searched again here.
//   adaptive average: every window holding (ih, iw), each adding gradOut / (its size).
// x (max only; NULL for adaptive) and gradOut are strided NCHW views (xs, gs: their strides);
// dx is contiguous (N, C, H, W); x, gradOut and dx may differ in floating type.
// Launch: 1-D grid-stride over N x C x H x W, 256 threads.
// Traffic: max reads ceil(kernel/stride)^2 windows of kernel^2 inputs per element (cached: the
// windows of neighbouring threads overlap) and as many gradOut entries at most; adaptive reads
// the gradOut entries of the (usually 1 to 4) windows holding the element. dx written once.
extern "C" __global__ void pool2d_grad(int mode, const void* x, int x_type, i64 xs0, i64 xs1, i64 xs2, i64 xs3,
                                       const void* g, int g_type, i64 gs0, i64 gs1, i64 gs2, i64 gs3,
                                       i64 n, i64 c, i64 h, i64 w, int kernel, int stride, i64 out_h, i64 out_w,
                                       void* dx, int dx_type) {
    GRID_LOOP(e, n * c * h * w) {
        i64 iw = e % w, ih = (e / w) % h, ch = (e / (w * h)) % c, s = e / (w * h * c);
        i64 gbase = s * gs0 + ch * gs1;
        double sum = 0;
        if (mode == POOL_MAX) {
            // windows oh with oh*stride <= ih < oh*stride + kernel, likewise ow
            i64 oh0 = ih < kernel ? 0 : (ih - kernel) / stride + 1, oh1 = imin(ih / stride, out_h - 1);
            i64 ow0 = iw < kernel ? 0 : (iw - kernel) / stride + 1, ow1 = imin(iw / stride, out_w - 1);
            i64 xbase = s * xs0 + ch * xs1;
            for (i64 oh = oh0; oh <= oh1; oh++) {
                for (i64 ow = ow0; ow <= ow1; ow++) {
                    int at = window_argmax(x, x_type, xbase, xs2, xs3, oh, ow, kernel, stride);
                    if (oh * stride + at / kernel == ih && ow * stride + at % kernel == iw) {
                        sum += load_as<double>(g, gbase + oh * gs2 + ow * gs3, g_type);
                    }
                }
            }
        } else {
            // windows with start <= ih < end: oh from floor(ih*outH/H) to ceil((ih+1)*outH/H) - 1
            i64 oh0 = ih * out_h / h, oh1 = imin(((ih + 1) * out_h + h - 1) / h - 1, out_h - 1);
            i64 ow0 = iw * out_w / w, ow1 = imin(((iw + 1) * out_w + w - 1) / w - 1, out_w - 1);
            for (i64 oh = oh0; oh <= oh1; oh++) {
                i64 i0 = adaptive_start(oh, h, out_h), i1 = adaptive_end(oh, h, out_h);
                if (ih < i0 || ih >= i1) continue;
                for (i64 ow = ow0; ow <= ow1; ow++) {
                    i64 j0 = adaptive_start(ow, w, out_w), j1 = adaptive_end(ow, w, out_w);
                    if (iw < j0 || iw >= j1) continue;
                    sum += load_as<double>(g, gbase + oh * gs2 + ow * gs3, g_type) / (double) ((i1 - i0) * (j1 - j0));
                }
            }
        }
        store_as<double>(dx, e, dx_type, sum);
    }
}
