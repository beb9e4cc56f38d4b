// linalg.cu - RankFeat's rank-1 removal: each matrix X (R x C) of a batch loses its dominant
// singular component, X' = X - s1 u1 v1^T, computed in double from the top eigenvector of the
// small Gram matrix (k x k, k = min(R, C) <= 64; the host runs larger k on the CPU backend):
// G = X^T X when C <= R (its top eigenvector is v1, and s1 u1 v1^T = (X v1) v1^T), else
// G = X X^T (its top eigenvector is u1, and s1 u1 v1^T = u1 (u1^T X)). The algorithm is the CPU
// backend's (engine/.../cpu/TopSingular.java), step for step, so both agree to rounding.
//
// remove_top_singular_{f,d}: grid min(B, 8 x SMs) blocks, each taking matrices blockIdx.x,
// blockIdx.x + gridDim.x, ...; blockDim exactly 256. Per matrix:
//  1. Gram: X passes through shared memory in tiles of 16 rows (C <= R) or 16 columns (C > R);
//     thread t accumulates the entries t, t + 256, ... (up to 16) of the full k x k matrix in
//     registers, in the CPU's summation order, then G goes to shared memory (double, 32 KiB at
//     k = 64). G[a][b] and G[b][a] are the same products in the same order: G is exactly symmetric.
//  2. Cyclic Jacobi: before each sweep the off-diagonal mass (sum of G[p][q]^2, p < q) and the
//     diagonal mass are reduced over the block (shuffles, then 8 warp sums in order) and thread 0
//     decides - stop when off <= 1e-30 diag or off == 0, fail when either is not finite, at most
//     100 sweeps - into shared memory; all threads read the decision after a sync, so every
//     thread takes the same branch. A sweep visits the pairs p < q in row order; per pair thread 0
//     computes the rotation (cs, sn, or "skip" when G[p][q] == 0) into shared memory (two slots,
//     alternating, so that the next pair's write cannot race a slow reader of this one), sync;
//     threads 0..k-1 rotate columns p, q of G (one row each) while threads 64..64+k-1 rotate the
//     eigenvector columns p, q, sync; threads 0..k-1 rotate rows p, q of G, sync. The eigenvectors
//     live transposed (row i = eigenvector i) in global scratch, k^2 doubles per block, where the
//     rotations read and write two contiguous rows (L1/L2-resident).
//  3. The eigenvector of the largest diagonal entry (the first on a tie) is copied to shared memory;
//     C <= R: one warp per row r, (X v)_r by shuffles, row r -= (X v)_r v^T; C > R: one thread per
//     column j, w_j = sum_r u_r X[r][j] (the CPU's order), column j -= u w_j.
// A matrix whose Gram matrix or masses are not finite (NaN or Inf in X, or entries too large to
// square twice) is reported through err (common.cuh's report_error, value: the matrix index); its
// output is not written. X and out are contiguous (B, R, C), row-major: the host copies a strided
// input first. out may be x (each element is read before its own thread writes it, and by no
// other thread afterwards).
// Traffic: B x R x C x elem read twice (Gram, subtraction; the second mostly from L2), written once;
// scratch 8 k^2 bytes per block. FLOPs per matrix: 2 R C k (Gram, full k x k) + 4 R C (removal)
// + sweeps x k (k - 1) / 2 x 18 k (three rotations of k pairs); sweeps is typically 5 to 10.
//
// nvcc-flags: -fmad=false (the Gram matrix and the Jacobi rotations round as the CPU backend's, so near-equal
// singular values give the same top singular vector)
#include "common.cuh"

#define TS_BLOCK 256
#define TS_MAX_K 64
#define TS_TILE 16
#define TS_ACC (TS_MAX_K * TS_MAX_K / TS_BLOCK)   // Gram entries per thread
#define TS_MAX_SWEEPS 100
#define TS_TOLERANCE 1e-30

#define TS_GO 0
#define TS_DONE 1
#define TS_BAD 2

__device__ __forceinline__ double ts_warp_sum(double v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

template <typename T>
__device__ void remove_top_singular(const T* x, T* out, i64 batch, int rows, int cols, double* scratch,
                                    unsigned long long* err) {
    __shared__ double g[TS_MAX_K * TS_MAX_K];
    __shared__ double tile[TS_TILE * TS_MAX_K];
    __shared__ double vs[TS_MAX_K];
    __shared__ double red[2][TS_BLOCK / 32];
    __shared__ double rot_cs[2], rot_sn[2];
    __shared__ int rot_skip[2];
    __shared__ int state;
    __shared__ int best_index;

    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
    const bool right = cols <= rows;
    const int k = right ? cols : rows;          // the Gram matrix's side
    const int n = right ? rows : cols;          // the summed dimension
    const int kk = k * k;
    double* vt = scratch + (i64) blockIdx.x * kk;

    for (i64 m = blockIdx.x; m < batch; m += gridDim.x) {
        const T* xm = x + m * rows * cols;
        T* om = out + m * rows * cols;

        // 1. Gram matrix
        double acc[TS_ACC];
#pragma unroll
        for (int i = 0; i < TS_ACC; i++) acc[i] = 0;
        for (int s0 = 0; s0 < n; s0 += TS_TILE) {
            int cnt = min(TS_TILE, n - s0);
            for (int e = tid; e < cnt * k; e += TS_BLOCK) {
                int s, a;
                double v;
                if (right) {                     // rows s0.. of X: contiguous
                    s = e / k;
                    a = e % k;
                    v = (double) xm[(i64) s0 * cols + e];
                } else {                         // columns s0..s0+cnt-1 of every row
                    a = e / cnt;
                    s = e % cnt;
                    v = (double) xm[(i64) a * cols + s0 + s];
                }
                tile[s * k + a] = v;
            }
            __syncthreads();
#pragma unroll
            for (int i = 0; i < TS_ACC; i++) {
                int e = tid + i * TS_BLOCK;
                if (e < kk) {
                    int a = e / k, b = e % k;
                    double sum = acc[i];
                    for (int s = 0; s < cnt; s++) sum += tile[s * k + a] * tile[s * k + b];
                    acc[i] = sum;
                }
            }
            __syncthreads();
        }
#pragma unroll
        for (int i = 0; i < TS_ACC; i++) {
            int e = tid + i * TS_BLOCK;
            if (e < kk) g[e] = acc[i];
        }
        for (int e = tid; e < kk; e += TS_BLOCK) vt[e] = e / k == e % k ? 1.0 : 0.0;
        __syncthreads();

        // 2. cyclic Jacobi
        int slot = 0;
        for (int sweep = 0; sweep < TS_MAX_SWEEPS; sweep++) {
            double off = 0, diag = 0;
            for (int e = tid; e < kk; e += TS_BLOCK) {
                int p = e / k, q = e % k;
                double v = g[e];
                if (q > p) off += v * v;
                else if (q == p) diag += v * v;
            }
            off = ts_warp_sum(off);
            diag = ts_warp_sum(diag);
            if (lane == 0) {
                red[0][warp] = off;
                red[1][warp] = diag;
            }
            __syncthreads();
            if (tid == 0) {
                double o = 0, d = 0;
                for (int w = 0; w < TS_BLOCK / 32; w++) {
                    o += red[0][w];
                    d += red[1][w];
                }
                if (!isfinite(o) || !isfinite(d)) {
                    state = TS_BAD;
                    report_error(err, m);
                } else {
                    state = o <= TS_TOLERANCE * d || o == 0 ? TS_DONE : TS_GO;
                }
            }
            __syncthreads();
            if (state != TS_GO) break;           // uniform: every thread reads the same shared value
            for (int p = 0; p < k - 1; p++) {
                for (int q = p + 1; q < k; q++) {
                    if (tid == 0) {
                        double apq = g[p * k + q];
                        if (apq == 0) {
                            rot_skip[slot] = 1;
                        } else {
                            double theta = (g[q * k + q] - g[p * k + p]) / (2 * apq);
                            double t = theta == 0 ? 1.0 : copysign(1.0, theta) / (fabs(theta) + sqrt(theta * theta + 1));
                            double cs = 1 / sqrt(t * t + 1);
                            rot_cs[slot] = cs;
                            rot_sn[slot] = t * cs;
                            rot_skip[slot] = 0;
                        }
                    }
                    __syncthreads();
                    if (!rot_skip[slot]) {               // uniform
                        double cs = rot_cs[slot], sn = rot_sn[slot];
                        if (tid < k) {                   // G <- G J (columns p, q), row tid
                            double gp = g[tid * k + p], gq = g[tid * k + q];
                            g[tid * k + p] = cs * gp - sn * gq;
                            g[tid * k + q] = sn * gp + cs * gq;
                        } else if (tid >= TS_MAX_K && tid < TS_MAX_K + k) {   // V <- V J, component r
                            int r = tid - TS_MAX_K;
                            double vp = vt[p * k + r], vq = vt[q * k + r];
                            vt[p * k + r] = cs * vp - sn * vq;
                            vt[q * k + r] = sn * vp + cs * vq;
                        }
                        __syncthreads();
                        if (tid < k) {                   // G <- J^T G (rows p, q), column tid
                            double gp = g[p * k + tid], gq = g[q * k + tid];
                            g[p * k + tid] = cs * gp - sn * gq;
                            g[q * k + tid] = sn * gp + cs * gq;
                        }
                        __syncthreads();
                    }
                    slot ^= 1;
                }
            }
        }
        if (state == TS_BAD) {                   // uniform; reported above
            __syncthreads();
            continue;
        }

        // 3. the top eigenvector, and the removal
        if (tid == 0) {
            int best = 0;
            for (int i = 1; i < k; i++) {
                if (g[i * k + i] > g[best * k + best]) best = i;
            }
            best_index = best;
        }
        __syncthreads();
        if (tid < k) vs[tid] = vt[best_index * k + tid];
        __syncthreads();
        if (right) {
            double v0 = lane < k ? vs[lane] : 0, v1 = lane + 32 < k ? vs[lane + 32] : 0;
            for (int r = warp; r < rows; r += TS_BLOCK / 32) {       // warp-uniform loop
                const T* row = xm + (i64) r * cols;
                double a = lane < k ? (double) row[lane] : 0, b = lane + 32 < k ? (double) row[lane + 32] : 0;
                double xv = ts_warp_sum(a * v0 + b * v1);
                T* dst = om + (i64) r * cols;
                if (lane < k) dst[lane] = (T) (a - xv * v0);
                if (lane + 32 < k) dst[lane + 32] = (T) (b - xv * v1);
            }
        } else {
            for (int j = tid; j < cols; j += TS_BLOCK) {
                double w = 0;
                for (int r = 0; r < rows; r++) w += vs[r] * (double) xm[(i64) r * cols + j];
                for (int r = 0; r < rows; r++) {
                    i64 at = (i64) r * cols + j;
                    om[at] = (T) ((double) xm[at] - vs[r] * w);
                }
            }
        }
        __syncthreads();                         // vs, g and the scratch are reused by the next matrix
    }
}

extern "C" __global__ void remove_top_singular_f(const float* x, float* out, i64 batch, int rows, int cols,
                                                 double* scratch, unsigned long long* err) {
    remove_top_singular<float>(x, out, batch, rows, cols, scratch, err);
}

extern "C" __global__ void remove_top_singular_d(const double* x, double* out, i64 batch, int rows, int cols,
                                                 double* scratch, unsigned long long* err) {
    remove_top_singular<double>(x, out, batch, rows, cols, scratch, err);
}
