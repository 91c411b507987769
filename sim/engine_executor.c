/*
 * engine_executor.c -- the real-engine executor (engine_executor.h): the
 * driver forms steps exactly as for the cost model; this executor runs each
 * step on the engine (cc_engine_forward) and returns the time it took,
 * measured around the whole step (block bookkeeping, copies and forwards)
 * on the clock of its options: CLOCK_MONOTONIC by default, or CPU time per
 * engine thread (engine_calib.h), which other processes barely move.
 *
 * The KV store.  The engine's pool slots are shared between the running
 * requests' block tables and a store keyed by block hash (a block hash names
 * its whole prefix, traces.h).  Each slot has a reference count: one per
 * block table listing it, plus one while the store holds it.
 *  - A prefill item (req, n_new, n_cached) of a request not yet running
 *    looks its first ceil(n_cached / bs) block hashes up in the store and
 *    lists the slots found, then computes only tokens n_cached ..
 *    n_cached + n_new - 1.  A cached block the driver counts but the store
 *    no longer holds (evicted: the pool is smaller than the driver's cache)
 *    is NOT an error: the engine recomputes from the first missing block and
 *    counts missing_blocks / recomputed_tokens (reported by the commands);
 *    the step then takes longer than the driver's plan, as it would on a
 *    server whose cache index is stale.
 *  - Before writing rows of a block that is shared (in the store or listed
 *    by another request), the block is copied to a fresh slot and the copy
 *    listed (gpu.h: "copy before writing"); this happens for a cached
 *    partial block and for a request decoding into its own published
 *    partial last block.
 *  - After a step, each request's newly completed input blocks (and its
 *    partial last input block once the whole input is computed) are
 *    published under their hashes unless the store already holds the hash.
 *  - A fresh slot comes from the free list, else by evicting the least
 *    recently used store block no request lists (O(slots) scan); when every
 *    slot is listed by running requests the step fails with CC_ENOMEM.
 *  - finish(req) drops the request's references.
 * Token ids come from cc_trace_request_tokens (the trace's ids or ids
 * derived from block hashes); tokens a request generates are ids derived
 * from (request, position), so a recomputation after preemption sees the
 * same tokens.  Logits: one row per sequence (CC_LOGITS_LAST), as a server
 * samples a token for each sequence of a step.
 *
 * Batching: the items of one call run as one forward when they fit the
 * engine's max_batch_tokens and max_seqs; otherwise as several forwards in
 * order (an item larger than the budget is split into chunks), and the
 * step's duration is their sum.  kv_transfer times moves between tiers with
 * the host <-> pool copy rate measured at creation (real copies with
 * cc_engine_kv_from_host, median of 5) for DRAM/HBM/PEER, and hw's NVMe or
 * network rate and latency for SSD/REMOTE, combined with compute_s as the
 * cost model does (SERIAL: sum; LAYERWISE: a two-stage pipeline over the
 * layers).  blend steps are not supported (CC_EUNSUP).  At creation every
 * pool slot and the logits buffer are written once and one untimed forward
 * runs (the CPU engine touches its activations when created), so the first
 * timed steps pay no page faults or lazy set-up (the calibration's points
 * do not either: each is warmed up on its own shape).  Without this the
 * first steps of a replay, the ones every later request queues behind,
 * paid the first touch of each activation row: 0.2 s of minor faults in
 * the first 4.4 s of the small model's fidelity bench.
 *
 * Costs: per step O(items + blocks touched) bookkeeping plus the forwards;
 * an eviction scans the slots.  Memory: per slot 20 bytes, per request 4
 * bytes, per concurrently running request (at most the engine's max_seqs)
 * a block table and a token buffer of max_context entries; all allocated at
 * creation, nothing per step.
 */
#include "engine_executor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct rq {
    uint64_t req;
    int used;
    int in_step;
    int64_t done;     /* tokens whose K/V are in the table's slots */
    int64_t end;      /* this step's target (done + remaining) */
    int64_t n_tok;    /* tokens filled into tok[] */
    int n_table;
    int published;    /* leading input blocks published (or found in the store) */
    int32_t *table;   /* [max_blocks] */
    int32_t *tok;     /* [max_context] */
} rq;

typedef struct ex {
    cc_engine *e;
    const cc_trace *t;
    cc_engine_exec_opts o;
    cc_model_config cfg;
    int bs, n_slots, max_blocks, max_ctx, max_bt, max_seqs;
    int32_t *refcnt;      /* per slot */
    uint8_t *stored;      /* per slot: the store holds it under slot_hash */
    uint64_t *slot_hash;
    uint64_t *last_use;
    uint64_t tick;
    int32_t *free_slots;
    int n_free;
    cc_u64map store;      /* hash -> slot */
    cc_u64map running;    /* req -> index into rqs */
    rq *rqs;              /* [max_seqs] */
    int32_t *reused;      /* per trace request: blocks read from the store, -1 never */
    cc_seq *seqs;
    int *seq_rq;
    int64_t *seq_take;
    float *logits;        /* [max_seqs][vocab] */
    int logit_rows;
    cc_engine_exec_stats st;
} ex;

static const cc_executor_ops engine_ops;


/* ---- slots ---------------------------------------------------------------- */

static void unref(ex *x, int32_t s)
{
    if (--x->refcnt[s] == 0)
        x->free_slots[x->n_free++] = s;
}

static int fresh_slot(ex *x, int32_t *out, cc_err *err)
{
    if (x->n_free) {
        *out = x->free_slots[--x->n_free];
        x->refcnt[*out] = 1;
        return CC_OK;
    }
    int32_t best = -1;
    for (int32_t s = 0; s < x->n_slots; s++)
        if (x->stored[s] && x->refcnt[s] == 1 &&
            (best < 0 || x->last_use[s] < x->last_use[best]))
            best = s;
    if (best < 0)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "n_slots",
                          "the engine's KV pool of %d blocks is full: running requests hold "
                          "every block (give the engine more slots or the driver a smaller "
                          "KV budget)", x->n_slots);
    cc_u64map_del(&x->store, x->slot_hash[best]);
    x->stored[best] = 0;
    x->st.evicted_blocks++;
    x->refcnt[best] = 1;
    *out = best;
    return CC_OK;
}

/* ---- requests ------------------------------------------------------------- */

static rq *find_rq(ex *x, uint64_t req)
{
    uint64_t *v = cc_u64map_get(&x->running, req);
    return v ? &x->rqs[*v] : NULL;
}

static int64_t trace_in(const ex *x, uint64_t req)
{
    return req < x->t->n ? x->t->input_tokens[req] : 0;
}

static int new_rq(ex *x, uint64_t req, int64_t n_cached, rq **out, cc_err *err)
{
    if (req >= x->t->n)
        return cc_err_set(err, CC_EARG, NULL, 0, "req", "request %llu is not in the trace (%zu)",
                          (unsigned long long)req, x->t->n);
    int k = 0;
    while (k < x->max_seqs && x->rqs[k].used)
        k++;
    if (k == x->max_seqs)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "max_seqs",
                          "more than the engine's max_seqs (%d) requests are running",
                          x->max_seqs);
    int64_t in = trace_in(x, req);
    if (in > x->max_ctx)
        return cc_err_set(err, CC_ERANGE, x->t->source, 0, "input_tokens",
                          "request %llu: %lld input tokens exceed the engine's max_context %d",
                          (unsigned long long)req, (long long)in, x->max_ctx);
    rq *r = &x->rqs[k];
    int rc = cc_trace_request_tokens(x->t, req, (uint32_t)x->cfg.vocab, r->tok, err);
    if (rc != CC_OK)
        return rc;
    if (cc_u64map_put(&x->running, req, (uint64_t)k, NULL) < 0)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory");
    r->used = 1;
    r->req = req;
    r->n_tok = in;
    r->n_table = 0;
    r->done = 0;
    r->published = 0;
    /* the cached prefix: blocks found in the store, in order */
    int64_t want = (n_cached + x->bs - 1) / x->bs;
    uint64_t nb = x->t->block_off[req + 1] - x->t->block_off[req];
    const uint64_t *h = x->t->blocks ? x->t->blocks + x->t->block_off[req] : NULL;
    int64_t j = 0;
    for (; j < want && h && (uint64_t)j < nb; j++) {
        uint64_t *v = cc_u64map_get(&x->store, h[j]);
        if (!v)
            break;
        int32_t s = (int32_t)*v;
        x->refcnt[s]++;
        x->last_use[s] = ++x->tick;
        r->table[r->n_table++] = s;
    }
    r->published = (int)j;
    r->done = j * x->bs < n_cached ? j * x->bs : n_cached;
    x->reused[req] = (int32_t)j;
    x->st.reused_blocks += (uint64_t)j;
    if (j < want) {
        x->st.missing_blocks += (uint64_t)(want - j);
        x->st.recomputed_tokens += (uint64_t)(n_cached - r->done);
    }
    *out = r;
    return CC_OK;
}

static void drop_rq(ex *x, rq *r)
{
    for (int b = 0; b < r->n_table; b++)
        unref(x, r->table[b]);
    r->n_table = 0;
    r->used = 0;
    cc_u64map_del(&x->running, r->req);
}

/* Token ids up to position `upto` (generated ones past the input). */
static void fill_tokens(ex *x, rq *r, int64_t upto)
{
    for (; r->n_tok < upto; r->n_tok++)
        cc_tokens_from_seed((r->req + 1) * UINT64_C(0xD1B54A32D192ED03) ^ (uint64_t)r->n_tok, 1,
                            (uint32_t)x->cfg.vocab, r->tok + r->n_tok);
}

/* Owned, private slots for the blocks that rows [from, to) fall in. */
static int own_blocks(ex *x, rq *r, int64_t from, int64_t to, cc_err *err)
{
    int b0 = (int)(from / x->bs), b1 = (int)((to + x->bs - 1) / x->bs);
    if (b1 > x->max_blocks)
        return cc_err_set(err, CC_ERANGE, NULL, 0, "max_context",
                          "request %llu: %lld tokens exceed the engine's max_context %d",
                          (unsigned long long)r->req, (long long)to, x->max_ctx);
    for (int b = b0; b < b1; b++) {
        int32_t s;
        int rc;
        if (b < r->n_table) {
            int32_t old = r->table[b];
            if (x->refcnt[old] == 1 && !x->stored[old])
                continue; /* private already */
            if ((rc = fresh_slot(x, &s, err)) != CC_OK)
                return rc;
            if ((rc = cc_engine_kv_copy_block(x->e, s, old, err)) != CC_OK)
                return rc;
            x->st.copied_blocks++;
            unref(x, old);
            r->table[b] = s;
        } else {
            if ((rc = fresh_slot(x, &s, err)) != CC_OK)
                return rc;
            r->table[r->n_table++] = s;
        }
    }
    return CC_OK;
}

/* Publishes r's completed input blocks under their hashes. */
static int publish(ex *x, rq *r, cc_err *err)
{
    const cc_trace *t = x->t;
    if (!t->blocks || !t->block_size)
        return CC_OK;
    int64_t in = trace_in(x, r->req);
    uint64_t nb = t->block_off[r->req + 1] - t->block_off[r->req];
    int64_t full = (r->done < in ? r->done : in) / x->bs;
    if (r->done >= in)
        full = (int64_t)nb;
    const uint64_t *h = t->blocks + t->block_off[r->req];
    for (int64_t j = r->published; j < full && j < r->n_table; j++) {
        uint64_t *slotp;
        int32_t s = r->table[j];
        int put = cc_u64map_put(&x->store, h[j], (uint64_t)s, &slotp);
        if (put < 0)
            return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory");
        if (put == 0 && *slotp != (uint64_t)s)
            continue; /* already held in another slot: ours stays private */
        if (!x->stored[s]) {
            x->stored[s] = 1;
            x->slot_hash[s] = h[j];
            x->refcnt[s]++;
            x->st.stored_blocks++;
        }
        x->last_use[s] = ++x->tick;
        r->published = (int)(j + 1);
    }
    if (full > r->published)
        r->published = (int)full;
    return CC_OK;
}

/* Runs the pending work of rqs (each with done < end) as forwards. */
static int run_forwards(ex *x, rq **list, size_t n, cc_err *err)
{
    for (;;) {
        int ns = 0;
        int64_t budget = x->max_bt;
        for (size_t k = 0; k < n && ns < x->max_seqs && budget > 0; k++) {
            rq *r = list[k];
            int64_t rem = r->end - r->done;
            if (rem <= 0)
                continue;
            int64_t take = rem < budget ? rem : budget;
            fill_tokens(x, r, r->done + take);
            int rc = own_blocks(x, r, r->done, r->done + take, err);
            if (rc != CC_OK)
                return rc;
            x->seqs[ns] = (cc_seq){r->tok + r->done, (int)take, (int)r->done, r->table,
                                   r->n_table};
            x->seq_take[ns] = take;
            x->seq_rq[ns] = (int)k;
            ns++;
            budget -= take;
        }
        if (!ns)
            return CC_OK;
        int rc = cc_engine_forward(x->e, x->seqs, ns, CC_LOGITS_LAST, x->logits, err);
        if (rc != CC_OK)
            return rc;
        x->st.forwards++;
        x->logit_rows = ns;
        for (int s = 0; s < ns; s++)
            list[x->seq_rq[s]]->done += x->seq_take[s];
    }
}

static int check_item(const cc_sim_item *it, size_t k, int decode, cc_err *err)
{
    if (it->n_new < 1 || it->n_cached < 0 || it->n_new > INT32_MAX ||
        it->n_cached > INT32_MAX || (decode && it->n_new != 1))
        return cc_err_set(err, CC_EARG, NULL, (long)k + 1, "items",
                          "item %zu: expected n_new %s and n_cached >= 0, found %lld, %lld", k,
                          decode ? "= 1" : ">= 1", (long long)it->n_new,
                          (long long)it->n_cached);
    return CC_OK;
}

static int step(ex *x, const cc_sim_item *items, size_t n, int decode, double *seconds,
                cc_err *err)
{
    *seconds = 0;
    if (!n)
        return CC_OK;
    if (n > (size_t)x->max_seqs * 64)
        return cc_err_set(err, CC_EARG, NULL, 0, "items", "%zu items in one step", n);
    double t0 = cc_engine_clock_s(x->o.clock);
    rq *list[n];
    int rc = CC_OK;
    size_t k;
    for (k = 0; k < n; k++) {
        const cc_sim_item *it = &items[k];
        if ((rc = check_item(it, k, decode, err)) != CC_OK)
            goto out;
        rq *r = find_rq(x, it->req);
        if (!r) {
            if (decode) {
                rc = cc_err_set(err, CC_EARG, NULL, (long)k + 1, "req",
                                "decode of request %llu, which has no prefill",
                                (unsigned long long)it->req);
                goto out;
            }
            if ((rc = new_rq(x, it->req, it->n_cached, &r, err)) != CC_OK)
                goto out;
        } else if (r->done != it->n_cached || r->in_step) {
            rc = cc_err_set(err, CC_EARG, NULL, (long)k + 1, "n_cached",
                            "request %llu: the engine holds %lld tokens, the step says %lld%s",
                            (unsigned long long)it->req, (long long)r->done,
                            (long long)it->n_cached, r->in_step ? " (listed twice)" : "");
            goto out;
        }
        r->in_step = 1;
        r->end = it->n_cached + it->n_new;
        list[k] = r;
    }
    if (decode)
        x->st.decode_items += n;
    else
        x->st.prefill_items += n;
    if ((rc = run_forwards(x, list, n, err)) != CC_OK)
        goto out;
    for (size_t j = 0; j < n; j++)
        if ((rc = publish(x, list[j], err)) != CC_OK)
            goto out;
    *seconds = cc_engine_clock_s(x->o.clock) - t0;
    x->st.busy_s += *seconds;
out:
    for (size_t j = 0; j < k && j < n; j++)
        list[j]->in_step = 0;
    return rc;
}

static int ex_prefill(void *self, const cc_sim_item *items, size_t n, double *seconds,
                      cc_err *err)
{
    return step(self, items, n, 0, seconds, err);
}

static int ex_decode(void *self, const cc_sim_item *items, size_t n, double *seconds,
                     cc_err *err)
{
    return step(self, items, n, 1, seconds, err);
}

static int ex_kv_transfer(void *self, double bytes, int from, int to, int mode, double compute_s,
                          double *seconds, cc_err *err)
{
    ex *x = self;
    *seconds = 0;
    if (from < 0 || from >= CC_SIM_TIER_COUNT || to < 0 || to >= CC_SIM_TIER_COUNT)
        return cc_err_set(err, CC_EARG, NULL, 0, "tier", "expected tiers 0..%d, found %d -> %d",
                          CC_SIM_TIER_COUNT - 1, from, to);
    if (!(bytes >= 0) || !isfinite(bytes) || !(compute_s >= 0) || !isfinite(compute_s))
        return cc_err_set(err, CC_EARG, NULL, 0, "bytes",
                          "expected finite bytes and compute_s >= 0, found %g, %g", bytes,
                          compute_s);
    if (mode != CC_SIM_XFER_SERIAL && mode != CC_SIM_XFER_LAYERWISE)
        return cc_err_set(err, CC_EARG, NULL, 0, "mode", "expected SERIAL or LAYERWISE");
    if (bytes == 0) {
        *seconds = compute_s;
        return CC_OK;
    }
    double rate = x->st.host_bytes_per_s, lat = 0;
    for (int side = 0; side < 2; side++) {
        int tier = side ? to : from;
        const cc_sim_hw *hw = x->o.hw;
        if (tier == CC_SIM_TIER_SSD && hw) {
            if (!(hw->nvme_bytes_per_s > 0))
                return cc_err_set(err, CC_EUNSUP, NULL, 0, "nvme_bytes_per_s",
                                  "hardware '%s' has no SSD tier", hw->name);
            rate = fmin(rate, hw->nvme_bytes_per_s);
            lat += hw->nvme_latency_s;
        } else if (tier == CC_SIM_TIER_REMOTE && hw) {
            if (!(hw->net_bytes_per_s > 0))
                return cc_err_set(err, CC_EUNSUP, NULL, 0, "net_bytes_per_s",
                                  "hardware '%s' has no network tier", hw->name);
            rate = fmin(rate, hw->net_bytes_per_s);
            lat += hw->net_latency_s;
        }
    }
    double tau = bytes / rate;
    if (mode == CC_SIM_XFER_SERIAL) {
        *seconds = lat + tau + compute_s;
    } else {
        double L = x->cfg.n_layers, c = compute_s / L;
        *seconds = lat + tau / L + c + (L - 1) * fmax(tau / L, c);
    }
    return CC_OK;
}

static int ex_blend(void *self, const cc_sim_blend_item *items, size_t n, double *seconds,
                    cc_err *err)
{
    *seconds = 0;
    if (!n)
        return CC_OK;
    return cc_err_set(err, CC_EUNSUP, NULL, 0, "blend",
                      "blend steps are not run on the real engine yet (use the simulator)");
}

static void ex_finish(void *self, uint64_t req)
{
    ex *x = self;
    rq *r = find_rq(x, req);
    if (r)
        drop_rq(x, r);
}

static void ex_destroy(void *self)
{
    ex *x = self;
    if (!x)
        return;
    if (x->rqs)
        for (int k = 0; k < x->max_seqs; k++) {
            free(x->rqs[k].table);
            free(x->rqs[k].tok);
        }
    free(x->rqs);
    free(x->refcnt);
    free(x->stored);
    free(x->slot_hash);
    free(x->last_use);
    free(x->free_slots);
    free(x->reused);
    free(x->seqs);
    free(x->seq_rq);
    free(x->seq_take);
    free(x->logits);
    cc_u64map_free(&x->store);
    cc_u64map_free(&x->running);
    free(x);
}

static const cc_executor_ops engine_ops = {
    .name = "engine",
    .prefill = ex_prefill,
    .decode = ex_decode,
    .kv_transfer = ex_kv_transfer,
    .blend = ex_blend,
    .finish = ex_finish,
    .destroy = ex_destroy,
};

static int cmp_d(const void *a, const void *b)
{
    double p = *(const double *)a, q = *(const double *)b;
    return (p > q) - (p < q);
}

/* Host -> pool copy rate: 5 timed rounds of copying up to 8 blocks; then
 * every slot is written once (the pool's pages are touched before the first
 * timed step, as the calibration's are) and one untimed warm-up forward
 * runs (lazy initialisation of the backend). */
static int measure_host_rate(ex *x, cc_err *err)
{
    size_t bb = cc_engine_block_bytes(x->e);
    int nblk = x->n_slots < 8 ? x->n_slots : 8;
    void *host = cc_engine_host_alloc(x->e, bb);
    if (!host)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory for a host block");
    memset(host, 0, bb);
    double t[5];
    int rc = CC_OK;
    for (int r = 0; r < 5 && rc == CC_OK; r++) {
        double t0 = cc_engine_clock_s(x->o.clock);
        for (int b = 0; b < nblk && rc == CC_OK; b++)
            rc = cc_engine_kv_from_host(x->e, b, host, err);
        if (rc == CC_OK)
            rc = cc_engine_sync(x->e, err);
        t[r] = cc_engine_clock_s(x->o.clock) - t0;
    }
    for (int b = 0; b < x->n_slots && rc == CC_OK; b++)
        rc = cc_engine_kv_from_host(x->e, b, host, err);
    if (rc == CC_OK)
        rc = cc_engine_sync(x->e, err);
    cc_engine_host_free(x->e, host);
    if (rc != CC_OK)
        return rc;
    int32_t tok = 0, slot = 0;
    cc_seq warm = {&tok, 1, 0, &slot, 1};
    if ((rc = cc_engine_forward(x->e, &warm, 1, CC_LOGITS_LAST, x->logits, err)) != CC_OK)
        return rc;
    qsort(t, 5, sizeof *t, cmp_d);
    x->st.host_bytes_per_s = (double)bb * nblk / fmax(t[2], 1e-9);
    return CC_OK;
}

int cc_engine_executor_create(cc_engine *e, const cc_trace *t, const cc_engine_exec_opts *o,
                              cc_executor *out, cc_err *err)
{
    out->ops = NULL;
    out->self = NULL;
    const cc_model_config *cfg = cc_engine_config(e);
    const cc_engine_opts *eo = cc_engine_options(e);
    if (t->blocks && t->block_size && t->block_size != (uint32_t)cfg->block_size)
        return cc_err_set(err, CC_EARG, t->source, 0, "block_size",
                          "the engine's blocks hold %d tokens but the trace's hold %u",
                          cfg->block_size, t->block_size);
    ex *x = calloc(1, sizeof *x);
    if (!x)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory");
    x->e = e;
    x->t = t;
    if (o)
        x->o = *o;
    x->cfg = *cfg;
    x->bs = cfg->block_size;
    x->n_slots = eo->n_slots;
    x->max_ctx = eo->max_context;
    x->max_blocks = (eo->max_context + x->bs - 1) / x->bs;
    x->max_bt = eo->max_batch_tokens;
    x->max_seqs = eo->max_seqs;
    size_t S = (size_t)x->n_slots;
    x->refcnt = calloc(S, sizeof *x->refcnt);
    x->stored = calloc(S, 1);
    x->slot_hash = calloc(S, sizeof *x->slot_hash);
    x->last_use = calloc(S, sizeof *x->last_use);
    x->free_slots = malloc(S * sizeof *x->free_slots);
    x->reused = malloc((t->n ? t->n : 1) * sizeof *x->reused);
    x->rqs = calloc((size_t)x->max_seqs, sizeof *x->rqs);
    x->seqs = malloc((size_t)x->max_seqs * sizeof *x->seqs);
    x->seq_rq = malloc((size_t)x->max_seqs * sizeof *x->seq_rq);
    x->seq_take = malloc((size_t)x->max_seqs * sizeof *x->seq_take);
    x->logits = malloc((size_t)x->max_seqs * (size_t)cfg->vocab * sizeof *x->logits);
    int ok = x->refcnt && x->stored && x->slot_hash && x->last_use && x->free_slots &&
             x->reused && x->rqs && x->seqs && x->seq_rq && x->seq_take && x->logits &&
             cc_u64map_init(&x->store, S) == CC_OK &&
             cc_u64map_init(&x->running, (size_t)x->max_seqs) == CC_OK;
    for (int k = 0; ok && k < x->max_seqs; k++) {
        x->rqs[k].table = malloc((size_t)x->max_blocks * sizeof(int32_t));
        x->rqs[k].tok = malloc((size_t)x->max_ctx * sizeof(int32_t));
        ok = x->rqs[k].table && x->rqs[k].tok;
    }
    if (!ok) {
        ex_destroy(x);
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory for the executor");
    }
    for (size_t i = 0; i < t->n; i++)
        x->reused[i] = -1;
    /* the logits rows' pages touched now, not by the first step with many
     * sequences (see the header) */
    memset(x->logits, 0, (size_t)x->max_seqs * (size_t)cfg->vocab * sizeof *x->logits);
    for (int s = x->n_slots - 1; s >= 0; s--)
        x->free_slots[x->n_free++] = s;
    int rc = measure_host_rate(x, err);
    if (rc != CC_OK) {
        ex_destroy(x);
        return rc;
    }
    out->ops = &engine_ops;
    out->self = x;
    return CC_OK;
}

int cc_engine_exec_get_stats(const cc_executor *xe, cc_engine_exec_stats *out)
{
    if (!xe || xe->ops != &engine_ops)
        return CC_EARG;
    *out = ((const ex *)xe->self)->st;
    return CC_OK;
}

long cc_engine_exec_reused(const cc_executor *xe, uint64_t req)
{
    if (!xe || xe->ops != &engine_ops)
        return -1;
    const ex *x = xe->self;
    return req < x->t->n ? (long)x->reused[req] : -1;
}

const int32_t *cc_engine_exec_table(const cc_executor *xe, uint64_t req, int *n_blocks,
                                    int *n_tokens)
{
    if (!xe || xe->ops != &engine_ops)
        return NULL;
    rq *r = find_rq(xe->self, req);
    if (!r)
        return NULL;
    *n_blocks = r->n_table;
    *n_tokens = (int)r->done;
    return r->table;
}

const float *cc_engine_exec_last_logits(const cc_executor *xe, int *rows)
{
    if (!xe || xe->ops != &engine_ops)
        return NULL;
    const ex *x = xe->self;
    *rows = x->logit_rows;
    return x->o.keep_logits ? x->logits : NULL;
}
