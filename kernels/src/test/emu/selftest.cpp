// selftest.cpp - the emulator's own test, run by build.sh after each build (the libraries are
// not installed when it fails): warp exchanges give CUDA's documented results, a shared-memory
// block reduction with __syncthreads is right in both fiber orders, and the kernel bugs the
// emulator promises to catch are caught: a __syncthreads that some threads skip (deadlock), a
// warp operation naming a lane that has exited, and a mask that omits the caller's lane.
// (A __syncthreads inside a branch that only part of the block takes is caught either as a
// deadlock or, when the others exit, as threads that exited while some wait at the barrier.)
#include <cstdio>
#include <string>
#include <vector>

#include "runtime.h"

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
    if (!ok) {
        failures++;
        fprintf(stderr, "cuda-emu selftest: FAILED %s\n", what.c_str());
    }
}

// out[t] for every kind of warp exchange, from lane values 100 + lane.
void warp_ops(long long* out) {
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    int v = 100 + lane;
    long long* o = out + threadIdx.x * 6;
    o[0] = __shfl_sync(0xffffffffu, v, 5);
    o[1] = __shfl_down_sync(0xffffffffu, v, 3);
    o[2] = __shfl_up_sync(0xffffffffu, v, 2);
    o[3] = __shfl_xor_sync(0xffffffffu, v, 1);
    o[4] = __ballot_sync(0xffffffffu, lane % 3 == 0);
    o[5] = (long long) __shfl_down_sync(0xffffffffu, (double) v + warp, 4, 16);  // width 16: segments of 16 lanes
}

// out[block] = sum of in[block * 256 .. +256) through shared memory.
void block_sum(const double* in, double* out) {
    __shared__ double partial[256];
    partial[threadIdx.x] = in[blockIdx.x * 256 + threadIdx.x];
    __syncthreads();
    for (int half = 128; half > 0; half /= 2) {
        if ((int) threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = partial[0];
}

void divergent_sync(int*) {
    if (threadIdx.x % 2 == 0) __syncthreads();
}

void crossed_barriers(int* out) {  // half a warp at __syncthreads, half in a full-warp shuffle
    if (threadIdx.x % 32 < 16) __syncthreads();
    else out[threadIdx.x] = __shfl_sync(0xffffffffu, 1, 0);
}

void shuffle_after_exit(int* out) {
    if (threadIdx.x % 32 == 7) return;
    out[threadIdx.x] = __shfl_down_sync(0xffffffffu, (int) threadIdx.x, 1);
}

void mask_without_self(int* out) {
    out[threadIdx.x] = __ballot_sync(1u, 1);
}

emu::Registrar r1("selftest", "warp_ops", &warp_ops);
emu::Registrar r2("selftest", "block_sum", &block_sum);
emu::Registrar r3("selftest", "divergent_sync", &divergent_sync);
emu::Registrar r6("selftest", "crossed_barriers", &crossed_barriers);
emu::Registrar r4("selftest", "shuffle_after_exit", &shuffle_after_exit);
emu::Registrar r5("selftest", "mask_without_self", &mask_without_self);

std::string run(const char* name, unsigned blocks, unsigned threads, void** params) {
    emu::dim3 grid, block;
    grid.x = blocks;
    block.x = threads;
    return emu::launch(*emu::find_kernel(name), grid, block, 0, params);
}

}  // namespace

int main() {
    std::vector<long long> out(64 * 6);
    long long* p = out.data();
    void* warp_params[] = {&p};
    check(run("warp_ops", 1, 64, warp_params).empty(), "warp_ops launches");
    for (int t = 0; t < 64; t++) {
        int lane = t % 32, warp = t / 32;
        long long* o = &out[t * 6];
        check(o[0] == 105, "__shfl_sync from lane 5");
        check(o[1] == 100 + (lane + 3 < 32 ? lane + 3 : lane), "__shfl_down_sync keeps its own value past the warp's end");
        check(o[2] == 100 + (lane >= 2 ? lane - 2 : lane), "__shfl_up_sync keeps its own value below lane delta");
        check(o[3] == 100 + (lane ^ 1), "__shfl_xor_sync");
        check(o[4] == 0x49249249LL, "__ballot_sync of lane % 3 == 0");
        int seg = lane % 16;
        check(o[5] == 100 + (seg + 4 < 16 ? lane + 4 : lane) + warp, "__shfl_down_sync with width 16 stays in its segment");
    }

    const int blocks = 5;
    std::vector<double> in(blocks * 256), sums(blocks, -1);
    double expected[blocks] = {0};
    for (int i = 0; i < blocks * 256; i++) {
        in[i] = (i * 7919) % 1000 / 8.0;
        expected[i / 256] += in[i];
    }
    const double* ip = in.data();
    double* sp = sums.data();
    void* sum_params[] = {&ip, &sp};
    check(run("block_sum", blocks, 256, sum_params).empty(), "block_sum launches");
    for (int b = 0; b < blocks; b++) check(sums[b] == expected[b], "block " + std::to_string(b) + " sum (forward and reverse fiber order)");

    std::vector<int> ints(256);
    int* q = ints.data();
    void* int_params[] = {&q};
    std::string e = run("divergent_sync", 1, 64, int_params);
    check(e.find("__syncthreads") != std::string::npos, "a __syncthreads that odd threads skip fails: got '" + e + "'");
    e = run("crossed_barriers", 1, 64, int_params);
    check(e.find("deadlock") != std::string::npos, "a warp split between __syncthreads and a shuffle deadlocks: got '" + e + "'");
    e = run("shuffle_after_exit", 1, 64, int_params);
    check(e.find("exited") != std::string::npos, "a shuffle naming an exited lane fails: got '" + e + "'");
    e = run("mask_without_self", 1, 32, int_params);
    check(e.find("omits its own lane") != std::string::npos, "a mask without the caller's lane fails: got '" + e + "'");
    check(run("block_sum", blocks, 256, sum_params).empty(), "a launch after failed ones runs normally");

    if (failures) {
        fprintf(stderr, "cuda-emu selftest: %d checks failed\n", failures);
        return 1;
    }
    printf("cuda-emu selftest: passed (warp exchanges, block reduction, divergent __syncthreads, deadlock, exited lane, bad mask)\n");
    return 0;
}
