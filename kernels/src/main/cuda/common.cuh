// common.cuh - what every ood4j kernel file shares: dtype codes, typed loads and stores, and the
// strided geometry that lets one kernel walk any view (transposed, sliced, broadcast) of a tensor.
//
// dtype codes are the ordinals of org.ood4j.engine.DType: 0 float32, 1 float64, 2 int64.
// Pointers arrive as 64-bit device addresses already advanced to the tensor's offset; strides are
// in elements. Op codes are the ordinals of the Java enums UnaryOp / BinaryOp / ReduceOp.
#pragma once

#define OOD_F32 0
#define OOD_F64 1
#define OOD_I64 2

#define MAX_RANK 8
#define MAX_OPS 4

typedef long long i64;

// The shape of an iteration space and each operand's element strides over it. The host merges
// dimensions that are contiguous in every operand first, so a contiguous tensor arrives as rank 1
// and its flat index needs no division. Passed by value (42 x 8 bytes of kernel parameters).
struct Strided {
    i64 n;                        // elements in the space (product of shape)
    i64 rank;                     // dimensions in use, 0..MAX_RANK
    i64 shape[MAX_RANK];
    i64 stride[MAX_OPS][MAX_RANK];
};

// Element offsets of operands 0..NOPS-1 at flat (C-order) position i of the space.
template <int NOPS>
__device__ __forceinline__ void strided_offsets(const Strided& g, i64 i, i64* off) {
#pragma unroll
    for (int k = 0; k < NOPS; k++) off[k] = 0;
    if (g.rank == 1) {
#pragma unroll
        for (int k = 0; k < NOPS; k++) off[k] = i * g.stride[k][0];
        return;
    }
    for (int d = (int) g.rank - 1; d >= 0; d--) {
        i64 c = i % g.shape[d];
        i /= g.shape[d];
#pragma unroll
        for (int k = 0; k < NOPS; k++) off[k] += c * g.stride[k][d];
    }
}

// Java's (long) conversion: NaN -> 0, saturating at the int64 range (CUDA's cast is undefined there).
__device__ __forceinline__ i64 to_i64(double v) {
    if (v != v) return 0;
    if (v >= 9.2233720368547758e18) return 0x7fffffffffffffffLL;
    if (v <= -9.2233720368547758e18) return (i64) 0x8000000000000000ULL;
    return (i64) v;
}

template <typename T>
__device__ __forceinline__ T load_as(const void* p, i64 i, int type) {
    switch (type) {
        case OOD_F32: return (T) ((const float*) p)[i];
        case OOD_F64: return (T) ((const double*) p)[i];
        default: return (T) ((const i64*) p)[i];
    }
}

template <typename T>
__device__ __forceinline__ void store_as(void* p, i64 i, int type, T v) {
    switch (type) {
        case OOD_F32: ((float*) p)[i] = (float) v; break;
        case OOD_F64: ((double*) p)[i] = (double) v; break;
        default: ((i64*) p)[i] = to_i64((double) v); break;
    }
}

// Bit-exact copy of one element of 4 or 8 bytes (keeps int64 exact; no trip through double).
__device__ __forceinline__ void copy_bits(void* dst, i64 di, const void* src, i64 si, int elem_size) {
    if (elem_size == 4) ((unsigned int*) dst)[di] = ((const unsigned int*) src)[si];
    else ((unsigned long long*) dst)[di] = ((const unsigned long long*) src)[si];
}

// Math in the compute type T (float or double), one overload each, so templates call m_exp(x).
__device__ __forceinline__ float m_exp(float x) { return expf(x); }
__device__ __forceinline__ double m_exp(double x) { return exp(x); }
__device__ __forceinline__ float m_log(float x) { return logf(x); }
__device__ __forceinline__ double m_log(double x) { return log(x); }
__device__ __forceinline__ float m_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double m_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float m_pow(float x, float y) { return powf(x, y); }
__device__ __forceinline__ double m_pow(double x, double y) { return pow(x, y); }
__device__ __forceinline__ float m_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double m_tanh(double x) { return tanh(x); }

// +inf and a quiet NaN of T, by their bits.
template <typename T> __device__ __forceinline__ T pos_inf();
template <> __device__ __forceinline__ float pos_inf<float>() { return __int_as_float(0x7f800000); }
template <> __device__ __forceinline__ double pos_inf<double>() { return __longlong_as_double(0x7ff0000000000000LL); }
template <typename T> __device__ __forceinline__ T quiet_nan();
template <> __device__ __forceinline__ float quiet_nan<float>() { return __int_as_float(0x7fc00000); }
template <> __device__ __forceinline__ double quiet_nan<double>() { return __longlong_as_double(0x7ff8000000000000LL); }

// Grid-stride loop over [0, n).
#define GRID_LOOP(i, n) \
    for (i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64) blockDim.x * gridDim.x)

// Records the first error a kernel finds (a bad index, a label out of range): err[0] = 1, err[1] = value.
__device__ __forceinline__ void report_error(unsigned long long* err, i64 value) {
    if (atomicCAS(err, 0ULL, 1ULL) == 0ULL) err[1] = (unsigned long long) value;
}
