// index.cu - gathering by index, masked selection, and grouping rows by label.
// Indices and labels are int64. A bad index or label is not written: the first one found is
// recorded in err[0..1] (flag, value) and the host throws with that value after the launch.
//
// nvcc-flags: (none: nvcc's default --fmad=true; gathers, copies and ordered adds, no multiply-add)
#include "common.cuh"

#define BLOCK 256

// out[i] = x[xbase(i) + index[i] * dim_stride], a bit copy. Operands of g (out's shape): 0 out,
// 1 index, 2 x's position with the gathered dimension at 0 (stride 0 there). gather and
// index_select (an index broadcast along the other dimensions) both come here.
// Launch: 1-D grid-stride, 256 threads. Traffic: n x (8 + 2 x elem) bytes.
extern "C" __global__ void gather_strided(Strided g, i64 dim_stride, i64 bound, int elem_size, void* out,
                                          const i64* index, const void* x, unsigned long long* err) {
    GRID_LOOP(i, g.n) {
        i64 off[3];
        strided_offsets<3>(g, i, off);
        i64 j = index[off[1]];
        if (j < 0 || j >= bound) { report_error(err, j); continue; }
        copy_bits(out, off[0], x, off[2] + j * dim_stride, elem_size);
    }
}

// Pass 1 of masked select: block b counts the non-zero mask elements of flat positions
// [b * chunk, (b + 1) * chunk) (C order of the broadcast shape). Operand 0 of g: the mask.
// Launch: grid = ceil(n / chunk) blocks of 256. Traffic: n x mask elem bytes.
extern "C" __global__ void mask_count(Strided g, i64 chunk, const void* mask, int mask_type, i64* counts) {
    __shared__ i64 warp_sums[BLOCK / 32];
    i64 begin = (i64) blockIdx.x * chunk, end = min(g.n, begin + chunk);
    i64 c = 0;
    for (i64 i = begin + threadIdx.x; i < end; i += blockDim.x) {
        i64 off[1];
        strided_offsets<1>(g, i, off);
        c += load_as<double>(mask, off[0], mask_type) != 0.0 ? 1 : 0;
    }
    for (int delta = 16; delta > 0; delta >>= 1) c += __shfl_down_sync(0xffffffffu, c, delta);
    if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = c;
    __syncthreads();
    if (threadIdx.x == 0) {
        i64 total = 0;
        for (int w = 0; w < BLOCK / 32; w++) total += warp_sums[w];
        counts[blockIdx.x] = total;
    }
}

// Pass 2: block b writes its selected elements from out[starts[b]] on, in C order: tiles of 256
// positions, each thread's slot found by a block-wide exclusive scan of the flags (ballots and
// popcounts). Operands of g: 0 x, 1 mask. Same launch as mask_count; starts = exclusive prefix
// sums of the counts (done on the host: one value per block).
// Traffic: n x (mask elem + elem) read, selected x elem written.
extern "C" __global__ void mask_scatter(Strided g, i64 chunk, const void* x, int elem_size, const void* mask,
                                        int mask_type, const i64* starts, void* out) {
    __shared__ int warp_counts[BLOCK / 32];
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    i64 begin = (i64) blockIdx.x * chunk, end = min(g.n, begin + chunk);
    i64 base = starts[blockIdx.x];
    for (i64 t0 = begin; t0 < end; t0 += blockDim.x) {          // uniform across the block
        i64 i = t0 + threadIdx.x;
        i64 off[2] = {0, 0};
        bool take = false;
        if (i < end) {
            strided_offsets<2>(g, i, off);
            take = load_as<double>(mask, off[1], mask_type) != 0.0;
        }
        unsigned ballot = __ballot_sync(0xffffffffu, take);
        int before_in_warp = __popc(ballot & ((1u << lane) - 1u));
        if (lane == 0) warp_counts[warp] = __popc(ballot);
        __syncthreads();
        int before_warp = 0, tile_total = 0;
        for (int w = 0; w < BLOCK / 32; w++) {
            if (w < warp) before_warp += warp_counts[w];
            tile_total += warp_counts[w];
        }
        if (take) copy_bits(out, base + before_warp + before_in_warp, x, off[0], elem_size);
        base += tile_total;
        __syncthreads();                                            // warp_counts[] is reused
    }
}

// sums[g, c] = the sum of x[r, c] over the rows r of group g, in float64, added in increasing r
// from 0: the CPU backend's order, so the same bits on every run and on both backends (float64
// atomics would add in whatever order the blocks run). order[start[g] .. start[g + 1]) lists the
// rows of group g in increasing order (a stable counting sort of the labels, made on the host).
// x is a strided (rows, cols) view. Launch: grid-stride over groups x col_tiles blocks
// (group-major), 256 threads; thread t of block (g, tile) owns column tile * 256 + t and walks
// the group's rows (the same row for the whole block: reads coalesced along the columns when
// col_stride is 1). Traffic: each labelled element read once, groups x cols sums written.
extern "C" __global__ void group_sum(i64 cols, i64 col_tiles, const void* x, int x_type, i64 row_stride,
                                     i64 col_stride, const i64* order, const i64* start, i64 groups,
                                     double* sums) {
    for (i64 b = blockIdx.x; b < groups * col_tiles; b += gridDim.x) {
        i64 g = b / col_tiles, c = (b % col_tiles) * blockDim.x + threadIdx.x;
        if (c >= cols) continue;
        double sum = 0;
        for (i64 k = start[g]; k < start[g + 1]; k++) {
            sum += load_as<double>(x, order[k] * row_stride + c * col_stride, x_type);
        }
        sums[g * cols + c] = sum;
    }
}

// counts[label[r]] += 1 for labels >= 0. Launch: 1-D grid-stride over rows, 256 threads.
extern "C" __global__ void group_count(i64 rows, const i64* labels, i64 label_stride, i64 groups,
                                       unsigned long long* counts, unsigned long long* err) {
    GRID_LOOP(r, rows) {
        i64 l = labels[r * label_stride];
        if (l < 0) continue;
        if (l >= groups) { report_error(err, l); continue; }
        atomicAdd(&counts[l], 1ULL);
    }
}
