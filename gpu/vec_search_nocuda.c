/*
 * vec_search_nocuda.c -- the twin of vec_search.cu for builds without CUDA:
 * there is no device to search on.
 */
#include "gpu.h"

#if !CC_HAVE_CUDA
int cc_gpu_vecsearch_new(int device, cc_gpu_vecsearch **out, cc_err *err)
{
    (void)device;
    *out = NULL;
    return cc_err_set(err, CC_EUNSUP, NULL, 0, "device",
                      "this build has no CUDA (vector search runs on the CPU)");
}
void cc_gpu_vecsearch_free(cc_gpu_vecsearch *g)
{
    (void)g;
}
int cc_gpu_vecsearch_top1(void *g, const float *X, size_t n, int dim, const void *key,
                          uint64_t version, const float *Q, size_t nq, int64_t *row, float *sim,
                          cc_err *err)
{
    (void)g, (void)X, (void)n, (void)dim, (void)key, (void)version, (void)Q, (void)nq;
    (void)row, (void)sim;
    return cc_err_set(err, CC_EUNSUP, NULL, 0, "device", "this build has no CUDA");
}
#else
typedef int cc_vec_search_nocuda_unused; /* ISO C forbids an empty unit */
#endif
