// topk.cu - per-row sort, top-k and k-selection along the last dimension of a strided view.
//
// Order: NaN above every number, -0.0 equal to 0.0, ties by lower position, in either direction:
// a total order on (value, position), so the result is the stable sort the CPU backend gives.
// Values are copied from x bit for bit by position (int64 stays exact); int64 keys compare as double.
//
// Two modes, one block (256 threads) per row, grid-stride over rows:
//  - whole row (n <= 4096): the row's (key, position) pairs are loaded into shared memory, padded
//    to a power of two P, and bitonic-sorted; the first k are written (k = n for a sort).
//    Shared memory P x (sizeof key + 4) <= 48 KiB. Work O(P log^2 P) compares per row.
//  - local lists (n > 4096, k <= 16): thread t keeps the k best of positions t, t+256, ... in a
//    sorted list in shared memory (insertion only when an element beats the list's last), then the
//    256 x k candidates are bitonic-sorted as above. One read of the row; O(n) compares.
// Longer rows with larger k go to the CPU backend (the host decides).
// Traffic: rows x n x elem read once; rows x k x (elem + 8) written.
// Operands of g (the outer dimensions): 0 x, 1 values, 2 indices.
//
// nvcc-flags: (none: nvcc's default --fmad=true; compares only)
#include "common.cuh"

#define BLOCK 256
#define PAD 0x7fffffff

// Whether (a at position ia) comes before (b at ib) in ascending (or descending) order.
template <typename T>
__device__ __forceinline__ bool before(T a, int ia, T b, int ib, int descending) {
    if (ib == PAD) return ia != PAD;
    if (ia == PAD) return false;
    bool an = a != a, bn = b != b;
    int c;                                   // compare values: -1, 0, 1, NaN largest, -0.0 == 0.0
    if (an || bn) c = an == bn ? 0 : (an ? 1 : -1);
    else c = a < b ? -1 : (a > b ? 1 : 0);
    if (descending) c = -c;
    return c != 0 ? c < 0 : ia < ib;
}

// Sorts keys/ids[0..p) (p a power of two) in place; all threads of the block take part.
template <typename T>
__device__ void bitonic_sort(T* keys, int* ids, int p, int descending) {
    for (int size = 2; size <= p; size <<= 1) {
        for (int stride = size >> 1; stride > 0; stride >>= 1) {
            for (int i = threadIdx.x; i < p / 2; i += blockDim.x) {
                int lo = 2 * i - (i & (stride - 1)), hi = lo + stride;
                bool up = (lo & size) == 0;
                bool swap = up ? before<T>(keys[hi], ids[hi], keys[lo], ids[lo], descending)
                               : before<T>(keys[lo], ids[lo], keys[hi], ids[hi], descending);
                if (swap) {
                    T tk = keys[lo]; keys[lo] = keys[hi]; keys[hi] = tk;
                    int ti = ids[lo]; ids[lo] = ids[hi]; ids[hi] = ti;
                }
            }
            __syncthreads();
        }
    }
}

template <typename T>
__device__ void topk_rows(Strided g, i64 n, i64 x_stride, int k, int descending, int local, int p,
                          const void* x, int x_type, void* values, i64 v_stride, i64* indices, i64 i_stride) {
    extern __shared__ double smem_raw[];
    T* keys = (T*) smem_raw;
    int* ids = (int*) (keys + p);
    int elem_size = x_type == OOD_F32 ? 4 : 8;
    for (i64 row = blockIdx.x; row < g.n; row += gridDim.x) {
        i64 off[3];
        strided_offsets<3>(g, row, off);
        if (!local) {
            for (int j = threadIdx.x; j < p; j += blockDim.x) {
                bool real = j < n;
                keys[j] = real ? load_as<T>(x, off[0] + j * x_stride, x_type) : (T) 0;
                ids[j] = real ? j : PAD;
            }
        } else {
            T* my_keys = keys + threadIdx.x * k;
            int* my_ids = ids + threadIdx.x * k;
            for (int j = threadIdx.x; j < p; j += blockDim.x) { keys[j] = (T) 0; ids[j] = PAD; }
            __syncthreads();
            for (i64 j = threadIdx.x; j < n; j += blockDim.x) {
                T v = load_as<T>(x, off[0] + j * x_stride, x_type);
                if (!before<T>(v, (int) j, my_keys[k - 1], my_ids[k - 1], descending)) continue;
                int at = k - 1;                                   // insertion into the sorted list
                while (at > 0 && before<T>(v, (int) j, my_keys[at - 1], my_ids[at - 1], descending)) {
                    my_keys[at] = my_keys[at - 1];
                    my_ids[at] = my_ids[at - 1];
                    at--;
                }
                my_keys[at] = v;
                my_ids[at] = (int) j;
            }
        }
        __syncthreads();
        bitonic_sort<T>(keys, ids, p, descending);
        for (int j = threadIdx.x; j < k; j += blockDim.x) {
            copy_bits(values, off[1] + j * v_stride, x, off[0] + (i64) ids[j] * x_stride, elem_size);
            indices[off[2] + j * i_stride] = ids[j];
        }
        __syncthreads();                                          // keys[] is reused by the next row
    }
}

extern "C" __global__ void topk_rows_f(Strided g, i64 n, i64 x_stride, int k, int descending, int local, int p,
                                       const void* x, int x_type, void* values, i64 v_stride,
                                       i64* indices, i64 i_stride) {
    topk_rows<float>(g, n, x_stride, k, descending, local, p, x, x_type, values, v_stride, indices, i_stride);
}

extern "C" __global__ void topk_rows_d(Strided g, i64 n, i64 x_stride, int k, int descending, int local, int p,
                                       const void* x, int x_type, void* values, i64 v_stride,
                                       i64* indices, i64 i_stride) {
    topk_rows<double>(g, n, x_stride, k, descending, local, p, x, x_type, values, v_stride, indices, i_stride);
}
