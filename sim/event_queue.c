/*
 * event_queue.c -- the discrete-event queue of the simulator: the events
 * still to happen, earliest first.
 *
 * How it works
 * ------------
 * A 4-ary min-heap stored in one array: the children of slot i are
 * 4i+1 .. 4i+4, its parent (i-1)/4.  The key is (time_ns, kind, seq) where
 * seq is the number of pushes before this one: events at the same time pop
 * lower kind first (kinds double as priority classes, e.g. "a block is
 * computed" before "a request arrives" at the same instant), then in the
 * order they were pushed.  A run is deterministic however the heap happens
 * to be shaped, and keys are all distinct (the heap order is total).
 *
 * Why 4-ary: a replay of a long trace pushes and pops millions of events;
 * a 4-ary heap is half as deep as a binary one and the four children of a
 * node are 128 contiguous bytes (two cache lines), so a sift-down touches
 * fewer lines for one more comparison per level.
 *
 * Causality: now_ns is the time of the last popped event; pushing an event
 * before it is a driver bug (it would be processed "in the past") and is
 * refused with CC_EARG rather than silently reordered.
 *
 * Costs: push and pop O(log4 n) comparisons and moves of 32-byte events;
 * peek and size O(1).  Memory: 32 bytes per queued event (sizeof(cc_event))
 * in one array that doubles when full (cc_grow) and never shrinks; there is
 * no allocation per event once the array has grown to the peak queue size.
 */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(cc_event) == 32, "cc_event is documented as 32 bytes");

static inline int before(const cc_event *a, const cc_event *b)
{
    if (a->time_ns != b->time_ns)
        return a->time_ns < b->time_ns;
    if (a->kind != b->kind)
        return a->kind < b->kind;
    return a->seq < b->seq;
}

int cc_evq_init(cc_evq *q, size_t expected)
{
    memset(q, 0, sizeof *q);
    q->now_ns = INT64_MIN;
    if (expected && cc_grow((void **)&q->heap, &q->cap, expected, sizeof(cc_event)) != CC_OK)
        return CC_ENOMEM;
    return CC_OK;
}

void cc_evq_free(cc_evq *q)
{
    free(q->heap);
    memset(q, 0, sizeof *q);
    q->now_ns = INT64_MIN;
}

void cc_evq_clear(cc_evq *q)
{
    q->size = 0;
    q->next_seq = 0;
    q->now_ns = INT64_MIN;
}

size_t cc_evq_size(const cc_evq *q) { return q->size; }

const cc_event *cc_evq_peek(const cc_evq *q) { return q->size ? &q->heap[0] : NULL; }

int cc_evq_push(cc_evq *q, int64_t time_ns, uint32_t kind, uint32_t target, uint64_t id)
{
    if (time_ns < q->now_ns)
        return CC_EARG; /* no error record: the driver owns the context */
    if (q->size == q->cap &&
        cc_grow((void **)&q->heap, &q->cap, q->size + 1, sizeof(cc_event)) != CC_OK)
        return CC_ENOMEM;
    cc_event ev = {time_ns, q->next_seq++, kind, target, id};
    /* sift up: move parents down into the hole until ev fits */
    size_t i = q->size++;
    while (i > 0) {
        size_t p = (i - 1) / 4;
        if (!before(&ev, &q->heap[p]))
            break;
        q->heap[i] = q->heap[p];
        i = p;
    }
    q->heap[i] = ev;
    return CC_OK;
}

int cc_evq_pop(cc_evq *q, cc_event *out)
{
    if (q->size == 0)
        return 0;
    cc_event top = q->heap[0];
    cc_event last = q->heap[--q->size];
    size_t n = q->size, i = 0;
    /* sift down: move the smallest child up into the hole until last fits */
    for (;;) {
        size_t c = 4 * i + 1;
        if (c >= n)
            break;
        size_t best = c, end = c + 4 < n ? c + 4 : n;
        for (size_t k = c + 1; k < end; k++)
            if (before(&q->heap[k], &q->heap[best]))
                best = k;
        if (!before(&q->heap[best], &last))
            break;
        q->heap[i] = q->heap[best];
        i = best;
    }
    if (n)
        q->heap[i] = last;
    q->now_ns = top.time_ns;
    if (out)
        *out = top;
    return 1;
}
