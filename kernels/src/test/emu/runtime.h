// runtime.h - the emulator's kernel registry and launch, shared by driver.cpp and the generated
// per-module files (build.sh writes one per .cu: the .cu inside a namespace of its own, then a
// Registrar per extern "C" kernel, so cuModuleGetFunction finds it by name).
#pragma once

#include <string>
#include <utility>

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
};

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
};

struct Registrar {
    template <typename... A>
    Registrar(const char* module, const char* name, void (*f)(A...)) {
        register_kernel(Kernel{module, name, reinterpret_cast<void*>(f), &Invoke<A...>::call, (int) sizeof...(A)});
    }
};

}  // namespace emu
