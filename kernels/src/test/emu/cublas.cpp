// cublas.cpp - an emulated libcublas.so.13: the calls our FFM binding (engine cuda.blas.Cublas)
// makes, with cuBLAS's documented semantics: column-major matrices, op(A) = A, A^T (CUBLAS_OP_N,
// CUBLAS_OP_T), host-side alpha/beta, C = alpha op(A) op(B) + beta C, and the argument checks
// cuBLAS makes (CUBLAS_STATUS_INVALID_VALUE for a leading dimension below the rows it stores),
// so a wrong transpose or leading dimension in the binding fails here as it would on a GPU.
// Device pointers are host addresses (see driver.cpp). Sums are in double for both precisions.
// The products run in the order of the handle's stream (submit.h).
#include <stdint.h>

#include "submit.h"

#define EXPORT extern "C" __attribute__((visibility("default")))

enum { OK = 0, NOT_INITIALIZED = 1, INVALID_VALUE = 7 };
enum { OP_N = 0, OP_T = 1, OP_C = 2 };

namespace {

struct Handle {
    void* stream = nullptr;
};

template <typename T>
void product(int ta, int tb, int m, int n, int k, T alpha, const T* a, int lda, long long sa, const T* b, int ldb,
             long long sb, T beta, T* c, int ldc, long long sc, int batch);

template <typename T>
int gemm(Handle* h, int ta, int tb, int m, int n, int k, const T* alpha, const T* a, int lda, long long sa,
         const T* b, int ldb, long long sb, const T* beta, T* c, int ldc, long long sc, int batch) {
    if (!h) return NOT_INITIALIZED;
    if (ta < OP_N || ta > OP_C || tb < OP_N || tb > OP_C || m < 0 || n < 0 || k < 0 || batch < 0) return INVALID_VALUE;
    int a_rows = ta == OP_N ? m : k, b_rows = tb == OP_N ? k : n;  // rows of the matrices as stored
    if (lda < (a_rows > 1 ? a_rows : 1) || ldb < (b_rows > 1 ? b_rows : 1) || ldc < (m > 1 ? m : 1)) return INVALID_VALUE;
    T alpha_v = *alpha, beta_v = *beta;  // host scalars: read now, as cuBLAS does in host pointer mode
    return emu_lib::submit(h->stream, [=] { product(ta, tb, m, n, k, alpha_v, a, lda, sa, b, ldb, sb, beta_v, c, ldc, sc, batch); });
}

template <typename T>
void product(int ta, int tb, int m, int n, int k, T alpha, const T* a, int lda, long long sa, const T* b, int ldb,
             long long sb, T beta, T* c, int ldc, long long sc, int batch) {
    for (int s = 0; s < batch; s++) {
        const T* as = a + s * sa;
        const T* bs = b + s * sb;
        T* cs = c + s * sc;
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    double x = ta == OP_N ? as[i + (long long) p * lda] : as[p + (long long) i * lda];
                    double y = tb == OP_N ? bs[p + (long long) j * ldb] : bs[j + (long long) p * ldb];
                    sum += x * y;
                }
                T& out = cs[i + (long long) j * ldc];
                // beta = 0 must not read C (it may hold NaN garbage), as BLAS specifies
                out = (T) (alpha * sum + (beta == (T) 0 ? 0.0 : (double) beta * out));
            }
        }
    }
}

}  // namespace

EXPORT int cublasCreate_v2(void** handle) {
    if (!handle) return INVALID_VALUE;
    *handle = new Handle();
    return OK;
}
EXPORT int cublasDestroy_v2(void* handle) {
    delete static_cast<Handle*>(handle);
    return OK;
}
EXPORT int cublasSetStream_v2(void* handle, void* stream) {
    if (!handle) return NOT_INITIALIZED;
    static_cast<Handle*>(handle)->stream = stream;
    return OK;
}
// libraryPropertyType: 0 major, 1 minor, 2 patch. 0.0.0 marks the emulator in `ood4j info`.
EXPORT int cublasGetProperty(int type, int* value) {
    if (type < 0 || type > 2 || !value) return INVALID_VALUE;
    *value = 0;
    return OK;
}
EXPORT int cublasSgemm_v2(void* h, int ta, int tb, int m, int n, int k, const float* alpha, const float* a, int lda,
                          const float* b, int ldb, const float* beta, float* c, int ldc) {
    return gemm<float>(static_cast<Handle*>(h), ta, tb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
}
EXPORT int cublasDgemm_v2(void* h, int ta, int tb, int m, int n, int k, const double* alpha, const double* a, int lda,
                          const double* b, int ldb, const double* beta, double* c, int ldc) {
    return gemm<double>(static_cast<Handle*>(h), ta, tb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
}
EXPORT int cublasSgemmStridedBatched(void* h, int ta, int tb, int m, int n, int k, const float* alpha, const float* a,
                                     int lda, long long sa, const float* b, int ldb, long long sb, const float* beta,
                                     float* c, int ldc, long long sc, int batch) {
    return gemm<float>(static_cast<Handle*>(h), ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
}
EXPORT int cublasDgemmStridedBatched(void* h, int ta, int tb, int m, int n, int k, const double* alpha,
                                     const double* a, int lda, long long sa, const double* b, int ldb, long long sb,
                                     const double* beta, double* c, int ldc, long long sc, int batch) {
    return gemm<double>(static_cast<Handle*>(h), ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
}
