// elementwise.cu - one generic strided kernel per arity: unary, binary (broadcast through
// stride-0 operands), where, and copy/cast. The op is a runtime code (the Java enum ordinal),
// uniform across the grid, so its switch costs no divergence; one kernel serves every op.
//
// Compute type: *_f kernels compute in float and are chosen when every operand is float32;
// *_d kernels compute in double (any float64 or int64 operand), as the CPU backend does.
//
// Launch (all): 1-D grid-stride, 256 threads, blocks = min(ceil(n/256), 32 x SMs).
// Traffic: n x (sum of operand element sizes) bytes, one pass; FLOPs: O(1) per element.
//
// nvcc-flags: -fmad=false (affine, pow and the activations round as the CPU backend's Java arithmetic, which never
// fuses; the kernels are memory-bound, so contraction would buy nothing)
#include "common.cuh"

// UnaryOp ordinals
#define U_AFFINE 0
#define U_EXP 1
#define U_LOG 2
#define U_SQRT 3
#define U_ABS 4
#define U_SIGN 5
#define U_POW 6
#define U_CLAMP 7
#define U_RELU 8
#define U_SIGMOID 9
#define U_TANH 10
#define U_RECIPROCAL 11
#define U_NONFINITE 12

// BinaryOp ordinals
#define B_ADD 0
#define B_SUB 1
#define B_MUL 2
#define B_DIV 3
#define B_POW 4
#define B_MAXIMUM 5
#define B_MINIMUM 6
#define B_GT 7
#define B_GE 8
#define B_LT 9
#define B_LE 10
#define B_EQ 11
#define B_NE 12

template <typename T>
__device__ __forceinline__ T unary_op(int op, T x, T a, T b) {
    switch (op) {
        case U_AFFINE: return a * x + b;
        case U_EXP: return m_exp(x);
        case U_LOG: return m_log(x);
        case U_SQRT: return m_sqrt(x);
        case U_ABS: return x < (T) 0 ? -x : (x == (T) 0 ? (T) 0 : x);
        case U_SIGN: return x > (T) 0 ? (T) 1 : (x < (T) 0 ? (T) -1 : x); // keeps 0, -0 and NaN
        case U_POW: return m_pow(x, a);
        case U_CLAMP: return x < a ? a : (x > b ? b : x);                  // NaN stays NaN
        case U_RELU: return x > (T) 0 ? x : (x <= (T) 0 ? (T) 0 : x);      // NaN stays NaN
        case U_SIGMOID: {                                                    // no overflow for large |x|
            if (x >= (T) 0) return (T) 1 / ((T) 1 + m_exp(-x));
            T e = m_exp(x);
            return e / ((T) 1 + e);
        }
        case U_TANH: return m_tanh(x);
        case U_RECIPROCAL: return a / x;
        case U_NONFINITE: return isfinite(x) ? (T) 0 : (T) 1;
        default: return x;
    }
}

template <typename T>
__device__ __forceinline__ T binary_op(int op, T x, T y) {
    switch (op) {
        case B_ADD: return x + y;
        case B_SUB: return x - y;
        case B_MUL: return x * y;
        case B_DIV: return x / y;
        case B_POW: return m_pow(x, y);
        case B_MAXIMUM: return isnan(y) ? y : (x >= y || isnan(x) ? x : y); // NaN propagates
        case B_MINIMUM: return isnan(y) ? y : (x <= y || isnan(x) ? x : y);
        case B_GT: return x > y ? (T) 1 : (T) 0;
        case B_GE: return x >= y ? (T) 1 : (T) 0;
        case B_LT: return x < y ? (T) 1 : (T) 0;
        case B_LE: return x <= y ? (T) 1 : (T) 0;
        case B_EQ: return x == y ? (T) 1 : (T) 0;
        case B_NE: return x != y ? (T) 1 : (T) 0;
        default: return x;
    }
}

// out = op(x; a, b). Operands: 0 out, 1 x.
template <typename T>
__device__ void unary_kernel(Strided g, int op, double a, double b, void* out, int out_type,
                             const void* x, int x_type) {
    GRID_LOOP(i, g.n) {
        i64 off[2];
        strided_offsets<2>(g, i, off);
        T v = load_as<T>(x, off[1], x_type);
        store_as<T>(out, off[0], out_type, unary_op<T>(op, v, (T) a, (T) b));
    }
}

extern "C" __global__ void ew_unary_f(Strided g, int op, double a, double b, void* out, int out_type,
                                      const void* x, int x_type) {
    unary_kernel<float>(g, op, a, b, out, out_type, x, x_type);
}

extern "C" __global__ void ew_unary_d(Strided g, int op, double a, double b, void* out, int out_type,
                                      const void* x, int x_type) {
    unary_kernel<double>(g, op, a, b, out, out_type, x, x_type);
}

// out = op(x, y). Operands: 0 out, 1 x, 2 y (broadcast operands have stride 0).
template <typename T>
__device__ void binary_kernel(Strided g, int op, void* out, int out_type, const void* x, int x_type,
                              const void* y, int y_type) {
    GRID_LOOP(i, g.n) {
        i64 off[3];
        strided_offsets<3>(g, i, off);
        T u = load_as<T>(x, off[1], x_type);
        T v = load_as<T>(y, off[2], y_type);
        store_as<T>(out, off[0], out_type, binary_op<T>(op, u, v));
    }
}

extern "C" __global__ void ew_binary_f(Strided g, int op, void* out, int out_type, const void* x, int x_type,
                                       const void* y, int y_type) {
    binary_kernel<float>(g, op, out, out_type, x, x_type, y, y_type);
}

extern "C" __global__ void ew_binary_d(Strided g, int op, void* out, int out_type, const void* x, int x_type,
                                       const void* y, int y_type) {
    binary_kernel<double>(g, op, out, out_type, x, x_type, y, y_type);
}

// out = cond != 0 ? a : b. Operands: 0 out, 1 cond, 2 a, 3 b. When a, b and out share a dtype the
// chosen element is copied bit for bit (int64 stays exact); otherwise it is converted via double.
extern "C" __global__ void ew_where(Strided g, void* out, int out_type, const void* cond, int cond_type,
                                    const void* a, int a_type, const void* b, int b_type) {
    bool bits = a_type == out_type && b_type == out_type;
    int size = out_type == OOD_F32 ? 4 : 8;
    GRID_LOOP(i, g.n) {
        i64 off[4];
        strided_offsets<4>(g, i, off);
        bool take_a = load_as<double>(cond, off[1], cond_type) != 0.0;
        if (bits) {
            if (take_a) copy_bits(out, off[0], a, off[2], size);
            else copy_bits(out, off[0], b, off[3], size);
        } else {
            double v = take_a ? load_as<double>(a, off[2], a_type) : load_as<double>(b, off[3], b_type);
            store_as<double>(out, off[0], out_type, v);
        }
    }
}

// out = src converted to out's dtype. Operands: 0 out, 1 src. Same dtype: a bit copy; float32 to
// and from float64 goes through double, int64 through Java's conversion rules (to_i64).
extern "C" __global__ void ew_copy(Strided g, void* out, int out_type, const void* src, int src_type) {
    bool bits = out_type == src_type;
    int size = out_type == OOD_F32 ? 4 : 8;
    GRID_LOOP(i, g.n) {
        i64 off[2];
        strided_offsets<2>(g, i, off);
        if (bits) copy_bits(out, off[0], src, off[1], size);
        else store_as<double>(out, off[0], out_type, load_as<double>(src, off[1], src_type));
    }
}
