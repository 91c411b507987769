/*
 * chunk_store.c -- the chunk KV store: chunks as chains of prefix-cache
 * blocks keyed by content (design, memory and costs in chunk_store.h).
 */
#include "chunk_store.h"

#include <stdlib.h>
#include <string.h>

#define CS_TAG UINT64_C(0x63686b6b76000001) /* "chkkv\0\0\1": not a prefix chain's root */

void cc_cs_block_keys(const cc_chunk_ref *c, uint32_t block_tokens, uint64_t *keys)
{
    uint64_t root[3] = {CS_TAG ^ c->tenant, c->tokens, c->content_hash};
    uint64_t k = cc_hash_bytes(root, sizeof root, 0);
    uint32_t n = (uint32_t)(((uint64_t)c->tokens + block_tokens - 1) / block_tokens);
    for (uint32_t j = 0; j < n; j++) {
        uint64_t link[2] = {k, j};
        k = cc_hash_bytes(link, sizeof link, CS_TAG);
        keys[j] = k;
    }
}

int cc_cs_init(cc_chunk_store *cs, cc_prefix_cache *pc, cc_err *err)
{
    memset(cs, 0, sizeof *cs);
    if (!pc)
        return cc_err_set(err, CC_EARG, NULL, 0, "pc", "a chunk store needs a prefix cache");
    cs->pc = pc;
    cs->block_tokens = cc_pc_config_of(pc)->block_tokens;
    return CC_OK;
}

void cc_cs_free(cc_chunk_store *cs)
{
    free(cs->keys);
    memset(cs, 0, sizeof *cs);
}

/* The cache's request for chunk c (its keys in the scratch). */
static int make_request(cc_chunk_store *cs, const cc_chunk_ref *c, uint64_t request,
                        int64_t time_ns, cc_pc_request *r, cc_err *err)
{
    if (c->tokens == 0)
        return cc_err_set(err, CC_EARG, NULL, 0, "tokens",
                          "a chunk of 0 tokens; expected at least 1");
    uint32_t n = cc_cs_n_blocks(cs, c);
    if (n > CC_PC_MAX_TIER_BLOCKS)
        return cc_err_set(err, CC_EARG, NULL, 0, "tokens",
                          "a chunk of %u tokens is %u blocks; expected at most %u", c->tokens, n,
                          (unsigned)CC_PC_MAX_TIER_BLOCKS);
    if (cc_grow((void **)&cs->keys, &cs->cap_keys, n, sizeof *cs->keys))
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory for chunk keys");
    cc_cs_block_keys(c, cs->block_tokens, cs->keys);
    memset(r, 0, sizeof *r);
    r->blocks = cs->keys;
    r->n_blocks = n;
    r->input_tokens = c->tokens;
    r->index = request;
    r->time_ns = time_ns;
    return CC_OK;
}

int cc_cs_lookup(cc_chunk_store *cs, const cc_chunk_ref *c, uint64_t request, int64_t time_ns,
                 uint32_t *nodes, cc_pc_hits *hits, cc_err *err)
{
    cc_pc_request r;
    int rc = make_request(cs, c, request, time_ns, &r, err);
    if (rc)
        return rc;
    if ((rc = cc_pc_lookup(cs->pc, &r, nodes, hits)))
        return cc_err_set(err, rc, NULL, 0, NULL, "chunk lookup failed (status %d)", rc);
    cs->stats.lookups++;
    cs->stats.lookup_tokens += c->tokens;
    cs->stats.hit_tokens += hits->tokens;
    if (hits->blocks == r.n_blocks)
        cs->stats.whole_hits++;
    else if (hits->blocks)
        cs->stats.partial_hits++;
    return CC_OK;
}

int cc_cs_insert(cc_chunk_store *cs, const cc_chunk_ref *c, uint64_t request, int64_t time_ns,
                 uint32_t *nodes, uint32_t *inserted, cc_err *err)
{
    cc_pc_request r;
    int rc = make_request(cs, c, request, time_ns, &r, err);
    if (rc)
        return rc;
    if ((rc = cc_pc_insert(cs->pc, &r, nodes, inserted)))
        return cc_err_set(err, rc, NULL, 0, NULL, "chunk insert failed (status %d)", rc);
    cs->stats.inserted_blocks += *inserted;
    return CC_OK;
}

void cc_cs_release(cc_chunk_store *cs, const uint32_t *nodes, uint32_t n)
{
    cc_pc_release(cs->pc, nodes, n);
}

int cc_cs_match(cc_chunk_store *cs, const cc_chunk_ref *c, cc_pc_hits *hits, cc_err *err)
{
    cc_pc_request r;
    int rc = make_request(cs, c, 0, 0, &r, err);
    if (rc)
        return rc;
    cc_pc_match(cs->pc, &r, hits);
    return CC_OK;
}
