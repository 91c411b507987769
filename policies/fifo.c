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
 *
 * Queue mode.  While every slot enters the heap with a number larger than
 * all in it (a fresh slot) and leaves only from the top (the victim, or a
 * stale top), the heap's order is the order of entry: the heap's array then
 * serves as a ring of slots in that order (pos[slot] = 1 marks membership),
 * each operation O(1) -- independent mode with one tier stays there for
 * good, as a FIFO queue.  The first push of an older slot or removal below
 * the top turns the ring into the heap (a sorted array is a heap; one
 * O(n) rotation) and the policy goes on as above: the same victims either
 * way.
 */
#include "policy.h"

#include <stdlib.h>

typedef struct fifo {
    cc_slot_heap h; /* evictable slots by insertion number */
    uint64_t next;  /* insertion counter */
    int queue;      /* queue mode (above): h.heap is a ring of h.n slots from head */
    uint32_t head, ring_cap;
    uint64_t last;  /* queue mode: the newest slot's number */
} fifo;

static void reverse(uint32_t *a, uint32_t from, uint32_t to)
{
    while (from + 1 < to) {
        uint32_t t = a[from];
        a[from++] = a[--to];
        a[to] = t;
    }
}

/* Leaves queue mode: the ring rotated to start at 0 is sorted, so a heap. */
static void to_heap(fifo *f)
{
    cc_slot_heap *h = &f->h;
    if (f->head) {
        reverse(h->heap, 0, f->head);
        reverse(h->heap, f->head, f->ring_cap);
        reverse(h->heap, 0, f->ring_cap);
    }
    for (uint32_t i = 0; i < h->n; i++)
        h->pos[h->heap[i]] = i + 1;
    f->head = 0;
    f->queue = 0;
}

static uint32_t fifo_min(const fifo *f)
{
    if (!f->queue)
        return cc_slot_heap_min(&f->h);
    return f->h.n ? f->h.heap[f->head] : CC_SLOT_NONE;
}

static void fifo_take(fifo *f, uint32_t slot)
{
    cc_slot_heap *h = &f->h;
    if (f->queue) {
        if (!h->pos[slot])
            return;
        if (slot == h->heap[f->head]) {
            h->pos[slot] = 0;
            f->head = f->head + 1 == f->ring_cap ? 0 : f->head + 1;
            h->n--;
            return;
        }
        to_heap(f);
    }
    cc_slot_heap_remove(h, slot);
}

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
    f->queue = 1;
    f->ring_cap = capacity ? capacity : 1;
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
    fifo_take(f, slot);
}

static void fifo_evictable(void *state, uint32_t slot, int e)
{
    fifo *f = state;
    cc_slot_heap *h = &f->h;
    if (!e || cc_slot_heap_contains(h, slot))
        return;
    if (f->queue && (h->n == 0 || h->key[slot] > f->last)) {
        uint32_t at = f->head + h->n;
        h->heap[at >= f->ring_cap ? at - f->ring_cap : at] = slot;
        h->n++;
        h->pos[slot] = 1;
        f->last = h->key[slot];
        return;
    }
    if (f->queue)
        to_heap(f);
    cc_slot_heap_push(h, slot);
    /* e == 0: lazy, see the top of the file */
}

static uint32_t fifo_victim(void *state, const cc_victim_ctx *ctx)
{
    fifo *f = state;
    uint32_t s;
    while ((s = fifo_min(f)) != CC_SLOT_NONE && !ctx->evictable[s])
        fifo_take(f, s); /* stale: re-pushed when evictable again */
    return s;
}

static uint32_t fifo_peek(const void *state, const cc_victim_ctx *ctx, uint32_t *out,
                          uint32_t max)
{
    uint32_t s = fifo_min(state);
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
