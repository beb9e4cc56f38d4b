// reduce.cu - reductions and the softmax family along the last dimension of a strided view.
//
// The host moves the reduced dimension last (a permuted view), so a "row" is n elements at
// row_stride apart, and the outer dimensions (Strided g, operands 0 = x, 1 = out) locate each row.
// A group of tpr threads (tpr = 32: a warp per row for rows up to 256 elements, 8 rows a block;
// tpr = 256: the whole block for longer rows) reduces one row: each thread folds elements
// t, t + tpr, ... into a small state in registers, then the states are combined with warp
// shuffles and, across warps, through shared memory. Every op is one pass over the row:
// logsumexp keeps a running (max, scaled sum), variance Welford's (count, mean, M2), the L2 norm
// a running (scale, scaled sum of squares) as LAPACK's nrm2, so nothing overflows.
// *_f kernels compute in float (float32 input), *_d in double (float64 or int64 input).
//
// Launch: blockDim 256, grid-stride over row groups (grid = min(groups, 32 x SMs)).
// Traffic: rows x n x elem bytes read once (twice for softmax: the second pass mostly hits L2),
// rows x elem written (rows x n for softmax); FLOPs ~ n per row (one exp per element for the
// softmax family).
//
// nvcc-flags: -fmad=false (sums of squares, variances, norms and softmax round as the CPU backend's; memory-bound)
#include "common.cuh"

// ReduceOp ordinals
#define R_SUM 0
#define R_MEAN 1
#define R_MIN 2
#define R_MAX 3
#define R_ARGMAX 4
#define R_ARGMIN 5
#define R_NORM_L1 6
#define R_NORM_L2 7
#define R_LOGSUMEXP 8
#define R_VAR 9
#define R_VAR_BIASED 10
#define R_COUNT_NONFINITE 11

#define BLOCK 256
#define NO_INDEX 0x7fffffffffffffffLL

// The running state of one thread; which fields mean what depends on the op (see fold()).
template <typename T>
struct State {
    T v;    // sum, extreme, scale, running max, or mean
    T w;    // scaled sum (L2, logsumexp) or M2 (variance)
    i64 i;  // index (arg ops), count (variance, non-finite), NaN flag (logsumexp)
};

template <typename T>
__device__ __forceinline__ State<T> initial(int op) {
    State<T> s;
    s.w = 0;
    s.i = 0;
    switch (op) {
        case R_MIN: s.v = pos_inf<T>(); break;
        case R_MAX: s.v = -pos_inf<T>(); break;
        case R_ARGMAX: s.v = -pos_inf<T>(); s.i = NO_INDEX; break;
        case R_ARGMIN: s.v = pos_inf<T>(); s.i = NO_INDEX; break;
        case R_LOGSUMEXP: s.v = -pos_inf<T>(); break;
        default: s.v = 0; break;
    }
    return s;
}

// Whether (a, ia) wins over (b, ib) for argmax (largest) or argmin: NaN wins over any number (as
// torch), and on equal values (NaN or not) the lower index wins, so the first extreme is found.
template <typename T>
__device__ __forceinline__ bool arg_wins(bool largest, T a, i64 ia, T b, i64 ib) {
    if (ib == NO_INDEX) return true;
    if (ia == NO_INDEX) return false;
    bool an = isnan(a), bn = isnan(b);
    if (an || bn) return an && (!bn || ia < ib);
    if (a == b) return ia < ib;
    return largest ? a > b : a < b;
}

// Adds element x (at index j of the row) to a thread's state.
template <typename T>
__device__ __forceinline__ void fold(int op, State<T>& s, T x, i64 j) {
    switch (op) {
        case R_SUM: case R_MEAN: s.v += x; break;
        case R_NORM_L1: s.v += fabs(x); break;
        case R_MIN: if (!(s.v != s.v) && (x < s.v || x != x)) s.v = x; break;
        case R_MAX: if (!(s.v != s.v) && (x > s.v || x != x)) s.v = x; break;
        case R_ARGMAX: if (arg_wins<T>(true, x, j, s.v, s.i)) { s.v = x; s.i = j; } break;
        case R_ARGMIN: if (arg_wins<T>(false, x, j, s.v, s.i)) { s.v = x; s.i = j; } break;
        case R_NORM_L2: {
            T a = fabs(x);
            if (a != a || s.v != s.v) { s.v = quiet_nan<T>(); break; }
            if (isinf(s.v)) break;                     // the norm is already +inf
            if (a > s.v) {
                if (isinf(a)) { s.v = a; break; }
                T r = s.v / a;
                s.w = (T) 1 + s.w * r * r;
                s.v = a;
            } else if (a > (T) 0) {
                T r = a / s.v;
                s.w += r * r;
            }
            break;
        }
        case R_LOGSUMEXP: {
            if (x != x) { s.i = 1; break; }
            if (x == -pos_inf<T>() || s.v == pos_inf<T>()) break; // adds exp(-inf) = 0, or the sum is +inf
            if (x > s.v) {
                s.w = s.w * m_exp(s.v - x) + (T) 1;
                s.v = x;
            } else {
                s.w += m_exp(x - s.v);
            }
            break;
        }
        case R_VAR: case R_VAR_BIASED: {
            s.i += 1;
            T d = x - s.v;
            s.v += d / (T) s.i;
            s.w += d * (x - s.v);
            break;
        }
        case R_COUNT_NONFINITE: s.i += isfinite(x) ? 0 : 1; break;
    }
}

// Combines two partial states (b's elements all come after a's or interleave; ties use indices).
template <typename T>
__device__ __forceinline__ State<T> combine(int op, State<T> a, State<T> b) {
    switch (op) {
        case R_SUM: case R_MEAN: case R_NORM_L1: a.v += b.v; return a;
        case R_MIN: if (a.v != a.v) return a; if (b.v != b.v || b.v < a.v) return b; return a;
        case R_MAX: if (a.v != a.v) return a; if (b.v != b.v || b.v > a.v) return b; return a;
        case R_ARGMAX: return arg_wins<T>(true, b.v, b.i, a.v, a.i) ? b : a;
        case R_ARGMIN: return arg_wins<T>(false, b.v, b.i, a.v, a.i) ? b : a;
        case R_NORM_L2: {
            if (a.v != a.v || b.v != b.v) { a.v = quiet_nan<T>(); return a; }
            if (isinf(a.v) || isinf(b.v)) { a.v = pos_inf<T>(); return a; }
            if (b.v > a.v) { State<T> t = a; a = b; b = t; }
            if (a.v > (T) 0) { T r = b.v / a.v; a.w += b.w * r * r; }
            return a;
        }
        case R_LOGSUMEXP: {
            i64 nan = a.i | b.i;
            State<T> r;
            if (a.v == -pos_inf<T>()) r = b;
            else if (b.v == -pos_inf<T>()) r = a;
            else if (a.v == pos_inf<T>() || b.v == pos_inf<T>()) { r = a; r.v = pos_inf<T>(); }
            else {
                T m = a.v > b.v ? a.v : b.v;
                r.v = m;
                r.w = a.w * m_exp(a.v - m) + b.w * m_exp(b.v - m);
            }
            r.i = nan;
            return r;
        }
        case R_VAR: case R_VAR_BIASED: {                   // Chan et al.'s parallel update
            if (b.i == 0) return a;
            if (a.i == 0) return b;
            i64 n = a.i + b.i;
            T d = b.v - a.v;
            State<T> r;
            r.i = n;
            r.v = a.v + d * ((T) b.i / (T) n);
            r.w = a.w + b.w + d * d * ((T) a.i * (T) b.i / (T) n);
            return r;
        }
        case R_COUNT_NONFINITE: a.i += b.i; return a;
    }
    return a;
}

template <typename T>
__device__ __forceinline__ State<T> shfl_down(State<T> s, int delta) {
    State<T> r;
    r.v = __shfl_down_sync(0xffffffffu, s.v, delta);
    r.w = __shfl_down_sync(0xffffffffu, s.w, delta);
    r.i = __shfl_down_sync(0xffffffffu, s.i, delta);
    return r;
}

// Reduces the states of a group of tpr threads (32 or BLOCK); lane 0 of the group (thread 0 of
// the block when tpr = BLOCK) holds the result. Lower lanes hold lower indices, so combine(a, b)
// keeps a first. Every thread of the block must call it (it may synchronise the block).
template <typename T>
__device__ State<T> group_reduce(int op, State<T> s, int tpr, State<T>* shared) {
    for (int delta = 16; delta > 0; delta >>= 1) s = combine<T>(op, s, shfl_down<T>(s, delta));
    if (tpr == 32) return s;
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) shared[warp] = s;
    __syncthreads();
    if (warp == 0) {
        s = lane < BLOCK / 32 ? shared[lane] : initial<T>(op);
        for (int delta = 16; delta > 0; delta >>= 1) s = combine<T>(op, s, shfl_down<T>(s, delta));
    }
    __syncthreads();                                         // shared[] is reused by the next row
    return s;
}

// The reduction of a whole row (n >= 1) from its final state, as the CPU backend defines it.
template <typename T>
__device__ __forceinline__ double finish(int op, State<T> s, i64 n) {
    switch (op) {
        case R_SUM: case R_MIN: case R_MAX: case R_NORM_L1: return (double) s.v;
        case R_MEAN: return (double) s.v / (double) n;
        case R_ARGMAX: case R_ARGMIN: return (double) s.i;
        case R_NORM_L2:
            if (s.v != s.v || isinf(s.v) || s.v == (T) 0) return (double) s.v;
            return (double) (s.v * m_sqrt(s.w));
        case R_LOGSUMEXP:
            if (s.i) return (double) quiet_nan<T>();
            if (isinf(s.v)) return (double) s.v;
            return (double) (s.v + m_log(s.w));
        case R_VAR: return (double) s.w / (double) (n - 1);       // n = 1: 0/0 = NaN, as torch
        case R_VAR_BIASED: return (double) s.w / (double) n;
        case R_COUNT_NONFINITE: return (double) s.i;
    }
    return 0;
}

// Row r's group and the threads of the block that work on it.
#define ROW_GROUPS(tpr) (BLOCK / (tpr))

template <typename T>
__device__ void reduce_rows(Strided g, i64 n, i64 row_stride, int op, int tpr,
                            const void* x, int x_type, void* out, int out_type) {
    __shared__ State<T> shared[BLOCK / 32];
    int group = threadIdx.x / tpr, t = threadIdx.x % tpr;
    i64 groups = (g.n + ROW_GROUPS(tpr) - 1) / ROW_GROUPS(tpr);
    for (i64 blk = blockIdx.x; blk < groups; blk += gridDim.x) {  // uniform across the block
        i64 row = blk * ROW_GROUPS(tpr) + group;
        bool live = row < g.n;
        i64 off[2] = {0, 0};
        if (live) strided_offsets<2>(g, row, off);
        State<T> s = initial<T>(op);
        if (live) {
            for (i64 j = t; j < n; j += tpr) fold<T>(op, s, load_as<T>(x, off[0] + j * row_stride, x_type), j);
        }
        s = group_reduce<T>(op, s, tpr, shared);
        if (live && t == 0) {
            double r = finish<T>(op, s, n);
            if (out_type == OOD_I64) ((i64*) out)[off[1]] = (i64) r;
            else store_as<double>(out, off[1], out_type, r);
        }
    }
}

extern "C" __global__ void reduce_rows_f(Strided g, i64 n, i64 row_stride, int op, int tpr,
                                         const void* x, int x_type, void* out, int out_type) {
    reduce_rows<float>(g, n, row_stride, op, tpr, x, x_type, out, out_type);
}

extern "C" __global__ void reduce_rows_d(Strided g, i64 n, i64 row_stride, int op, int tpr,
                                         const void* x, int x_type, void* out, int out_type) {
    reduce_rows<double>(g, n, row_stride, op, tpr, x, x_type, out, out_type);
}

// Exact int64 SUM (wrapping, as torch and Java), MIN and MAX, which doubles (53 bits) cannot do.
// Same launch as reduce_rows.
extern "C" __global__ void reduce_rows_i64(Strided g, i64 n, i64 row_stride, int op, int tpr,
                                           const i64* x, i64* out) {
    __shared__ i64 shared[BLOCK / 32];
    int group = threadIdx.x / tpr, t = threadIdx.x % tpr;
    i64 groups = (g.n + ROW_GROUPS(tpr) - 1) / ROW_GROUPS(tpr);
    for (i64 blk = blockIdx.x; blk < groups; blk += gridDim.x) {
        i64 row = blk * ROW_GROUPS(tpr) + group;
        bool live = row < g.n;
        i64 off[2] = {0, 0};
        if (live) strided_offsets<2>(g, row, off);
        i64 s = op == R_MIN ? 0x7fffffffffffffffLL : (op == R_MAX ? (i64) 0x8000000000000000ULL : 0);
        if (live) {
            for (i64 j = t; j < n; j += tpr) {
                i64 v = x[off[0] + j * row_stride];
                s = op == R_MIN ? (v < s ? v : s) : (op == R_MAX ? (v > s ? v : s)
                    : (i64) ((unsigned long long) s + (unsigned long long) v));
            }
        }
        for (int delta = 16; delta > 0; delta >>= 1) {
            i64 o = __shfl_down_sync(0xffffffffu, s, delta);
            s = op == R_MIN ? (o < s ? o : s) : (op == R_MAX ? (o > s ? o : s)
                : (i64) ((unsigned long long) s + (unsigned long long) o));
        }
        if (tpr == BLOCK) {
            int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
            if (lane == 0) shared[warp] = s;
            __syncthreads();
            if (threadIdx.x == 0) {
                for (int w = 1; w < BLOCK / 32; w++) {
                    i64 o = shared[w];
                    s = op == R_MIN ? (o < s ? o : s) : (op == R_MAX ? (o > s ? o : s)
                        : (i64) ((unsigned long long) s + (unsigned long long) o));
                }
            }
            __syncthreads();
        }
        if (live && t == 0) out[off[1]] = s;
    }
}

// softmax (log_softmax when log != 0) of each row: pass 1 computes the row's (max, sum of
// exp(x - max)) online as logsumexp does; pass 2 writes exp(x - max) / sum, or (x - max) - log(sum).
// A row holding NaN or +inf, or only -inf, gives NaN everywhere, as torch (and the CPU backend).
// Operands of g: 0 x, 1 out (each with its own row stride). Same launch as reduce_rows.
template <typename T>
__device__ void softmax_rows(Strided g, i64 n, i64 x_stride, i64 out_stride, int log, int tpr,
                             const void* x, int x_type, void* out, int out_type) {
    __shared__ State<T> shared[BLOCK / 32];
    __shared__ T row_max[BLOCK / 32], row_sum[BLOCK / 32];
    int group = threadIdx.x / tpr, t = threadIdx.x % tpr;
    i64 groups = (g.n + ROW_GROUPS(tpr) - 1) / ROW_GROUPS(tpr);
    for (i64 blk = blockIdx.x; blk < groups; blk += gridDim.x) {
        i64 row = blk * ROW_GROUPS(tpr) + group;
        bool live = row < g.n;
        i64 off[2] = {0, 0};
        if (live) strided_offsets<2>(g, row, off);
        State<T> s = initial<T>(R_LOGSUMEXP);
        if (live) {
            for (i64 j = t; j < n; j += tpr) fold<T>(R_LOGSUMEXP, s, load_as<T>(x, off[0] + j * x_stride, x_type), j);
        }
        s = group_reduce<T>(R_LOGSUMEXP, s, tpr, shared);
        if (t == 0) {
            bool bad = s.i != 0 || isinf(s.v);             // NaN, +inf, or a row of -inf only
            row_max[group] = bad ? quiet_nan<T>() : s.v;
            row_sum[group] = s.w;
        }
        __syncthreads();
        T m = row_max[group], sum = row_sum[group];
        T log_sum = m_log(sum);
        if (live) {
            for (i64 j = t; j < n; j += tpr) {
                T v = load_as<T>(x, off[0] + j * x_stride, x_type) - m;
                store_as<T>(out, off[1] + j * out_stride, out_type, log ? v - log_sum : m_exp(v) / sum);
            }
        }
        __syncthreads();                                      // row_max[] is reused by the next row
    }
}

extern "C" __global__ void softmax_rows_f(Strided g, i64 n, i64 x_stride, i64 out_stride, int log, int tpr,
                                          const void* x, int x_type, void* out, int out_type) {
    softmax_rows<float>(g, n, x_stride, out_stride, log, tpr, x, x_type, out, out_type);
}

extern "C" __global__ void softmax_rows_d(Strided g, i64 n, i64 x_stride, i64 out_stride, int log, int tpr,
                                          const void* x, int x_type, void* out, int out_type) {
    softmax_rows<double>(g, n, x_stride, out_stride, log, tpr, x, x_type, out, out_type);
}
