/*
 * cublas_dl.cu -- cuBLAS resolved with dlopen at its first use (see
 * cublas_dl.cuh for why).  The handle and the function pointers are
 * written once, under pthread_once, and only read afterwards: process-wide
 * state of the same kind as the dynamic loader's own, not mutable state of a
 * run.  The library name carries the major version of the headers the code
 * was compiled against (libcublas.so.13 for CUDA 13), so a mismatched
 * library is never picked up; it is found through the command's RUNPATH (the
 * Makefile sets it to CUDA's lib64) or the usual loader paths.
 */
#include "cublas_dl.cuh"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#define CC_STR2(x) #x
#define CC_STR(x) CC_STR2(x)

typedef cublasStatus_t (*create_fn)(cublasHandle_t *);
typedef cublasStatus_t (*destroy_fn)(cublasHandle_t);
typedef cublasStatus_t (*set_stream_fn)(cublasHandle_t, cudaStream_t);
typedef cublasStatus_t (*gemm_ex_fn)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int,
                                     int, int, const void *, const void *, cudaDataType, int,
                                     const void *, cudaDataType, int, const void *, void *,
                                     cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
typedef cublasStatus_t (*sgemm_fn)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int,
                                   int, const float *, const float *, int, const float *, int,
                                   const float *, float *, int);

static struct {
    pthread_once_t once;
    void *lib;
    create_fn create;
    destroy_fn destroy;
    set_stream_fn set_stream;
    gemm_ex_fn gemm_ex;
    sgemm_fn sgemm;
} dl = {PTHREAD_ONCE_INIT, NULL, NULL, NULL, NULL, NULL, NULL};

static void load(void)
{
    void *h = dlopen("libcublas.so." CC_STR(CUBLAS_VER_MAJOR), RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return;
    create_fn c = (create_fn)dlsym(h, "cublasCreate_v2");
    destroy_fn d = (destroy_fn)dlsym(h, "cublasDestroy_v2");
    set_stream_fn s = (set_stream_fn)dlsym(h, "cublasSetStream_v2");
    gemm_ex_fn g = (gemm_ex_fn)dlsym(h, "cublasGemmEx");
    sgemm_fn sg = (sgemm_fn)dlsym(h, "cublasSgemm_v2");
    if (!c || !d || !s || !g || !sg) {
        dlclose(h);
        return;
    }
    dl.create = c, dl.destroy = d, dl.set_stream = s, dl.gemm_ex = g, dl.sgemm = sg;
    dl.lib = h;
}

int cc_dl_cublas_available(void)
{
    pthread_once(&dl.once, load);
    return dl.lib != NULL;
}

cublasStatus_t cc_dl_cublasCreate(cublasHandle_t *handle)
{
    if (!cc_dl_cublas_available())
        return CUBLAS_STATUS_NOT_INITIALIZED;
    return dl.create(handle);
}

cublasStatus_t cc_dl_cublasDestroy(cublasHandle_t handle)
{
    if (!cc_dl_cublas_available())
        return CUBLAS_STATUS_NOT_INITIALIZED;
    return dl.destroy(handle);
}

cublasStatus_t cc_dl_cublasSetStream(cublasHandle_t handle, cudaStream_t stream)
{
    if (!cc_dl_cublas_available())
        return CUBLAS_STATUS_NOT_INITIALIZED;
    return dl.set_stream(handle, stream);
}

cublasStatus_t cc_dl_cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
                                  cublasOperation_t transb, int m, int n, int k,
                                  const void *alpha, const void *A, cudaDataType Atype, int lda,
                                  const void *B, cudaDataType Btype, int ldb, const void *beta,
                                  void *C, cudaDataType Ctype, int ldc,
                                  cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    if (!cc_dl_cublas_available())
        return CUBLAS_STATUS_NOT_INITIALIZED;
    return dl.gemm_ex(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta,
                      C, Ctype, ldc, computeType, algo);
}

cublasStatus_t cc_dl_cublasSgemm(cublasHandle_t handle, cublasOperation_t transa,
                                 cublasOperation_t transb, int m, int n, int k,
                                 const float *alpha, const float *A, int lda, const float *B,
                                 int ldb, const float *beta, float *C, int ldc)
{
    if (!cc_dl_cublas_available())
        return CUBLAS_STATUS_NOT_INITIALIZED;
    return dl.sgemm(handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
