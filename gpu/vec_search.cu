/*
 * vec_search.cu -- exact nearest-neighbour search of the semantic tier on a
 * CUDA device (gpu.h, "exact vector search"): cuBLAS sgemm of a batch of
 * queries against a device copy of the index's matrix, block by block of
 * CC_GPU_VEC_BLOCK rows, and a row-argmax kernel that merges each block's
 * scores into the running best.  CPU twin of the kernel:
 * cc_vec_argmax_rows (vec_search_cpu.c); twin of the file for builds
 * without CUDA: vec_search_nocuda.c.
 *
 * Layout: X is row-major n x dim on the host and on the device; in cuBLAS's
 * column-major view it is dim x n, so the scores of a block, S (nq x m
 * row-major) = m x nq column-major = X_block^T Q, are one
 * cublasSgemm(OP_T, OP_N, m, nq, dim).
 * Memory on the device: n x dim x 4 (the copy of X, grown by doubling) +
 * nq x dim x 4 (queries) + nq x CC_GPU_VEC_BLOCK x 4 (one block of scores)
 * + 12 nq (running best).  Costs: 2 n nq dim flops per search at sgemm
 * speed; X crosses PCIe only when the index changed.
 */
#include <cublas_v2.h>
#include "cublas_dl.cuh" /* cuBLAS is dlopened at its first use */
#include <cuda_runtime.h>
#include <math.h>
#include <stdlib.h>

extern "C" {
#include "gpu/gpu.h"
}

struct cc_gpu_vecsearch {
    int device;
    cublasHandle_t blas;
    float *dX;
    size_t cap_x; /* floats */
    const void *key;
    uint64_t version;
    size_t n;
    int dim;
    float *dQ, *dS, *dBest;
    long long *dRow;
    size_t cap_q, cap_s, cap_best, cap_row; /* elements */
};

static int cuda_fail(cc_err *err, const char *what, cudaError_t e)
{
    return cc_err_set(err, CC_EIO, NULL, 0, "device", "%s: %s", what, cudaGetErrorString(e));
}

#define CK(call, what)                                                                        \
    do {                                                                                      \
        cudaError_t ck_e_ = (call);                                                           \
        if (ck_e_ != cudaSuccess)                                                             \
            return cuda_fail(err, what, ck_e_);                                               \
    } while (0)

/* Row argmax of S (nq x m, row-major), one block of threads per row, merged
 * into best/row when strictly greater.  Same rule as the CPU twin. */
__global__ void cc_vec_argmax_rows_kernel(const float *S, size_t m, long long base, float *best,
                                          long long *row)
{
    __shared__ float sv[256];
    __shared__ long long sr[256];
    const float *r = S + (size_t)blockIdx.x * m;
    float v = -INFINITY;
    long long at = -1;
    for (size_t j = threadIdx.x; j < m; j += blockDim.x) {
        float s = r[j];
        if (at < 0 || s > v) { /* j ascending per thread: the first max stays */
            v = s;
            at = (long long)j;
        }
    }
    sv[threadIdx.x] = v;
    sr[threadIdx.x] = at;
    __syncthreads();
    for (unsigned w = blockDim.x / 2; w > 0; w /= 2) {
        if (threadIdx.x < w) {
            float ov = sv[threadIdx.x + w];
            long long orow = sr[threadIdx.x + w];
            long long mr = sr[threadIdx.x];
            if (orow >= 0 && (mr < 0 || ov > sv[threadIdx.x] ||
                              (ov == sv[threadIdx.x] && orow < mr))) {
                sv[threadIdx.x] = ov;
                sr[threadIdx.x] = orow;
            }
        }
        __syncthreads();
    }
    if (threadIdx.x == 0 && sr[0] >= 0 &&
        (row[blockIdx.x] < 0 || sv[0] > best[blockIdx.x])) {
        best[blockIdx.x] = sv[0];
        row[blockIdx.x] = base + sr[0];
    }
}

__global__ void cc_vec_best_init_kernel(float *best, long long *row, size_t nq)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < nq) {
        best[i] = -INFINITY;
        row[i] = -1;
    }
}

static int grow(float **p, size_t *cap, size_t need, cc_err *err)
{
    if (need <= *cap)
        return CC_OK;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    cudaFree(*p);
    *p = NULL;
    *cap = 0;
    CK(cudaMalloc((void **)p, c * sizeof(float)), "cudaMalloc");
    *cap = c;
    return CC_OK;
}

extern "C" int cc_gpu_vecsearch_new(int device, cc_gpu_vecsearch **out, cc_err *err)
{
    *out = NULL;
    if (cc_gpu_device_count() <= device || device < 0)
        return cc_err_set(err, CC_EUNSUP, NULL, 0, "device", "no CUDA device %d", device);
    CK(cudaSetDevice(device), "cudaSetDevice");
    cc_gpu_vecsearch *g = (cc_gpu_vecsearch *)calloc(1, sizeof *g);
    if (!g)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory");
    g->device = device;
    if (cublasCreate(&g->blas) != CUBLAS_STATUS_SUCCESS) {
        free(g);
        return cc_err_set(err, CC_EIO, NULL, 0, "device", "cublasCreate failed");
    }
    *out = g;
    return CC_OK;
}

extern "C" void cc_gpu_vecsearch_free(cc_gpu_vecsearch *g)
{
    if (!g)
        return;
    cudaFree(g->dX);
    cudaFree(g->dQ);
    cudaFree(g->dS);
    cudaFree(g->dBest);
    cudaFree(g->dRow);
    cublasDestroy(g->blas);
    free(g);
}

extern "C" int cc_gpu_vecsearch_top1(void *ctx, const float *X, size_t n, int dim,
                                     const void *key, uint64_t version, const float *Q,
                                     size_t nq, int64_t *row, float *sim, cc_err *err)
{
    cc_gpu_vecsearch *g = (cc_gpu_vecsearch *)ctx;
    int rc;
    if (nq == 0)
        return CC_OK;
    CK(cudaSetDevice(g->device), "cudaSetDevice");
    if (g->key != key || g->version != version || g->n != n || g->dim != dim) {
        if ((rc = grow(&g->dX, &g->cap_x, n * (size_t)dim + 1, err)))
            return rc;
        if (n)
            CK(cudaMemcpy(g->dX, X, n * (size_t)dim * sizeof(float), cudaMemcpyHostToDevice),
               "copying the index to the device");
        g->key = key;
        g->version = version;
        g->n = n;
        g->dim = dim;
    }
    size_t block = n < CC_GPU_VEC_BLOCK ? (n ? n : 1) : CC_GPU_VEC_BLOCK;
    if ((rc = grow(&g->dQ, &g->cap_q, nq * (size_t)dim, err)) ||
        (rc = grow(&g->dS, &g->cap_s, nq * block, err)) ||
        (rc = grow(&g->dBest, &g->cap_best, nq, err)))
        return rc;
    if (g->cap_row < g->cap_best) {
        cudaFree(g->dRow);
        g->dRow = NULL;
        g->cap_row = 0;
        CK(cudaMalloc((void **)&g->dRow, g->cap_best * sizeof(long long)), "cudaMalloc");
        g->cap_row = g->cap_best;
    }
    CK(cudaMemcpy(g->dQ, Q, nq * (size_t)dim * sizeof(float), cudaMemcpyHostToDevice),
       "copying queries");
    cc_vec_best_init_kernel<<<(unsigned)((nq + 255) / 256), 256>>>(g->dBest, g->dRow, nq);
    CK(cudaGetLastError(), "init kernel");
    const float one = 1.0f, zero = 0.0f;
    for (size_t base = 0; base < n; base += block) {
        size_t m = n - base < block ? n - base : block;
        if (cublasSgemm(g->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)m, (int)nq, dim, &one,
                        g->dX + base * (size_t)dim, dim, g->dQ, dim, &zero, g->dS,
                        (int)m) != CUBLAS_STATUS_SUCCESS)
            return cc_err_set(err, CC_EIO, NULL, 0, "device", "cublasSgemm failed");
        cc_vec_argmax_rows_kernel<<<(unsigned)nq, 256>>>(g->dS, m, (long long)base, g->dBest,
                                                         g->dRow);
        CK(cudaGetLastError(), "argmax kernel");
    }
    CK(cudaMemcpy(sim, g->dBest, nq * sizeof(float), cudaMemcpyDeviceToHost), "copying results");
    CK(cudaMemcpy(row, g->dRow, nq * sizeof(long long), cudaMemcpyDeviceToHost),
       "copying results");
    return CC_OK;
}
