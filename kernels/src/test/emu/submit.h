// submit.h - for the emulated cuBLAS and cuSOLVER: their work runs in the order of the stream
// their handle is bound to (cublasSetStream / cusolverDnSetStream), on that stream's worker when
// streams are asynchronous (driver.cpp's ood4j_emu_submit; both libraries link libcuda.so.1).
// Arguments are checked when the call is made, as the real libraries do, and a call returns its
// status then; the computation runs later, with the scalars it was given copied.
#pragma once

#include <utility>

extern "C" int ood4j_emu_submit(void* stream, int (*run)(void*), void* arg);

namespace emu_lib {

template <typename F>
int submit(void* stream, F work) {
    F* heap = new F(std::move(work));
    int rc = ood4j_emu_submit(stream, [](void* arg) {
        F* w = static_cast<F*>(arg);
        (*w)();
        delete w;
        return 0;
    }, heap);
    if (rc != 0) {
        delete heap;
        return 14;  // CUBLAS_STATUS_INTERNAL_ERROR / CUSOLVER_STATUS_INTERNAL_ERROR: the stream handle is bad
    }
    return 0;
}

}  // namespace emu_lib
