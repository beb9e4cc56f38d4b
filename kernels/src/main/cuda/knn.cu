// knn.cu - exact k-nearest-neighbour search (k <= 32) with fused tiles: a tile of distances is
// computed in shared memory and folded at once into each query's running k-best list, held in
// registers (one entry per lane of a warp), so no Q x N matrix ever exists.
//
// knn_tiles: grid (ceil(Q / 32), splits), 256 threads. A block takes 32 queries and one split
// (a contiguous range) of the bank. Per tile of 64 bank rows it computes the 32 x 64 scores over
// the feature dimension in chunks of 32 (each thread 8 scores, operands staged in shared memory),
// then warp w merges the scores of queries 4w..4w+3 into their lists: a candidate enters when it
// beats the list's worst (ballot), its place is a popcount, and the tail shifts by one lane.
// L2 scores are sum (q - b)^2 computed directly (no |q|^2 - 2 q.b + |b|^2 cancellation: an exact
// duplicate scores exactly 0); inner-product scores are -q.b (smaller is better for both).
// FLOPs: 3 x Q x N x D (L2) or 2 x Q x N x D; traffic: the bank once per block column (L2-cached),
// the queries once per tile; writes Q x splits x k partial lists.
// knn_merge: one warp per query (8 per block) merges the splits' lists in bank order and writes
// the final values (L2: sqrt of the score; inner product: the dot product) and int64 indices.
// Ties keep the lower bank index: candidates arrive in increasing bank order and enter after
// equal keys. Rows are row-major with unit column stride (the host makes them so).
//
// nvcc-flags: -fmad=false (distances round as the CPU backend's, so near-ties pick the same neighbours; costs
// some of the tiles' arithmetic throughput)
#include "common.cuh"

#define QT 32          // queries per block
#define BT 64          // bank rows per tile
#define DC 32          // feature chunk
#define QPW (QT / 8)   // queries per warp
#define METRIC_L2 0

// Offers a candidate per lane (ck, cid; only lanes in `want` take part) to a warp's sorted list
// (lane l holds the l-th best of k). Candidates are taken in lane order.
template <typename T>
__device__ __forceinline__ void warp_insert(T& key, i64& id, int k, T ck, i64 cid, unsigned want) {
    int lane = threadIdx.x % 32;
    while (want) {
        int src = __ffs(want) - 1;
        want &= want - 1;
        T c = __shfl_sync(0xffffffffu, ck, src);
        i64 ci = __shfl_sync(0xffffffffu, cid, src);
        T worst = __shfl_sync(0xffffffffu, key, k - 1);
        if (!(c < worst)) continue;                       // the list improved since the ballot
        int pos = __popc(__ballot_sync(0xffffffffu, lane < k && key <= c));
        T up_key = __shfl_up_sync(0xffffffffu, key, 1);
        i64 up_id = __shfl_up_sync(0xffffffffu, id, 1);
        if (lane > pos) { key = up_key; id = up_id; }
        if (lane == pos) { key = c; id = ci; }
    }
}

template <typename T>
__device__ void knn_tiles(const T* q, i64 q_stride, i64 nq, const T* bank, i64 b_stride, i64 nb, i64 d,
                          int k, int metric, i64 split_rows, T* part_keys, i64* part_ids) {
    __shared__ T qs[QT][DC + 1];
    __shared__ T bs[BT][DC + 1];
    __shared__ T scores[QT][BT + 1];
    int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    int qi = tid / 8, bj = tid % 8;
    i64 q0 = (i64) blockIdx.x * QT;
    int split = blockIdx.y, splits = gridDim.y;
    i64 begin = (i64) split * split_rows, end = min(nb, begin + split_rows);
    T key[QPW];
    i64 id[QPW];
#pragma unroll
    for (int j = 0; j < QPW; j++) { key[j] = pos_inf<T>(); id[j] = -1; }

    for (i64 b0 = begin; b0 < end; b0 += BT) {
        T acc[BT / 8];
#pragma unroll
        for (int r = 0; r < BT / 8; r++) acc[r] = 0;
        for (i64 c0 = 0; c0 < d; c0 += DC) {
            for (int e = tid; e < QT * DC; e += blockDim.x) {
                int row = e / DC, col = e % DC;
                i64 qr = q0 + row, c = c0 + col;
                qs[row][col] = qr < nq && c < d ? q[qr * q_stride + c] : (T) 0;
            }
            for (int e = tid; e < BT * DC; e += blockDim.x) {
                int row = e / DC, col = e % DC;
                i64 br = b0 + row, c = c0 + col;
                bs[row][col] = br < end && c < d ? bank[br * b_stride + c] : (T) 0;
            }
            __syncthreads();
#pragma unroll 8
            for (int c = 0; c < DC; c++) {
                T qv = qs[qi][c];
#pragma unroll
                for (int r = 0; r < BT / 8; r++) {
                    T bv = bs[bj + 8 * r][c];
                    if (metric == METRIC_L2) { T diff = qv - bv; acc[r] += diff * diff; }
                    else acc[r] += qv * bv;
                }
            }
            __syncthreads();
        }
#pragma unroll
        for (int r = 0; r < BT / 8; r++) {
            int col = bj + 8 * r;
            scores[qi][col] = b0 + col < end ? (metric == METRIC_L2 ? acc[r] : -acc[r]) : pos_inf<T>();
        }
        __syncthreads();
#pragma unroll
        for (int j = 0; j < QPW; j++) {
            int row = warp * QPW + j;
#pragma unroll
            for (int half = 0; half < BT / 32; half++) {
                T c = scores[row][half * 32 + lane];
                i64 cid = b0 + half * 32 + lane;
                T worst = __shfl_sync(0xffffffffu, key[j], k - 1);
                unsigned want = __ballot_sync(0xffffffffu, c < worst);
                warp_insert<T>(key[j], id[j], k, c, cid, want);
            }
        }
        __syncthreads();
    }
#pragma unroll
    for (int j = 0; j < QPW; j++) {
        i64 qr = q0 + warp * QPW + j;
        if (qr < nq && lane < k) {
            i64 at = (qr * splits + split) * k + lane;
            part_keys[at] = key[j];
            part_ids[at] = id[j];
        }
    }
}

extern "C" __global__ void knn_tiles_f(const float* q, i64 q_stride, i64 nq, const float* bank, i64 b_stride,
                                       i64 nb, i64 d, int k, int metric, i64 split_rows,
                                       float* part_keys, i64* part_ids) {
    knn_tiles<float>(q, q_stride, nq, bank, b_stride, nb, d, k, metric, split_rows, part_keys, part_ids);
}

extern "C" __global__ void knn_tiles_d(const double* q, i64 q_stride, i64 nq, const double* bank, i64 b_stride,
                                       i64 nb, i64 d, int k, int metric, i64 split_rows,
                                       double* part_keys, i64* part_ids) {
    knn_tiles<double>(q, q_stride, nq, bank, b_stride, nb, d, k, metric, split_rows, part_keys, part_ids);
}

template <typename T>
__device__ void knn_merge(const T* part_keys, const i64* part_ids, i64 nq, int splits, int k, int metric,
                          T* values, i64* indices) {
    int lane = threadIdx.x % 32;
    i64 warps = (i64) gridDim.x * (blockDim.x / 32);
    for (i64 qr = (i64) blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32; qr < nq; qr += warps) {
        T key = pos_inf<T>();
        i64 id = -1;
        i64 total = (i64) splits * k;
        for (i64 c0 = 0; c0 < total; c0 += 32) {
            i64 at = c0 + lane;
            bool real = at < total && part_ids[qr * total + at] >= 0;
            T c = real ? part_keys[qr * total + at] : pos_inf<T>();
            i64 cid = real ? part_ids[qr * total + at] : -1;
            T worst = __shfl_sync(0xffffffffu, key, k - 1);
            warp_insert<T>(key, id, k, c, cid, __ballot_sync(0xffffffffu, real && c < worst));
        }
        if (lane < k) {
            T v = metric == METRIC_L2 ? sqrt(key > (T) 0 ? key : (T) 0) : -key;
            values[qr * k + lane] = v;
            indices[qr * k + lane] = id;
        }
    }
}

extern "C" __global__ void knn_merge_f(const float* part_keys, const i64* part_ids, i64 nq, int splits, int k,
                                       int metric, float* values, i64* indices) {
    knn_merge<float>(part_keys, part_ids, nq, splits, k, metric, values, indices);
}

extern "C" __global__ void knn_merge_d(const double* part_keys, const i64* part_ids, i64 nq, int splits, int k,
                                       int metric, double* values, i64* indices) {
    knn_merge<double>(part_keys, part_ids, nq, splits, k, metric, values, indices);
}
