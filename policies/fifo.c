/*
 * fifo.c -- first in, first out: evict the evictable block that entered the
 * tier earliest.  Hits change nothing.
 *
 * Victim (index, see policy.h): slots sit in a cc_slot_heap keyed by their
 * insertion number.  Why not a queue and a scan: in prefix mode a parent
 * always enters before its children, so the old end of a FIFO queue fills
 * with internal blocks (a shared system prompt, early turns of live
 * conversations) that may not be evicted while their subtree is cached, and
 * a scan crosses all of them on every eviction (measured on the Mooncake
 * conversation trace: 983 blocks per eviction at 10,000 blocks, 4,569 at
 * 50,000; 14 and 40 times slower than this heap).
 * The heap holds every slot that became evictable since it entered, with
 * lazy deletion: a slot that stops being evictable (pinned, or gained a
 * child) stays in the heap and is dropped from it only when it reaches the
 * top while still not evictable, so a pin and unpin within a request costs
 * nothing.  A slot that becomes evictable again and is still in the heap
 * keeps its place (its insertion number did not change).
 * Costs: on_insert, on_hit, on_evictable O(1) (a push when absent: O(1) for
 * a fresh slot, whose number is the largest; O(log n) otherwise),
 * on_remove O(log n), choose_victim O(log n) per stale top dropped.
 * Memory: 16 bytes per slot (the heap; the insertion number is its key).
 */
#include "policy.h"

#include <stdlib.h>

typedef struct fifo {
    cc_slot_heap h; /* evictable slots by insertion number */
    uint64_t next;  /* insertion counter */
} fifo;

static int fifo_create(const cc_policy_params *p, uint32_t capacity, void **state, cc_err *err)
{
    int rc = cc_policy_param_check(p, NULL, err);
    if (rc)
        return rc;
    fifo *f = calloc(1, sizeof *f);
    if (!f || cc_slot_heap_init(&f->h, capacity) != CC_OK) {
        free(f);
        return CC_ENOMEM;
    }
    *state = f;
    return CC_OK;
}

static void fifo_destroy(void *state)
{
    fifo *f = state;
    cc_slot_heap_free(&f->h);
    free(f);
}

static void fifo_insert(void *state, uint32_t slot, const cc_access *a)
{
    (void)a;
    fifo *f = state;
    f->h.key[slot] = f->next++;
}

static void fifo_hit(void *state, uint32_t slot, const cc_access *a)
{
    (void)state;
    (void)slot;
    (void)a;
}

static void fifo_remove(void *state, uint32_t slot, uint64_t key, cc_remove_reason why)
{
    (void)why;
    fifo *f = state;
    cc_slot_heap_remove(&f->h, slot);
}

static void fifo_evictable(void *state, uint32_t slot, int e)
{
    fifo *f = state;
    if (e && !cc_slot_heap_contains(&f->h, slot))
        cc_slot_heap_push(&f->h, slot);
    /* e == 0: lazy, see the top of the file */
}

static uint32_t fifo_victim(void *state, const cc_victim_ctx *ctx)
{
    fifo *f = state;
    uint32_t s;
    while ((s = cc_slot_heap_min(&f->h)) != CC_SLOT_NONE && !ctx->evictable[s])
        cc_slot_heap_remove(&f->h, s); /* stale: re-pushed when evictable again */
    return s;
}

static uint32_t fifo_peek(const void *state, const cc_victim_ctx *ctx, uint32_t *out,
                          uint32_t max)
{
    uint32_t s = cc_slot_heap_min(&((const fifo *)state)->h);
    if (s == CC_SLOT_NONE || max == 0 || !ctx->evictable[s])
        return 0;
    out[0] = s;
    return 1;
}

const cc_policy_ops cc_policy_fifo = {
    .name = "fifo",
    .summary = "first in, first out among evictable blocks",
    .bytes_per_slot = 16,
    .create = fifo_create,
    .destroy = fifo_destroy,
    .on_insert = fifo_insert,
    .on_hit = fifo_hit,
    .on_remove = fifo_remove,
    .choose_victim = fifo_victim,
    .on_evictable = fifo_evictable,
    .peek_victims = fifo_peek,
};
