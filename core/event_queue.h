/*
 * event_queue.h -- a binary min-heap of timed events, the clock of every
 * event loop (replays with overlapping requests now, the simulator later).
 *
 * An event is (time_ns, cls, seq, id): it fires in order of time, then of
 * class (a small number the caller uses to order kinds of events that fall
 * at the same instant, e.g. "blocks computed before arrivals"), then of
 * seq, a counter the queue stamps on every push, so events pushed earlier
 * fire earlier among equals.  The order is therefore total and independent
 * of the heap's internal layout: the same pushes give the same pops.
 *
 * Memory: 24 bytes per pending event in one array grown by doubling
 * (cc_grow); nothing is allocated per event once the array has reached the
 * largest number pending.  Costs: push and pop O(log pending), peek O(1).
 */
#ifndef CC_EVENT_QUEUE_H
#define CC_EVENT_QUEUE_H

#include "core.h"

#include <stdint.h>

typedef struct cc_event {
    int64_t time_ns;
    uint64_t seq;   /* stamped by push: push order among equal (time, cls) */
    uint32_t id;    /* the caller's (e.g. a request index) */
    uint16_t cls;   /* tie-break class: lower fires first at equal times */
    uint16_t kind;  /* the caller's event kind (not used for ordering) */
} cc_event;

typedef struct cc_evq {
    cc_event *ev;
    size_t n, cap;
    uint64_t next_seq;
} cc_evq;

void cc_evq_init(cc_evq *q);
void cc_evq_free(cc_evq *q);
/* CC_OK or CC_ENOMEM (the queue is unchanged then). */
int cc_evq_push(cc_evq *q, int64_t time_ns, uint16_t cls, uint16_t kind, uint32_t id);
/* Removes the first event into *out; 0 when empty, 1 otherwise. */
int cc_evq_pop(cc_evq *q, cc_event *out);

#endif
