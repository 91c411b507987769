/*
 * lru.c -- least recently used.
 *
 * One doubly linked list of occupied slots, most recent first, threaded
 * through one array of {older, newer} u32 pairs (both links of a slot share
 * a cache line) with a sentinel at index capacity, so linking never
 * branches on an empty list.  Memory: 8 bytes per slot.  on_hit moves the slot to the front; on_insert puts it at the front,
 * or -- when the parent block is in this tier (prefix mode) -- just behind
 * its parent, so that an ancestor stays more recent than its descendants and
 * the list's oldest block is a leaf.  All O(1).
 *
 * Victim (scan, see policy.h): walk from the oldest end and take the first
 * evictable slot.  Given the ancestor order above, the only slots skipped
 * are pinned ones (blocks of running requests, which are recent), so the
 * walk is O(1) in practice; it is exact in any case.
 *
 * In independent mode (no parents) this is textbook LRU: with the cache's
 * per-block access path it matches libCacheSim's LRU miss for miss.
 */
#include "policy.h"

#include <stdlib.h>

typedef struct link {
    uint32_t older; /* next slot towards the LRU end; sentinel's: the most recent */
    uint32_t newer; /* next slot towards the MRU end; sentinel's: the least recent */
} link;

typedef struct lru {
    link *l;
    uint32_t sentinel;
} lru;

static int lru_create(const cc_policy_params *p, uint32_t capacity, void **state, cc_err *err)
{
    int rc = cc_policy_param_check(p, NULL, err);
    if (rc)
        return rc;
    lru *l = calloc(1, sizeof *l);
    if (!l)
        return CC_ENOMEM;
    l->l = malloc(((size_t)capacity + 1) * sizeof *l->l);
    if (!l->l) {
        free(l);
        return CC_ENOMEM;
    }
    l->sentinel = capacity;
    l->l[capacity].older = l->l[capacity].newer = capacity;
    *state = l;
    return CC_OK;
}

static void lru_destroy(void *state)
{
    lru *l = state;
    free(l->l);
    free(l);
}

/* Link s just older than a (a may be the sentinel: s becomes most recent). */
static inline void link_behind(lru *l, uint32_t s, uint32_t a)
{
    link *L = l->l;
    uint32_t b = L[a].older;
    L[s].older = b;
    L[s].newer = a;
    L[a].older = s;
    L[b].newer = s;
}

static inline void unlink_slot(lru *l, uint32_t s)
{
    link *L = l->l;
    uint32_t a = L[s].newer, b = L[s].older;
    L[a].older = b;
    L[b].newer = a;
}

static void lru_insert(void *state, uint32_t slot, const cc_access *a)
{
    lru *l = state;
    link_behind(l, slot, a->parent_slot != CC_SLOT_NONE ? a->parent_slot : l->sentinel);
}

static void lru_hit(void *state, uint32_t slot, const cc_access *a)
{
    (void)a;
    lru *l = state;
    unlink_slot(l, slot);
    link_behind(l, slot, l->sentinel);
}

static void lru_remove(void *state, uint32_t slot, uint64_t key, cc_remove_reason why)
{
    (void)why;
    unlink_slot(state, slot);
}

static uint32_t lru_victim(void *state, const cc_victim_ctx *ctx)
{
    const lru *l = state;
    uint32_t s = l->l[l->sentinel].newer;
    while (s != l->sentinel && !ctx->evictable[s])
        s = l->l[s].newer;
    return s == l->sentinel ? CC_SLOT_NONE : s;
}

/* The oldest slots, evictable or not (a hint only).  Their links were
 * prefetched by earlier calls; the last one's are prefetched now. */
static uint32_t lru_peek(const void *state, const cc_victim_ctx *ctx, uint32_t *out,
                         uint32_t max)
{
    const lru *l = state;
    uint32_t n = 0, s = l->l[l->sentinel].newer;
    while (n < max && s != l->sentinel) {
        out[n++] = s;
        if (n < max)
            s = l->l[s].newer;
    }
    if (n) {
        __builtin_prefetch(&l->l[out[n - 1]]);
        __builtin_prefetch(&ctx->evictable[out[n - 1]]);
    }
    return n;
}

/* Before a hit: the slot's links (depth 0), then its neighbours' (depth 1),
 * which on_hit rewrites; with both in cache a hit costs no memory stall. */
static void lru_prefetch(const void *state, uint32_t slot, int depth)
{
    const lru *l = state;
    if (depth == 0) {
        __builtin_prefetch(&l->l[slot], 1);
        return;
    }
    __builtin_prefetch(&l->l[l->l[slot].older], 1);
    __builtin_prefetch(&l->l[l->l[slot].newer], 1);
}

const cc_policy_ops cc_policy_lru = {
    .name = "lru",
    .summary = "least recently used (ancestors kept more recent than descendants)",
    .notes = "vLLM's and SGLang's default; in independent mode it reproduces libCacheSim's "
             "LRU miss ratios",
    .bytes_per_slot = 8,
    .create = lru_create,
    .destroy = lru_destroy,
    .on_insert = lru_insert,
    .on_hit = lru_hit,
    .on_remove = lru_remove,
    .choose_victim = lru_victim,
    .peek_victims = lru_peek,
    .prefetch_slot = lru_prefetch,
};
