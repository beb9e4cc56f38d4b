/**
 * The CUDA backend. What runs where, per op family:
 * <ul>
 * <li>elementwise (unary, binary with broadcasting, where, copy/cast): our kernels, elementwise.cu;</li>
 * <li>reductions (sum, mean, min, max, argmax, argmin, norms, logsumexp, var, count_nonfinite) and
 *     softmax / log_softmax: reduce.cu, one pass per row; empty rows on the CPU;</li>
 * <li>sort, topk, kthvalue, quantile: topk.cu (rows up to 4096, or any row for k &lt;= 16); beyond,
 *     the CPU;</li>
 * <li>gather, index_select, masked_select, group sums and counts: index.cu;</li>
 * <li>kNN search: knn.cu's fused tiles for k &lt;= 32; larger k on the CPU. A 16-bit bank
 *     (BFLOAT16, FLOAT16) stays 16-bit on the device; each search decodes it on the host to a
 *     float32 copy for the kernels (no kernel decodes 16 bits yet), the same numbers as the CPU's
 *     decoding tile loader;</li>
 * <li>matmul: cuBLAS (FFM, {@code blas.Cublas}); conv2d: im2col (conv.cu) + cuBLAS; pooling: conv.cu;
 *     without cuBLAS both on the CPU;</li>
 * <li>conv and pooling gradients ({@link org.ood4j.engine.cuda.CudaConvGrad}): cuBLAS GEMMs with
 *     im2col / col2im, pool2d_grad (conv.cu, gather forms, deterministic); without cuBLAS the CPU;</li>
 * <li>linear algebra: cuSOLVER (FFM, {@code blas.Cusolver}) for cholesky, solve, inverse, slogdet and
 *     eigh, SVD (gesvd, 2-D and batched 3-D) and pinv; RankFeat's rank-1 removal
 *     (removeTopSingular): linalg.cu for k = min(R, C) &lt;= 64, else the CPU; empty matrices,
 *     and all of it without cuSOLVER, on the CPU.</li>
 * </ul>
 * A CPU path copies the operands to the host and back and is logged once per op and reason.
 * Device memory comes from a caching allocator; every CUDA error becomes a
 * {@link org.ood4j.engine.cuda.CudaException} naming the CUresult and the op.
 *
 * <h2>Streams and threads</h2>
 * Each thread runs its ops on a stream it leases from a pool ({@link org.ood4j.engine.cuda.CudaContext}):
 * streams, the cuBLAS / cuSOLVER handles and pinned staging buffers bound to them, and the
 * allocator's free lists are reused when a thread ends, so thread churn and virtual threads leak
 * nothing. Streams run concurrently; a tensor used on several is ordered by events
 * ({@link org.ood4j.engine.cuda.CudaStorage}: a read waits for the last write on another stream, a
 * write for the reads since, a freed block's reuse for both), never by a host wait.
 *
 * <h2>Limits</h2>
 * Rows of sort / topk / kthvalue / quantile are refused beyond the CPU's limit (2^31 - 9, as
 * {@code SortOps.rowLength}); cuSOLVER is called through its legacy 32-bit API, so sizes it cannot
 * express (n^2, or syevd's 1 + 6n + 2n^2 workspace, above 2^31 - 1) run on the CPU backend, and
 * every devInfo is checked. A copy between overlapping views of one storage goes through a staged
 * copy of the source.
 *
 * <h2>Tolerance contract: CUDA against the CPU backend</h2>
 * <ul>
 * <li>bit-identical: copies, casts, gathers and masked selection, sort / topk order (a total
 *     order with ties by position), group sums (rows added in order, in float64), counts, and
 *     int64 results;</li>
 * <li>the same formulas in the same order, without fused multiply-adds (elementwise.cu,
 *     reduce.cu, knn.cu, linalg.cu are built with {@code -fmad=false}, each file's
 *     "// nvcc-flags:" line saying why): elementwise arithmetic and reductions differ only where
 *     CUDA's libm ({@code expf}, {@code powf}, {@code tanhf}, ...: up to 2 ulp from glibc/Java)
 *     or a different summation tree (per-block partial sums) rounds differently: relative 1e-6 in
 *     float32, 1e-12 in float64 on well-conditioned data; kNN distances to those bounds, so
 *     neighbours on exact-to-rounding ties may differ;</li>
 * <li>cuBLAS and cuSOLVER: their own blocking and algorithms (tensor-core-free SGEMM / DGEMM;
 *     syevd, gesvd, getrf, potrf): relative 1e-5 (float32) / 1e-10 (float64) on the products,
 *     factorizations to the conditioning of the matrix, singular / eigenvectors up to the sign
 *     convention the CPU's applies to both;</li>
 * <li>scores built on these (the detectors' conformance cases) within the cases' own tolerances.</li>
 * </ul>
 *
 * <h2>Without a GPU: the host emulator</h2>
 * kernels/src/test/emu emulates the driver, cuBLAS and cuSOLVER on the host so that this
 * package's tests and the conformance cases run in CI (see README, "The CUDA backend"). By default
 * it is adversarial (emu.h lists the switches). What it models of a GPU:
 * <ul>
 * <li>asynchronous streams: a host worker per stream, concurrent with the others and with the
 *     host; events, cuStreamWaitEvent, stream / event / context synchronisation; synchronous
 *     copies that wait for no non-blocking stream; pinned buffers read when the stream gets to
 *     the copy; kernel arguments copied at launch; cuBLAS / cuSOLVER in their stream's order;</li>
 * <li>launch limits of sm_90: block at most 1024 threads (1024 x 1024 x 64), grid x at most
 *     2^31 - 1 and y, z at most 65535, dynamic shared memory over 48 KB only with
 *     cuFuncSetAttribute, static (from the PTX) + dynamic shared memory at most 227 KB;</li>
 * <li>__syncthreads and warp exchanges as real barriers (divergent barriers, exited lanes, bad
 *     masks fail the launch), uninitialised shared memory, block order random per launch (so
 *     atomics land in a different order each run), fibers started forward or reverse;</li>
 * <li>device memory bounds (copies outside live allocations, frees of unknown pointers refused),
 *     overlapping device-to-device copies refused, fresh and freed memory poisoned with NaN bytes
 *     and freed blocks quarantined, a memory limit for the out-of-memory path;</li>
 * <li>FMA contraction where nvcc contracts (the files without -fmad=false; all files with
 *     OOD4J_CUDA_EMU_CONTRACT=1).</li>
 * </ul>
 * What it does not model: timing and occupancy (a perf cliff shows only as launch counts,
 * OOD4J_CUDA_EMU_STATS=1); the memory model within a kernel (threads of a block run one at a time
 * between barriers, so a race between threads without a barrier or between blocks goes unseen, and
 * there is no weak ordering, caching or need for __threadfence); concurrent kernels (launches run
 * one at a time, each stream's work in order); CUDA's libm (the host's glibc, so the ulp
 * differences above do not show); out-of-bounds reads inside a kernel (host memory: no
 * CUDA_ERROR_ILLEGAL_ADDRESS, a read of freed memory sees NaN, a wild one may read anything or
 * crash); sticky context errors (a failed launch is reported once, by the next synchronisation);
 * registers and local-memory limits; cuBLAS / cuSOLVER numerics (they compute in double on the
 * host, by textbook algorithms).
 */
package org.ood4j.engine.cuda;
