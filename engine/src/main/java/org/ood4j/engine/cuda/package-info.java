/**
 * The CUDA backend. What runs where, per op family:
 * <ul>
 * <li>elementwise (unary, binary with broadcasting, where, copy/cast): our kernels, elementwise.cu;</li>
 * <li>reductions (sum, mean, min, max, argmax, argmin, norms, logsumexp, var, count_nonfinite) and
 *     softmax / log_softmax: reduce.cu, one pass per row; empty rows on the CPU;</li>
 * <li>sort, topk, kthvalue, quantile: topk.cu (rows up to 4096, or any row for k &lt;= 16); beyond,
 *     the CPU;</li>
 * <li>gather, index_select, masked_select, group sums and counts: index.cu;</li>
 * <li>kNN search: knn.cu's fused tiles for k &lt;= 32; larger k on the CPU;</li>
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
 * Device memory comes from a caching allocator; each thread has its own stream; every CUDA error
 * becomes a {@link org.ood4j.engine.cuda.CudaException} naming the CUresult and the op.
 *
 * <p>Without a GPU, kernels/src/test/emu emulates the driver, cuBLAS and cuSOLVER on the host so
 * that this package's tests and the conformance cases run in CI (see README, "The CUDA backend").
 */
package org.ood4j.engine.cuda;
