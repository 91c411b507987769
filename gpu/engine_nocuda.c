/*
 * engine_nocuda.c -- the twin of engine.cu and ops.cu for builds without
 * CUDA: the CUDA engine and the CUDA ops answer CC_EUNSUP, so callers (tests,
 * benchmarks) report "skipped: no CUDA device" and carry on.
 */
#include "engine_impl.h"

#if !CC_HAVE_CUDA
int cc_engine_cuda_init(cc_engine *e, const cc_weights *w, cc_err *err)
{
    (void)e;
    (void)w;
    return cc_err_set(err, CC_EUNSUP, NULL, 0, "backend",
                      "this build has no CUDA (rebuild with nvcc present and CUDA=1)");
}

void *cc_cuda_alloc(size_t bytes)
{
    (void)bytes;
    return NULL;
}
void cc_cuda_free(void *p) { (void)p; }
int cc_cuda_upload(void *dev, const float *host, size_t n, int dtype)
{
    (void)dev, (void)host, (void)n, (void)dtype;
    return CC_EUNSUP;
}
int cc_cuda_upload_bytes(void *dev, const void *host, size_t bytes)
{
    (void)dev, (void)host, (void)bytes;
    return CC_EUNSUP;
}
int cc_cuda_download(float *host, const void *dev, size_t n, int dtype)
{
    (void)host, (void)dev, (void)n, (void)dtype;
    return CC_EUNSUP;
}
int cc_cuda_op_embed(void *out_f32, const int32_t *tokens_dev, int n, const void *table,
                     int dim, int dtype, int threads)
{
    (void)out_f32, (void)tokens_dev, (void)n, (void)table, (void)dim, (void)dtype, (void)threads;
    return CC_EUNSUP;
}
int cc_cuda_op_rmsnorm(void *out, const void *x_f32, const void *w_f32, int n, int dim,
                       float eps, int dtype, int threads)
{
    (void)out, (void)x_f32, (void)w_f32, (void)n, (void)dim, (void)eps, (void)dtype, (void)threads;
    return CC_EUNSUP;
}
int cc_cuda_op_matmul(void *out_f32, const void *x, const void *w, const void *bias_f32,
                      int n, int d_in, int d_out, int accumulate, int dtype)
{
    (void)out_f32, (void)x, (void)w, (void)bias_f32, (void)n, (void)d_in, (void)d_out;
    (void)accumulate, (void)dtype;
    return CC_EUNSUP;
}
int cc_cuda_op_rope(void *x_f32, const int32_t *pos_dev, int n, int n_heads, int head_dim,
                    double theta, int threads)
{
    (void)x_f32, (void)pos_dev, (void)n, (void)n_heads, (void)head_dim, (void)theta;
    (void)threads;
    return CC_EUNSUP;
}
int cc_cuda_op_swiglu(void *out, const void *gate_f32, const void *up_f32, size_t n,
                      int dtype, int threads)
{
    (void)out, (void)gate_f32, (void)up_f32, (void)n, (void)dtype, (void)threads;
    return CC_EUNSUP;
}
int cc_cuda_op_kv_scatter(void *k_pool, void *v_pool, const void *k_f32, const void *v_f32,
                          const int32_t *pool_rows_dev, int n, const cc_attn_shape *s,
                          int dtype, int threads)
{
    (void)k_pool, (void)v_pool, (void)k_f32, (void)v_f32, (void)pool_rows_dev, (void)n;
    (void)s, (void)dtype, (void)threads;
    return CC_EUNSUP;
}
int cc_cuda_op_kv_gather(void *k_out_f32, void *v_out_f32, const void *k_pool,
                         const void *v_pool, const int32_t *block_table_dev, int p0, int n,
                         int g, const cc_attn_shape *s, int dtype, int threads)
{
    (void)k_out_f32, (void)v_out_f32, (void)k_pool, (void)v_pool, (void)block_table_dev;
    (void)p0, (void)n, (void)g, (void)s, (void)dtype, (void)threads;
    return CC_EUNSUP;
}
int cc_cuda_op_attention_paged(void *out, const void *q_f32, int n, int pos0,
                               const void *k_pool, const void *v_pool,
                               const int32_t *block_table_dev, const cc_attn_shape *s,
                               int q_rows, int k_tile, int dtype, int threads)
{
    (void)out, (void)q_f32, (void)n, (void)pos0, (void)k_pool, (void)v_pool;
    (void)block_table_dev, (void)s, (void)q_rows, (void)k_tile, (void)dtype, (void)threads;
    return CC_EUNSUP;
}
#else
typedef int cc_engine_nocuda_unused; /* ISO C forbids an empty unit */
#endif
