/*
 * minilm.cu -- the CUDA MiniLM: the encoder of minilm.c on the device, the
 * matrix products in cuBLAS (fp32, cublasSgemm, default math: no TF32), the
 * rest in kernels named after their CPU twins (cc_mlm_op_* in minilm.c) with
 * the same order of steps:
 *
 *   mlm_embed_kernel            one block per token: sum of the three
 *                               embeddings, LayerNorm (mean, then variance,
 *                               by block reductions)
 *   mlm_add_layernorm_kernel    one block per token: x + y + bias, LayerNorm
 *   mlm_bias_gelu_kernel,
 *   mlm_bias_kernel             one thread per element
 *   mlm_attention_kernel        one block per (sequence, head), one thread
 *                               per query row: scaled scores and their max,
 *                               then exp(score - max), its sum and the
 *                               weighted sum of values, divided by the sum
 *                               (the CPU twin does the two products with
 *                               sgemm; here the scores are recomputed in the
 *                               second pass rather than kept per thread)
 *   mlm_mean_pool_normalize_kernel  one block per sequence
 *
 * The weights are copied once as the host arena (one cudaMemcpy; the
 * device views sit at the same offsets); activations are sized for
 * MLM_CHUNK_TOKENS tokens.  A forward uploads ids, positions and sequence
 * offsets, runs on the default stream and downloads the pooled vectors.
 * Also here: the test-facing wrappers cc_cuda_mlm_op_* of gpu.h
 * (synchronous).
 */
#include "minilm_impl.h"

#include <cublas_v2.h>
#include "cublas_dl.cuh" /* cuBLAS is dlopened at its first use */
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

#define MLM_THREADS 128

namespace {

__device__ float block_sum(float v, float *sh)
{
    int t = threadIdx.x;
    sh[t] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s)
            sh[t] += sh[t + s];
        __syncthreads();
    }
    float r = sh[0];
    __syncthreads();
    return r;
}

/* LayerNorm of row x (dim floats) in place, by one block. */
__device__ void layernorm_row(float *x, const float *w, const float *b, int dim, float eps,
                              float *sh)
{
    float s = 0.0f;
    for (int d = threadIdx.x; d < dim; d += blockDim.x)
        s += x[d];
    float mean = block_sum(s, sh) / dim;
    float v = 0.0f;
    for (int d = threadIdx.x; d < dim; d += blockDim.x)
        v += (x[d] - mean) * (x[d] - mean);
    float r = rsqrtf(block_sum(v, sh) / dim + eps);
    for (int d = threadIdx.x; d < dim; d += blockDim.x)
        x[d] = (x[d] - mean) * r * w[d] + b[d];
}

__global__ void mlm_embed_kernel(float *x, const int32_t *ids, const int32_t *pos,
                                 const float *word, const float *pos_emb, const float *type0,
                                 const float *ln_w, const float *ln_b, int dim, float eps)
{
    __shared__ float sh[MLM_THREADS];
    int t = blockIdx.x;
    float *xt = x + (size_t)t * dim;
    const float *a = word + (size_t)ids[t] * dim, *p = pos_emb + (size_t)pos[t] * dim;
    for (int d = threadIdx.x; d < dim; d += blockDim.x)
        xt[d] = a[d] + p[d] + type0[d];
    __syncthreads();
    layernorm_row(xt, ln_w, ln_b, dim, eps, sh);
}

__global__ void mlm_add_layernorm_kernel(float *x, const float *y, const float *bias,
                                         const float *ln_w, const float *ln_b, int dim,
                                         float eps)
{
    __shared__ float sh[MLM_THREADS];
    int t = blockIdx.x;
    float *xt = x + (size_t)t * dim;
    const float *yt = y + (size_t)t * dim;
    for (int d = threadIdx.x; d < dim; d += blockDim.x)
        xt[d] += yt[d] + (bias ? bias[d] : 0.0f);
    __syncthreads();
    layernorm_row(xt, ln_w, ln_b, dim, eps, sh);
}

__global__ void mlm_bias_gelu_kernel(float *x, const float *b, size_t n, int dim)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float v = x[i] + b[i % dim];
        x[i] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    }
}

__global__ void mlm_bias_kernel(float *x, const float *b, size_t n, int dim)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        x[i] += b[i % dim];
}

__global__ void mlm_attention_kernel(float *out, const float *qkv, const int32_t *seq_off,
                                     int n_heads, int head_dim)
{
    int s = blockIdx.x, hd = blockIdx.y;
    int h = n_heads * head_dim;
    size_t row = 3 * (size_t)h;
    int t0 = seq_off[s], L = seq_off[s + 1] - seq_off[s];
    float scale = rsqrtf((float)head_dim);
    for (int i = threadIdx.x; i < L; i += blockDim.x) {
        const float *q = qkv + (size_t)(t0 + i) * row + (size_t)hd * head_dim;
        float m = -INFINITY;
        for (int j = 0; j < L; j++) {
            const float *k = qkv + (size_t)(t0 + j) * row + h + (size_t)hd * head_dim;
            float dot = 0.0f;
            for (int d = 0; d < head_dim; d++)
                dot += q[d] * k[d];
            m = fmaxf(m, dot * scale);
        }
        float acc[CC_MAX_HEAD_DIM];
        for (int d = 0; d < head_dim; d++)
            acc[d] = 0.0f;
        float sum = 0.0f;
        for (int j = 0; j < L; j++) {
            const float *k = qkv + (size_t)(t0 + j) * row + h + (size_t)hd * head_dim;
            const float *v = k + h;
            float dot = 0.0f;
            for (int d = 0; d < head_dim; d++)
                dot += q[d] * k[d];
            float p = expf(dot * scale - m);
            sum += p;
            for (int d = 0; d < head_dim; d++)
                acc[d] += p * v[d];
        }
        float *o = out + (size_t)(t0 + i) * h + (size_t)hd * head_dim;
        for (int d = 0; d < head_dim; d++)
            o[d] = acc[d] / sum;
    }
}

__global__ void mlm_mean_pool_normalize_kernel(float *out, const float *x,
                                               const int32_t *seq_off, int dim)
{
    __shared__ float sh[MLM_THREADS];
    int s = blockIdx.x;
    int t0 = seq_off[s], L = seq_off[s + 1] - t0;
    float *o = out + (size_t)s * dim;
    float ss = 0.0f;
    for (int d = threadIdx.x; d < dim; d += blockDim.x) {
        float a = 0.0f;
        for (int t = 0; t < L; t++)
            a += x[(size_t)(t0 + t) * dim + d];
        a /= (float)(L > 0 ? L : 1);
        o[d] = a;
        ss += a * a;
    }
    float norm = sqrtf(block_sum(ss, sh));
    float inv = 1.0f / fmaxf(norm, 1e-12f);
    for (int d = threadIdx.x; d < dim; d += blockDim.x)
        o[d] *= inv;
}

int blocks(size_t n) { return (int)((n + MLM_THREADS - 1) / MLM_THREADS); }

int launched(void) { return cudaGetLastError() == cudaSuccess ? CC_OK : CC_EIO; }

} // namespace

struct mlm_cuda {
    cublasHandle_t blas;
    float *weights; /* device copy of the host arena */
    float *x, *qkv, *att, *tmp, *ffn, *pooled;
    int32_t *ids, *pos, *seq_off;
};

/* The device address of a host view into the arena. */
static const float *dev(const mlm_cuda *c, const mlm_weights *w, const float *host)
{
    return c->weights + (host - w->data);
}

extern "C" void cc_mlm_cuda_free(mlm_cuda *c)
{
    if (!c)
        return;
    if (c->blas)
        cublasDestroy(c->blas);
    float *f[] = {c->weights, c->x, c->qkv, c->att, c->tmp, c->ffn, c->pooled};
    for (float *p : f)
        cudaFree(p);
    cudaFree(c->ids);
    cudaFree(c->pos);
    cudaFree(c->seq_off);
    delete c;
}

extern "C" int cc_mlm_cuda_init(mlm_cuda **out, const mlm_weights *w, cc_err *err)
{
    *out = NULL;
    int n_dev = 0;
    if (cudaGetDeviceCount(&n_dev) != cudaSuccess || n_dev < 1) {
        cudaGetLastError();
        return cc_err_set(err, CC_EUNSUP, NULL, 0, "backend", "no CUDA device");
    }
    mlm_cuda *c = new mlm_cuda();
    size_t T = MLM_CHUNK_TOKENS, h = w->cfg.hidden;
    bool ok = cublasCreate(&c->blas) == CUBLAS_STATUS_SUCCESS &&
              cudaMalloc(&c->weights, w->n_floats * sizeof(float)) == cudaSuccess &&
              cudaMalloc(&c->x, T * h * sizeof(float)) == cudaSuccess &&
              cudaMalloc(&c->qkv, T * 3 * h * sizeof(float)) == cudaSuccess &&
              cudaMalloc(&c->att, T * h * sizeof(float)) == cudaSuccess &&
              cudaMalloc(&c->tmp, T * h * sizeof(float)) == cudaSuccess &&
              cudaMalloc(&c->ffn, T * w->cfg.ffn * sizeof(float)) == cudaSuccess &&
              cudaMalloc(&c->pooled, T / 2 * h * sizeof(float)) == cudaSuccess &&
              cudaMalloc(&c->ids, T * sizeof(int32_t)) == cudaSuccess &&
              cudaMalloc(&c->pos, T * sizeof(int32_t)) == cudaSuccess &&
              cudaMalloc(&c->seq_off, (T + 1) * sizeof(int32_t)) == cudaSuccess &&
              cudaMemcpy(c->weights, w->data, w->n_floats * sizeof(float),
                         cudaMemcpyHostToDevice) == cudaSuccess;
    if (!ok) {
        cc_mlm_cuda_free(c);
        cudaGetLastError();
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "backend",
                          "cannot set up the CUDA MiniLM (device memory or cuBLAS)");
    }
    *out = c;
    return CC_OK;
}

/* out[n][d_out] = x[n][d_in] W[d_out][d_in]^T in column-major terms:
 * out^T (d_out x n) = W^T-as-stored (d_out x d_in) x^T (d_in x n). */
static int linear(mlm_cuda *c, float *out, const float *x, const float *W, int n, int d_in,
                  int d_out)
{
    const float one = 1.0f, zero = 0.0f;
    return cublasSgemm(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, d_out, n, d_in, &one, W, d_in, x,
                       d_in, &zero, out, d_out) == CUBLAS_STATUS_SUCCESS
               ? CC_OK
               : CC_EIO;
}

extern "C" int cc_mlm_cuda_forward(mlm_cuda *c, const mlm_weights *w, const int32_t *ids,
                                   const int32_t *pos, const int32_t *seq_off, int n_seqs,
                                   int T, float *out, cc_err *err)
{
    const cc_minilm_config *m = &w->cfg;
    int h = m->hidden, f = m->ffn, hd = h / m->n_heads;
    float eps = m->ln_eps;
    int rc = CC_OK;
    if (cudaMemcpy(c->ids, ids, T * sizeof(int32_t), cudaMemcpyHostToDevice) != cudaSuccess ||
        cudaMemcpy(c->pos, pos, T * sizeof(int32_t), cudaMemcpyHostToDevice) != cudaSuccess ||
        cudaMemcpy(c->seq_off, seq_off, (n_seqs + 1) * sizeof(int32_t),
                   cudaMemcpyHostToDevice) != cudaSuccess)
        return cc_err_set(err, CC_EIO, NULL, 0, "backend", "CUDA upload failed");
    mlm_embed_kernel<<<T, MLM_THREADS>>>(c->x, c->ids, c->pos, dev(c, w, w->word),
                                         dev(c, w, w->pos), dev(c, w, w->type),
                                         dev(c, w, w->eln_w), dev(c, w, w->eln_b), h, eps);
    for (int l = 0; l < m->n_layers && !rc; l++) {
        const mlm_layer *L = &w->layers[l];
        rc |= linear(c, c->qkv, c->x, dev(c, w, L->wqkv), T, h, 3 * h);
        mlm_bias_kernel<<<blocks((size_t)T * 3 * h), MLM_THREADS>>>(
            c->qkv, dev(c, w, L->bqkv), (size_t)T * 3 * h, 3 * h);
        mlm_attention_kernel<<<dim3(n_seqs, m->n_heads), MLM_THREADS>>>(
            c->att, c->qkv, c->seq_off, m->n_heads, hd);
        rc |= linear(c, c->tmp, c->att, dev(c, w, L->wo), T, h, h);
        mlm_add_layernorm_kernel<<<T, MLM_THREADS>>>(c->x, c->tmp, dev(c, w, L->bo),
                                                     dev(c, w, L->ln1_w), dev(c, w, L->ln1_b),
                                                     h, eps);
        rc |= linear(c, c->ffn, c->x, dev(c, w, L->w1), T, h, f);
        mlm_bias_gelu_kernel<<<blocks((size_t)T * f), MLM_THREADS>>>(
            c->ffn, dev(c, w, L->b1), (size_t)T * f, f);
        rc |= linear(c, c->tmp, c->ffn, dev(c, w, L->w2), T, f, h);
        mlm_add_layernorm_kernel<<<T, MLM_THREADS>>>(c->x, c->tmp, dev(c, w, L->b2),
                                                     dev(c, w, L->ln2_w), dev(c, w, L->ln2_b),
                                                     h, eps);
    }
    mlm_mean_pool_normalize_kernel<<<n_seqs, MLM_THREADS>>>(c->pooled, c->x, c->seq_off, h);
    if (rc || launched() ||
        cudaMemcpy(out, c->pooled, (size_t)n_seqs * h * sizeof(float),
                   cudaMemcpyDeviceToHost) != cudaSuccess)
        return cc_err_set(err, CC_EIO, NULL, 0, "backend", "CUDA MiniLM forward failed");
    return CC_OK;
}

/* ---- test-facing wrappers (synchronous) --------------------------------------- */

static int done(void)
{
    return cudaGetLastError() == cudaSuccess && cudaDeviceSynchronize() == cudaSuccess
               ? CC_OK
               : CC_EIO;
}

extern "C" int cc_cuda_mlm_op_embed(void *x, const int32_t *ids, const int32_t *pos, int T,
                                    const void *word, const void *pos_emb, const void *type0,
                                    const void *ln_w, const void *ln_b, int dim, float eps)
{
    mlm_embed_kernel<<<T, MLM_THREADS>>>((float *)x, ids, pos, (const float *)word,
                                         (const float *)pos_emb, (const float *)type0,
                                         (const float *)ln_w, (const float *)ln_b, dim, eps);
    return done();
}

extern "C" int cc_cuda_mlm_op_add_layernorm(void *x, const void *y, const void *bias,
                                            const void *ln_w, const void *ln_b, int T, int dim,
                                            float eps)
{
    mlm_add_layernorm_kernel<<<T, MLM_THREADS>>>((float *)x, (const float *)y,
                                                 (const float *)bias, (const float *)ln_w,
                                                 (const float *)ln_b, dim, eps);
    return done();
}

extern "C" int cc_cuda_mlm_op_bias_gelu(void *x, const void *b, int T, int dim)
{
    size_t n = (size_t)T * dim;
    mlm_bias_gelu_kernel<<<blocks(n), MLM_THREADS>>>((float *)x, (const float *)b, n, dim);
    return done();
}

extern "C" int cc_cuda_mlm_op_bias(void *x, const void *b, int T, int dim)
{
    size_t n = (size_t)T * dim;
    mlm_bias_kernel<<<blocks(n), MLM_THREADS>>>((float *)x, (const float *)b, n, dim);
    return done();
}

extern "C" int cc_cuda_mlm_op_attention(void *out, const void *qkv, const int32_t *seq_off,
                                        int n_seqs, int n_heads, int head_dim)
{
    if (head_dim > CC_MAX_HEAD_DIM)
        return CC_EARG;
    mlm_attention_kernel<<<dim3(n_seqs, n_heads), MLM_THREADS>>>(
        (float *)out, (const float *)qkv, seq_off, n_heads, head_dim);
    return done();
}

extern "C" int cc_cuda_mlm_op_mean_pool_normalize(void *out, const void *x,
                                                  const int32_t *seq_off, int n_seqs, int dim)
{
    mlm_mean_pool_normalize_kernel<<<n_seqs, MLM_THREADS>>>((float *)out, (const float *)x,
                                                            seq_off, dim);
    return done();
}
