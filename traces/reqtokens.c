/*
 * reqtokens.c -- token ids for a real engine to run a trace's requests.
 *
 * Traces that carry token ids use them (mod the engine's vocabulary).
 * Traces that carry only block hashes (Mooncake) run with token ids derived
 * deterministically from each block's hash, so equal blocks have equal
 * tokens and a prefix hit in the cache is a prefix the engine can really
 * reuse: block j's tokens are the first n_j outputs of a SplitMix64 stream
 * seeded with the block's hash, each mod vocab (n_j = block_size, or fewer
 * for a partial last block).  Since a block hash names its whole prefix,
 * the same tokens never appear under two different prefixes by accident
 * beyond the 1/vocab chance per token.  A request with neither token ids
 * nor hashes gets a stream seeded by its index (no sharing).
 *
 * SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014): state += 0x9E3779B97F4A7C15, then the output
 * mix z = (z ^ z>>30) * 0xBF58476D1CE4E5B9; z = (z ^ z>>27) *
 * 0x94D049BB133111EB; z ^ z>>31.
 *
 * Costs: O(input tokens) per request, no allocation.
 */
#include "traces.h"

static uint64_t splitmix_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

void cc_tokens_from_seed(uint64_t seed, uint32_t n, uint32_t vocab, int32_t *out)
{
    uint64_t s = seed;
    for (uint32_t k = 0; k < n; k++)
        out[k] = (int32_t)(splitmix_next(&s) % vocab);
}

int cc_trace_request_tokens(const cc_trace *t, size_t i, uint32_t vocab, int32_t *out,
                            cc_err *err)
{
    if (i >= t->n)
        return cc_err_set(err, CC_EARG, t->source, 0, "request",
                          "request %zu out of range (trace has %zu)", i, t->n);
    if (vocab < 1 || vocab > INT32_MAX)
        return cc_err_set(err, CC_EARG, NULL, 0, "vocab", "expected 1..%d, got %u", INT32_MAX,
                          vocab);
    uint32_t in = t->input_tokens[i];
    uint64_t n_ids = t->token_off ? t->token_off[i + 1] - t->token_off[i] : 0;
    if (n_ids && n_ids >= in) {
        const uint32_t *ids = t->token_ids + t->token_off[i];
        for (uint32_t k = 0; k < in; k++)
            out[k] = (int32_t)(ids[k] % vocab);
        return CC_OK;
    }
    uint64_t nb = t->blocks && t->block_off ? t->block_off[i + 1] - t->block_off[i] : 0;
    uint32_t bs = t->block_size;
    if (nb && bs) {
        if ((uint64_t)(in + bs - 1) / bs != nb)
            return cc_err_set(err, CC_EFORMAT, t->source, 0, "blocks",
                              "request %zu: %llu blocks of %u tokens for %u input tokens", i,
                              (unsigned long long)nb, bs, in);
        const uint64_t *h = t->blocks + t->block_off[i];
        for (uint64_t j = 0; j < nb; j++) {
            uint32_t start = (uint32_t)(j * bs);
            uint32_t len = in - start < bs ? in - start : bs;
            cc_tokens_from_seed(h[j], len, vocab, out + start);
        }
        return CC_OK;
    }
    cc_tokens_from_seed(UINT64_C(0x5EED0000) ^ ((uint64_t)i * UINT64_C(0x9E3779B97F4A7C15)), in,
                        vocab, out);
    return CC_OK;
}
