/*
 * chunk_store.h -- the chunk KV store of the blend tier: the KV of a text
 * chunk (a retrieved passage, a system prompt, a tool result) computed once,
 * stored under its content hash, and usable at any position of a later
 * prompt (the blend step re-applies rotary positions and recomputes a few
 * tokens; see gpu/).
 *
 * Design: a chunk is a chain of blocks in the prefix cache
 * ----------------------------------------------------------
 * The store owns no storage.  A chunk of T tokens is ceil(T / block_tokens)
 * blocks of the prefix cache it is given (core/prefix_cache.h), the last one
 * possibly partial, exactly as a prompt's blocks; only their keys differ:
 *     k_-1 = XXH3("chunk", tenant, T, content_hash)
 *     k_j  = XXH3(k_{j-1}, j)
 * so the keys name the chunk's content (and its tenant), never its place in
 * a prompt: the same passage at offset 0 or 3000 of two prompts has the
 * same keys and hits.  Block j of a chunk holds the KV of the chunk's tokens
 * [j*B, (j+1)*B) computed from the chunk's own start, so a leading run of a
 * chunk's blocks is usable on its own, which is what the prefix rule serves
 * (a chunk's blocks form a path of the radix tree rooted at k_-1).
 *
 * Because chunk blocks ARE blocks of the prefix cache, everything the cache
 * does applies to them unchanged, with no second set of structures:
 *   - tiers: they live in the same tiers (HBM, DRAM, SSD, remote) and share
 *     each tier's capacity with prefix blocks; new chunk blocks enter the
 *     top tier, are demoted on eviction, promoted on a hit (bytes counted
 *     per tier in cc_pc_stats as for any block);
 *   - policies: each tier's one policy instance orders prefix and chunk
 *     blocks together (an LRU tier evicts the least recently used block,
 *     chunk or prefix); TTL expiry, admission, pins and the memory budget
 *     are the cache's;
 *   - a real backend reads a pinned chunk block's KV at the slot
 *     cc_pc_node_place gives, as for prefix blocks.
 * What the store adds is the key derivation, chunk-level counters (whole
 * and partial hits, tokens served) and a scratch array for the keys.
 *
 * Limits of the design, stated: a chunk's KV and the same text's KV as part
 * of a prefix are different blocks (a passage that is also a prompt's first
 * chunk may be stored twice; the blend driver looks up only chunks beyond
 * the prefix hit, so it does not store those); offline policies (Belady)
 * see chunk blocks as never used again (the store knows no next uses); in
 * independent mode chunk blocks hit block by block without the prefix rule.
 * A 64-bit key collision between a chunk and any other block would serve
 * the wrong KV: the chance is about (cached blocks)^2 / 2^64.
 *
 * Memory per entry: 0 bytes beyond the prefix cache's own metadata per
 * cached block (its table in prefix_cache.h: LRU 32.3 bytes with one tier,
 * at most 64 for every policy with up to four tiers of 128 blocks or more);
 * a cached chunk of n blocks costs n of those.  The store itself: its
 * counters plus 8 bytes per block of the longest chunk seen (scratch,
 * grown by doubling, so no allocation per lookup once warm).
 * Costs: lookup/insert/release O(blocks of the chunk), as the cache's.
 *
 * Use (a driver, per request, for the chunks it wants to reuse):
 *     cc_cs_lookup(cs, &ref, req, now, nodes, &hits)   pins the served run
 *     ... compute the missing blocks' KV ...
 *     cc_cs_insert(cs, &ref, req, now, nodes, &added)  stores them, pinned
 *     cc_cs_release(cs, nodes, n)                      at the request's end
 */
#ifndef CC_CHUNK_STORE_H
#define CC_CHUNK_STORE_H

#include "prefix_cache.h"

#include <stdbool.h>
#include <stdint.h>

/* A chunk as the store knows it: what it says, for whom, how long. */
typedef struct cc_chunk_ref {
    uint64_t content_hash; /* cc_chunk.chunk_hash (XXH3 of the text), or any
                              hash of the token ids: equal content, equal hash */
    uint32_t tokens;       /* the chunk's length in tokens (>= 1) */
    uint32_t tenant;       /* chunks are never shared across tenants */
} cc_chunk_ref;

typedef struct cc_cs_stats {
    uint64_t lookups;          /* chunk lookups (cc_cs_lookup calls) */
    uint64_t whole_hits;       /* lookups that served every block of the chunk */
    uint64_t partial_hits;     /* lookups that served a leading part only */
    uint64_t lookup_tokens;    /* tokens of the chunks looked up */
    uint64_t hit_tokens;       /* of those, served from the cache */
    uint64_t inserted_blocks;  /* chunk blocks stored by cc_cs_insert */
} cc_cs_stats;

typedef struct cc_chunk_store {
    cc_prefix_cache *pc;       /* the cache whose tiers hold the blocks; not owned */
    uint32_t block_tokens;     /* that cache's tokens per block */
    uint64_t *keys;            /* scratch: the keys of the chunk at hand */
    size_t cap_keys;
    cc_cs_stats stats;
} cc_chunk_store;

/* Attaches a store to pc (which must outlive it).  CC_EARG for a NULL pc. */
int cc_cs_init(cc_chunk_store *cs, cc_prefix_cache *pc, cc_err *err);
void cc_cs_free(cc_chunk_store *cs);

/* Blocks of a chunk: ceil(tokens / block_tokens). */
static inline uint32_t cc_cs_n_blocks(const cc_chunk_store *cs, const cc_chunk_ref *c)
{
    return (uint32_t)(((uint64_t)c->tokens + cs->block_tokens - 1) / cs->block_tokens);
}
/* The keys of c's blocks into keys (cc_cs_n_blocks entries). */
void cc_cs_block_keys(const cc_chunk_ref *c, uint32_t block_tokens, uint64_t *keys);

/* cc_pc_lookup / cc_pc_insert / cc_pc_release / cc_pc_match for the blocks
 * of chunk c (see prefix_cache.h for what each does to pins, policies and
 * tiers).  request and time_ns are the request on whose behalf the chunk is
 * used (policy bookkeeping, TTL expiry).  nodes holds cc_cs_n_blocks
 * entries.  hits (lookup, match) counts the served blocks and tokens per
 * tier.  CC_EARG for a chunk of 0 tokens or a block count over 2^28;
 * CC_ENOMEM when the key scratch cannot grow. */
int cc_cs_lookup(cc_chunk_store *cs, const cc_chunk_ref *c, uint64_t request, int64_t time_ns,
                 uint32_t *nodes, cc_pc_hits *hits, cc_err *err);
int cc_cs_insert(cc_chunk_store *cs, const cc_chunk_ref *c, uint64_t request, int64_t time_ns,
                 uint32_t *nodes, uint32_t *inserted, cc_err *err);
void cc_cs_release(cc_chunk_store *cs, const uint32_t *nodes, uint32_t n);
int cc_cs_match(cc_chunk_store *cs, const cc_chunk_ref *c, cc_pc_hits *hits, cc_err *err);

#endif
