// driver.cpp - an emulated libcuda.so.1: the CUDA driver API calls that JCuda's natives and our
// CUDA backend make, over host memory, with kernels from the registry (runtime.cpp).
//
// Device memory is host memory (a device pointer is a host address), streams and events are
// synchronous, a launch runs to completion before cuLaunchKernel returns. What a real driver
// checks and we rely on, it checks too: copies must stay inside live allocations, frees must
// name one, a module's kernels must be the `.entry` names of the PTX it was loaded from, and
// device memory is limited (OOD4J_CUDA_EMU_MEMORY bytes, default 4 GiB) so the out-of-memory
// path can be tested. Every other driver call JCuda links (build.sh generates them from
// driver-symbols.txt) answers CUDA_ERROR_NOT_SUPPORTED and says so on stderr.
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>

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
    std::set<void*> pinned;
    size_t used = 0;
    size_t limit = 0;
};

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

EXPORT CUresult cuCtxSynchronize() { return ready(); }

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

EXPORT CUresult cuLaunchKernel(void* function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                               unsigned bz, unsigned shared_bytes, void* /*stream*/, void** params, void** extra) {
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
    std::string error = emu::launch(k, grid, block, shared_bytes, params);
    if (!error.empty()) {
        fprintf(stderr, "ood4j CUDA emulator: launch failed: %s\n", error.c_str());
        return CUDA_ERROR_LAUNCH_FAILED;
    }
    return CUDA_SUCCESS;
}

// Streams and events: work is done when its call returns, so they only need to be valid handles.
EXPORT CUresult cuStreamCreate(void** stream, unsigned) {
    if (CUresult r = ready()) return r;
    *stream = new int(1);
    return CUDA_SUCCESS;
}
EXPORT CUresult cuStreamCreateWithPriority(void** stream, unsigned flags, int) { return cuStreamCreate(stream, flags); }
EXPORT CUresult cuStreamDestroy_v2(void* stream) {
    delete static_cast<int*>(stream);
    return CUDA_SUCCESS;
}
EXPORT CUresult cuStreamSynchronize(void*) { return ready(); }
EXPORT CUresult cuStreamQuery(void*) { return ready(); }
EXPORT CUresult cuEventCreate(void** event, unsigned) {
    if (CUresult r = ready()) return r;
    *event = new int(2);
    return CUDA_SUCCESS;
}
EXPORT CUresult cuEventRecord(void* event, void*) { return event ? ready() : CUDA_ERROR_INVALID_HANDLE; }
EXPORT CUresult cuEventRecordWithFlags(void* event, void* stream, unsigned) { return cuEventRecord(event, stream); }
EXPORT CUresult cuEventSynchronize(void* event) { return event ? ready() : CUDA_ERROR_INVALID_HANDLE; }
EXPORT CUresult cuEventQuery(void* event) { return event ? ready() : CUDA_ERROR_INVALID_HANDLE; }
EXPORT CUresult cuEventDestroy_v2(void* event) {
    delete static_cast<int*>(event);
    return CUDA_SUCCESS;
}
EXPORT CUresult cuEventElapsedTime(float* ms, void*, void*) {
    *ms = 0;  // no timing model: an emulator's times mean nothing
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytes) {
    if (CUresult r = ready()) return r;
    if (!dptr || bytes == 0) return CUDA_ERROR_INVALID_VALUE;
    Memory& m = memory();
    std::lock_guard<std::mutex> g(m.lock);
    if (m.used + bytes > m.limit) return CUDA_ERROR_OUT_OF_MEMORY;
    void* p = nullptr;
    if (posix_memalign(&p, 256, bytes) != 0) return CUDA_ERROR_OUT_OF_MEMORY;
    memset(p, 0xa5, bytes);  // fresh device memory holds garbage, never zeros to rely on
    m.device[(CUdeviceptr) p] = bytes;
    m.used += bytes;
    *dptr = (CUdeviceptr) p;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr p) {
    if (p == 0) return CUDA_SUCCESS;
    Memory& m = memory();
    std::lock_guard<std::mutex> g(m.lock);
    auto it = m.device.find(p);
    if (it == m.device.end()) {
        fprintf(stderr, "ood4j CUDA emulator: cuMemFree of 0x%llx, which is not a live allocation\n", p);
        return CUDA_ERROR_INVALID_VALUE;
    }
    m.used -= it->second;
    m.device.erase(it);
    free((void*) p);
    return CUDA_SUCCESS;
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
    m.pinned.insert(*p);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemFreeHost(void* p) {
    Memory& m = memory();
    std::lock_guard<std::mutex> g(m.lock);
    if (!m.pinned.erase(p)) return CUDA_ERROR_INVALID_VALUE;
    free(p);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t bytes) {
    if (CUresult r = ready()) return r;
    if (bytes == 0) return CUDA_SUCCESS;
    if (!inside(dst, bytes)) return bad_range("cuMemcpyHtoD (destination)", dst, bytes);
    memcpy((void*) dst, src, bytes);
    return CUDA_SUCCESS;
}
EXPORT CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t bytes) {
    if (CUresult r = ready()) return r;
    if (bytes == 0) return CUDA_SUCCESS;
    if (!inside(src, bytes)) return bad_range("cuMemcpyDtoH (source)", src, bytes);
    memcpy(dst, (const void*) src, bytes);
    return CUDA_SUCCESS;
}
EXPORT CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
    if (CUresult r = ready()) return r;
    if (bytes == 0) return CUDA_SUCCESS;
    if (!inside(dst, bytes)) return bad_range("cuMemcpyDtoD (destination)", dst, bytes);
    if (!inside(src, bytes)) return bad_range("cuMemcpyDtoD (source)", src, bytes);
    memmove((void*) dst, (const void*) src, bytes);
    return CUDA_SUCCESS;
}
EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t bytes, void*) { return cuMemcpyHtoD_v2(dst, src, bytes); }
EXPORT CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t bytes, void*) { return cuMemcpyDtoH_v2(dst, src, bytes); }
EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes, void*) { return cuMemcpyDtoD_v2(dst, src, bytes); }

EXPORT CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char value, size_t count) {
    if (CUresult r = ready()) return r;
    if (count == 0) return CUDA_SUCCESS;
    if (!inside(dst, count)) return bad_range("cuMemsetD8", dst, count);
    memset((void*) dst, value, count);
    return CUDA_SUCCESS;
}
EXPORT CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t count, void*) { return cuMemsetD8_v2(dst, value, count); }

EXPORT CUresult cuGetErrorName(CUresult error, const char** name) {
    switch (error) {
        case CUDA_SUCCESS: *name = "CUDA_SUCCESS"; break;
        case CUDA_ERROR_INVALID_VALUE: *name = "CUDA_ERROR_INVALID_VALUE"; break;
        case CUDA_ERROR_OUT_OF_MEMORY: *name = "CUDA_ERROR_OUT_OF_MEMORY"; break;
        case CUDA_ERROR_NOT_INITIALIZED: *name = "CUDA_ERROR_NOT_INITIALIZED"; break;
        case CUDA_ERROR_INVALID_CONTEXT: *name = "CUDA_ERROR_INVALID_CONTEXT"; break;
        case CUDA_ERROR_NOT_FOUND: *name = "CUDA_ERROR_NOT_FOUND"; break;
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
