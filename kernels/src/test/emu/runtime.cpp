// runtime.cpp - blocks as groups of fibers, barriers, warp exchanges, and the kernel registry.
// See emu.h for how CUDA's execution model maps onto this.
#include "runtime.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace emu {

// Per worker thread (blocks run on several). Not initial-exec TLS: that would make the whole TLS
// segment static, __shared__ arrays included, and dlopen then fails ("cannot allocate memory in
// static TLS block").
#define EMU_TLS thread_local
EMU_TLS dim3 block_idx, block_dim, grid_dim;
EMU_TLS const dim3* thread_idx;
EMU_TLS void* dynamic_shared;

namespace {

// A fiber switch: saves the callee-saved registers on the current stack, stores its stack
// pointer in *save and continues on the stack at load. No system call (ucontext's swapcontext
// makes two, which made a reduction test take minutes). x86-64 System V only.
extern "C" void ood4j_emu_switch(void** save, void* load);
asm(R"(
    .text
    .globl ood4j_emu_switch
    .hidden ood4j_emu_switch
    .type ood4j_emu_switch, @function
ood4j_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size ood4j_emu_switch, .-ood4j_emu_switch
)");

const size_t STACK_BYTES = 256 * 1024;  // per fiber; kernels keep small arrays in registers/locals
const size_t GUARD_BYTES = 4096;        // an overflow faults instead of corrupting a neighbour

enum Wait { RUNNABLE, AT_SYNCTHREADS, AT_WARP, FINISHED };

const char* const WARP_OP_NAMES[] = {"__shfl_sync", "__shfl_up_sync", "__shfl_down_sync", "__shfl_xor_sync", "__ballot_sync"};
const int BALLOT = 4;  // after the ShuffleMode values

struct Fiber {
    void* sp = nullptr;  // saved stack pointer while switched out
    char* stack = nullptr;
    dim3 tid;
    int linear = 0;
    Wait wait = FINISHED;
    // the warp operation it waits at: its mask, kind, offered bits and argument, then its result
    unsigned mask = 0;
    int op = 0;  // a ShuffleMode or BALLOT
    int arg = 0, width = 32;
    uint64_t offer = 0, result = 0;
};

struct Block {
    void* scheduler = nullptr;  // the launching thread's saved stack pointer while a fiber runs
    std::vector<Fiber> fibers;
    int threads = 0;
    int live = 0;     // fibers not finished
    int at_sync = 0;  // fibers waiting at __syncthreads
    bool reverse = false;  // this block's pass order
    std::vector<int> warp_arrived;         // per warp: lanes waiting at a warp operation
    std::vector<unsigned> warp_exited;     // per warp: lanes that have finished
    std::string error;
    const Kernel* kernel = nullptr;
    void** params = nullptr;

    ~Block() {  // at the exit of a thread that ran blocks (a worker never exits)
        for (Fiber& f : fibers) {
            if (f.stack) munmap(f.stack, STACK_BYTES + GUARD_BYTES);
        }
    }
};

EMU_TLS Block* running;   // the block this worker thread runs
EMU_TLS Fiber* current;   // its running fiber
std::mutex launch_lock;   // one launch at a time; its blocks run on the workers in parallel

// The worker threads that run a launch's blocks beside the launching thread (one per other
// core, at most 7). Created once and never joined: they wait for the next launch for the
// life of the process.
struct Workers {
    std::mutex m;
    std::condition_variable wake, finished;
    std::function<void()> job;
    long generation = 0;
    int busy = 0;
    int count;

    explicit Workers(int n) : count(n) {
        for (int i = 0; i < n; i++) std::thread([this] { loop(); }).detach();
    }

    void loop() {
        long seen = 0;
        for (;;) {
            std::function<void()> j;
            {
                std::unique_lock<std::mutex> l(m);
                wake.wait(l, [&] { return generation != seen; });
                seen = generation;
                j = job;
            }
            j();
            std::lock_guard<std::mutex> l(m);
            if (--busy == 0) finished.notify_all();
        }
    }

    // Runs j on every worker and on the calling thread; returns when all are done.
    void run(const std::function<void()>& j) {
        {
            std::lock_guard<std::mutex> l(m);
            job = j;
            busy = count;
            generation++;
        }
        wake.notify_all();
        j();
        std::unique_lock<std::mutex> l(m);
        finished.wait(l, [&] { return busy == 0; });
    }
};

Workers& workers() {
    static Workers* w = new Workers((int) std::min(7u, std::max(1u, std::thread::hardware_concurrency()) - 1));
    return *w;
}

std::string describe_thread(const Fiber& f) {
    char buf[160];
    snprintf(buf, sizeof buf, "thread (%u,%u,%u) of block (%u,%u,%u)", f.tid.x, f.tid.y, f.tid.z,
             block_idx.x, block_idx.y, block_idx.z);
    return buf;
}

// Stops the block: the scheduler sees the error and abandons its fibers (never resumed; their
// stacks are reused by the next launch, kernels hold no resources).
[[noreturn]] void fail(const std::string& why) {
    running->error = why;
    ood4j_emu_switch(&current->sp, running->scheduler);
    abort();  // not reached: a failed block is never resumed
}

// Leaves the running fiber for the next runnable one of this pass, directly (one switch, not
// two through the scheduler: warp exchanges make most switches), or for the scheduler when the
// pass has none left. Whoever resumes a fiber has set `current` to it.
void switch_onwards() {
    Block& b = *running;
    Fiber* f = current;
    int n = b.threads;
    for (int j = (b.reverse ? n - 1 - f->linear : f->linear) + 1; j < n; j++) {
        Fiber& g = b.fibers[b.reverse ? n - 1 - j : j];
        if (g.wait == RUNNABLE) {
            current = &g;
            thread_idx = &g.tid;
            ood4j_emu_switch(&f->sp, g.sp);
            return;
        }
    }
    ood4j_emu_switch(&f->sp, b.scheduler);
}

void yield() { switch_onwards(); }

void release_syncthreads(Block& b) {
    for (int i = 0; i < b.threads; i++) {
        if (b.fibers[i].wait == AT_SYNCTHREADS) b.fibers[i].wait = RUNNABLE;
    }
    b.at_sync = 0;
}

void entry() {
    Block& b = *running;
    b.kernel->call(b.kernel->fn, b.params);
    Fiber& f = *current;
    f.wait = FINISHED;
    b.live--;
    int warp0 = f.linear & ~31, lane = f.linear & 31;
    b.warp_exited[f.linear >> 5] |= 1u << lane;
    if (b.warp_arrived[f.linear >> 5] > 0) {  // a warp-mate waiting on this lane could never go on
        for (int i = warp0; i < warp0 + 32 && i < b.threads; i++) {
            const Fiber& g = b.fibers[i];
            if (g.wait == AT_WARP && (g.mask >> lane & 1u)) {
                fail(describe_thread(f) + " exited while lane " + std::to_string(i & 31) + " waits for it in " +
                     WARP_OP_NAMES[g.op]);
            }
        }
    }
    if (b.at_sync > 0) {  // others wait at a __syncthreads this thread will never reach
        fail(describe_thread(f) + " exited while " + std::to_string(b.at_sync) + " threads wait at __syncthreads");
    }
    switch_onwards();
    abort();  // not reached: a finished fiber is never resumed
}

void prepare(Block& b, int threads) {
    if ((int) b.fibers.size() < threads) b.fibers.resize(threads);
    for (int i = 0; i < threads; i++) {
        Fiber& f = b.fibers[i];
        if (!f.stack) {
            void* m = mmap(nullptr, STACK_BYTES + GUARD_BYTES, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (m == MAP_FAILED) {
                fprintf(stderr, "ood4j CUDA emulator: cannot map a fiber stack\n");
                abort();
            }
            mprotect(m, GUARD_BYTES, PROT_NONE);
            f.stack = static_cast<char*>(m);
        }
        f.linear = i;
        f.tid.x = i % block_dim.x;
        f.tid.y = (i / block_dim.x) % block_dim.y;
        f.tid.z = i / (block_dim.x * block_dim.y);
        f.wait = RUNNABLE;
        // The first switch to the fiber pops six zero registers and "returns" into entry(), whose
        // own return address slot holds 0 (it never returns); entry() starts with rsp = 8 mod 16
        // as the ABI wants after a call.
        uintptr_t top = ((uintptr_t) (f.stack + GUARD_BYTES + STACK_BYTES)) & ~(uintptr_t) 15;
        void** frame = reinterpret_cast<void**>(top);
        frame[-1] = nullptr;
        frame[-2] = reinterpret_cast<void*>(&entry);
        for (int r = 3; r <= 8; r++) frame[-r] = nullptr;
        f.sp = &frame[-8];
    }
    b.threads = threads;
    b.live = threads;
    b.at_sync = 0;
    int warps = (threads + 31) / 32;
    b.warp_arrived.assign(warps, 0);
    b.warp_exited.assign(warps, 0);
}

std::string deadlock(const Block& b) {
    int sync = 0, warp = 0;
    std::string first;
    for (int i = 0; i < b.threads; i++) {
        const Fiber& f = b.fibers[i];
        if (f.wait == AT_SYNCTHREADS) sync++;
        if (f.wait == AT_WARP) {
            if (warp++ == 0) first = describe_thread(f) + " in " + WARP_OP_NAMES[f.op];
        }
    }
    return "deadlock: " + std::to_string(sync) + " threads wait at __syncthreads and " + std::to_string(warp) +
           " at warp operations (first: " + (first.empty() ? "none" : first) + ") while " +
           std::to_string(b.live - sync - warp) + " others can never reach them";
}

// Runs one block to completion or failure; fibers start in forward or reverse order.
void run_block(Block& b, int threads, bool reverse) {
    prepare(b, threads);
    b.reverse = reverse;
    while (b.live > 0 && b.error.empty()) {
        bool ran = false;
        for (int k = 0; k < threads && b.error.empty(); k++) {
            Fiber& f = b.fibers[reverse ? threads - 1 - k : k];
            if (f.wait != RUNNABLE) continue;
            current = &f;
            thread_idx = &f.tid;
            ood4j_emu_switch(&b.scheduler, f.sp);
            ran = true;
        }
        if (!ran && b.error.empty()) b.error = deadlock(b);
    }
}

std::map<std::string, Kernel>& registry() {
    static std::map<std::string, Kernel> kernels;
    return kernels;
}

}  // namespace

// A __syncthreads must be reached by every thread of the block (CUDA: "allowed in conditional
// code only if the conditional evaluates identically across the entire thread block").
void syncthreads() {
    Block& b = *running;
    Fiber& f = *current;
    if (b.live < b.threads) {
        fail(describe_thread(f) + " reaches __syncthreads after " + std::to_string(b.threads - b.live) + " threads of its block exited");
    }
    f.wait = AT_SYNCTHREADS;
    if (++b.at_sync == b.live) {
        release_syncthreads(b);
        return;
    }
    yield();
}

// Arrives at a warp operation; the last lane of the mask to arrive checks that every lane came
// to the same operation with the same mask, then computes every lane's result.
static uint64_t warp_op(unsigned mask, int op, uint64_t offer, int arg, int width) {
    Block& b = *running;
    Fiber& f = *current;
    int warp = f.linear >> 5, warp0 = f.linear & ~31, lane = f.linear & 31;
    const char* what = WARP_OP_NAMES[op];
    if (!(mask >> lane & 1u)) fail(describe_thread(f) + " calls " + what + " with a mask that omits its own lane");
    if (warp0 + 32 > b.threads && (mask >> (b.threads - warp0))) {
        fail(describe_thread(f) + ": " + what + " names lanes beyond the block's last thread");
    }
    if (mask & b.warp_exited[warp]) fail(describe_thread(f) + ": " + what + " names a lane that has exited");
    f.wait = AT_WARP;
    f.mask = mask;
    f.op = op;
    f.offer = offer;
    f.arg = arg;
    f.width = width;
    if (++b.warp_arrived[warp] < __builtin_popcount(mask)) {
        yield();
        return f.result;
    }
    unsigned votes = 0;
    for (int l = 0; l < 32; l++) {
        if (!(mask >> l & 1u)) continue;
        const Fiber& g = b.fibers[warp0 + l];
        if (g.wait != AT_WARP || g.mask != mask || (g.op == BALLOT) != (op == BALLOT)) {
            fail(describe_thread(f) + " meets lane " + std::to_string(l) + " at a different warp operation or mask (" +
                 what + ")");
        }
        if (g.offer) votes |= 1u << l;
    }
    b.warp_arrived[warp] = 0;
    for (int l = 0; l < 32; l++) {
        if (!(mask >> l & 1u)) continue;
        Fiber& g = b.fibers[warp0 + l];
        if (g.op == BALLOT) {
            g.result = votes;
        } else {
            int w = g.width, base = l & ~(w - 1), src;
            switch (g.op) {
                case SHFL_IDX: src = base + (g.arg & (w - 1)); break;
                case SHFL_UP: src = (l - base) >= g.arg ? l - g.arg : l; break;
                case SHFL_DOWN: src = (l - base) + g.arg < w ? l + g.arg : l; break;
                default: src = base + (((l - base) ^ g.arg) & (w - 1)); break;
            }
            if (!(mask >> src & 1u)) {
                fail(describe_thread(g) + ": " + WARP_OP_NAMES[g.op] + " reads lane " + std::to_string(src) + ", outside the mask");
            }
            g.result = b.fibers[warp0 + src].offer;
        }
        g.wait = RUNNABLE;
    }
    return f.result;
}

uint64_t shuffle(unsigned mask, uint64_t bits, ShuffleMode mode, int arg, int width) {
    if (width <= 0 || width > 32 || (width & (width - 1))) fail(std::string(WARP_OP_NAMES[mode]) + " with width " + std::to_string(width));
    return warp_op(mask, mode, bits, arg, width);
}

unsigned ballot(unsigned mask, int predicate) { return (unsigned) warp_op(mask, BALLOT, predicate != 0, 0, 32); }

namespace {

// OOD4J_CUDA_EMU_<NAME>=0|1, defaulting to OOD4J_CUDA_EMU_ADVERSARIAL (default 1).
bool flag(const char* name, bool fallback) {
    const char* v = getenv(name);
    return v && *v ? strcmp(v, "0") != 0 : fallback;
}

}  // namespace

const Adversarial& adversarial() {
    static const Adversarial a = [] {
        bool all = flag("OOD4J_CUDA_EMU_ADVERSARIAL", true);
        Adversarial r;
        r.async = flag("OOD4J_CUDA_EMU_ASYNC", all);
        r.limits = flag("OOD4J_CUDA_EMU_LIMITS", all);
        r.overlap = flag("OOD4J_CUDA_EMU_OVERLAP", all);
        r.shuffle = flag("OOD4J_CUDA_EMU_SHUFFLE", all);
        r.poison = flag("OOD4J_CUDA_EMU_POISON", all);
        const char* seed = getenv("OOD4J_CUDA_EMU_SEED");
        r.seed = seed && *seed ? strtoull(seed, nullptr, 10) : (unsigned long long) time(nullptr) ^ (unsigned long long) clock();
        return r;
    }();
    return a;
}

void register_kernel(const Kernel& k) { registry()[k.name] = k; }

const Kernel* find_kernel(const char* name) {
    auto it = registry().find(name);
    return it == registry().end() ? nullptr : &it->second;
}

std::string launch(const Kernel& k, dim3 grid, dim3 block, unsigned shared_bytes, void** params) {
    long threads = (long) block.x * block.y * block.z;
    if (threads < 1 || threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64) {
        return "invalid block shape " + std::to_string(block.x) + "x" + std::to_string(block.y) + "x" + std::to_string(block.z);
    }
    if (grid.x < 1 || grid.y < 1 || grid.z < 1 || grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535) {
        return "invalid grid shape " + std::to_string(grid.x) + "x" + std::to_string(grid.y) + "x" + std::to_string(grid.z);
    }
    if (shared_bytes > 227 * 1024) return "dynamic shared memory of " + std::to_string(shared_bytes) + " bytes exceeds 227 KiB";
    if (!params && k.arity > 0) return "no kernel parameters for " + std::string(k.name);
    std::lock_guard<std::mutex> serialised(launch_lock);
    long blocks = (long) grid.x * grid.y * grid.z;
    // Shuffled: block i runs as block (stride * i + shift) mod blocks, stride coprime to blocks
    // (a permutation), and each block's fibers start forward or reverse at random, so the order
    // in which atomics land changes from launch to launch as it does on a GPU.
    static std::mt19937_64 random(adversarial().seed);
    unsigned long long stride = 1, shift = 0, reverse_bits = 0xaaaaaaaaaaaaaaaaULL;
    if (adversarial().shuffle && blocks > 1) {
        do stride = random() % (unsigned long long) blocks; while (std::__gcd(stride, (unsigned long long) blocks) != 1);
        shift = random() % (unsigned long long) blocks;
        reverse_bits = random();
    }
    std::atomic<long> next(0);
    std::atomic<bool> failed(false);
    std::mutex error_lock;
    std::string first_error;
    // Each worker takes blocks in turn; a block runs whole on one worker (its fibers share that
    // thread's __shared__ statics and stacks). Blocks alternate their fibers' starting order.
    workers().run([&] {
        thread_local Block b;
        thread_local std::vector<unsigned char> dynamic;
        // Uninitialised shared memory on a GPU holds garbage: all-ones bytes read as NaN / -1 here.
        dynamic.assign(shared_bytes + 16, 0xff);
        running = &b;
        b.kernel = &k;
        b.params = params;
        block_dim = block;
        grid_dim = grid;
        dynamic_shared = dynamic.data();
        for (long n; !failed.load() && (n = next.fetch_add(1)) < blocks;) {
            long i = (long) (((unsigned __int128) stride * (unsigned long long) n + shift) % (unsigned long long) blocks);
            bool reverse = (reverse_bits >> (n & 63) & 1) != 0;
            block_idx.x = (unsigned) (i % grid.x);
            block_idx.y = (unsigned) (i / grid.x % grid.y);
            block_idx.z = (unsigned) (i / ((long) grid.x * grid.y));
            b.error.clear();
            run_block(b, (int) threads, reverse);
            if (!b.error.empty()) {
                std::lock_guard<std::mutex> g(error_lock);
                if (!failed.exchange(true)) first_error = b.error;
            }
        }
        running = nullptr;
    });
    return failed ? std::string(k.name) + ": " + first_error : "";
}

}  // namespace emu
