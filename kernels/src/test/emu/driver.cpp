// driver.cpp - an emulated libcuda.so.1: the CUDA driver API calls that JCuda's natives and our
// CUDA backend make, over host memory, with kernels from the registry (runtime.cpp).
//
// Device memory is host memory (a device pointer is a host address). What a real driver checks
// and we rely on, it checks too: copies must stay inside live allocations, frees must name one,
// a module's kernels must be the `.entry` names of the PTX it was loaded from, and device memory
// is limited (OOD4J_CUDA_EMU_MEMORY bytes, default 4 GiB) so the out-of-memory path can be
// tested. Every other driver call JCuda links (build.sh generates them from
// driver-symbols.txt) answers CUDA_ERROR_NOT_SUPPORTED and says so on stderr.
//
// Adversarial behaviours (emu.h lists the switches), each there so that a bug a GPU would
// expose shows here as a wrong result or an error:
//  - asynchronous streams: each stream is a host worker thread that runs its launches, copies
//    and memsets in order, concurrently with the caller and with other streams; events mark a
//    position in a stream, cuStreamWaitEvent makes a stream wait for it, cuStreamSynchronize /
//    cuEventSynchronize / cuCtxSynchronize wait on the host. The synchronous copies
//    (cuMemcpyHtoD/DtoH/DtoD) run at once on the calling thread without waiting for any stream
//    (our streams are non-blocking, so the legacy stream does not order them), and an async copy
//    to or from pageable (not cuMemAllocHost) memory is synchronous, as the real driver's is.
//    A kernel that fails asynchronously is reported by the stream's next synchronisation;
//  - launch limits of sm_90: the shape limits, plus dynamic shared memory over 48 KB only after
//    cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES), and static (from the PTX) + dynamic
//    shared memory at most 227 KB;
//  - overlapping device-to-device copies refused (CUDA leaves their result undefined);
//  - fresh device memory and freed device memory poisoned with 0xff bytes (NaN as float32 and
//    float64, -1 as int64); freed blocks stay poisoned in a quarantine (64 MiB, oldest reused
//    first) so that a read after cuMemFree sees NaN, and a copy touching them is refused.
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runtime.h"

#define EXPORT extern "C" __attribute__((visibility("default")))

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

enum {
    CUDA_SUCCESS = 0,
    CUDA_ERROR_INVALID_VALUE = 1,
    CUDA_ERROR_OUT_OF_MEMORY = 2,
    CUDA_ERROR_NOT_INITIALIZED = 3,
    CUDA_ERROR_INVALID_DEVICE = 101,
    CUDA_ERROR_INVALID_IMAGE = 200,
    CUDA_ERROR_INVALID_CONTEXT = 201,
    CUDA_ERROR_INVALID_HANDLE = 400,
    CUDA_ERROR_NOT_FOUND = 500,
    CUDA_ERROR_NOT_READY = 600,
    CUDA_ERROR_ILLEGAL_ADDRESS = 700,
    CUDA_ERROR_LAUNCH_FAILED = 719,
    CUDA_ERROR_NOT_SUPPORTED = 801,
};

namespace {

const char* DEVICE_NAME = "ood4j CUDA host emulator (not a GPU)";
const int DRIVER_VERSION = 13000;

struct Module {
    std::set<std::string> entries;  // the PTX's .entry names
};

struct Memory {
    std::mutex lock;
    std::map<CUdeviceptr, size_t> device;  // base -> bytes
    std::map<uintptr_t, size_t> pinned;    // cuMemAllocHost: base -> bytes
    std::deque<std::pair<void*, size_t>> quarantine;  // freed, poisoned, not yet given back
    size_t quarantined = 0;
    size_t used = 0;
    size_t limit = 0;
};

const size_t QUARANTINE_BYTES = 64ULL << 20;
const unsigned char POISON = 0xff;  // NaN in float32 and float64, -1 in int64

Memory& memory() {
    static Memory m;
    if (m.limit == 0) {
        const char* env = getenv("OOD4J_CUDA_EMU_MEMORY");
        m.limit = env ? strtoull(env, nullptr, 10) : (4ULL << 30);
        if (m.limit == 0) m.limit = 4ULL << 30;
    }
    return m;
}

bool initialized = false;
int primary_context;  // its address is the context handle
thread_local void* current_context;

// Whether [p, p + bytes) lies inside one live device allocation.
bool inside(CUdeviceptr p, size_t bytes) {
    Memory& m = memory();
    std::lock_guard<std::mutex> g(m.lock);
    auto it = m.device.upper_bound(p);
    if (it == m.device.begin()) return false;
    --it;
    return p >= it->first && p + bytes <= it->first + it->second;
}

CUresult bad_range(const char* call, CUdeviceptr p, size_t bytes) {
    fprintf(stderr, "ood4j CUDA emulator: %s of %zu bytes at 0x%llx is outside every live allocation\n", call, bytes, p);
    return CUDA_ERROR_INVALID_VALUE;
}

// Whether [p, p + bytes) lies inside one cuMemAllocHost block (else it is pageable).
bool pinned(const void* p, size_t bytes) {
    Memory& m = memory();
    std::lock_guard<std::mutex> g(m.lock);
    auto it = m.pinned.upper_bound((uintptr_t) p);
    if (it == m.pinned.begin()) return false;
    --it;
    return (uintptr_t) p >= it->first && (uintptr_t) p + bytes <= it->first + it->second;
}

void read_static_shared(const std::string& ptx);  // (launches, below)

CUresult ready() { return initialized ? (current_context ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT) : CUDA_ERROR_NOT_INITIALIZED; }

}  // namespace

EXPORT CUresult cuInit(unsigned flags) {
    if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
    initialized = true;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDriverGetVersion(int* version) {
    if (!version) return CUDA_ERROR_INVALID_VALUE;
    *version = DRIVER_VERSION;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetCount(int* count) {
    if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
    *count = 1;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGet(int* device, int ordinal) {
    if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
    if (ordinal != 0) return CUDA_ERROR_INVALID_DEVICE;
    *device = 0;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetName(char* name, int length, int device) {
    if (device != 0) return CUDA_ERROR_INVALID_DEVICE;
    if (!name || length <= 0) return CUDA_ERROR_INVALID_VALUE;
    snprintf(name, (size_t) length, "%s", DEVICE_NAME);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetAttribute(int* value, int attribute, int device) {
    if (device != 0) return CUDA_ERROR_INVALID_DEVICE;
    switch (attribute) {
        case 1: *value = 1024; break;           // max threads per block
        case 2: case 3: *value = 1024; break;   // max block dim x, y
        case 4: *value = 64; break;             // max block dim z
        case 5: *value = 2147483647; break;     // max grid dim x
        case 6: case 7: *value = 65535; break;  // max grid dim y, z
        case 8: *value = 48 * 1024; break;      // shared memory per block
        case 10: *value = 32; break;            // warp size
        case 16: *value = 2; break;             // multiprocessors: small grids, so grid-stride loops loop
        case 75: *value = 9; break;             // compute capability major
        case 76: *value = 0; break;             // minor
        case 97: *value = 227 * 1024; break;    // shared memory per block, opt-in
        default: *value = 0; break;
    }
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxRetain(void** context, int device) {
    if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
    if (device != 0) return CUDA_ERROR_INVALID_DEVICE;
    *context = &primary_context;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxRelease_v2(int device) { return device == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE; }

EXPORT CUresult cuCtxSetCurrent(void* context) {
    if (context && context != &primary_context) return CUDA_ERROR_INVALID_CONTEXT;
    current_context = context;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetCurrent(void** context) {
    *context = current_context;
    return CUDA_SUCCESS;
}


// The PTX's ".entry name(" lines: cuModuleGetFunction accepts exactly these.
EXPORT CUresult cuModuleLoadData(void** module, const void* image) {
    if (CUresult r = ready()) return r;
    if (!module || !image) return CUDA_ERROR_INVALID_VALUE;
    std::string ptx(static_cast<const char*>(image));
    if (ptx.find(".version") == std::string::npos || ptx.find(".target") == std::string::npos) return CUDA_ERROR_INVALID_IMAGE;
    Module* m = new Module();
    for (size_t at = ptx.find(".entry "); at != std::string::npos; at = ptx.find(".entry ", at + 7)) {
        size_t begin = at + 7, end = begin;
        while (end < ptx.size() && (isalnum((unsigned char) ptx[end]) || ptx[end] == '_')) end++;
        m->entries.insert(ptx.substr(begin, end - begin));
    }
    read_static_shared(ptx);
    *module = m;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuModuleLoadDataEx(void** module, const void* image, unsigned, void*, void**) {
    return cuModuleLoadData(module, image);
}

EXPORT CUresult cuModuleGetFunction(void** function, void* module, const char* name) {
    if (CUresult r = ready()) return r;
    if (!module) return CUDA_ERROR_INVALID_HANDLE;
    if (!static_cast<Module*>(module)->entries.count(name)) return CUDA_ERROR_NOT_FOUND;
    const emu::Kernel* k = emu::find_kernel(name);
    if (!k) {
        fprintf(stderr, "ood4j CUDA emulator: kernel %s is in the PTX but was not compiled into the emulator\n", name);
        return CUDA_ERROR_NOT_FOUND;
    }
    *function = const_cast<emu::Kernel*>(k);
    return CUDA_SUCCESS;
}

// OOD4J_CUDA_EMU_STATS=1: at exit, launches and blocks per kernel on stderr (a GPU pays some
// microseconds per launch, so a path that launches per sample shows here before it shows on a GPU).
struct LaunchStats {
    std::mutex lock;
    std::map<std::string, std::pair<long long, long long>> byKernel;  // launches, blocks
    bool enabled = getenv("OOD4J_CUDA_EMU_STATS") != nullptr;
    ~LaunchStats() {
        if (!enabled) return;
        long long launches = 0;
        for (auto& e : byKernel) launches += e.second.first;
        fprintf(stderr, "ood4j CUDA emulator: %lld launches\n", launches);
        for (auto& e : byKernel) fprintf(stderr, "  %-24s %10lld launches %12lld blocks\n", e.first.c_str(), e.second.first, e.second.second);
    }
};
LaunchStats launch_stats;

// ---- streams and events (see the file comment) ----

namespace {

// A thread that waits for a stream's position runs the stream's next items itself while no one
// else runs one (one at a time, in order), instead of sleeping until the worker is scheduled:
// the same order and the same asynchrony until someone waits, without a scheduler round trip
// per synchronisation (which made the emulated demo several times slower on a loaded machine).
struct Stream {
    std::mutex m;
    std::condition_variable cv;  // work arrived, work completed, or stop
    std::deque<std::function<CUresult()>> queue;
    unsigned long long enqueued = 0, completed = 0;
    CUresult error = CUDA_SUCCESS;  // the first failure of its asynchronous work, until a synchronisation reports it
    bool running = false;           // an item is being run (by the worker or a waiting thread)
    bool stop = false;
    std::thread worker;

    Stream() {
        if (emu::adversarial().async) worker = std::thread([this] { loop(); });
    }

    ~Stream() {  // drains the queue first, as cuStreamDestroy lets pending work finish
        {
            std::lock_guard<std::mutex> l(m);
            stop = true;
        }
        cv.notify_all();
        if (worker.joinable()) {
            if (worker.get_id() == std::this_thread::get_id()) worker.detach();
            else worker.join();
        }
    }

    void loop() {
        std::unique_lock<std::mutex> l(m);
        for (;;) {
            cv.wait(l, [&] { return (stop && !running) || (!queue.empty() && !running); });
            if (queue.empty()) return;
            run_next(l);
        }
    }

    // Runs the next item (the lock held on entry and exit, released while it runs).
    void run_next(std::unique_lock<std::mutex>& l) {
        std::function<CUresult()> work = std::move(queue.front());
        queue.pop_front();
        running = true;
        l.unlock();
        CUresult r = work();
        work = nullptr;  // its captures die outside the lock
        l.lock();
        running = false;
        if (r != CUDA_SUCCESS && error == CUDA_SUCCESS) error = r;
        completed++;
        cv.notify_all();
    }

    // Runs work in stream order: on the worker, or at once when streams are synchronous (then
    // its result is returned, as the synchronous emulator always did).
    CUresult submit(std::function<CUresult()> work) {
        if (!worker.joinable()) return work();
        {
            std::lock_guard<std::mutex> l(m);
            queue.push_back(std::move(work));
            enqueued++;
        }
        cv.notify_all();
        return CUDA_SUCCESS;
    }

    unsigned long long position() {
        std::lock_guard<std::mutex> l(m);
        return enqueued;
    }

    void wait_for(unsigned long long position) {
        std::unique_lock<std::mutex> l(m);
        while (completed < position) {
            if (!queue.empty() && !running) run_next(l);
            else cv.wait(l);
        }
    }

    bool reached(unsigned long long position) {
        std::lock_guard<std::mutex> l(m);
        return completed >= position;
    }

    // Waits for everything submitted so far; returns (and clears) a failure of asynchronous work.
    CUresult synchronize() {
        wait_for(position());
        std::lock_guard<std::mutex> l(m);
        CUresult r = error;
        error = CUDA_SUCCESS;
        return r;
    }
};

struct Streams {
    std::mutex lock;
    std::map<void*, std::shared_ptr<Stream>> live;  // handle -> stream
};

Streams& streams() {
    static Streams* s = new Streams();  // never destroyed: workers may outlive static destruction
    return *s;
}

// The stream of a handle; null for the legacy stream (handle 0, CU_STREAM_LEGACY 1,
// CU_STREAM_PER_THREAD 2), whose work runs at once on the calling thread.
CUresult find_stream(void* handle, std::shared_ptr<Stream>& out) {
    out.reset();
    if ((uintptr_t) handle <= 2) return CUDA_SUCCESS;
    Streams& s = streams();
    std::lock_guard<std::mutex> g(s.lock);
    auto it = s.live.find(handle);
    if (it == s.live.end()) return CUDA_ERROR_INVALID_HANDLE;
    out = it->second;
    return CUDA_SUCCESS;
}

// Runs work in the order of the stream named by handle (see Stream::submit).
CUresult submit(void* handle, std::function<CUresult()> work) {
    std::shared_ptr<Stream> s;
    if (CUresult r = find_stream(handle, s)) return r;
    return s ? s->submit(std::move(work)) : work();
}

struct Event {
    std::mutex m;
    std::shared_ptr<Stream> stream;  // where it was last recorded (null: never, or the legacy stream)
    unsigned long long position = 0;

    void snapshot(std::shared_ptr<Stream>& s, unsigned long long& at) {
        std::lock_guard<std::mutex> l(m);
        s = stream;
        at = position;
    }
};

}  // namespace

EXPORT CUresult cuStreamCreate(void** stream, unsigned) {
    if (CUresult r = ready()) return r;
    if (!stream) return CUDA_ERROR_INVALID_VALUE;
    auto s = std::make_shared<Stream>();
    Streams& all = streams();
    std::lock_guard<std::mutex> g(all.lock);
    all.live[s.get()] = s;
    *stream = s.get();
    return CUDA_SUCCESS;
}
EXPORT CUresult cuStreamCreateWithPriority(void** stream, unsigned flags, int) { return cuStreamCreate(stream, flags); }
EXPORT CUresult cuStreamDestroy_v2(void* stream) {
    std::shared_ptr<Stream> s;
    {
        Streams& all = streams();
        std::lock_guard<std::mutex> g(all.lock);
        auto it = all.live.find(stream);
        if (it == all.live.end()) return CUDA_ERROR_INVALID_HANDLE;
        s = it->second;
        all.live.erase(it);
    }
    return CUDA_SUCCESS;  // the last reference drains and stops the worker
}
EXPORT CUresult cuStreamSynchronize(void* stream) {
    if (CUresult r = ready()) return r;
    std::shared_ptr<Stream> s;
    if (CUresult r = find_stream(stream, s)) return r;
    return s ? s->synchronize() : CUDA_SUCCESS;
}
EXPORT CUresult cuStreamQuery(void* stream) {
    if (CUresult r = ready()) return r;
    std::shared_ptr<Stream> s;
    if (CUresult r = find_stream(stream, s)) return r;
    return !s || s->reached(s->position()) ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY;
}
EXPORT CUresult cuCtxSynchronize() {
    if (CUresult r = ready()) return r;
    std::vector<std::shared_ptr<Stream>> all;
    {
        Streams& s = streams();
        std::lock_guard<std::mutex> g(s.lock);
        for (auto& e : s.live) all.push_back(e.second);
    }
    CUresult first = CUDA_SUCCESS;
    for (auto& s : all) {
        CUresult r = s->synchronize();
        if (first == CUDA_SUCCESS) first = r;
    }
    return first;
}
EXPORT CUresult cuEventCreate(void** event, unsigned) {
    if (CUresult r = ready()) return r;
    if (!event) return CUDA_ERROR_INVALID_VALUE;
    *event = new Event();
    return CUDA_SUCCESS;
}
// The event marks what the stream holds now; a later record moves the mark.
EXPORT CUresult cuEventRecord(void* event, void* stream) {
    if (!event) return CUDA_ERROR_INVALID_HANDLE;
    if (CUresult r = ready()) return r;
    std::shared_ptr<Stream> s;
    if (CUresult r = find_stream(stream, s)) return r;
    Event& e = *static_cast<Event*>(event);
    std::lock_guard<std::mutex> l(e.m);
    e.stream = s;
    e.position = s ? s->position() : 0;
    return CUDA_SUCCESS;
}
EXPORT CUresult cuEventRecordWithFlags(void* event, void* stream, unsigned) { return cuEventRecord(event, stream); }
EXPORT CUresult cuEventSynchronize(void* event) {
    if (!event) return CUDA_ERROR_INVALID_HANDLE;
    if (CUresult r = ready()) return r;
    std::shared_ptr<Stream> s;
    unsigned long long at;
    static_cast<Event*>(event)->snapshot(s, at);
    if (s) s->wait_for(at);
    return CUDA_SUCCESS;
}
EXPORT CUresult cuEventQuery(void* event) {
    if (!event) return CUDA_ERROR_INVALID_HANDLE;
    if (CUresult r = ready()) return r;
    std::shared_ptr<Stream> s;
    unsigned long long at;
    static_cast<Event*>(event)->snapshot(s, at);
    return !s || s->reached(at) ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY;
}
// Work submitted to `stream` after this call waits until the event's stream has reached the
// position the event marked when this call was made (re-recording the event later changes nothing).
EXPORT CUresult cuStreamWaitEvent(void* stream, void* event, unsigned flags) {
    if (!event) return CUDA_ERROR_INVALID_HANDLE;
    if (CUresult r = ready()) return r;
    if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
    std::shared_ptr<Stream> waiter, source;
    if (CUresult r = find_stream(stream, waiter)) return r;
    unsigned long long at;
    static_cast<Event*>(event)->snapshot(source, at);
    if (!source || source == waiter) return CUDA_SUCCESS;
    if (!waiter) {  // the legacy stream runs at once: wait here
        source->wait_for(at);
        return CUDA_SUCCESS;
    }
    return waiter->submit([source, at] {
        source->wait_for(at);
        return (CUresult) CUDA_SUCCESS;
    });
}
EXPORT CUresult cuEventDestroy_v2(void* event) {
    delete static_cast<Event*>(event);
    return CUDA_SUCCESS;
}
EXPORT CUresult cuEventElapsedTime(float* ms, void*, void*) {
    *ms = 0;  // no timing model: an emulator's times mean nothing
    return CUDA_SUCCESS;
}

// For the emulated cuBLAS and cuSOLVER (linked against this library): runs run(arg) in the
// order of `stream`, which their handles are bound to.
EXPORT CUresult ood4j_emu_submit(void* stream, int (*run)(void*), void* arg) {
    return submit(stream, [run, arg] { return (CUresult) run(arg); });
}

// ---- memory ----

EXPORT CUresult cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytes) {
    if (CUresult r = ready()) return r;
    if (!dptr || bytes == 0) return CUDA_ERROR_INVALID_VALUE;
    Memory& m = memory();
    std::lock_guard<std::mutex> g(m.lock);
    if (m.used + bytes > m.limit) return CUDA_ERROR_OUT_OF_MEMORY;
    void* p = nullptr;
    if (posix_memalign(&p, 256, bytes) != 0) return CUDA_ERROR_OUT_OF_MEMORY;
    // fresh device memory holds garbage, never zeros to rely on; poisoned: NaN / -1
    memset(p, emu::adversarial().poison ? POISON : 0xa5, bytes);
    m.device[(CUdeviceptr) p] = bytes;
    m.used += bytes;
    *dptr = (CUdeviceptr) p;
    return CUDA_SUCCESS;
}

// As cudaFree, it waits for the device first (no stream may still use the block).
EXPORT CUresult cuMemFree_v2(CUdeviceptr p) {
    if (p == 0) return CUDA_SUCCESS;
    CUresult pending = cuCtxSynchronize();
    Memory& m = memory();
    std::lock_guard<std::mutex> g(m.lock);
    auto it = m.device.find(p);
    if (it == m.device.end()) {
        fprintf(stderr, "ood4j CUDA emulator: cuMemFree of 0x%llx, which is not a live allocation\n", p);
        return CUDA_ERROR_INVALID_VALUE;
    }
    size_t bytes = it->second;
    m.used -= bytes;
    m.device.erase(it);
    if (emu::adversarial().poison) {
        memset((void*) p, POISON, bytes);
        m.quarantine.emplace_back((void*) p, bytes);
        m.quarantined += bytes;
        while (m.quarantined > QUARANTINE_BYTES) {
            m.quarantined -= m.quarantine.front().second;
            free(m.quarantine.front().first);
            m.quarantine.pop_front();
        }
    } else {
        free((void*) p);
    }
    return pending;
}

EXPORT CUresult cuMemGetInfo_v2(size_t* free_bytes, size_t* total) {
    if (CUresult r = ready()) return r;
    Memory& m = memory();
    std::lock_guard<std::mutex> g(m.lock);
    *free_bytes = m.limit - m.used;
    *total = m.limit;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemAllocHost_v2(void** p, size_t bytes) {
    if (CUresult r = ready()) return r;
    if (posix_memalign(p, 4096, bytes ? bytes : 1) != 0) return CUDA_ERROR_OUT_OF_MEMORY;
    Memory& m = memory();
    std::lock_guard<std::mutex> g(m.lock);
    m.pinned[(uintptr_t) *p] = bytes ? bytes : 1;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemFreeHost(void* p) {
    cuCtxSynchronize();  // no pending copy may still use it
    Memory& m = memory();
    std::lock_guard<std::mutex> g(m.lock);
    if (!m.pinned.erase((uintptr_t) p)) return CUDA_ERROR_INVALID_VALUE;
    free(p);
    return CUDA_SUCCESS;
}

namespace {

CUresult copy(void* dst, const void* src, size_t bytes) {
    memmove(dst, src, bytes);
    return CUDA_SUCCESS;
}

CUresult check_dtod(CUdeviceptr dst, CUdeviceptr src, size_t bytes, const char* call) {
    if (!inside(dst, bytes)) return bad_range((std::string(call) + " (destination)").c_str(), dst, bytes);
    if (!inside(src, bytes)) return bad_range((std::string(call) + " (source)").c_str(), src, bytes);
    if (emu::adversarial().overlap && dst < src + bytes && src < dst + bytes) {
        fprintf(stderr, "ood4j CUDA emulator: %s of %zu bytes from 0x%llx to 0x%llx: the ranges overlap (undefined on a GPU)\n",
                call, bytes, src, dst);
        return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}

}  // namespace

EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t bytes) {
    if (CUresult r = ready()) return r;
    if (bytes == 0) return CUDA_SUCCESS;
    if (!inside(dst, bytes)) return bad_range("cuMemcpyHtoD (destination)", dst, bytes);
    return copy((void*) dst, src, bytes);
}
EXPORT CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t bytes) {
    if (CUresult r = ready()) return r;
    if (bytes == 0) return CUDA_SUCCESS;
    if (!inside(src, bytes)) return bad_range("cuMemcpyDtoH (source)", src, bytes);
    return copy(dst, (const void*) src, bytes);
}
EXPORT CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
    if (CUresult r = ready()) return r;
    if (bytes == 0) return CUDA_SUCCESS;
    if (CUresult r = check_dtod(dst, src, bytes, "cuMemcpyDtoD")) return r;
    return copy((void*) dst, (const void*) src, bytes);
}
// From pinned memory the copy reads the source when the stream gets to it (so overwriting the
// buffer before the stream is done shows); from pageable memory the driver stages it at once.
EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t bytes, void* stream) {
    if (CUresult r = ready()) return r;
    if (bytes == 0) return CUDA_SUCCESS;
    if (!inside(dst, bytes)) return bad_range("cuMemcpyHtoDAsync (destination)", dst, bytes);
    if (pinned(src, bytes)) return submit(stream, [=] { return copy((void*) dst, src, bytes); });
    auto staged = std::make_shared<std::vector<unsigned char>>((const unsigned char*) src, (const unsigned char*) src + bytes);
    return submit(stream, [=] { return copy((void*) dst, staged->data(), bytes); });
}
// Into pageable memory the copy is synchronous (the driver waits for the stream, then copies).
EXPORT CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t bytes, void* stream) {
    if (CUresult r = ready()) return r;
    if (bytes == 0) return CUDA_SUCCESS;
    if (!inside(src, bytes)) return bad_range("cuMemcpyDtoHAsync (source)", src, bytes);
    if (pinned(dst, bytes)) return submit(stream, [=] { return copy(dst, (const void*) src, bytes); });
    if (CUresult r = cuStreamSynchronize(stream)) return r;
    return copy(dst, (const void*) src, bytes);
}
EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes, void* stream) {
    if (CUresult r = ready()) return r;
    if (bytes == 0) return CUDA_SUCCESS;
    if (CUresult r = check_dtod(dst, src, bytes, "cuMemcpyDtoDAsync")) return r;
    return submit(stream, [=] { return copy((void*) dst, (const void*) src, bytes); });
}

EXPORT CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char value, size_t count) {
    if (CUresult r = ready()) return r;
    if (count == 0) return CUDA_SUCCESS;
    if (!inside(dst, count)) return bad_range("cuMemsetD8", dst, count);
    memset((void*) dst, value, count);
    return CUDA_SUCCESS;
}
EXPORT CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t count, void* stream) {
    if (CUresult r = ready()) return r;
    if (count == 0) return CUDA_SUCCESS;
    if (!inside(dst, count)) return bad_range("cuMemsetD8Async", dst, count);
    return submit(stream, [=] {
        memset((void*) dst, value, count);
        return (CUresult) CUDA_SUCCESS;
    });
}

// ---- launches ----

namespace {

// Per kernel: static shared memory (from the PTX) and the dynamic shared memory it may be
// launched with (cuFuncSetAttribute MAX_DYNAMIC_SHARED_SIZE_BYTES; 48 KB without it).
struct SharedLimits {
    std::mutex lock;
    std::map<std::string, unsigned> static_bytes;
    std::map<const emu::Kernel*, unsigned> max_dynamic;
};
SharedLimits& shared_limits() {
    static SharedLimits s;
    return s;
}
const unsigned DEFAULT_DYNAMIC = 48 * 1024, MAX_SHARED = 227 * 1024;

// The bytes of the `.shared` variables declared inside each .entry of a PTX (nvcc demotes a
// kernel's __shared__ arrays to such declarations; `.extern .shared` is the dynamic part).
void read_static_shared(const std::string& ptx) {
    static const std::regex decl(R"(^\s*\.shared\s+(?:\.align\s+\d+\s+)?\.[busf](\d+)\s+[^\[;\s]+(?:\[(\d+)\])?\s*;)");
    SharedLimits& limits = shared_limits();
    std::lock_guard<std::mutex> g(limits.lock);
    std::string entry;
    size_t line_start = 0;
    while (line_start < ptx.size()) {
        size_t line_end = ptx.find('\n', line_start);
        if (line_end == std::string::npos) line_end = ptx.size();
        std::string line = ptx.substr(line_start, line_end - line_start);
        line_start = line_end + 1;
        size_t at = line.find(".entry ");
        if (at != std::string::npos) {
            size_t begin = at + 7, end = begin;
            while (end < line.size() && (isalnum((unsigned char) line[end]) || line[end] == '_')) end++;
            entry = line.substr(begin, end - begin);
            limits.static_bytes[entry] = 0;
            continue;
        }
        std::smatch match;
        if (!entry.empty() && line.find(".shared") != std::string::npos && std::regex_search(line, match, decl)) {
            unsigned bytes = (unsigned) std::stoul(match[1]) / 8 * (match[2].matched ? (unsigned) std::stoul(match[2]) : 1);
            limits.static_bytes[entry] += bytes;
        }
    }
}

// What an sm_90 device would refuse about this launch, or "".
std::string launch_limits(const emu::Kernel& k, emu::dim3 grid, emu::dim3 block, unsigned dynamic) {
    long threads = (long) block.x * block.y * block.z;
    if (threads < 1 || threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64) {
        return "block " + std::to_string(block.x) + "x" + std::to_string(block.y) + "x" + std::to_string(block.z) +
               " (at most 1024 threads, 1024 x 1024 x 64)";
    }
    if (grid.x < 1 || grid.y < 1 || grid.z < 1 || grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535) {
        return "grid " + std::to_string(grid.x) + "x" + std::to_string(grid.y) + "x" + std::to_string(grid.z) +
               " (at most 2^31-1 x 65535 x 65535)";
    }
    if (!emu::adversarial().limits) return "";
    SharedLimits& limits = shared_limits();
    std::lock_guard<std::mutex> g(limits.lock);
    unsigned fixed = limits.static_bytes.count(k.name) ? limits.static_bytes[k.name] : 0;
    unsigned allowed = limits.max_dynamic.count(&k) ? limits.max_dynamic[&k] : DEFAULT_DYNAMIC;
    if (dynamic > allowed) {
        return std::to_string(dynamic) + " bytes of dynamic shared memory, above the " + std::to_string(allowed) +
               " allowed (over 48 KB needs cuFuncSetAttribute MAX_DYNAMIC_SHARED_SIZE_BYTES)";
    }
    if ((unsigned long long) fixed + dynamic > MAX_SHARED) {
        return std::to_string(fixed) + " bytes of static and " + std::to_string(dynamic) + " of dynamic shared memory, above 227 KB";
    }
    return "";
}

}  // namespace

EXPORT CUresult cuFuncSetAttribute(void* function, int attribute, int value) {
    if (CUresult r = ready()) return r;
    if (!function) return CUDA_ERROR_INVALID_HANDLE;
    if (attribute != 8) return CUDA_ERROR_NOT_SUPPORTED;  // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
    const emu::Kernel* k = static_cast<emu::Kernel*>(function);
    SharedLimits& limits = shared_limits();
    std::lock_guard<std::mutex> g(limits.lock);
    unsigned fixed = limits.static_bytes.count(k->name) ? limits.static_bytes[k->name] : 0;
    if (value < 0 || (unsigned long long) fixed + (unsigned) value > MAX_SHARED) return CUDA_ERROR_INVALID_VALUE;
    limits.max_dynamic[k] = (unsigned) value;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuFuncGetAttribute(int* value, int attribute, void* function) {
    if (CUresult r = ready()) return r;
    if (!function || !value) return CUDA_ERROR_INVALID_VALUE;
    const emu::Kernel* k = static_cast<emu::Kernel*>(function);
    SharedLimits& limits = shared_limits();
    std::lock_guard<std::mutex> g(limits.lock);
    switch (attribute) {
        case 0: *value = 1024; break;  // MAX_THREADS_PER_BLOCK
        case 1: *value = (int) (limits.static_bytes.count(k->name) ? limits.static_bytes[k->name] : 0); break;  // SHARED_SIZE_BYTES
        case 8: *value = (int) (limits.max_dynamic.count(k) ? limits.max_dynamic[k] : DEFAULT_DYNAMIC); break;
        default: *value = 0; break;
    }
    return CUDA_SUCCESS;
}

EXPORT CUresult cuLaunchKernel(void* function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                               unsigned bz, unsigned shared_bytes, void* stream, void** params, void** extra) {
    if (CUresult r = ready()) return r;
    if (!function) return CUDA_ERROR_INVALID_HANDLE;
    if (extra) return CUDA_ERROR_NOT_SUPPORTED;
    const emu::Kernel& k = *static_cast<emu::Kernel*>(function);
    emu::dim3 grid, block;
    grid.x = gx; grid.y = gy; grid.z = gz;
    block.x = bx; block.y = by; block.z = bz;
    if (launch_stats.enabled) {
        std::lock_guard<std::mutex> g(launch_stats.lock);
        auto& e = launch_stats.byKernel[k.name];
        e.first++;
        e.second += (long long) gx * gy * gz;
    }
    std::string refused = launch_limits(k, grid, block, shared_bytes);
    if (!refused.empty()) {
        fprintf(stderr, "ood4j CUDA emulator: launch of %s refused: %s\n", k.name, refused.c_str());
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (!params && k.arity > 0) return CUDA_ERROR_INVALID_VALUE;
    auto args = std::make_shared<std::vector<void*>>();
    std::shared_ptr<void> values = params ? k.capture(params, *args) : nullptr;
    const emu::Kernel* kernel = &k;
    return submit(stream, [=] {
        std::string error = emu::launch(*kernel, grid, block, shared_bytes, args->empty() ? nullptr : args->data());
        if (!error.empty()) {
            fprintf(stderr, "ood4j CUDA emulator: launch failed: %s\n", error.c_str());
            return (CUresult) CUDA_ERROR_LAUNCH_FAILED;
        }
        (void) values;  // the argument copies live as long as the launch
        return (CUresult) CUDA_SUCCESS;
    });
}

EXPORT CUresult cuGetErrorName(CUresult error, const char** name) {
    switch (error) {
        case CUDA_SUCCESS: *name = "CUDA_SUCCESS"; break;
        case CUDA_ERROR_INVALID_VALUE: *name = "CUDA_ERROR_INVALID_VALUE"; break;
        case CUDA_ERROR_OUT_OF_MEMORY: *name = "CUDA_ERROR_OUT_OF_MEMORY"; break;
        case CUDA_ERROR_NOT_INITIALIZED: *name = "CUDA_ERROR_NOT_INITIALIZED"; break;
        case CUDA_ERROR_INVALID_CONTEXT: *name = "CUDA_ERROR_INVALID_CONTEXT"; break;
        case CUDA_ERROR_NOT_FOUND: *name = "CUDA_ERROR_NOT_FOUND"; break;
        case CUDA_ERROR_NOT_READY: *name = "CUDA_ERROR_NOT_READY"; break;
        case CUDA_ERROR_INVALID_HANDLE: *name = "CUDA_ERROR_INVALID_HANDLE"; break;
        case CUDA_ERROR_INVALID_DEVICE: *name = "CUDA_ERROR_INVALID_DEVICE"; break;
        case CUDA_ERROR_INVALID_IMAGE: *name = "CUDA_ERROR_INVALID_IMAGE"; break;
        case CUDA_ERROR_ILLEGAL_ADDRESS: *name = "CUDA_ERROR_ILLEGAL_ADDRESS"; break;
        case CUDA_ERROR_LAUNCH_FAILED: *name = "CUDA_ERROR_LAUNCH_FAILED"; break;
        case CUDA_ERROR_NOT_SUPPORTED: *name = "CUDA_ERROR_NOT_SUPPORTED"; break;
        default: *name = nullptr; return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}
EXPORT CUresult cuGetErrorString(CUresult error, const char** text) { return cuGetErrorName(error, text); }

// The answer of every other call JCuda links (build.sh generates one function per name).
extern "C" CUresult ood4j_emu_unsupported(const char* call) {
    fprintf(stderr, "ood4j CUDA emulator: %s is not emulated\n", call);
    return CUDA_ERROR_NOT_SUPPORTED;
}
