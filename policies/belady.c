/*
 * belady.c -- Belady's offline policy (MIN; L. A. Belady, "A study of
 * replacement algorithms for a virtual-storage computer", IBM Systems
 * Journal 5(2), 1966): evict the block whose next use lies furthest in the
 * future, never-used-again blocks first.
 *
 * It needs the future: the flag CC_POLICY_NEEDS_NEXT_USE makes the replay
 * compute, in one backward pass over the block-access stream with a u64
 * map (O(accesses), 8 bytes per access; core/replay.c), the position of
 * every access's next access to the same hash, which arrives here as
 * cc_access.next_use (and, for a block demoted to a lower tier, the value
 * from its last access, which the cache keeps per block).  Without next
 * uses (a driver that supplies none) every block looks never-used-again and
 * the policy degenerates to "smallest slot first".
 *
 * What it bounds.  In independent mode with one tier and every block
 * evictable this is the classical MIN, optimal in misses among policies
 * that cache every missed block (no bypass).  In prefix mode it may only
 * take leaves (the cache's evictable bytes say so), so it is the
 * furthest-next-use choice among leaves: a strong reference for leaf-only
 * (radix-tree) caches, NOT the unconstrained optimum -- that may drop an
 * internal block and keep its descendants, which a prefix cache cannot use.
 * Likewise with several tiers it is per-tier greedy, not a joint optimum.
 *
 * Victim (index, see policy.h): evictable slots in a cc_slot_heap keyed by
 * UINT64_MAX - next_use (furthest first; CC_NEXT_USE_NEVER gives key 0;
 * ties: the smallest slot).  Costs: on_insert O(1), on_hit / on_evictable /
 * on_remove O(log n), choose_victim O(1).  Memory: 16 bytes per slot.
 */
#include "policy.h"

#include <stdlib.h>

typedef struct belady {
    cc_slot_heap h;
} belady;

static int belady_create(const cc_policy_params *p, uint32_t capacity, void **state,
                         cc_err *err)
{
    int rc = cc_policy_param_check(p, NULL, err);
    if (rc)
        return rc;
    belady *b = calloc(1, sizeof *b);
    if (!b || cc_slot_heap_init(&b->h, capacity) != CC_OK) {
        free(b);
        return CC_ENOMEM;
    }
    *state = b;
    return CC_OK;
}

static void belady_destroy(void *state)
{
    belady *b = state;
    cc_slot_heap_free(&b->h);
    free(b);
}

static void belady_insert(void *state, uint32_t slot, const cc_access *a)
{
    belady *b = state;
    b->h.key[slot] = UINT64_MAX - a->next_use;
}

static void belady_hit(void *state, uint32_t slot, const cc_access *a)
{
    belady *b = state;
    cc_slot_heap_set_key(&b->h, slot, UINT64_MAX - a->next_use);
}

static void belady_remove(void *state, uint32_t slot, uint64_t key, cc_remove_reason why)
{
    (void)why;
    cc_slot_heap_remove(&((belady *)state)->h, slot);
}

static void belady_evictable(void *state, uint32_t slot, int e)
{
    belady *b = state;
    if (e)
        cc_slot_heap_push(&b->h, slot);
    else
        cc_slot_heap_remove(&b->h, slot);
}

static uint32_t belady_victim(void *state, const cc_victim_ctx *ctx)
{
    (void)ctx;
    return cc_slot_heap_min(&((const belady *)state)->h);
}

const cc_policy_ops cc_policy_belady = {
    .name = "belady",
    .summary = "offline optimum (MIN): evict the furthest next use; leaves only in prefix mode",
    .notes = "needs the whole trace in advance (next uses); a bound to compare with, not a "
             "policy a server can run",
    .flags = CC_POLICY_NEEDS_NEXT_USE,
    .bytes_per_slot = 16,
    .create = belady_create,
    .destroy = belady_destroy,
    .on_insert = belady_insert,
    .on_hit = belady_hit,
    .on_remove = belady_remove,
    .choose_victim = belady_victim,
    .on_evictable = belady_evictable,
};
