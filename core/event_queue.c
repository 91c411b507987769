/*
 * event_queue.c -- binary min-heap of cc_event ordered by (time_ns, cls,
 * seq); see event_queue.h.  Sift-up on push, sift-down on pop, both
 * O(log n) moves of 24-byte records; the array grows by doubling.
 */
#include "event_queue.h"

#include <stdlib.h>

static int before(const cc_event *a, const cc_event *b)
{
    if (a->time_ns != b->time_ns)
        return a->time_ns < b->time_ns;
    if (a->cls != b->cls)
        return a->cls < b->cls;
    return a->seq < b->seq;
}

void cc_evq_init(cc_evq *q)
{
    q->ev = NULL;
    q->n = q->cap = 0;
    q->next_seq = 0;
}

void cc_evq_free(cc_evq *q)
{
    free(q->ev);
    cc_evq_init(q);
}

int cc_evq_push(cc_evq *q, int64_t time_ns, uint16_t cls, uint16_t kind, uint32_t id)
{
    if (cc_grow((void **)&q->ev, &q->cap, q->n + 1, sizeof *q->ev) != CC_OK)
        return CC_ENOMEM;
    cc_event e = {.time_ns = time_ns, .seq = q->next_seq++, .id = id, .cls = cls, .kind = kind};
    size_t i = q->n++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!before(&e, &q->ev[up]))
            break;
        q->ev[i] = q->ev[up];
        i = up;
    }
    q->ev[i] = e;
    return CC_OK;
}

int cc_evq_pop(cc_evq *q, cc_event *out)
{
    if (q->n == 0)
        return 0;
    *out = q->ev[0];
    cc_event last = q->ev[--q->n];
    size_t i = 0, n = q->n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(&q->ev[c + 1], &q->ev[c]))
            c++;
        if (!before(&q->ev[c], &last))
            break;
        q->ev[i] = q->ev[c];
        i = c;
    }
    if (n)
        q->ev[i] = last;
    return 1;
}
