/*
 * fifo.c -- first in, first out: evict the evictable block that entered the
 * tier earliest.  Hits change nothing.
 *
 * Victim (index, see policy.h): evictable slots sit in a cc_slot_heap keyed
 * by their insertion number.  Why not a queue and a scan: in prefix mode a
 * parent always enters before its children, so the old end of a FIFO queue
 * fills with internal blocks (a shared system prompt, early turns of live
 * conversations) that may not be evicted while their subtree is cached, and
 * a scan would cross all of them on every eviction.  The heap holds only
 * evictable slots (the cache reports changes through on_evictable), so the
 * victim is its minimum.  In prefix mode few slots change state per request
 * (the leaf at the end of a chain), in independent mode a slot is pushed
 * once when it enters: insertion numbers only grow, so the push does not
 * move it.
 * Costs: on_insert O(1), on_hit O(1), on_evictable/on_remove O(log n),
 * choose_victim O(1).  Memory: 16 bytes per slot (the heap; the insertion
 * number is the heap key).
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

static void fifo_remove(void *state, uint32_t slot, cc_remove_reason why)
{
    (void)why;
    fifo *f = state;
    cc_slot_heap_remove(&f->h, slot);
}

static void fifo_evictable(void *state, uint32_t slot, int e)
{
    fifo *f = state;
    if (e)
        cc_slot_heap_push(&f->h, slot);
    else
        cc_slot_heap_remove(&f->h, slot);
}

static uint32_t fifo_victim(void *state, const cc_victim_ctx *ctx)
{
    (void)ctx;
    const fifo *f = state;
    return cc_slot_heap_min(&f->h);
}

static uint32_t fifo_peek(const void *state, const cc_victim_ctx *ctx, uint32_t *out,
                          uint32_t max)
{
    (void)ctx;
    uint32_t s = cc_slot_heap_min(&((const fifo *)state)->h);
    if (s == CC_SLOT_NONE || max == 0)
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
