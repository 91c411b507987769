/*
 * cublas_dl.cuh -- private to gpu/: cuBLAS loaded at its first use instead
 * of at process start.  Linking libcublas (and libcublasLt, which it pulls
 * in) into the command cost every run, `ctxcache help` included, about 0.3 s
 * and 220 MiB of resident memory for their relocations; the CUDA runtime
 * itself is cheap to link and stays linked.  Include this after
 * <cublas_v2.h>: the cuBLAS calls of gpu/ (cublasCreate, cublasDestroy,
 * cublasSetStream, cublasGemmEx, cublasSgemm) become calls into
 * cublas_dl.cu, which dlopens libcublas.so.<major of the headers> once
 * (pthread_once) and forwards.  When the library cannot be loaded each call
 * returns CUBLAS_STATUS_NOT_INITIALIZED, which callers already report as a
 * cuBLAS error.  A new cuBLAS call in gpu/ needs one line here and one entry
 * in cublas_dl.cu (the link fails until it has them: -lcublas is gone).
 */
#ifndef CC_GPU_CUBLAS_DL_CUH
#define CC_GPU_CUBLAS_DL_CUH

#include <cublas_v2.h>

cublasStatus_t cc_dl_cublasCreate(cublasHandle_t *handle);
cublasStatus_t cc_dl_cublasDestroy(cublasHandle_t handle);
cublasStatus_t cc_dl_cublasSetStream(cublasHandle_t handle, cudaStream_t stream);
cublasStatus_t cc_dl_cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
                                  cublasOperation_t transb, int m, int n, int k,
                                  const void *alpha, const void *A, cudaDataType Atype, int lda,
                                  const void *B, cudaDataType Btype, int ldb, const void *beta,
                                  void *C, cudaDataType Ctype, int ldc,
                                  cublasComputeType_t computeType, cublasGemmAlgo_t algo);
cublasStatus_t cc_dl_cublasSgemm(cublasHandle_t handle, cublasOperation_t transa,
                                 cublasOperation_t transb, int m, int n, int k,
                                 const float *alpha, const float *A, int lda, const float *B,
                                 int ldb, const float *beta, float *C, int ldc);
/* 1 when libcublas could be loaded (loads it on the first call). */
int cc_dl_cublas_available(void);

#undef cublasCreate
#undef cublasDestroy
#undef cublasSetStream
#undef cublasSgemm
#define cublasCreate cc_dl_cublasCreate
#define cublasDestroy cc_dl_cublasDestroy
#define cublasSetStream cc_dl_cublasSetStream
#define cublasGemmEx cc_dl_cublasGemmEx
#define cublasSgemm cc_dl_cublasSgemm

#endif
