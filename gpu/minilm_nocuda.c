/*
 * minilm_nocuda.c -- the twin of minilm.cu for builds without CUDA: the
 * CUDA MiniLM and its kernels answer CC_EUNSUP, so callers (tests,
 * benchmarks) report "skipped: no CUDA device" and carry on.
 */
#include "minilm_impl.h"

#if !CC_HAVE_CUDA
int cc_mlm_cuda_init(mlm_cuda **out, const mlm_weights *w, cc_err *err)
{
    (void)w;
    *out = NULL;
    return cc_err_set(err, CC_EUNSUP, NULL, 0, "backend",
                      "this build has no CUDA (rebuild with nvcc present and CUDA=1)");
}
int cc_mlm_cuda_forward(mlm_cuda *c, const mlm_weights *w, const int32_t *ids,
                        const int32_t *pos, const int32_t *seq_off, int n_seqs, int T,
                        float *out, cc_err *err)
{
    (void)c, (void)w, (void)ids, (void)pos, (void)seq_off, (void)n_seqs, (void)T, (void)out;
    return cc_err_set(err, CC_EUNSUP, NULL, 0, "backend", "this build has no CUDA");
}
void cc_mlm_cuda_free(mlm_cuda *c) { (void)c; }

int cc_cuda_mlm_op_embed(void *x, const int32_t *ids, const int32_t *pos, int T,
                         const void *word, const void *pos_emb, const void *type0,
                         const void *ln_w, const void *ln_b, int dim, float eps)
{
    (void)x, (void)ids, (void)pos, (void)T, (void)word, (void)pos_emb, (void)type0;
    (void)ln_w, (void)ln_b, (void)dim, (void)eps;
    return CC_EUNSUP;
}
int cc_cuda_mlm_op_add_layernorm(void *x, const void *y, const void *bias, const void *ln_w,
                                 const void *ln_b, int T, int dim, float eps)
{
    (void)x, (void)y, (void)bias, (void)ln_w, (void)ln_b, (void)T, (void)dim, (void)eps;
    return CC_EUNSUP;
}
int cc_cuda_mlm_op_bias_gelu(void *x, const void *b, int T, int dim)
{
    (void)x, (void)b, (void)T, (void)dim;
    return CC_EUNSUP;
}
int cc_cuda_mlm_op_bias(void *x, const void *b, int T, int dim)
{
    (void)x, (void)b, (void)T, (void)dim;
    return CC_EUNSUP;
}
int cc_cuda_mlm_op_attention(void *out, const void *qkv, const int32_t *seq_off, int n_seqs,
                             int n_heads, int head_dim)
{
    (void)out, (void)qkv, (void)seq_off, (void)n_seqs, (void)n_heads, (void)head_dim;
    return CC_EUNSUP;
}
int cc_cuda_mlm_op_mean_pool_normalize(void *out, const void *x, const int32_t *seq_off,
                                       int n_seqs, int dim)
{
    (void)out, (void)x, (void)seq_off, (void)n_seqs, (void)dim;
    return CC_EUNSUP;
}
#else
typedef int cc_minilm_nocuda_unused; /* ISO C forbids an empty unit */
#endif
