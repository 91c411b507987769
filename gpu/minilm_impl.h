/*
 * minilm_impl.h -- private to gpu/minilm*.{c,cu}: the MiniLM weights as one
 * fp32 arena with views, the CPU state of an embedder, and the hooks of the
 * CUDA backend (minilm.cu, or minilm_nocuda.c answering CC_EUNSUP).
 */
#ifndef CC_MINILM_IMPL_H
#define CC_MINILM_IMPL_H

#include "gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mlm_layer {
    float *wqkv, *bqkv;     /* [3 hidden][hidden], [3 hidden]: query, key, value stacked */
    float *wo, *bo;         /* [hidden][hidden], [hidden]: attention output */
    float *ln1_w, *ln1_b;   /* attention.output.LayerNorm */
    float *w1, *b1;         /* [ffn][hidden], [ffn]: intermediate */
    float *w2, *b2;         /* [hidden][ffn], [hidden]: output */
    float *ln2_w, *ln2_b;   /* output.LayerNorm */
} mlm_layer;

typedef struct mlm_weights {
    cc_minilm_config cfg;
    float *data; /* owns all below */
    size_t n_floats;
    float *word, *pos, *type; /* [vocab][h], [max_pos][h], [2][h] */
    float *eln_w, *eln_b;     /* embeddings.LayerNorm */
    mlm_layer *layers;
} mlm_weights;

/* Tokens per forward: a batch is cut into groups of whole sequences of at
 * most this many tokens, so the activations are sized once. */
enum { MLM_CHUNK_TOKENS = 2048 };

/* The CUDA side: device copies of the weights and activations (opaque here). */
typedef struct mlm_cuda mlm_cuda;
int cc_mlm_cuda_init(mlm_cuda **out, const mlm_weights *w, cc_err *err);
/* One forward over T <= MLM_CHUNK_TOKENS packed tokens (host ids, pos,
 * seq_off) into out[n_seqs][hidden] on the host. */
int cc_mlm_cuda_forward(mlm_cuda *c, const mlm_weights *w, const int32_t *ids,
                        const int32_t *pos, const int32_t *seq_off, int n_seqs, int T,
                        float *out, cc_err *err);
void cc_mlm_cuda_free(mlm_cuda *c);

#ifdef __cplusplus
}
#endif

#endif
