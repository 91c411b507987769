/*
 * embed_hash.c -- the built-in hashing embedder ("hash", the default of the
 * semantic tier): no model, no download, deterministic.
 *
 * A text is cut into words (maximal runs of ASCII letters/digits and of
 * non-ASCII bytes, so UTF-8 letters stay inside words), ASCII-lowercased.
 * Features, each hashed (XXH3, one seed per kind) into one of dim buckets
 * with a sign taken from another bit of the hash (feature hashing,
 * Weinberger et al. 2009, so collisions cancel in expectation):
 *   - every word (weight 1.0),
 *   - every pair of adjacent words (0.8: order and phrase),
 *   - every character trigram of "^word$" (0.35 each: robust to inflection
 *     and typos; a word of n bytes has n trigrams).
 * The bucket sums are L2 normalised, so cosine = dot product.  Paraphrases
 * share most words and trigrams, unrelated texts few, which is what the
 * threshold separates.  It knows no synonyms: "car"/"automobile" score as
 * unrelated words (that is what minilm is for).
 *
 * Cost: O(text bytes) hashes per text, no allocation per text (words are
 * lowercased into a stack buffer of CC_HASH_WORD_MAX bytes; longer words
 * are cut there).  Memory: the table only.
 */
#include "semantic_cache.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CC_HASH_WORD_MAX 64
#define W_WORD 1.0f
#define W_BIGRAM 0.8f
#define W_TRIGRAM 0.35f
#define SEED_WORD UINT64_C(0x776f7264)
#define SEED_BIGRAM UINT64_C(0x62696772616d)
#define SEED_TRIGRAM UINT64_C(0x747269)

static inline int is_word_byte(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch >= 0x80;
}

static inline void add_feature(float *v, int dim, uint64_t h, float w)
{
    uint32_t b = (uint32_t)((h & 0xffffffffu) % (uint32_t)dim);
    v[b] += (h >> 63) ? -w : w;
}

static void embed_one(int dim, const char *text, size_t len, float *v)
{
    memset(v, 0, sizeof(float) * (size_t)dim);
    char word[CC_HASH_WORD_MAX + 2];
    uint64_t prev_word = 0;
    int have_prev = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && !is_word_byte((unsigned char)text[i]))
            i++;
        if (i >= len)
            break;
        size_t n = 0;
        word[n++] = '^';
        while (i < len && is_word_byte((unsigned char)text[i])) {
            unsigned char ch = (unsigned char)text[i++];
            if (ch >= 'A' && ch <= 'Z')
                ch = (unsigned char)(ch - 'A' + 'a');
            if (n <= CC_HASH_WORD_MAX)
                word[n++] = (char)ch;
        }
        word[n++] = '$';
        uint64_t hw = cc_hash_bytes(word + 1, n - 2, SEED_WORD);
        add_feature(v, dim, hw, W_WORD);
        if (have_prev) {
            uint64_t pair[2] = {prev_word, hw};
            add_feature(v, dim, cc_hash_bytes(pair, sizeof pair, SEED_BIGRAM), W_BIGRAM);
        }
        prev_word = hw;
        have_prev = 1;
        for (size_t j = 0; j + 3 <= n; j++)
            add_feature(v, dim, cc_hash_bytes(word + j, 3, SEED_TRIGRAM), W_TRIGRAM);
    }
    double s = 0;
    for (int d = 0; d < dim; d++)
        s += (double)v[d] * v[d];
    if (s > 0) {
        float inv = (float)(1.0 / sqrt(s));
        for (int d = 0; d < dim; d++)
            v[d] *= inv;
    }
}

static int hash_embed(cc_embedder *e, const char *const *texts, const size_t *lens, size_t n,
                      float *out, cc_err *err)
{
    (void)err;
    for (size_t i = 0; i < n; i++)
        embed_one(e->dim, texts[i], lens[i], out + i * (size_t)e->dim);
    return CC_OK;
}

static void hash_destroy(cc_embedder *e)
{
    free(e);
}

int cc_embedder_hash_new(int dim, cc_embedder **out, cc_err *err)
{
    *out = NULL;
    if (dim == 0)
        dim = CC_EMBED_HASH_DEFAULT_DIM;
    if (dim < 16 || dim > 65536)
        return cc_err_set(err, CC_EARG, NULL, 0, "dim",
                          "hash embedder dimension %d; expected 16 to 65536", dim);
    cc_embedder *e = calloc(1, sizeof *e);
    if (!e)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory (hash embedder)");
    e->name = "hash";
    e->dim = dim;
    e->embed = hash_embed;
    e->destroy = hash_destroy;
    *out = e;
    return CC_OK;
}
