/*
 * replay_events.c -- replays with requests overlapping in time (concurrency
 * immediate, after-complete, dedup; semantics and the service-time model in
 * replay.h): one event loop in virtual time over arrivals, computed blocks,
 * waiting requests resuming and completions.
 *
 * How it works.  Events sit in a cc_evq keyed by (time, class, push order),
 * so a run is deterministic.  Only one arrival is pending at a time (the
 * next request's), which keeps the queue as small as the requests in
 * flight.  Requests that find no free server form a FIFO queue, which is
 * simply the index range [next_start, arrived) since arrivals come in trace
 * order.  A started request keeps its cache nodes in its own slice of one
 * array of block-access length (its pins live there until release), and
 * its progress in a small per-request state: the next block to obtain, the
 * current stretch of computation (start time, tokens computed in it) and,
 * in dedup mode, the request it waits on.
 *
 * immediate/dedup: a request computes one block at a time; the event "block
 * done" inserts that block (pinned, so others can use it at once) and moves
 * on.  In dedup mode a map hash -> request holds the block each running
 * request is computing right now (at most one per request); before
 * computing a block a request looks there, and if another request is on it,
 * joins that request's list of waiters; when the block is done every waiter
 * resumes (an event at the same instant) and takes the block from the
 * cache (cc_pc_insert pins a block that another request stored).  A request
 * never waits while it has a claim, so waits cannot form a cycle.
 * after-complete: lookup at start, one event at finish inserts the computed
 * blocks and releases everything.
 *
 * Costs: O(block accesses * log(requests in flight)) for the events plus the
 * cache operations; memory 4 bytes per block access (nodes) + about 64 bytes
 * per request (state and record), all allocated before the loop.
 */
#include "../sim/sim.h" /* the one event queue (sim/event_queue.c) */
#include "progress.h"
#include "replay.h"

#include <stdlib.h>
#include <string.h>

/* event classes: the order of events at the same instant */
enum { EV_BLOCK = 0, EV_FINISH = 1, EV_RESUME = 2, EV_ARRIVE = 3 };

#define NO_REQ UINT32_MAX

typedef struct req_state {
    uint32_t next_block;     /* blocks [0, next_block) obtained (hit, waited for, computed) */
    uint32_t waiters_head;   /* requests waiting for the block this one computes */
    uint32_t waiters_tail;
    uint32_t next_waiter;    /* link in the list of the request waited on */
    int64_t stretch_start;   /* start of the current stretch of computation */
    uint64_t stretch_tokens; /* tokens computed in it so far (incl. the current block) */
    int64_t wait_since;
} req_state;

typedef struct loop {
    const cc_trace *t;
    const cc_pc_config *cfg;
    cc_prefix_cache *pc;
    const uint64_t *next;
    cc_concurrency mode;
    double prefill_tps, decode_tps;
    uint32_t servers, busy;
    cc_evq q;
    cc_u64map claims; /* dedup: hash -> request computing it now */
    uint32_t *nodes;  /* per block access */
    req_state *st;
    cc_replay_result *res;
    size_t arrived, next_start;
    bool progress;    /* opts->progress: arrivals counted on core/progress.h */
} loop;

static cc_pc_request request_view(const loop *L, size_t i, uint32_t n_blocks, int64_t now)
{
    return cc_replay_request_view(L->t, i, n_blocks, now, L->next);
}

static uint32_t n_blocks_of(const loop *L, size_t i)
{
    return (uint32_t)(L->t->block_off[i + 1] - L->t->block_off[i]);
}

static int push(loop *L, int64_t at, int cls, size_t i, cc_err *err)
{
    if (cc_evq_push(&L->q, at, (uint32_t)cls, 0, (uint64_t)i) != CC_OK)
        return cc_err_set(err, CC_ENOMEM, L->t->source, 0, NULL, "out of memory for events");
    return CC_OK;
}

static int prefill_done(loop *L, size_t i, int64_t now, cc_err *err)
{
    cc_replay_record *rec = &L->res->records[i];
    rec->first_token_ns = now;
    return push(L, now + cc_replay_duration_ns(rec->output_tokens, L->decode_tps), EV_FINISH, i,
                err);
}

/* Obtains blocks of request i from next_block on until it must compute one
 * (schedules its "done" event), must wait (dedup), or has them all. */
static int advance(loop *L, size_t i, int64_t now, cc_err *err)
{
    req_state *s = &L->st[i];
    cc_replay_record *rec = &L->res->records[i];
    const uint32_t n = n_blocks_of(L, i);
    const uint64_t off = L->t->block_off[i];
    uint32_t *nodes = L->nodes + off;
    const bool dedup = L->mode == CC_CONCURRENCY_DEDUP;
    while (s->next_block < n) {
        uint32_t j = s->next_block;
        uint64_t hash = L->t->blocks[off + j];
        uint32_t tok = cc_pc_block_tokens(L->t->input_tokens[i], L->t->block_size, j);
        if (dedup) {
            if (cc_pc_find(L->pc, hash) != CC_NODE_NONE) {
                /* computed by the request waited on: take it from the cache */
                cc_pc_request rq = request_view(L, i, j + 1, now);
                uint32_t ins = 0;
                cc_pc_insert(L->pc, &rq, nodes, &ins);
                rec->inserted_blocks += ins;
                if (nodes[j] != CC_NODE_NONE) {
                    uint32_t tier = 0;
                    cc_pc_node_place(L->pc, nodes[j], &tier);
                    rec->hit_blocks++;
                    rec->hit_tokens += tok;
                    rec->dedup_blocks++;
                    rec->dedup_tokens += tok;
                    L->res->record_tier_blocks[i * L->cfg->n_tiers + tier]++;
                    s->next_block++;
                    continue;
                }
                /* cached but it cannot be chained to ours (our parent was not
                 * cached): compute it, as without the cache */
            }
            uint64_t *owner = cc_u64map_get(&L->claims, hash);
            if (owner && *owner != i) {
                req_state *o = &L->st[*owner];
                s->next_waiter = NO_REQ;
                if (o->waiters_head == NO_REQ)
                    o->waiters_head = (uint32_t)i;
                else
                    L->st[o->waiters_tail].next_waiter = (uint32_t)i;
                o->waiters_tail = (uint32_t)i;
                s->wait_since = now;
                return CC_OK;
            }
            if (!owner && cc_u64map_put(&L->claims, hash, i, NULL) < 0)
                return cc_err_set(err, CC_ENOMEM, L->t->source, 0, NULL, "out of memory");
        }
        s->stretch_tokens += tok;
        return push(L, s->stretch_start + cc_replay_duration_ns(s->stretch_tokens, L->prefill_tps),
                    EV_BLOCK, i, err);
    }
    return prefill_done(L, i, now, err);
}

static int start(loop *L, size_t i, int64_t now, cc_err *err)
{
    req_state *s = &L->st[i];
    cc_replay_record *rec = &L->res->records[i];
    const uint32_t n = n_blocks_of(L, i);
    uint32_t *nodes = L->nodes + L->t->block_off[i];
    L->busy++;
    if (L->busy > L->res->max_in_flight)
        L->res->max_in_flight = L->busy;
    rec->start_ns = now;
    cc_pc_request rq = request_view(L, i, n, now);
    cc_pc_hits h;
    cc_pc_lookup(L->pc, &rq, nodes, &h);
    rec->hit_blocks = h.blocks;
    rec->hit_tokens = h.tokens;
    memcpy(L->res->record_tier_blocks + i * L->cfg->n_tiers, h.tier_blocks,
           L->cfg->n_tiers * sizeof(uint32_t));
    if (L->mode == CC_CONCURRENCY_AFTER_COMPLETE) {
        rec->first_token_ns = now + cc_replay_duration_ns(rq.input_tokens - h.tokens,
                                                          L->prefill_tps);
        return push(L, rec->first_token_ns +
                           cc_replay_duration_ns(rec->output_tokens, L->decode_tps),
                    EV_FINISH, i, err);
    }
    s->next_block = h.blocks; /* prefix mode: the served run is the leading one */
    s->stretch_start = now;
    s->stretch_tokens = 0;
    return advance(L, i, now, err);
}

static int on_block(loop *L, size_t i, int64_t now, cc_err *err)
{
    req_state *s = &L->st[i];
    cc_replay_record *rec = &L->res->records[i];
    uint32_t j = s->next_block;
    uint64_t off = L->t->block_off[i];
    if (L->mode == CC_CONCURRENCY_DEDUP)
        cc_u64map_del(&L->claims, L->t->blocks[off + j]);
    cc_pc_request rq = request_view(L, i, j + 1, now);
    uint32_t ins = 0;
    cc_pc_insert(L->pc, &rq, L->nodes + off, &ins);
    rec->inserted_blocks += ins;
    s->next_block++;
    int rc;
    for (uint32_t w = s->waiters_head; w != NO_REQ; w = L->st[w].next_waiter)
        if ((rc = push(L, now, EV_RESUME, w, err)) != CC_OK)
            return rc;
    s->waiters_head = s->waiters_tail = NO_REQ;
    return advance(L, i, now, err);
}

static int on_finish(loop *L, size_t i, int64_t now, cc_err *err)
{
    cc_replay_record *rec = &L->res->records[i];
    const uint32_t n = n_blocks_of(L, i);
    uint32_t *nodes = L->nodes + L->t->block_off[i];
    if (L->mode == CC_CONCURRENCY_AFTER_COMPLETE) {
        cc_pc_request rq = request_view(L, i, n, now);
        cc_pc_insert(L->pc, &rq, nodes, &rec->inserted_blocks);
    }
    cc_pc_release(L->pc, nodes, n);
    rec->finish_ns = now;
    L->busy--;
    if (L->next_start < L->arrived)
        return start(L, L->next_start++, now, err);
    return CC_OK;
}

static int on_arrive(loop *L, size_t i, int64_t now, cc_err *err)
{
    L->arrived = i + 1;
    int rc = CC_OK;
    if (i + 1 < L->t->n && (rc = push(L, L->t->arrival_ns[i + 1], EV_ARRIVE, i + 1, err)) != CC_OK)
        return rc;
    if (L->servers == 0 || L->busy < L->servers)
        return start(L, L->next_start++, now, err);
    return CC_OK;
}

static int run(loop *L, cc_err *err)
{
    const cc_trace *t = L->t;
    int rc = t->n ? push(L, t->arrival_ns[0], EV_ARRIVE, 0, err) : CC_OK;
    cc_event e;
    while (rc == CC_OK && cc_evq_pop(&L->q, &e)) {
        switch (e.kind) {
        case EV_ARRIVE:
            if (L->progress && (e.id & 4095) == 0)
                cc_progress_update(e.id);
            rc = on_arrive(L, e.id, e.time_ns, err);
            break;
        case EV_BLOCK: rc = on_block(L, e.id, e.time_ns, err); break;
        case EV_FINISH: rc = on_finish(L, e.id, e.time_ns, err); break;
        default: {
            req_state *s = &L->st[e.id];
            L->res->records[e.id].dedup_wait_ns += e.time_ns - s->wait_since;
            s->stretch_start = e.time_ns;
            s->stretch_tokens = 0;
            rc = advance(L, e.id, e.time_ns, err);
        }
        }
    }
    return rc;
}

int cc_replay_events(const cc_trace *t, const cc_pc_config *cfg, cc_prefix_cache *pc,
                     const uint64_t *next, const cc_replay_opts *opts, cc_replay_result *res,
                     cc_err *err)
{
    const uint32_t T = cfg->n_tiers;
    loop L = {
        .t = t, .cfg = cfg, .pc = pc, .next = next, .mode = opts->concurrency,
        .prefill_tps = opts->prefill_tokens_per_s, .decode_tps = opts->decode_tokens_per_s,
        .servers = opts->servers, .res = res, .progress = opts->progress,
    };
    if (cc_evq_init(&L.q, 0) != CC_OK)
        return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL, "out of memory for the event queue");
    size_t nb = cc_trace_n_blocks_total(t);
    L.nodes = malloc((nb ? nb : 1) * sizeof *L.nodes);
    L.st = malloc((t->n ? t->n : 1) * sizeof *L.st);
    if (!res->records && t->n) {
        res->records = calloc(t->n, sizeof *res->records);
        res->record_tier_blocks = calloc(t->n * T, sizeof *res->record_tier_blocks);
    }
    int claims_ok = cc_u64map_init(&L.claims, 64) == CC_OK;
    if (!L.nodes || !L.st || !claims_ok || (t->n && (!res->records || !res->record_tier_blocks))) {
        free(L.nodes);
        free(L.st);
        if (claims_ok)
            cc_u64map_free(&L.claims);
        return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL, "out of memory for the replay");
    }
    for (size_t p = 0; p < nb; p++)
        L.nodes[p] = CC_NODE_NONE;
    for (size_t i = 0; i < t->n; i++) {
        L.st[i] = (req_state){.waiters_head = NO_REQ, .waiters_tail = NO_REQ,
                              .next_waiter = NO_REQ};
        cc_replay_record *rec = &res->records[i];
        memset(rec, 0, sizeof *rec);
        rec->request = i;
        rec->input_tokens = t->input_tokens[i];
        rec->output_tokens = t->output_tokens[i];
        rec->n_blocks = n_blocks_of(&L, i);
        rec->arrival_ns = t->arrival_ns[i];
    }

    int rc = run(&L, err);

    double ratio_sum = 0;
    size_t ratio_n = 0;
    for (size_t i = 0; rc == CC_OK && i < t->n; i++) {
        cc_replay_record *rec = &res->records[i];
        rec->computed_tokens = rec->input_tokens - rec->hit_tokens;
        res->block_accesses += rec->n_blocks;
        res->input_tokens += rec->input_tokens;
        res->hit_blocks += rec->hit_blocks;
        res->hit_tokens += rec->hit_tokens;
        res->dedup_blocks += rec->dedup_blocks;
        res->dedup_tokens += rec->dedup_tokens;
        res->dedup_wait_ns += rec->dedup_wait_ns;
        res->queue_wait_ns += rec->start_ns - rec->arrival_ns;
        if (rec->finish_ns > res->last_finish_ns)
            res->last_finish_ns = rec->finish_ns;
        if (rec->input_tokens) {
            ratio_sum += (double)rec->hit_tokens / rec->input_tokens;
            ratio_n++;
        }
    }
    res->request_hit_ratio_mean = ratio_n ? ratio_sum / ratio_n : 0;
    cc_evq_free(&L.q);
    cc_u64map_free(&L.claims);
    free(L.nodes);
    free(L.st);
    return rc;
}
