/*
 * embed.h -- the embedder interface of the semantic tier: text in, one
 * L2-normalised float vector out per text.  Implementations:
 *
 *   hash        core/ (built-in hashing embedder: character / word n-grams,
 *               no download; the default)
 *   minilm      gpu/  (all-MiniLM-L6-v2 in C: CPU with BLAS, CUDA with cuBLAS)
 *   precomputed vectors read from the trace (cc_request.embedding); no text
 *
 * core/ defines the interface and the hash embedder; gpu/ fills the same
 * table for minilm, so the semantic cache (core/) never depends on gpu/.
 * Callers own the table and free it with cc_embedder_free().
 */
#ifndef CC_EMBED_H
#define CC_EMBED_H

#include "core.h"

#include <stddef.h>

typedef struct cc_embedder cc_embedder;
struct cc_embedder {
    const char *name; /* "hash", "minilm", ... (static string) */
    int dim;          /* vector length */
    /* Embeds n texts (UTF-8, texts[i] of lens[i] bytes, not necessarily
     * NUL-terminated) into out[i * dim .. i * dim + dim - 1], each vector
     * L2-normalised (an empty or all-zero text gives a zero vector).
     * Returns 0 or a negative CC_E* with err filled.  An embedder may be
     * called from one thread at a time; create one per thread for more. */
    int (*embed)(cc_embedder *e, const char *const *texts, const size_t *lens, size_t n,
                 float *out, cc_err *err);
    void (*destroy)(cc_embedder *e); /* frees state and the table itself */
    void *state;
};

static inline int cc_embedder_embed(cc_embedder *e, const char *const *texts,
                                    const size_t *lens, size_t n, float *out, cc_err *err)
{
    return e->embed(e, texts, lens, n, out, err);
}
static inline void cc_embedder_free(cc_embedder *e)
{
    if (e)
        e->destroy(e);
}

#endif
