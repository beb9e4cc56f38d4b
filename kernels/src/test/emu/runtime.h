// runtime.h - the emulator's kernel registry and launch, shared by driver.cpp and the generated
// per-module files (build.sh writes one per .cu: the .cu inside a namespace of its own, then a
// Registrar per extern "C" kernel, so cuModuleGetFunction finds it by name).
#pragma once

#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "emu.h"

namespace emu {

// A kernel compiled for the host: `call` unpacks cuLaunchKernel's parameter array (each entry
// points at one argument's value) into the typed C++ signature of `fn`.
struct Kernel {
    const char* module;
    const char* name;
    void* fn;
    void (*call)(void* fn, void** params);
    int arity;
    // Copies the argument values out of a parameter array (cuLaunchKernel's caller may reuse it
    // once the call returns, before an asynchronous stream runs the launch): the copies, and in
    // `params` an array pointing at them.
    std::shared_ptr<void> (*capture)(void** params, std::vector<void*>& copy);
};

// The adversarial behaviours (see emu.h), read once from the environment.
struct Adversarial {
    bool async;    // streams run on host workers, concurrently with the caller and each other
    bool limits;   // sm_90 shared-memory limits (48 KB dynamic without the attribute, 227 KB in all)
    bool overlap;  // overlapping device-to-device copies refused
    bool shuffle;  // blocks run in a random order, fibers start forward or reverse at random
    bool poison;   // fresh and freed device memory filled with NaN bytes; freed blocks quarantined
    unsigned long long seed;
};
const Adversarial& adversarial();

void register_kernel(const Kernel& k);
const Kernel* find_kernel(const char* name);

// Runs every block of the grid; returns "" or what went wrong (a deadlock, a bad warp mask, a
// launch shape a GPU would refuse).
std::string launch(const Kernel& k, dim3 grid, dim3 block, unsigned shared_bytes, void** params);

template <typename... A>
struct Invoke {
    static void call(void* fn, void** p) { run(reinterpret_cast<void (*)(A...)>(fn), p, std::index_sequence_for<A...>{}); }

    template <size_t... I>
    static void run(void (*f)(A...), void** p, std::index_sequence<I...>) {
        f(*static_cast<typename std::decay<A>::type*>(p[I])...);
    }

    typedef std::tuple<typename std::decay<A>::type...> Args;

    static std::shared_ptr<void> capture(void** p, std::vector<void*>& copy) {
        return capture_values(p, copy, std::index_sequence_for<A...>{});
    }

    template <size_t... I>
    static std::shared_ptr<void> capture_values(void** p, std::vector<void*>& copy, std::index_sequence<I...>) {
        auto args = std::make_shared<Args>(*static_cast<typename std::decay<A>::type*>(p[I])...);
        copy = std::vector<void*>{static_cast<void*>(&std::get<I>(*args))...};
        return args;
    }
};

struct Registrar {
    template <typename... A>
    Registrar(const char* module, const char* name, void (*f)(A...)) {
        register_kernel(Kernel{module, name, reinterpret_cast<void*>(f), &Invoke<A...>::call, (int) sizeof...(A),
                                 &Invoke<A...>::capture});
    }
};

}  // namespace emu
