/*
 * lfu.c -- least frequently used, ties broken by least recent use: the
 * victim is the evictable slot with the fewest accesses since it entered
 * the tier (insert counts 1, each hit 1 more), and among those the one used
 * longest ago.  Counts start over when a block re-enters a tier (in-cache
 * LFU, as libCacheSim's "lfu").
 *
 * Victim (index, see policy.h): evictable slots sit in a cc_slot_heap keyed
 * by count << 40 | stamp, where stamp is a per-policy access counter (so
 * keys are unique and the heap order is exactly (count, last use)).  Why an
 * index and not frequency buckets walked from the low end: in prefix mode
 * every hit on a block is also a hit on its ancestors, so ancestors have
 * counts >= their descendants' and, on ties, an older last use (a chain is
 * inserted root first): the low end of the order is crowded with internal
 * blocks that may not be taken.  The heap holds only evictable slots (the
 * cache reports changes through on_evictable), so the victim is its min.
 * Counts saturate at 2^24 - 1; stamps wrap after 2^40 accesses (about 10^12;
 * a replay is far shorter).
 *
 * Costs: on_insert O(1), on_hit O(log n) (the key only grows: one sift
 * down), on_evictable / on_remove O(log n), choose_victim O(1).
 * Memory: 16 bytes per slot (the heap; count and stamp live in its key).
 */
#include "policy.h"

#include <stdlib.h>

#define STAMP_BITS 40
#define STAMP_MASK ((UINT64_C(1) << STAMP_BITS) - 1)
#define COUNT_MAX ((UINT64_C(1) << 24) - 1)

typedef struct lfu {
    cc_slot_heap h;
    uint64_t stamp;
} lfu;

static int lfu_create(const cc_policy_params *p, uint32_t cap, void **state, cc_err *err)
{
    int rc = cc_policy_param_check(p, NULL, err);
    if (rc)
        return rc;
    lfu *f = calloc(1, sizeof *f);
    if (!f || cc_slot_heap_init(&f->h, cap) != CC_OK) {
        free(f);
        return CC_ENOMEM;
    }
    *state = f;
    return CC_OK;
}

static void lfu_destroy(void *state)
{
    lfu *f = state;
    cc_slot_heap_free(&f->h);
    free(f);
}

static void lfu_insert(void *state, uint32_t s, const cc_access *a)
{
    (void)a;
    lfu *f = state;
    f->h.key[s] = UINT64_C(1) << STAMP_BITS | (f->stamp++ & STAMP_MASK);
}

static void lfu_hit(void *state, uint32_t s, const cc_access *a)
{
    (void)a;
    lfu *f = state;
    uint64_t count = f->h.key[s] >> STAMP_BITS;
    if (count < COUNT_MAX)
        count++;
    cc_slot_heap_set_key(&f->h, s, count << STAMP_BITS | (f->stamp++ & STAMP_MASK));
}

static void lfu_remove(void *state, uint32_t s, uint64_t key, cc_remove_reason why)
{
    (void)why;
    cc_slot_heap_remove(&((lfu *)state)->h, s);
}

static void lfu_evictable(void *state, uint32_t s, int e)
{
    lfu *f = state;
    if (e)
        cc_slot_heap_push(&f->h, s);
    else
        cc_slot_heap_remove(&f->h, s);
}

static uint32_t lfu_victim(void *state, const cc_victim_ctx *ctx)
{
    (void)ctx;
    return cc_slot_heap_min(&((lfu *)state)->h);
}

const cc_policy_ops cc_policy_lfu = {
    .name = "lfu",
    .summary = "least frequently used, least recently used among equal counts",
    .bytes_per_slot = 16,
    .create = lfu_create,
    .destroy = lfu_destroy,
    .on_insert = lfu_insert,
    .on_hit = lfu_hit,
    .on_remove = lfu_remove,
    .choose_victim = lfu_victim,
    .on_evictable = lfu_evictable,
};
