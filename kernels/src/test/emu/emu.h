// emu.h - the CUDA C subset our kernels use, on the host CPU, so that kernels/src/main/cuda/*.cu
// compile with g++ and run inside the emulated driver (driver.cpp). Not a GPU and not a timing
// model: it exists so that the CUDA backend's Java code and our kernels' logic are tested on
// machines without a GPU (CI), against the CPU backend, by the same tests that run on a GPU.
//
// How CUDA's execution model maps here (runtime.cpp):
//  - a launch's blocks are shared out among worker threads (one per core, the launching thread
//    among them), each running one block at a time; the threads of a block are fibers (own stacks, switched by a few instructions of x86-64 assembly, no system
//    call) run one at a time until they finish or wait at a barrier;
//  - __syncthreads releases when every thread of the block arrives; one that has exited can
//    never arrive, so a __syncthreads after an early return is reported (CUDA allows it only
//    where the condition is the same for the whole block);
//  - warp operations (__shfl*_sync, __ballot_sync) are warp barriers over the lanes of their
//    mask: every lane named must arrive with the same mask, and a lane that has exited must
//    not be named (undefined behaviour on a GPU: reported here as a failed launch);
//  - a block whose fibers all wait with no barrier complete (a __syncthreads that some threads
//    skip) is a deadlock: reported, the launch fails;
//  - blocks alternate the order in which their fibers first run (forward, then reverse), so a
//    missing __syncthreads between a shared-memory write and another thread's read tends to show;
//  - OOD4J_CUDA_EMU_STATS=1 prints launches and blocks per kernel at exit (driver.cpp);
//  - launches are serialised (one at a time in the process); __shared__ variables are static
//    thread_local: the shared memory of the block running on that worker (uninitialised at
//    block start, as on a GPU).
//
// Adversarial behaviours, so that what a GPU would expose shows here as a wrong result or an
// error. Each is on unless switched off: OOD4J_CUDA_EMU_ADVERSARIAL=0 switches all off (the old
// synchronous, forgiving emulator), and OOD4J_CUDA_EMU_<NAME>=0|1 each one (over ADVERSARIAL):
//  - ASYNC: every stream is a host worker thread running its launches, copies, memsets and the
//    emulated cuBLAS/cuSOLVER calls in order, concurrently with the calling thread and with
//    the other streams; events, cuStreamWaitEvent, cuStreamSynchronize, cuEventSynchronize and
//    cuCtxSynchronize are honoured, the synchronous copies run at once without waiting for any
//    (non-blocking) stream, async copies to or from pageable memory are synchronous, and
//    kernel arguments are copied at cuLaunchKernel (driver.cpp). A missing wait shows as a
//    wrong result;
//  - LIMITS: sm_90's shared-memory limits on top of the shape limits (always checked: block
//    at most 1024 threads, grid y/z at most 65535, x at most 2^31-1): dynamic shared memory
//    over 48 KB refused unless cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES) allows it,
//    static (read from the PTX) + dynamic at most 227 KB;
//  - OVERLAP: device-to-device copies whose ranges overlap are refused (CUDA_ERROR_INVALID_VALUE;
//    undefined on a GPU);
//  - SHUFFLE: a launch's blocks run in a random order (a random permutation per launch) and
//    each block's fibers start forward or reverse at random, so float atomicAdd sums and any
//    other order-dependent result change from run to run as on a GPU (OOD4J_CUDA_EMU_SEED=N
//    repeats a run's order);
//  - POISON: fresh device memory is all 0xff bytes (NaN as float32/float64, -1 as int64) and
//    freed device memory is refilled with them and quarantined (the last 64 MiB freed are not
//    handed out again), so a read after cuMemFree sees NaN and a copy touching freed memory is
//    refused.
// Not an adversarial switch but a build one: OOD4J_CUDA_EMU_CONTRACT=1 build.sh compiles the
// kernels with FMA contraction, as nvcc's default --fmad=true does (see build.sh).
#pragma once

#if !defined(__x86_64__)
#error "the CUDA host emulator switches fibers with x86-64 assembly"
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <type_traits>

namespace emu {

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};

// Of the block a worker thread runs (launches are serialised, their blocks run on several
// threads): its geometry, the running fiber's threadIdx, and its extern __shared__ memory.
extern thread_local dim3 block_idx, block_dim, grid_dim;
extern thread_local const dim3* thread_idx;
extern thread_local void* dynamic_shared;

void syncthreads();

enum ShuffleMode { SHFL_IDX, SHFL_UP, SHFL_DOWN, SHFL_XOR };

// One warp exchange: every lane of `mask` offers `bits`; returns the bits of the source lane.
uint64_t shuffle(unsigned mask, uint64_t bits, ShuffleMode mode, int arg, int width);

// The lanes of `mask` whose predicate is non-zero.
unsigned ballot(unsigned mask, int predicate);

template <typename T>
inline uint64_t to_bits(T v) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a value over 8 bytes");
    uint64_t b = 0;
    memcpy(&b, &v, sizeof(T));
    return b;
}

template <typename T>
inline T from_bits(uint64_t b) {
    T v;
    memcpy(&v, &b, sizeof(T));
    return v;
}

}  // namespace emu

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __shared__ static thread_local

#define threadIdx (*::emu::thread_idx)
#define blockIdx (::emu::block_idx)
#define blockDim (::emu::block_dim)
#define gridDim (::emu::grid_dim)

// `extern __shared__ T name[];` is rewritten by build.sh to this (C++ has no such declaration).
#define EMU_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(::emu::dynamic_shared)

inline void __syncthreads() { ::emu::syncthreads(); }

template <typename T>
inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    return ::emu::from_bits<T>(::emu::shuffle(mask, ::emu::to_bits(v), ::emu::SHFL_IDX, src, width));
}
template <typename T>
inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    return ::emu::from_bits<T>(::emu::shuffle(mask, ::emu::to_bits(v), ::emu::SHFL_UP, (int) delta, width));
}
template <typename T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    return ::emu::from_bits<T>(::emu::shuffle(mask, ::emu::to_bits(v), ::emu::SHFL_DOWN, (int) delta, width));
}
template <typename T>
inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    return ::emu::from_bits<T>(::emu::shuffle(mask, ::emu::to_bits(v), ::emu::SHFL_XOR, lane_mask, width));
}
inline unsigned __ballot_sync(unsigned mask, int predicate) { return ::emu::ballot(mask, predicate); }

inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned) x); }

inline float __int_as_float(int x) { return ::emu::from_bits<float>((uint32_t) x); }
inline int __float_as_int(float x) { return (int) (uint32_t) ::emu::to_bits(x); }
inline double __longlong_as_double(long long x) { return ::emu::from_bits<double>((uint64_t) x); }
inline long long __double_as_longlong(double x) { return (long long) ::emu::to_bits(x); }

// CUDA's min/max accept mixed integer and floating operands (the usual arithmetic conversions).
template <typename A, typename B>
inline typename std::common_type<A, B>::type min(A a, B b) {
    typedef typename std::common_type<A, B>::type C;
    return (C) b < (C) a ? (C) b : (C) a;
}
template <typename A, typename B>
inline typename std::common_type<A, B>::type max(A a, B b) {
    typedef typename std::common_type<A, B>::type C;
    return (C) a < (C) b ? (C) b : (C) a;
}

// Atomics: real ones, as blocks run on several threads at once.
template <typename T>
inline T atomicCAS(T* address, T compare, T value) {
    __atomic_compare_exchange_n(address, &compare, value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return compare;
}
template <typename T>
inline typename std::enable_if<std::is_integral<T>::value, T>::type atomicAdd(T* address, T value) {
    return __atomic_fetch_add(address, value, __ATOMIC_SEQ_CST);
}
template <typename T>
inline typename std::enable_if<std::is_floating_point<T>::value, T>::type atomicAdd(T* address, T value) {
    typedef typename std::conditional<sizeof(T) == 8, uint64_t, uint32_t>::type Bits;
    Bits* bits = reinterpret_cast<Bits*>(address);
    Bits old = __atomic_load_n(bits, __ATOMIC_SEQ_CST);
    for (;;) {
        T updated = ::emu::from_bits<T>(old) + value;
        Bits want = (Bits) ::emu::to_bits(updated);
        if (__atomic_compare_exchange_n(bits, &old, want, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
            return ::emu::from_bits<T>(old);
        }
    }
}
template <typename T>
inline T atomicMax(T* address, T value) {
    T old = __atomic_load_n(address, __ATOMIC_SEQ_CST);
    while (old < value && !__atomic_compare_exchange_n(address, &old, value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    return old;
}
template <typename T>
inline T atomicMin(T* address, T value) {
    T old = __atomic_load_n(address, __ATOMIC_SEQ_CST);
    while (value < old && !__atomic_compare_exchange_n(address, &old, value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    return old;
}
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
