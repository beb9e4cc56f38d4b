// cusolver.cpp - an emulated libcusolver.so.12: the dense float64 calls our FFM binding (engine
// cuda.blas.Cusolver) makes, with LAPACK's semantics as cuSOLVER documents them: column-major,
// potrf (Cholesky of the uplo triangle; info = i when the leading minor of order i is not
// positive definite), getrf/getrs (LU with partial pivoting, 1-based ipiv; info = i when U(i,i)
// is exactly zero), syevd (eigenvalues ascending, eigenvectors as the columns of A when jobz is
// CUSOLVER_EIG_MODE_VECTOR, from the uplo triangle only), gesvd (m >= n only; see below).
// Workspace sizes are asked for and checked as cuSOLVER does. devInfo and ipiv are "device"
// pointers: host addresses here.
#include <math.h>

#include <algorithm>
#include <vector>

#include "submit.h"

#define EXPORT extern "C" __attribute__((visibility("default")))

enum { OK = 0, NOT_INITIALIZED = 1, INVALID_VALUE = 3 };
enum { FILL_LOWER = 0, FILL_UPPER = 1 };

namespace {

struct Handle {
    void* stream = nullptr;
};

// The workspace in doubles, computed as 64-bit and handed back as the legacy API's int: beyond
// 2^31 - 1 it wraps (negative), as a 32-bit size would, so the caller's check is exercised.
int as_lwork(long long elements) { return (int) (unsigned) (unsigned long long) std::max(1LL, elements); }
int workspace(int n) { return as_lwork((long long) n * n); }
// LAPACK dsyevd's with eigenvectors: 1 + 6n + 2n^2 (more than the Jacobi here needs).
int syevd_workspace(int n) { return as_lwork(1 + 6LL * n + 2LL * n * n); }

bool square_ok(int n, int lda) { return n >= 0 && lda >= std::max(1, n); }

// a(i, j) of a column-major matrix
inline double& at(double* a, int lda, int i, int j) { return a[i + (long) j * lda]; }

}  // namespace

EXPORT int cusolverDnCreate(void** handle) {
    if (!handle) return INVALID_VALUE;
    *handle = new Handle();
    return OK;
}
EXPORT int cusolverDnDestroy(void* handle) {
    delete static_cast<Handle*>(handle);
    return OK;
}
EXPORT int cusolverDnSetStream(void* handle, void* stream) {
    if (!handle) return NOT_INITIALIZED;
    static_cast<Handle*>(handle)->stream = stream;
    return OK;
}
EXPORT int cusolverGetProperty(int type, int* value) {
    if (type < 0 || type > 2 || !value) return INVALID_VALUE;
    *value = 0;  // 0.0.0 marks the emulator in `ood4j info`
    return OK;
}

EXPORT int cusolverDnDpotrf_bufferSize(void* h, int uplo, int n, double*, int lda, int* lwork) {
    if (!h) return NOT_INITIALIZED;
    if ((uplo != FILL_LOWER && uplo != FILL_UPPER) || !square_ok(n, lda)) return INVALID_VALUE;
    *lwork = workspace(n);
    return OK;
}

static int potrf(bool dry, void* h, int uplo, int n, double* a, int lda, double*, int lwork, int* info) {
    if (!h) return NOT_INITIALIZED;
    if ((uplo != FILL_LOWER && uplo != FILL_UPPER) || !square_ok(n, lda) || lwork < workspace(n)) return INVALID_VALUE;
    if (dry) return OK;
    bool lower = uplo == FILL_LOWER;
    // element (i, j), i >= j, of the lower factor, stored in the triangle that uplo names
    auto l = [&](int i, int j) -> double& { return lower ? at(a, lda, i, j) : at(a, lda, j, i); };
    *info = 0;
    for (int j = 0; j < n; j++) {
        double d = l(j, j);
        for (int p = 0; p < j; p++) d -= l(j, p) * l(j, p);
        if (!(d > 0)) {
            *info = j + 1;
            return OK;
        }
        d = sqrt(d);
        l(j, j) = d;
        for (int i = j + 1; i < n; i++) {
            double s = l(i, j);
            for (int p = 0; p < j; p++) s -= l(i, p) * l(j, p);
            l(i, j) = s / d;
        }
    }
    return OK;
}

EXPORT int cusolverDnDgetrf_bufferSize(void* h, int m, int n, double*, int lda, int* lwork) {
    if (!h) return NOT_INITIALIZED;
    if (m < 0 || n < 0 || lda < std::max(1, m)) return INVALID_VALUE;
    *lwork = std::max(1, m * n);
    return OK;
}

static int getrf(bool dry, void* h, int m, int n, double* a, int lda, double*, int* ipiv, int* info) {
    if (!h) return NOT_INITIALIZED;
    if (m < 0 || n < 0 || lda < std::max(1, m)) return INVALID_VALUE;
    if (dry) return OK;
    *info = 0;
    for (int j = 0; j < std::min(m, n); j++) {
        int p = j;
        for (int i = j + 1; i < m; i++) {
            if (fabs(at(a, lda, i, j)) > fabs(at(a, lda, p, j))) p = i;
        }
        if (ipiv) ipiv[j] = p + 1;
        if (p != j) {
            for (int c = 0; c < n; c++) std::swap(at(a, lda, p, c), at(a, lda, j, c));
        }
        double pivot = at(a, lda, j, j);
        if (pivot == 0) {
            if (*info == 0) *info = j + 1;
            continue;
        }
        for (int i = j + 1; i < m; i++) {
            double f = at(a, lda, i, j) /= pivot;
            for (int c = j + 1; c < n; c++) at(a, lda, i, c) -= f * at(a, lda, j, c);
        }
    }
    return OK;
}

static int getrs(bool dry, void* h, int trans, int n, int nrhs, const double* ac, int lda, const int* ipiv,
                            double* b, int ldb, int* info) {
    if (!h) return NOT_INITIALIZED;
    if (trans < 0 || trans > 2 || !square_ok(n, lda) || nrhs < 0 || ldb < std::max(1, n)) return INVALID_VALUE;
    if (dry) return OK;
    double* a = const_cast<double*>(ac);
    *info = 0;
    for (int r = 0; r < nrhs; r++) {
        double* x = b + (long) r * ldb;
        if (trans == 0) {  // A = P L U: x = U^-1 L^-1 P^T b
            for (int i = 0; i < n; i++) std::swap(x[i], x[ipiv[i] - 1]);
            for (int i = 0; i < n; i++) {
                for (int p = 0; p < i; p++) x[i] -= at(a, lda, i, p) * x[p];
            }
            for (int i = n - 1; i >= 0; i--) {
                for (int p = i + 1; p < n; p++) x[i] -= at(a, lda, i, p) * x[p];
                x[i] /= at(a, lda, i, i);
            }
        } else {           // A^T = U^T L^T P^T: x = P L^-T U^-T b
            for (int i = 0; i < n; i++) {
                for (int p = 0; p < i; p++) x[i] -= at(a, lda, p, i) * x[p];
                x[i] /= at(a, lda, i, i);
            }
            for (int i = n - 1; i >= 0; i--) {
                for (int p = i + 1; p < n; p++) x[i] -= at(a, lda, p, i) * x[p];
            }
            for (int i = n - 1; i >= 0; i--) std::swap(x[i], x[ipiv[i] - 1]);
        }
    }
    return OK;
}

EXPORT int cusolverDnDsyevd_bufferSize(void* h, int jobz, int uplo, int n, const double*, int lda, const double*, int* lwork) {
    if (!h) return NOT_INITIALIZED;
    if ((jobz != 0 && jobz != 1) || (uplo != FILL_LOWER && uplo != FILL_UPPER) || !square_ok(n, lda)) return INVALID_VALUE;
    *lwork = syevd_workspace(n);
    return OK;
}

// Cyclic Jacobi on the symmetric matrix read from the uplo triangle (the other is ignored, as
// LAPACK does), then eigenpairs sorted ascending.
static int syevd(bool dry, void* h, int jobz, int uplo, int n, double* a, int lda, double* w, double*, int lwork, int* info) {
    if (!h) return NOT_INITIALIZED;
    if ((jobz != 0 && jobz != 1) || (uplo != FILL_LOWER && uplo != FILL_UPPER) || !square_ok(n, lda) || lwork < syevd_workspace(n)) {
        return INVALID_VALUE;
    }
    if (dry) return OK;
    std::vector<double> s((size_t) n * n), v((size_t) n * n, 0.0);
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < n; i++) {
            bool stored = uplo == FILL_LOWER ? i >= j : i <= j;
            s[i + (size_t) j * n] = stored ? at(a, lda, i, j) : at(a, lda, j, i);
        }
        v[j + (size_t) j * n] = 1;
    }
    auto S = [&](int i, int j) -> double& { return s[i + (size_t) j * n]; };
    auto V = [&](int i, int j) -> double& { return v[i + (size_t) j * n]; };
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, diag = 0;
        for (int p = 0; p < n; p++) {
            diag += S(p, p) * S(p, p);
            for (int q = p + 1; q < n; q++) off += S(p, q) * S(p, q);
        }
        if (off == 0 || off <= 1e-32 * diag) break;
        for (int p = 0; p < n; p++) {
            for (int q = p + 1; q < n; q++) {
                double apq = S(p, q);
                if (apq == 0) continue;
                double theta = (S(q, q) - S(p, p)) / (2 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), sn = t * c;
                for (int r = 0; r < n; r++) {
                    double sp = S(r, p), sq = S(r, q);
                    S(r, p) = c * sp - sn * sq;
                    S(r, q) = sn * sp + c * sq;
                }
                for (int r = 0; r < n; r++) {
                    double sp = S(p, r), sq = S(q, r);
                    S(p, r) = c * sp - sn * sq;
                    S(q, r) = sn * sp + c * sq;
                }
                for (int r = 0; r < n; r++) {
                    double vp = V(r, p), vq = V(r, q);
                    V(r, p) = c * vp - sn * vq;
                    V(r, q) = sn * vp + c * vq;
                }
            }
        }
    }
    std::vector<int> order(n);
    for (int i = 0; i < n; i++) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return S(x, x) < S(y, y); });
    for (int k = 0; k < n; k++) {
        w[k] = S(order[k], order[k]);
        if (jobz == 1) {
            for (int r = 0; r < n; r++) at(a, lda, r, k) = V(r, order[k]);
        }
    }
    *info = 0;
    return OK;
}

// gesvd: A (m x n, m >= n, as cuSOLVER requires) = U diag(S) VT, S descending. jobu: 'A' all m
// columns of U, 'S' the first n, 'O' those n over A, 'N' none; jobvt likewise for the n rows of
// VT ('A' and 'S' are the same when m >= n); jobu and jobvt not both 'O'. One-sided (Hestenes)
// Jacobi on the columns of A, in the caller's workspace (W = A: m x n, then V: n x n), which is
// why lwork is checked: rotations until every pair of columns is orthogonal to m eps relative
// to their norms, s_j = |w_j|, u_j = w_j / s_j, v_j = the accumulated rotations. Columns of U that
// this leaves undefined (s_j = 0, and columns n..m-1 for 'A') complete the u_j to an orthonormal
// basis (Householder QR of the u_j). info = n - 1 when the sweeps do not converge (never seen);
// A is destroyed (NaN) unless it receives U or VT, as LAPACK allows. rwork is not used.
namespace {

int gesvd_workspace(int m, int n) { return as_lwork((long long) m * n + (long long) n * n); }

bool job_ok(signed char j) { return j == 'A' || j == 'S' || j == 'O' || j == 'N'; }

}  // namespace

EXPORT int cusolverDnDgesvd_bufferSize(void* h, int m, int n, int* lwork) {
    if (!h) return NOT_INITIALIZED;
    if (m < 0 || n < 0 || !lwork) return INVALID_VALUE;
    *lwork = gesvd_workspace(m, n);
    return OK;
}

static int gesvd(bool dry, void* h, signed char jobu, signed char jobvt, int m, int n, double* a, int lda, double* s,
                            double* u, int ldu, double* vt, int ldvt, double* work, int lwork, double*, int* info) {
    if (!h) return NOT_INITIALIZED;
    if (!job_ok(jobu) || !job_ok(jobvt) || (jobu == 'O' && jobvt == 'O')) return INVALID_VALUE;
    if (m < n || n < 0 || lda < std::max(1, m)) return INVALID_VALUE;  // cuSOLVER's gesvd: m >= n only
    bool wantU = jobu == 'A' || jobu == 'S', wantVT = jobvt == 'A' || jobvt == 'S';
    if (ldu < (wantU ? std::max(1, m) : 1) || ldvt < (wantVT ? std::max(1, n) : 1)) return INVALID_VALUE;
    if (lwork < gesvd_workspace(m, n) || !work || !info) return INVALID_VALUE;
    if (dry) return OK;
    *info = 0;
    if (n == 0) return OK;
    double* W = work;                     // m x n, column-major, ld m
    double* V = work + (long) m * n;      // n x n
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < m; i++) W[i + (long) j * m] = at(a, lda, i, j);
        for (int i = 0; i < n; i++) V[i + (long) j * n] = i == j;
    }
    auto col = [&](double* x, int ld, int j) { return x + (long) j * ld; };
    auto dot = [&](const double* x, const double* y, int len) {
        double d = 0;
        for (int i = 0; i < len; i++) d += x[i] * y[i];
        return d;
    };
    const double tol = std::max(1, m) * 2.220446049250313e-16;  // m eps: the dot product's own rounding
    bool converged = false;
    for (int sweep = 0; sweep < 100 && !converged; sweep++) {
        converged = true;
        for (int p = 0; p < n - 1; p++) {
            for (int q = p + 1; q < n; q++) {
                double* wp = col(W, m, p);
                double* wq = col(W, m, q);
                double alpha = dot(wp, wp, m), beta = dot(wq, wq, m), gamma = dot(wp, wq, m);
                if (alpha == 0 || beta == 0 || fabs(gamma) <= tol * sqrt(alpha) * sqrt(beta)) continue;
                converged = false;
                double zeta = (beta - alpha) / (2 * gamma);
                double t = (zeta >= 0 ? 1.0 : -1.0) / (fabs(zeta) + sqrt(1 + zeta * zeta));
                double c = 1 / sqrt(1 + t * t), sn = c * t;
                for (int i = 0; i < m; i++) {
                    double x = wp[i], y = wq[i];
                    wp[i] = c * x - sn * y;
                    wq[i] = sn * x + c * y;
                }
                double* vp = col(V, n, p);
                double* vq = col(V, n, q);
                for (int i = 0; i < n; i++) {
                    double x = vp[i], y = vq[i];
                    vp[i] = c * x - sn * y;
                    vq[i] = sn * x + c * y;
                }
            }
        }
    }
    if (!converged) {
        *info = std::max(1, n - 1);
        return OK;
    }
    std::vector<double> norm(n);
    std::vector<int> order(n);
    for (int j = 0; j < n; j++) {
        norm[j] = sqrt(dot(col(W, m, j), col(W, m, j), m));
        order[j] = j;
    }
    std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return norm[x] > norm[y]; });
    for (int k = 0; k < n; k++) s[k] = norm[order[k]];
    // U (m x uCols) in a scratch first: for jobu = 'O' it goes over A, which W no longer needs.
    int uCols = jobu == 'A' ? m : jobu == 'N' ? 0 : n;
    std::vector<double> U((size_t) m * uCols, 0.0);
    std::vector<int> defined;                          // columns of U that are some w_j / s_j
    for (int k = 0; k < std::min(n, uCols); k++) {
        if (!(s[k] > 0)) continue;
        const double* w = col(W, m, order[k]);
        for (int i = 0; i < m; i++) U[i + (size_t) k * m] = w[i] / s[k];
        defined.push_back(k);
    }
    int r = (int) defined.size();
    if (r < uCols) {
        // Householder QR of the defined columns: Q's columns r..m-1 span their orthogonal complement.
        std::vector<double> b((size_t) m * r), hv((size_t) m * r, 0.0);
        for (int c = 0; c < r; c++) std::copy_n(&U[(size_t) defined[c] * m], m, &b[(size_t) c * m]);
        for (int j = 0; j < r; j++) {
            double* x = &b[(size_t) j * m];
            double* v = &hv[(size_t) j * m];
            double nx = 0;
            for (int i = j; i < m; i++) nx += x[i] * x[i];
            nx = sqrt(nx);
            if (nx == 0) continue;
            double alpha = x[j] >= 0 ? -nx : nx;
            for (int i = j; i < m; i++) v[i] = x[i];
            v[j] -= alpha;
            double nv = sqrt(dot(v + j, v + j, m - j));
            for (int i = j; i < m; i++) v[i] /= nv;
            for (int c = j; c < r; c++) {
                double* y = &b[(size_t) c * m];
                double f = 2 * dot(v + j, y + j, m - j);
                for (int i = j; i < m; i++) y[i] -= f * v[i];
            }
        }
        int next = r;                                  // the next complement column of Q
        for (int k = 0; k < uCols; k++) {
            if (std::find(defined.begin(), defined.end(), k) != defined.end()) continue;
            double* y = &U[(size_t) k * m];
            std::fill_n(y, m, 0.0);
            y[next++] = 1;
            for (int j = r - 1; j >= 0; j--) {        // Q e = H_0 (H_1 (... H_{r-1} e))
                const double* v = &hv[(size_t) j * m];
                double f = 2 * dot(v + j, y + j, m - j);
                for (int i = j; i < m; i++) y[i] -= f * v[i];
            }
        }
    }
    bool destroyed = jobu != 'O' && jobvt != 'O';
    if (destroyed) {
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) at(a, lda, i, j) = NAN;
        }
    }
    double* uOut = jobu == 'O' ? a : u;
    int uLd = jobu == 'O' ? lda : ldu;
    for (int k = 0; k < uCols; k++) {
        for (int i = 0; i < m; i++) at(uOut, uLd, i, k) = U[i + (size_t) k * m];
    }
    if (jobvt != 'N') {
        double* vOut = jobvt == 'O' ? a : vt;
        int vLd = jobvt == 'O' ? lda : ldvt;
        for (int k = 0; k < n; k++) {                  // row k of VT = column order[k] of V
            for (int j = 0; j < n; j++) at(vOut, vLd, k, j) = V[j + (long) order[k] * n];
        }
    }
    return OK;
}

// The exported calls: arguments checked now, the factorisation run in the order of the handle's
// stream (submit.h), devInfo written then.
namespace {

template <typename... A>
int call(int (*f)(bool, void*, A...), void* h, A... args) {
    if (int status = f(true, h, args...)) return status;
    return emu_lib::submit(static_cast<Handle*>(h)->stream, [=] { f(false, h, args...); });
}

}  // namespace

EXPORT int cusolverDnDpotrf(void* h, int uplo, int n, double* a, int lda, double* work, int lwork, int* info) {
    return call(potrf, h, uplo, n, a, lda, work, lwork, info);
}
EXPORT int cusolverDnDgetrf(void* h, int m, int n, double* a, int lda, double* work, int* ipiv, int* info) {
    return call(getrf, h, m, n, a, lda, work, ipiv, info);
}
EXPORT int cusolverDnDgetrs(void* h, int trans, int n, int nrhs, const double* a, int lda, const int* ipiv, double* b,
                            int ldb, int* info) {
    return call(getrs, h, trans, n, nrhs, a, lda, ipiv, b, ldb, info);
}
EXPORT int cusolverDnDsyevd(void* h, int jobz, int uplo, int n, double* a, int lda, double* w, double* work, int lwork,
                            int* info) {
    return call(syevd, h, jobz, uplo, n, a, lda, w, work, lwork, info);
}
EXPORT int cusolverDnDgesvd(void* h, signed char jobu, signed char jobvt, int m, int n, double* a, int lda, double* s,
                            double* u, int ldu, double* vt, int ldvt, double* work, int lwork, double* rwork, int* info) {
    return call(gesvd, h, jobu, jobvt, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, rwork, info);
}
