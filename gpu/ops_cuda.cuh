/*
 * ops_cuda.cuh -- private to gpu/: the CUDA kernels' launchers that
 * engine.cu calls (ops.cu defines them).  Each is the twin of the op of the
 * same name in ops_cpu.c; T is the storage type (float, __half,
 * __nv_bfloat16), accumulation is fp32.  All take a stream and return the
 * launch's cudaError_t.
 */
#ifndef CC_GPU_OPS_CUDA_CUH
#define CC_GPU_OPS_CUDA_CUH

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cublas_dl.cuh"
#include "engine_impl.h"

namespace ccg {

template <typename T> cudaDataType_t cuda_type();

template <typename T>
cudaError_t embed(float *out, const int32_t *tokens, int n, const T *table, int dim,
                  int threads, cudaStream_t st);
template <typename T>
cudaError_t rmsnorm(T *out, const float *x, const float *w, int n, int dim, float eps,
                    int threads, cudaStream_t st);
/* out (f32) = or += x W^T (+ bias f32). */
template <typename T>
cublasStatus_t matmul(cublasHandle_t h, float *out, const T *x, const T *w, const float *bias,
                      int n, int d_in, int d_out, int accumulate, cudaStream_t st);
cudaError_t rope(float *x, const int32_t *pos, int n, int n_heads, int head_dim, double theta,
                 int threads, cudaStream_t st);
template <typename T>
cudaError_t swiglu(T *out, const float *gate, const float *up, size_t n, int threads,
                   cudaStream_t st);
template <typename T>
cudaError_t kv_scatter(T *k_pool, T *v_pool, const float *k, const float *v,
                       const int32_t *pool_rows, int n, const cc_attn_shape &s, int threads,
                       cudaStream_t st);
template <typename T>
cudaError_t kv_gather(float *k_out, float *v_out, const T *k_pool, const T *v_pool,
                      const int32_t *block_table, int p0, int n, int g, const cc_attn_shape &s,
                      int threads, cudaStream_t st);
/* Attention over a work list of tiles (device array) for all kv heads. */
template <typename T>
cudaError_t attention_tiles(T *out, const float *q, const cc_attn_tile *tiles, int n_tiles,
                            const T *k_pool, const T *v_pool, const int32_t *tables,
                            const cc_attn_shape &s, int q_rows, int k_tile, int threads,
                            cudaStream_t st);
/* Blend: cached K/V rows to new rows, K re-rotated by delta positions. */
template <typename T>
cudaError_t kv_rerotate(T *k_pool, T *v_pool, const int32_t *src_rows, const int32_t *dst_rows,
                        int n, int delta, const cc_attn_shape &s, double theta, int threads,
                        cudaStream_t st);
/* Blend: dev[i] = sum (v[i] - v_pool[pool_rows[i]])^2 over a row. */
template <typename T>
cudaError_t v_deviation(float *dev, const float *v, const T *v_pool, const int32_t *pool_rows,
                        int n, int row, cudaStream_t st);
/* rows[i] = x[idx[i]] (f32 rows of width dim). */
cudaError_t gather_rows(float *rows, const float *x, const int32_t *idx, int n, int dim,
                        cudaStream_t st);
/* dst = convert(src): f32 <-> T. */
template <typename T>
cudaError_t from_f32(T *dst, const float *src, size_t n, cudaStream_t st);
template <typename T>
cudaError_t to_f32(float *dst, const T *src, size_t n, cudaStream_t st);

} // namespace ccg

#endif
