/*
 * ops.cu -- the CUDA twins of the ops in ops_cpu.c (same names, same order
 * of steps), in the shape of llm.c's kernel files: the CPU reference is
 * ops_cpu.c, here are the kernels and their launchers, and the correctness
 * check per launch configuration and the timing live in
 * tests/test_engine_cuda.c and bench/bench_engine.c.
 *
 * Storage type T: float, __half or __nv_bfloat16 (weights, KV pool, GEMM
 * inputs); arithmetic and accumulation are fp32; the residual stream,
 * q/k/v after projection and the logits stay fp32.  The matrix products are
 * cuBLAS (cublasGemmEx, fp32 compute).
 *
 * Attention (attention_paged_kernel): one thread block per (tile of query
 * tokens x the heads of one kv group, kv head).  The block keeps its queries
 * Q and its output accumulator O in shared memory and walks the key tiles
 * from position 0 to its last position: gather the tile's K and V from the
 * pool blocks through the block table (kv_gather_tile, the CPU's
 * cc_op_kv_gather), S = Q K^T, causal mask, online softmax (running max m and
 * sum l per row; O and l rescaled by exp(m_old - m_new)), O += P V; finally
 * O / l.  Shared memory: (2 rows hd + rows k_tile + k_tile (2 hd + 1) +
 * 3 rows) floats, e.g. 70 KB for 32 rows, 32 keys, head_dim 128.
 *
 * Also here: the test-facing C wrappers cc_cuda_* of gpu.h (default stream,
 * synchronous) and the device buffer helpers.
 */
#include "ops_cuda.cuh"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <vector>

namespace ccg {

/* ---- types ------------------------------------------------------------------ */
__device__ __forceinline__ float to_f(float x) { return x; }
__device__ __forceinline__ float to_f(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename T> __device__ __forceinline__ T from_f(float x);
template <> __device__ __forceinline__ float from_f<float>(float x) { return x; }
template <> __device__ __forceinline__ __half from_f<__half>(float x) { return __float2half_rn(x); }
template <> __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float x)
{
    return __float2bfloat16_rn(x);
}

template <> cudaDataType_t cuda_type<float>() { return CUDA_R_32F; }
template <> cudaDataType_t cuda_type<__half>() { return CUDA_R_16F; }
template <> cudaDataType_t cuda_type<__nv_bfloat16>() { return CUDA_R_16BF; }

static int blocks_for(size_t n, int threads)
{
    size_t b = (n + threads - 1) / threads;
    return (int)(b < 1 ? 1 : b > 65535u * 16 ? 65535u * 16 : b);
}

/* ---- embed -------------------------------------------------------------------- */
template <typename T>
__global__ void embed_kernel(float *out, const int32_t *tokens, int n, const T *table, int dim)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (size_t)n * dim;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t row = i / dim, d = i % dim;
        out[i] = to_f(table[(size_t)tokens[row] * dim + d]);
    }
}

template <typename T>
cudaError_t embed(float *out, const int32_t *tokens, int n, const T *table, int dim, int threads,
                  cudaStream_t st)
{
    threads = threads > 0 ? threads : 256;
    embed_kernel<T><<<blocks_for((size_t)n * dim, threads), threads, 0, st>>>(out, tokens, n,
                                                                               table, dim);
    return cudaGetLastError();
}

/* ---- rmsnorm: one block per row; sum of squares by a block reduction ----------- */
template <typename T>
__global__ void rmsnorm_kernel(T *out, const float *x, const float *w, int n, int dim, float eps)
{
    extern __shared__ float red[]; /* one float per warp */
    const float *xi = x + (size_t)blockIdx.x * dim;
    float ss = 0.0f;
    for (int d = threadIdx.x; d < dim; d += blockDim.x)
        ss += xi[d] * xi[d];
    for (int o = 16; o > 0; o >>= 1)
        ss += __shfl_down_sync(0xffffffffu, ss, o);
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32, n_warps = (blockDim.x + 31) / 32;
    if (lane == 0)
        red[warp] = ss;
    __syncthreads();
    if (threadIdx.x == 0) {
        float t = 0.0f;
        for (int i = 0; i < n_warps; i++)
            t += red[i];
        red[0] = t;
    }
    __syncthreads();
    float r = 1.0f / sqrtf(red[0] / dim + eps);
    T *oi = out + (size_t)blockIdx.x * dim;
    for (int d = threadIdx.x; d < dim; d += blockDim.x)
        oi[d] = from_f<T>(xi[d] * r * w[d]);
}

template <typename T>
cudaError_t rmsnorm(T *out, const float *x, const float *w, int n, int dim, float eps,
                    int threads, cudaStream_t st)
{
    threads = threads > 0 ? (threads + 31) / 32 * 32 : 256;
    if (n > 0)
        rmsnorm_kernel<T><<<n, threads, (threads / 32) * sizeof(float), st>>>(out, x, w, n, dim,
                                                                                eps);
    return cudaGetLastError();
}

/* ---- matmul (cuBLAS) --------------------------------------------------------------
 * Row-major out[n][d_out] = x[n][d_in] W[d_out][d_in]^T is, column-major,
 * out^T (d_out x n) = W (viewed d_in x d_out, transposed) x^T (d_in x n). */
__global__ void bias_fill_kernel(float *out, const float *bias, int n, int d_out, int accumulate)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (size_t)n * d_out;
         i += (size_t)gridDim.x * blockDim.x)
        out[i] = (accumulate ? out[i] : 0.0f) + bias[i % d_out];
}

template <typename T>
cublasStatus_t matmul(cublasHandle_t h, float *out, const T *x, const T *w, const float *bias,
                      int n, int d_in, int d_out, int accumulate, cudaStream_t st)
{
    float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    if (n <= 0)
        return CUBLAS_STATUS_SUCCESS;
    if (bias) {
        bias_fill_kernel<<<blocks_for((size_t)n * d_out, 256), 256, 0, st>>>(out, bias, n, d_out,
                                                                             accumulate);
        if (cudaGetLastError() != cudaSuccess)
            return CUBLAS_STATUS_EXECUTION_FAILED;
        beta = 1.0f;
    }
    cublasStatus_t s = cublasSetStream(h, st);
    if (s != CUBLAS_STATUS_SUCCESS)
        return s;
    return cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, d_out, n, d_in, &alpha, w, cuda_type<T>(),
                        d_in, x, cuda_type<T>(), d_in, &beta, out, CUDA_R_32F, d_out,
                        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}

/* ---- rope: one thread per (token, head, pair); angle in double as on the CPU ---- */
__global__ void rope_kernel(float *x, const int32_t *pos, int n, int n_heads, int head_dim,
                            double theta)
{
    int half = head_dim / 2;
    size_t total = (size_t)n * n_heads * half;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        int d = (int)(i % half);
        size_t th = i / half; /* token * n_heads + head */
        size_t tok = th / n_heads;
        double ang = pos[tok] * pow(theta, -2.0 * d / head_dim);
        float c = (float)cos(ang), s = (float)sin(ang);
        float *v = x + th * head_dim;
        float a = v[d], b = v[d + half];
        v[d] = a * c - b * s;
        v[d + half] = b * c + a * s;
    }
}

cudaError_t rope(float *x, const int32_t *pos, int n, int n_heads, int head_dim, double theta,
                 int threads, cudaStream_t st)
{
    threads = threads > 0 ? threads : 256;
    size_t total = (size_t)n * n_heads * (head_dim / 2);
    if (total)
        rope_kernel<<<blocks_for(total, threads), threads, 0, st>>>(x, pos, n, n_heads, head_dim,
                                                                   theta);
    return cudaGetLastError();
}

/* ---- swiglu ---------------------------------------------------------------------- */
template <typename T>
__global__ void swiglu_kernel(T *out, const float *gate, const float *up, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float g = gate[i];
        out[i] = from_f<T>(g / (1.0f + expf(-g)) * up[i]);
    }
}

template <typename T>
cudaError_t swiglu(T *out, const float *gate, const float *up, size_t n, int threads,
                   cudaStream_t st)
{
    threads = threads > 0 ? threads : 256;
    if (n)
        swiglu_kernel<T><<<blocks_for(n, threads), threads, 0, st>>>(out, gate, up, n);
    return cudaGetLastError();
}

/* ---- KV scatter and gather ----------------------------------------------------------- */
template <typename T>
__global__ void kv_scatter_kernel(T *k_pool, T *v_pool, const float *k, const float *v,
                                  const int32_t *pool_rows, int n, int row)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (size_t)n * row;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t t = i / row, c = i % row, dst = (size_t)pool_rows[t] * row + c;
        k_pool[dst] = from_f<T>(k[i]);
        v_pool[dst] = from_f<T>(v[i]);
    }
}

template <typename T>
cudaError_t kv_scatter(T *k_pool, T *v_pool, const float *k, const float *v,
                       const int32_t *pool_rows, int n, const cc_attn_shape &s, int threads,
                       cudaStream_t st)
{
    threads = threads > 0 ? threads : 256;
    int row = s.n_kv_heads * s.head_dim;
    if (n > 0)
        kv_scatter_kernel<T><<<blocks_for((size_t)n * row, threads), threads, 0, st>>>(
            k_pool, v_pool, k, v, pool_rows, n, row);
    return cudaGetLastError();
}

/* Keys p0 .. p0+n-1 of kv head g into K[n][ks], V[n][vs] (the block's
 * threads share the work).  The attention kernel's step (a). */
template <typename T>
__device__ void kv_gather_tile(float *K, int ks, float *V, int vs, const T *k_pool,
                               const T *v_pool, const int32_t *table, int p0, int n, int g,
                               int n_kv, int hd, int bs)
{
    for (int i = threadIdx.x; i < n * hd; i += blockDim.x) {
        int j = i / hd, d = i % hd, p = p0 + j;
        size_t off = ((size_t)table[p / bs] * bs + p % bs) * n_kv * hd + (size_t)g * hd + d;
        K[j * ks + d] = to_f(k_pool[off]);
        V[j * vs + d] = to_f(v_pool[off]);
    }
}

template <typename T>
__global__ void kv_gather_kernel(float *k_out, float *v_out, const T *k_pool, const T *v_pool,
                                 const int32_t *table, int p0, int n, int g, int n_kv, int hd,
                                 int bs)
{
    kv_gather_tile<T>(k_out, hd, v_out, hd, k_pool, v_pool, table, p0, n, g, n_kv, hd, bs);
}

template <typename T>
cudaError_t kv_gather(float *k_out, float *v_out, const T *k_pool, const T *v_pool,
                      const int32_t *block_table, int p0, int n, int g, const cc_attn_shape &s,
                      int threads, cudaStream_t st)
{
    threads = threads > 0 ? threads : 256;
    kv_gather_kernel<T><<<1, threads, 0, st>>>(k_out, v_out, k_pool, v_pool, block_table, p0, n,
                                                g, s.n_kv_heads, s.head_dim, s.block_size);
    return cudaGetLastError();
}

/* ---- attention ------------------------------------------------------------------------ */
static int tile_tokens(int q_rows, int group) { return q_rows >= group ? q_rows / group : 1; }

static size_t attention_smem_floats(int rows, int k_tile, int hd)
{
    return 2 * (size_t)rows * hd + (size_t)rows * k_tile + (size_t)k_tile * (2 * hd + 1) +
           3 * (size_t)rows;
}

template <typename T>
__global__ void attention_paged_kernel(T *out, const float *q, const cc_attn_tile *tiles,
                                       const T *k_pool, const T *v_pool, const int32_t *tables,
                                       int nh, int n_kv, int hd, int bs, int tpt, int k_tile)
{
    extern __shared__ float smem[];
    const cc_attn_tile t = tiles[blockIdx.x];
    const int g = blockIdx.y, group = nh / n_kv, rows_cap = tpt * group, nr = t.n_tok * group;
    const int ks = hd + 1; /* padded K rows: S's threads read K along j without bank conflicts */
    float *Q = smem, *O = Q + (size_t)rows_cap * hd, *S = O + (size_t)rows_cap * hd;
    float *K = S + (size_t)rows_cap * k_tile, *V = K + (size_t)k_tile * ks;
    float *m = V + (size_t)k_tile * hd, *l = m + rows_cap, *corr = l + rows_cap;
    const int32_t *table = tables + t.table0;
    const float scale = 1.0f / sqrtf((float)hd);

    /* 1. the tile's queries (row r = token r / group, head g*group + r % group), scaled */
    for (int i = threadIdx.x; i < nr * hd; i += blockDim.x) {
        int r = i / hd, d = i % hd;
        Q[i] = q[((size_t)(t.tok0 + r / group) * nh + g * group + r % group) * hd + d] * scale;
        O[i] = 0.0f;
    }
    for (int r = threadIdx.x; r < nr; r += blockDim.x) {
        m[r] = -INFINITY;
        l[r] = 0.0f;
    }
    __syncthreads();

    /* 2. key tiles from position 0 to the tile's last position */
    const int last = t.pos0 + t.n_tok - 1;
    for (int kb = 0; kb <= last; kb += k_tile) {
        const int kn = last + 1 - kb < k_tile ? last + 1 - kb : k_tile;
        /* a. gather the key tile from its blocks */
        kv_gather_tile<T>(K, ks, V, hd, k_pool, v_pool, table, kb, kn, g, n_kv, hd, bs);
        __syncthreads();
        /* b. S = Q K^T */
        for (int i = threadIdx.x; i < nr * kn; i += blockDim.x) {
            int r = i / kn, j = i % kn;
            const float *qr = Q + (size_t)r * hd, *kj = K + (size_t)j * ks;
            float s = 0.0f;
            for (int d = 0; d < hd; d++)
                s += qr[d] * kj[d];
            S[(size_t)r * k_tile + j] = s;
        }
        __syncthreads();
        /* c. causal mask and online softmax, one thread per row */
        for (int r = threadIdx.x; r < nr; r += blockDim.x) {
            float *Sr = S + (size_t)r * k_tile;
            int p = t.pos0 + r / group; /* keys <= p are visible */
            int visible = p - kb + 1 < kn ? p - kb + 1 : kn;
            float mx = m[r];
            for (int j = 0; j < visible; j++)
                mx = fmaxf(mx, Sr[j]);
            float sum = 0.0f;
            for (int j = 0; j < visible; j++) {
                Sr[j] = expf(Sr[j] - mx);
                sum += Sr[j];
            }
            for (int j = visible < 0 ? 0 : visible; j < kn; j++)
                Sr[j] = 0.0f;
            float c = expf(m[r] - mx);
            l[r] = l[r] * c + sum;
            m[r] = mx;
            corr[r] = c;
        }
        __syncthreads();
        /* d. O = O * exp(m_old - m_new) + P V */
        for (int i = threadIdx.x; i < nr * hd; i += blockDim.x) {
            int r = i / hd, d = i % hd;
            const float *Pr = S + (size_t)r * k_tile;
            float acc = O[i] * corr[r];
            for (int j = 0; j < kn; j++)
                acc += Pr[j] * V[(size_t)j * hd + d];
            O[i] = acc;
        }
        __syncthreads();
    }
    /* 3. out = O / l */
    for (int i = threadIdx.x; i < nr * hd; i += blockDim.x) {
        int r = i / hd, d = i % hd;
        out[((size_t)(t.tok0 + r / group) * nh + g * group + r % group) * hd + d] =
            from_f<T>(O[i] * (1.0f / l[r]));
    }
}

template <typename T>
cudaError_t attention_tiles(T *out, const float *q, const cc_attn_tile *tiles, int n_tiles,
                            const T *k_pool, const T *v_pool, const int32_t *tables,
                            const cc_attn_shape &s, int q_rows, int k_tile, int threads,
                            cudaStream_t st)
{
    threads = threads > 0 ? threads : 128;
    int group = s.n_heads / s.n_kv_heads, tpt = tile_tokens(q_rows, group);
    size_t smem = attention_smem_floats(tpt * group, k_tile, s.head_dim) * sizeof(float);
    cudaError_t e = cudaFuncSetAttribute(attention_paged_kernel<T>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess)
        return e;
    if (n_tiles <= 0)
        return cudaSuccess;
    dim3 grid(n_tiles, s.n_kv_heads);
    attention_paged_kernel<T><<<grid, threads, smem, st>>>(out, q, tiles, k_pool, v_pool, tables,
                                                          s.n_heads, s.n_kv_heads, s.head_dim,
                                                          s.block_size, tpt, k_tile);
    return cudaGetLastError();
}

/* ---- blend: cached K/V moved to new positions; V deviation ----------------------
 * kv_rerotate: one thread per (row, kv head, pair), the angle in double as
 * cc_op_kv_rerotate.  v_deviation: one block per row, a tree sum in shared
 * memory (fp32, like the CPU twin; the order of the sum differs). */
template <typename T>
__global__ void kv_rerotate_kernel(T *k_pool, T *v_pool, const int32_t *src_rows,
                                   const int32_t *dst_rows, int n, int delta, int n_kv_heads,
                                   int head_dim, double theta)
{
    int half = head_dim / 2;
    size_t row = (size_t)n_kv_heads * head_dim, total = (size_t)n * n_kv_heads * half;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        int d = (int)(i % half);
        size_t th = i / half, tok = th / n_kv_heads, hh = th % n_kv_heads;
        size_t so = (size_t)src_rows[tok] * row + hh * head_dim;
        size_t dof = (size_t)dst_rows[tok] * row + hh * head_dim;
        double ang = delta * pow(theta, -2.0 * d / head_dim);
        float c = (float)cos(ang), s = (float)sin(ang);
        float a = to_f(k_pool[so + d]), b = to_f(k_pool[so + d + half]);
        k_pool[dof + d] = from_f<T>(a * c - b * s);
        k_pool[dof + d + half] = from_f<T>(b * c + a * s);
        v_pool[dof + d] = v_pool[so + d];
        v_pool[dof + d + half] = v_pool[so + d + half];
    }
}

template <typename T>
cudaError_t kv_rerotate(T *k_pool, T *v_pool, const int32_t *src_rows, const int32_t *dst_rows,
                        int n, int delta, const cc_attn_shape &s, double theta, int threads,
                        cudaStream_t st)
{
    threads = threads > 0 ? threads : 256;
    size_t total = (size_t)n * s.n_kv_heads * (s.head_dim / 2);
    if (total)
        kv_rerotate_kernel<T><<<blocks_for(total, threads), threads, 0, st>>>(
            k_pool, v_pool, src_rows, dst_rows, n, delta, s.n_kv_heads, s.head_dim, theta);
    return cudaGetLastError();
}

template <typename T>
__global__ void v_deviation_kernel(float *dev, const float *v, const T *v_pool,
                                   const int32_t *pool_rows, int n, int row)
{
    __shared__ float part[256];
    for (int i = blockIdx.x; i < n; i += gridDim.x) {
        float acc = 0.0f;
        for (int d = threadIdx.x; d < row; d += blockDim.x) {
            float x = v[(size_t)i * row + d] - to_f(v_pool[(size_t)pool_rows[i] * row + d]);
            acc += x * x;
        }
        part[threadIdx.x] = acc;
        __syncthreads();
        for (int k = blockDim.x / 2; k > 0; k >>= 1) {
            if ((int)threadIdx.x < k)
                part[threadIdx.x] += part[threadIdx.x + k];
            __syncthreads();
        }
        if (threadIdx.x == 0)
            dev[i] = part[0];
        __syncthreads();
    }
}

template <typename T>
cudaError_t v_deviation(float *dev, const float *v, const T *v_pool, const int32_t *pool_rows,
                        int n, int row, cudaStream_t st)
{
    if (n > 0)
        v_deviation_kernel<T><<<n < 65535 ? n : 65535, 256, 0, st>>>(dev, v, v_pool, pool_rows, n,
                                                                     row);
    return cudaGetLastError();
}

/* ---- small helpers ---------------------------------------------------------------------- */
__global__ void gather_rows_kernel(float *rows, const float *x, const int32_t *idx, int n, int dim)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (size_t)n * dim;
         i += (size_t)gridDim.x * blockDim.x)
        rows[i] = x[(size_t)idx[i / dim] * dim + i % dim];
}

cudaError_t gather_rows(float *rows, const float *x, const int32_t *idx, int n, int dim,
                        cudaStream_t st)
{
    if (n > 0)
        gather_rows_kernel<<<blocks_for((size_t)n * dim, 256), 256, 0, st>>>(rows, x, idx, n, dim);
    return cudaGetLastError();
}

template <typename T> __global__ void from_f32_kernel(T *dst, const float *src, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        dst[i] = from_f<T>(src[i]);
}
template <typename T> __global__ void to_f32_kernel(float *dst, const T *src, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        dst[i] = to_f(src[i]);
}
template <typename T> cudaError_t from_f32(T *dst, const float *src, size_t n, cudaStream_t st)
{
    if (n)
        from_f32_kernel<T><<<blocks_for(n, 256), 256, 0, st>>>(dst, src, n);
    return cudaGetLastError();
}
template <typename T> cudaError_t to_f32(float *dst, const T *src, size_t n, cudaStream_t st)
{
    if (n)
        to_f32_kernel<T><<<blocks_for(n, 256), 256, 0, st>>>(dst, src, n);
    return cudaGetLastError();
}

/* Explicit instantiations for the three storage types. */
#define CC_INSTANTIATE(T)                                                                      \
    template cudaError_t embed<T>(float *, const int32_t *, int, const T *, int, int,          \
                                  cudaStream_t);                                               \
    template cudaError_t rmsnorm<T>(T *, const float *, const float *, int, int, float, int,   \
                                    cudaStream_t);                                             \
    template cublasStatus_t matmul<T>(cublasHandle_t, float *, const T *, const T *,           \
                                      const float *, int, int, int, int, cudaStream_t);        \
    template cudaError_t swiglu<T>(T *, const float *, const float *, size_t, int,             \
                                   cudaStream_t);                                              \
    template cudaError_t kv_scatter<T>(T *, T *, const float *, const float *,                 \
                                       const int32_t *, int, const cc_attn_shape &, int,       \
                                       cudaStream_t);                                          \
    template cudaError_t kv_gather<T>(float *, float *, const T *, const T *, const int32_t *, \
                                      int, int, int, const cc_attn_shape &, int,               \
                                      cudaStream_t);                                           \
    template cudaError_t attention_tiles<T>(T *, const float *, const cc_attn_tile *, int,     \
                                            const T *, const T *, const int32_t *,             \
                                            const cc_attn_shape &, int, int, int,              \
                                            cudaStream_t);                                     \
    template cudaError_t kv_rerotate<T>(T *, T *, const int32_t *, const int32_t *, int, int,  \
                                        const cc_attn_shape &, double, int, cudaStream_t);     \
    template cudaError_t v_deviation<T>(float *, const float *, const T *, const int32_t *,    \
                                        int, int, cudaStream_t);                               \
    template cudaError_t from_f32<T>(T *, const float *, size_t, cudaStream_t);                \
    template cudaError_t to_f32<T>(float *, const T *, size_t, cudaStream_t);
CC_INSTANTIATE(float)
CC_INSTANTIATE(__half)
CC_INSTANTIATE(__nv_bfloat16)
#undef CC_INSTANTIATE

} // namespace ccg

/* ---- the C wrappers of gpu.h (tests and benchmarks) --------------------------------------- */
using namespace ccg;

#define CC_DISPATCH(dtype, ...)                                                                \
    switch (dtype) {                                                                           \
    case CC_DTYPE_F32: { typedef float T; __VA_ARGS__; } break;                                \
    case CC_DTYPE_F16: { typedef __half T; __VA_ARGS__; } break;                               \
    case CC_DTYPE_BF16: { typedef __nv_bfloat16 T; __VA_ARGS__; } break;                       \
    default: return CC_EARG;                                                                   \
    }

static int finish(cudaError_t e)
{
    if (e == cudaSuccess)
        e = cudaDeviceSynchronize();
    if (e != cudaSuccess) {
        fprintf(stderr, "cuda: %s\n", cudaGetErrorString(e));
        return CC_EIO;
    }
    return CC_OK;
}

extern "C" {

void *cc_cuda_alloc(size_t bytes)
{
    void *p = NULL;
    if (cudaMalloc(&p, bytes ? bytes : 1) != cudaSuccess) {
        cudaGetLastError();
        return NULL;
    }
    return p;
}

void cc_cuda_free(void *p)
{
    if (p)
        cudaFree(p);
}

int cc_cuda_upload_bytes(void *dev, const void *host, size_t bytes)
{
    return finish(cudaMemcpy(dev, host, bytes, cudaMemcpyHostToDevice));
}

int cc_cuda_upload(void *dev, const float *host, size_t n, int dtype)
{
    if (dtype == CC_DTYPE_F32)
        return cc_cuda_upload_bytes(dev, host, n * sizeof(float));
    float *tmp = (float *)cc_cuda_alloc(n * sizeof(float));
    if (!tmp)
        return CC_ENOMEM;
    cudaError_t e = cudaMemcpy(tmp, host, n * sizeof(float), cudaMemcpyHostToDevice);
    if (e == cudaSuccess)
        CC_DISPATCH(dtype, e = from_f32<T>((T *)dev, tmp, n, 0));
    int rc = finish(e);
    cc_cuda_free(tmp);
    return rc;
}

int cc_cuda_download(float *host, const void *dev, size_t n, int dtype)
{
    if (dtype == CC_DTYPE_F32)
        return finish(cudaMemcpy(host, dev, n * sizeof(float), cudaMemcpyDeviceToHost));
    float *tmp = (float *)cc_cuda_alloc(n * sizeof(float));
    if (!tmp)
        return CC_ENOMEM;
    cudaError_t e = cudaSuccess;
    CC_DISPATCH(dtype, e = to_f32<T>(tmp, (const T *)dev, n, 0));
    if (e == cudaSuccess)
        e = cudaMemcpy(host, tmp, n * sizeof(float), cudaMemcpyDeviceToHost);
    int rc = finish(e);
    cc_cuda_free(tmp);
    return rc;
}

int cc_cuda_op_embed(void *out_f32, const int32_t *tokens_dev, int n, const void *table, int dim,
                     int dtype, int threads)
{
    cudaError_t e = cudaSuccess;
    CC_DISPATCH(dtype, e = embed<T>((float *)out_f32, tokens_dev, n, (const T *)table, dim,
                                    threads, 0));
    return finish(e);
}

int cc_cuda_op_rmsnorm(void *out, const void *x_f32, const void *w_f32, int n, int dim, float eps,
                       int dtype, int threads)
{
    cudaError_t e = cudaSuccess;
    CC_DISPATCH(dtype, e = rmsnorm<T>((T *)out, (const float *)x_f32, (const float *)w_f32, n,
                                      dim, eps, threads, 0));
    return finish(e);
}

int cc_cuda_op_matmul(void *out_f32, const void *x, const void *w, const void *bias_f32, int n,
                      int d_in, int d_out, int accumulate, int dtype)
{
    cublasHandle_t h;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS)
        return CC_EIO;
    cublasStatus_t s = CUBLAS_STATUS_SUCCESS;
    CC_DISPATCH(dtype, s = matmul<T>(h, (float *)out_f32, (const T *)x, (const T *)w,
                                     (const float *)bias_f32, n, d_in, d_out, accumulate, 0));
    int rc = finish(cudaGetLastError());
    cublasDestroy(h);
    return s == CUBLAS_STATUS_SUCCESS ? rc : CC_EIO;
}

int cc_cuda_op_rope(void *x_f32, const int32_t *pos_dev, int n, int n_heads, int head_dim,
                    double theta, int threads)
{
    return finish(rope((float *)x_f32, pos_dev, n, n_heads, head_dim, theta, threads, 0));
}

int cc_cuda_op_swiglu(void *out, const void *gate_f32, const void *up_f32, size_t n, int dtype,
                      int threads)
{
    cudaError_t e = cudaSuccess;
    CC_DISPATCH(dtype, e = swiglu<T>((T *)out, (const float *)gate_f32, (const float *)up_f32, n,
                                     threads, 0));
    return finish(e);
}

int cc_cuda_op_kv_scatter(void *k_pool, void *v_pool, const void *k_f32, const void *v_f32,
                          const int32_t *pool_rows_dev, int n, const cc_attn_shape *s, int dtype,
                          int threads)
{
    cudaError_t e = cudaSuccess;
    CC_DISPATCH(dtype, e = kv_scatter<T>((T *)k_pool, (T *)v_pool, (const float *)k_f32,
                                         (const float *)v_f32, pool_rows_dev, n, *s, threads, 0));
    return finish(e);
}

int cc_cuda_op_kv_gather(void *k_out_f32, void *v_out_f32, const void *k_pool, const void *v_pool,
                         const int32_t *block_table_dev, int p0, int n, int g,
                         const cc_attn_shape *s, int dtype, int threads)
{
    cudaError_t e = cudaSuccess;
    CC_DISPATCH(dtype, e = kv_gather<T>((float *)k_out_f32, (float *)v_out_f32,
                                        (const T *)k_pool, (const T *)v_pool, block_table_dev,
                                        p0, n, g, *s, threads, 0));
    return finish(e);
}

int cc_cuda_op_attention_paged(void *out, const void *q_f32, int n, int pos0, const void *k_pool,
                               const void *v_pool, const int32_t *block_table_dev,
                               const cc_attn_shape *s, int q_rows, int k_tile, int dtype,
                               int threads)
{
    /* the work list of one sequence, as cc_op_attention_paged builds it */
    int group = s->n_heads / s->n_kv_heads, tpt = tile_tokens(q_rows, group);
    std::vector<cc_attn_tile> tiles;
    for (int done = 0; done < n; done += tpt) {
        cc_attn_tile t;
        t.tok0 = done;
        t.n_tok = n - done < tpt ? n - done : tpt;
        t.pos0 = pos0 + done;
        t.table0 = 0;
        t.batch_pos0 = INT32_MAX;
        tiles.push_back(t);
    }
    cc_attn_tile *d_tiles = (cc_attn_tile *)cc_cuda_alloc(tiles.size() * sizeof(cc_attn_tile));
    if (!d_tiles)
        return CC_ENOMEM;
    cudaError_t e = cudaMemcpy(d_tiles, tiles.data(), tiles.size() * sizeof(cc_attn_tile),
                               cudaMemcpyHostToDevice);
    if (e == cudaSuccess)
        CC_DISPATCH(dtype, e = attention_tiles<T>((T *)out, (const float *)q_f32, d_tiles,
                                                  (int)tiles.size(), (const T *)k_pool,
                                                  (const T *)v_pool, block_table_dev, *s, q_rows,
                                                  k_tile, threads, 0));
    int rc = finish(e);
    cc_cuda_free(d_tiles);
    return rc;
}

} /* extern "C" */
