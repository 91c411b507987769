/*
 * replay.c -- a trace through a prefix cache, requests one at a time
 * (concurrency none): set-up, the loop and the summary figures
 * (definitions in replay.h).  Replays whose requests overlap in time run in
 * the simulator's one event loop (sim/driver.h), which builds on this file's
 * request view and next uses.
 *
 * Set-up resolves unbounded tiers (one pass over the blocks with a u64 map
 * to count distinct hashes), computes next-use positions when a policy asks
 * for them (one backward pass, 8 bytes per block access), then runs the
 * requests.  The loop allocates nothing: one node array for the longest
 * chain is reused.  Cost: O(block accesses) cache operations.
 */
#include "replay.h"
#include "progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const concurrency_names[] = {
    [CC_CONCURRENCY_NONE] = "none",
    [CC_CONCURRENCY_IMMEDIATE] = "immediate",
    [CC_CONCURRENCY_AFTER_COMPLETE] = "after-complete",
    [CC_CONCURRENCY_DEDUP] = "dedup",
};
#define N_CONCURRENCY (sizeof concurrency_names / sizeof concurrency_names[0])

const char *cc_concurrency_name(cc_concurrency c)
{
    return (unsigned)c < N_CONCURRENCY ? concurrency_names[c] : NULL;
}

int cc_concurrency_parse(const char *name, cc_concurrency *out, cc_err *err)
{
    for (size_t i = 0; i < N_CONCURRENCY; i++)
        if (!strcmp(name, concurrency_names[i])) {
            *out = (cc_concurrency)i;
            return CC_OK;
        }
    return cc_err_set(err, CC_EARG, NULL, 0, "concurrency",
                      "expected none, immediate, after-complete or dedup, got '%s'", name);
}

uint64_t cc_replay_state_bytes(const cc_trace *t, uint32_t n_tiers, bool keep_records,
                               bool next_uses)
{
    uint64_t b = 0;
    if (keep_records)
        b += (uint64_t)t->n * (sizeof(cc_replay_record) + n_tiers * sizeof(uint32_t));
    if (next_uses)
        b += (uint64_t)cc_trace_n_blocks_total(t) * sizeof(uint64_t);
    return b;
}

int cc_replay_check_bound(const cc_trace *t, uint64_t state_bytes, uint64_t max_bytes,
                          cc_err *err)
{
    cc_read_opts o = {.max_bytes = max_bytes};
    uint64_t bound = cc_trace_memory_bound(&o), trace = cc_trace_memory_bytes(t);
    if (state_bytes <= bound && trace <= bound - state_bytes)
        return CC_OK;
    char what[160], tb[32];
    snprintf(what, sizeof what, "the trace (%s) and the replay's per-request state (%.0f bytes "
             "a request)", cc_bytes_human(trace, tb, sizeof tb),
             t->n ? (double)state_bytes / (double)t->n : 0.0);
    uint64_t need = state_bytes > UINT64_MAX - trace ? UINT64_MAX : trace + state_bytes;
    return cc_trace_bound_error(t->source, 0, "requests", what, need, bound, err);
}

cc_pc_request cc_replay_request_view(const cc_trace *t, size_t i, uint32_t n_blocks,
                                     int64_t now, const uint64_t *next)
{
    uint64_t off = t->block_off[i];
    uint32_t in = t->input_tokens[i];
    uint64_t upto = (uint64_t)n_blocks * t->block_size;
    cc_pc_request rq = {
        .blocks = t->blocks + off,
        .n_blocks = n_blocks,
        .input_tokens = upto < in ? (uint32_t)upto : in,
        .index = i,
        .time_ns = now,
        .first_seq = off,
        .next_use = next ? next + off : NULL,
    };
    return rq;
}

double cc_ns_sum_double(cc_ns_sum s)
{
    /* long double holds 64 bits of mantissa on x86-64: lo exactly, and the
     * sum rounds once more to double */
    return (double)((long double)(int64_t)s.hi * 0x1p64L + (long double)s.lo);
}

bool cc_ns_sum_i64(cc_ns_sum s, int64_t *out)
{
    bool fits = (s.hi == 0 && s.lo <= (uint64_t)INT64_MAX) ||
                (s.hi == UINT64_MAX && s.lo > (uint64_t)INT64_MAX);
    if (fits)
        *out = (int64_t)s.lo;
    return fits;
}

int64_t cc_replay_duration_ns(uint64_t tokens, double tokens_per_s)
{
    if (isinf(tokens_per_s))
        return 0;
    return llround((double)tokens * 1e9 / tokens_per_s);
}

#define PREFETCH_STEP 8 /* blocks between prefetch stages; see cc_pc_prefetch */

static int count_distinct(const cc_trace *t, uint64_t *out, cc_err *err)
{
    cc_u64map m;
    if (cc_u64map_init(&m, cc_trace_n_blocks_total(t)) != CC_OK)
        return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL, "out of memory");
    for (size_t i = 0; i < cc_trace_n_blocks_total(t); i++)
        if (cc_u64map_put(&m, t->blocks[i], 0, NULL) < 0) {
            cc_u64map_free(&m);
            return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL, "out of memory");
        }
    *out = m.count;
    cc_u64map_free(&m);
    return CC_OK;
}

int cc_replay_next_uses(const cc_trace *t, uint64_t **out, cc_err *err)
{
    size_t n = cc_trace_n_blocks_total(t);
    uint64_t *next = malloc((n ? n : 1) * sizeof *next);
    cc_u64map m;
    if (!next || cc_u64map_init(&m, n) != CC_OK) {
        free(next);
        return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL, "out of memory for next uses");
    }
    for (size_t p = n; p-- > 0;) {
        uint64_t *v;
        int r = cc_u64map_put(&m, t->blocks[p], CC_NEXT_USE_NEVER, &v);
        if (r < 0) {
            free(next);
            cc_u64map_free(&m);
            return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL, "out of memory for next uses");
        }
        next[p] = *v;
        *v = p;
    }
    cc_u64map_free(&m);
    *out = next;
    return CC_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int cc_replay(const cc_trace *t, const cc_pc_config *cfg_in, const cc_replay_opts *opts,
              cc_replay_result *res, cc_err *err)
{
    memset(res, 0, sizeof *res);
    cc_replay_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    if (!cc_concurrency_name(opts->concurrency))
        return cc_err_set(err, CC_EARG, NULL, 0, "concurrency", "unknown mode %d",
                          (int)opts->concurrency);
    if (opts->concurrency != CC_CONCURRENCY_NONE)
        return cc_err_set(err, CC_EUNSUP, NULL, 0, "concurrency",
                          "concurrency '%s' overlaps requests in time: that runs in the "
                          "simulator's event loop (sim/driver.h: cc_sim_replay, cc_sim_run)",
                          cc_concurrency_name(opts->concurrency));
    double prefill_tps = opts->prefill_tokens_per_s ? opts->prefill_tokens_per_s
                                                    : CC_REPLAY_DEFAULT_PREFILL_TPS;
    double decode_tps = opts->decode_tokens_per_s ? opts->decode_tokens_per_s
                                                  : CC_REPLAY_DEFAULT_DECODE_TPS;
    if (!(prefill_tps > 0) || !(decode_tps > 0))
        return cc_err_set(err, CC_EARG, NULL, 0,
                          prefill_tps > 0 ? "decode_tokens_per_s" : "prefill_tokens_per_s",
                          "expected a positive rate (tokens/s), got %g",
                          prefill_tps > 0 ? decode_tps : prefill_tps);
    if (t->block_size == 0 || (t->n && !t->blocks))
        return cc_err_set(err, CC_EUNSUP, t->source, 0, "blocks",
                          "the trace has no block hashes to replay");
    /* Times are int64 ns: the last finish is at most the last arrival plus
     * every request's prefill and decode back to back.  Refuse rates so slow
     * that this could pass INT64_MAX rather than wrap. */
    if (t->n) {
        double in_tok = 0, out_tok = 0;
        for (size_t i = 0; i < t->n; i++) {
            in_tok += t->input_tokens[i];
            out_tok += t->output_tokens[i];
        }
        double worst_ns = (double)t->arrival_ns[t->n - 1] +
                          (isinf(prefill_tps) ? 0 : in_tok * 1e9 / prefill_tps) +
                          (isinf(decode_tps) ? 0 : out_tok * 1e9 / decode_tps);
        if (!(worst_ns < 0x1p63 * 0.999))
            return cc_err_set(err, CC_ERANGE, t->source, 0, "prefill_tokens_per_s",
                              "at %g prefill and %g decode tokens/s the simulated time could "
                              "pass 2^63 ns (292 years); expected faster rates",
                              prefill_tps, decode_tps);
    }
    cc_pc_config cfg = *cfg_in;
    if (cfg.block_tokens == 0)
        cfg.block_tokens = t->block_size;
    else if (cfg.block_tokens != t->block_size)
        return cc_err_set(err, CC_EARG, t->source, 0, "block_size",
                          "cache blocks of %u tokens but the trace's blocks hold %u; re-block "
                          "the trace", cfg.block_tokens, t->block_size);
    uint64_t distinct = 0;
    for (uint32_t k = 0; k < cfg.n_tiers && k < CC_PC_MAX_TIERS; k++) {
        if (cfg.tiers[k].capacity_blocks)
            continue;
        if (!distinct) {
            int rc = count_distinct(t, &distinct, err);
            if (rc != CC_OK)
                return rc;
            if (!distinct)
                distinct = 1;
        }
        cfg.tiers[k].capacity_blocks = distinct;
    }

    uint64_t *next = NULL;
    int need_next = 0;
    for (uint32_t k = 0; k < cfg.n_tiers; k++) {
        const cc_policy_ops *ops = cfg.tiers[k].policy ? cfg.tiers[k].policy : cc_policy_find("lru");
        need_next |= (ops->flags & CC_POLICY_NEEDS_NEXT_USE) != 0;
    }
    int rc = cc_replay_check_bound(
        t, cc_replay_state_bytes(t, cfg.n_tiers, opts->keep_records, need_next),
        opts->max_bytes, err);
    if (rc != CC_OK)
        return rc;
    cc_prefix_cache *pc;
    if ((rc = cc_pc_create(&cfg, &pc, err)) != CC_OK)
        return rc;
    if (need_next && (rc = cc_replay_next_uses(t, &next, err)) != CC_OK) {
        cc_pc_destroy(pc);
        return rc;
    }
    uint32_t max_blocks = 1;
    for (size_t i = 0; i < t->n; i++) {
        uint64_t nb = t->block_off[i + 1] - t->block_off[i];
        if (nb > max_blocks)
            max_blocks = (uint32_t)nb;
    }
    cc_context_cache *ctx = NULL;
    if (opts->context_cache) {
        if (cfg.mode != CC_PC_PREFIX) {
            free(next);
            cc_pc_destroy(pc);
            return cc_err_set(err, CC_EUNSUP, NULL, 0, "context_cache",
                              "explicit context caches need the prefix mode and concurrency "
                              "none (the overlapping modes do not drive them yet)");
        }
        if ((rc = cc_ctx_create(opts->context_cache, pc, t->n, &ctx, err)) != CC_OK) {
            free(next);
            cc_pc_destroy(pc);
            return rc;
        }
        res->has_context_cache = true;
        res->context_cache = *opts->context_cache;
    }
    uint32_t T = cfg.n_tiers;
    uint32_t *nodes = malloc((size_t)max_blocks * sizeof *nodes);
    if (opts->keep_records && t->n) {
        res->records = calloc(t->n, sizeof *res->records);
        res->record_tier_blocks = calloc(t->n * T, sizeof *res->record_tier_blocks);
    }
    if (!nodes || (opts->keep_records && t->n && (!res->records || !res->record_tier_blocks))) {
        free(nodes);
        free(next);
        cc_ctx_destroy(ctx);
        cc_pc_destroy(pc);
        cc_replay_result_free(res);
        return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL, "out of memory for the replay");
    }

    res->concurrency = opts->concurrency;
    res->prefill_tokens_per_s = prefill_tps;
    res->decode_tokens_per_s = decode_tps;
    res->servers = 1; /* one request at a time */

    double ratio_sum = 0;
    size_t ratio_n = 0;
    int64_t prev_finish = INT64_MIN;
    const size_t total = cc_trace_n_blocks_total(t);
    size_t pf1 = 0, pf2 = 0; /* stream positions prefetched so far, per stage */
    /* occupancy samples (records only) */
    const size_t occ_every = t->n / CC_REPLAY_OCCUPANCY_SAMPLES + (t->n % CC_REPLAY_OCCUPANCY_SAMPLES != 0);
    if (res->records) {
        size_t ns = occ_every ? t->n / occ_every + 1 : 0;
        res->occupancy_request = malloc(ns * sizeof *res->occupancy_request);
        res->occupancy_time_ns = malloc(ns * sizeof *res->occupancy_time_ns);
        res->occupancy_used_blocks = malloc(ns * T * sizeof *res->occupancy_used_blocks);
        if (ns && (!res->occupancy_request || !res->occupancy_time_ns ||
                   !res->occupancy_used_blocks)) {
            free(nodes);
            free(next);
            cc_ctx_destroy(ctx);
            cc_pc_destroy(pc);
            cc_replay_result_free(res);
            return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL, "out of memory for the replay");
        }
    }
    double t0 = now_s();
    for (size_t i = 0; i < t->n; i++) {
        if (opts->progress && (i & 4095) == 0)
            cc_progress_update(i);
        uint64_t off = t->block_off[i];
        /* keep the prefetch window ahead of this request's last block */
        size_t end = t->block_off[i + 1];
        /* (independent mode: cc_pc_access_request prefetches itself) */
        for (; cfg.mode == CC_PC_PREFIX && pf1 < total && pf1 < end + 2 * PREFETCH_STEP; pf1++)
            cc_pc_prefetch(pc, t->blocks[pf1], 1);
        for (; cfg.mode == CC_PC_PREFIX && pf2 < total && pf2 < end + PREFETCH_STEP; pf2++)
            cc_pc_prefetch(pc, t->blocks[pf2], 2);
        cc_pc_request rq = {
            .blocks = t->blocks + off,
            .n_blocks = (uint32_t)(t->block_off[i + 1] - off),
            .input_tokens = t->input_tokens[i],
            .index = i,
            .time_ns = t->arrival_ns[i],
            .first_seq = off,
            .next_use = next ? next + off : NULL,
        };
        cc_pc_hits h;
        uint32_t inserted = 0;
        cc_ctx_outcome co = {.hit_object = CC_CTX_NONE, .created_object = CC_CTX_NONE};
        if (cfg.mode == CC_PC_PREFIX) {
            if (ctx)
                cc_ctx_expire(ctx, rq.time_ns); /* before the implicit cache expires */
            cc_pc_lookup(pc, &rq, nodes, &h);
            cc_pc_insert(pc, &rq, nodes, &inserted);
            if (ctx && cc_ctx_on_request(ctx, &rq, cc_ctx_cacheable_tokens(opts->context_cache, t, i),
                                         h.blocks, nodes, &co) != CC_OK) {
                cc_pc_release(pc, nodes, rq.n_blocks);
                free(nodes);
                free(next);
                cc_ctx_destroy(ctx);
                cc_pc_destroy(pc);
                cc_replay_result_free(res);
                return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL,
                                  "out of memory for context cache objects");
            }
            /* a new explicit object keeps the pins on its leading blocks */
            cc_pc_release(pc, nodes + co.pinned_blocks, rq.n_blocks - co.pinned_blocks);
        } else {
            const cc_pc_stats *st = cc_pc_get_stats(pc);
            uint64_t before = st->tier[0].inserted_blocks;
            cc_pc_access_request(pc, &rq, t->blocks + end, total - end, NULL, &h);
            inserted = (uint32_t)(st->tier[0].inserted_blocks - before);
        }
        res->block_accesses += rq.n_blocks;
        res->input_tokens += rq.input_tokens;
        res->hit_blocks += h.blocks;
        res->hit_tokens += h.tokens;
        if (rq.input_tokens) {
            ratio_sum += (double)h.tokens / rq.input_tokens;
            ratio_n++;
        }
        /* one server: start when both arrived and the previous one finished */
        int64_t start = rq.time_ns > prev_finish ? rq.time_ns : prev_finish;
        int64_t first = start + cc_replay_duration_ns(rq.input_tokens - h.tokens, prefill_tps);
        prev_finish = first + cc_replay_duration_ns(t->output_tokens[i], decode_tps);
        cc_ns_sum_add(&res->queue_wait_ns, start - rq.time_ns);
        res->last_finish_ns = prev_finish;
        if (res->records) {
            cc_replay_record *rec = &res->records[i];
            rec->request = i;
            rec->input_tokens = rq.input_tokens;
            rec->n_blocks = rq.n_blocks;
            rec->hit_blocks = h.blocks;
            rec->hit_tokens = h.tokens;
            rec->computed_tokens = rq.input_tokens - h.tokens;
            rec->inserted_blocks = inserted;
            rec->output_tokens = t->output_tokens[i];
            rec->arrival_ns = rq.time_ns;
            rec->start_ns = start;
            rec->first_token_ns = first;
            rec->finish_ns = prev_finish;
            rec->explicit_tokens = co.explicit_tokens;
            rec->implicit_tokens = h.tokens - co.explicit_tokens;
            rec->explicit_object = co.hit_object;
            rec->created_object = co.created_object;
            rec->created_tokens = co.created_tokens;
            memcpy(res->record_tier_blocks + i * T, h.tier_blocks, T * sizeof(uint32_t));
            if (res->occupancy_request && ((i + 1) % occ_every == 0 || i + 1 == t->n)) {
                size_t s = res->n_occupancy++;
                res->occupancy_request[s] = i;
                res->occupancy_time_ns[s] = rq.time_ns;
                for (uint32_t k = 0; k < T; k++)
                    res->occupancy_used_blocks[s * T + k] = cc_pc_tier_used(pc, k);
            }
        }
    }
    res->elapsed_s = now_s() - t0;
    if (t->n)
        res->max_in_flight = 1;
    res->request_hit_ratio_mean = ratio_n ? ratio_sum / ratio_n : 0;

    res->requests = t->n;
    res->computed_tokens = res->input_tokens - res->hit_tokens;
    res->block_hit_ratio = res->block_accesses ? (double)res->hit_blocks / res->block_accesses : 0;
    res->token_hit_ratio = res->input_tokens ? (double)res->hit_tokens / res->input_tokens : 0;
    const cc_pc_stats *st = cc_pc_get_stats(pc);
    res->n_tiers = T;
    res->no_room_blocks = st->no_room_blocks;
    for (uint32_t k = 0; k < T; k++) {
        res->tiers[k] = st->tier[k];
        res->capacity_blocks[k] = cfg.tiers[k].capacity_blocks;
        res->blocks_moved += st->tier[k].promoted_blocks + st->tier[k].demoted_in_blocks;
        res->bytes_moved += st->tier[k].bytes_up + st->tier[k].bytes_down;
    }
    for (uint32_t k = 0; k < T; k++) { /* above the last tier: refused demotions */
        res->evictions += st->tier[k].dropped_blocks;
        res->expirations += st->tier[k].expired_blocks;
    }
    res->metadata_bytes_per_block = cc_pc_bytes_per_block(pc);
    res->implicit_hit_tokens = res->hit_tokens;
    if (ctx) {
        cc_ctx_finish(ctx);
        res->explicit_cache = *cc_ctx_get_stats(ctx);
        res->implicit_hit_tokens = res->hit_tokens - res->explicit_cache.hit_tokens;
        size_t n_obj;
        const cc_ctx_object *objs = cc_ctx_objects(ctx, &n_obj);
        if (opts->keep_records && n_obj) {
            res->ctx_objects = malloc(n_obj * sizeof *objs);
            if (!res->ctx_objects) {
                free(nodes);
                free(next);
                cc_ctx_destroy(ctx);
                cc_pc_destroy(pc);
                cc_replay_result_free(res);
                return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL, "out of memory for the replay");
            }
            memcpy(res->ctx_objects, objs, n_obj * sizeof *objs);
            res->n_ctx_objects = n_obj;
        }
        cc_ctx_destroy(ctx);
    }
    free(nodes);
    free(next);
    cc_pc_destroy(pc);
    return CC_OK;
}

void cc_replay_result_free(cc_replay_result *res)
{
    free(res->records);
    free(res->record_tier_blocks);
    free(res->ctx_objects);
    res->ctx_objects = NULL;
    res->n_ctx_objects = 0;
    res->records = NULL;
    res->record_tier_blocks = NULL;
    free(res->occupancy_request);
    free(res->occupancy_time_ns);
    free(res->occupancy_used_blocks);
    res->occupancy_request = NULL;
    res->occupancy_time_ns = NULL;
    res->occupancy_used_blocks = NULL;
    res->n_occupancy = 0;
}

/* ---- streamed replay (replay.h) ---------------------------------------------
 * The loop above, one window at a time: the same cache calls in the same
 * order (prefetches reach only to the window's end, which changes no result),
 * no records, and the figures summed as they go.  The service-time check of
 * cc_replay (rates too slow for int64 ns) runs at the end on the same sums;
 * the times themselves are the caller's (the simulator times every request). */

struct cc_replay_stream {
    cc_pc_config cfg;
    cc_prefix_cache *pc;
    uint32_t *nodes;
    size_t cap_nodes;
    int8_t *tiers;             /* one-block windows: each request's hit tier */
    size_t cap_tiers;
    double prefill_tps, decode_tps;
    cc_concurrency concurrency;
    bool progress;
    uint64_t requests, block_accesses, input_tokens, hit_blocks, hit_tokens;
    double ratio_sum;
    size_t ratio_n;
    double in_tok, out_tok; /* as cc_replay's check sums them */
    int64_t last_arrival;
    double elapsed_s;
};

void cc_replay_stream_free(cc_replay_stream *s)
{
    if (!s)
        return;
    cc_pc_destroy(s->pc);
    free(s->nodes);
    free(s->tiers);
    free(s);
}

int cc_replay_stream_begin(const cc_pc_config *cfg_in, const cc_replay_opts *opts,
                           uint32_t block_tokens, cc_replay_stream **out, cc_err *err)
{
    *out = NULL;
    cc_replay_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    if (opts->concurrency != CC_CONCURRENCY_NONE)
        return cc_err_set(err, CC_EUNSUP, NULL, 0, "concurrency",
                          "a streamed replay serves one request at a time (concurrency none)");
    if (opts->context_cache)
        return cc_err_set(err, CC_EUNSUP, NULL, 0, "context_cache",
                          "explicit context caches need the whole trace");
    double prefill_tps = opts->prefill_tokens_per_s ? opts->prefill_tokens_per_s
                                                    : CC_REPLAY_DEFAULT_PREFILL_TPS;
    double decode_tps = opts->decode_tokens_per_s ? opts->decode_tokens_per_s
                                                  : CC_REPLAY_DEFAULT_DECODE_TPS;
    if (!(prefill_tps > 0) || !(decode_tps > 0))
        return cc_err_set(err, CC_EARG, NULL, 0,
                          prefill_tps > 0 ? "decode_tokens_per_s" : "prefill_tokens_per_s",
                          "expected a positive rate (tokens/s), got %g",
                          prefill_tps > 0 ? decode_tps : prefill_tps);
    cc_pc_config cfg = *cfg_in;
    if (block_tokens == 0)
        return cc_err_set(err, CC_EUNSUP, NULL, 0, "blocks",
                          "the trace has no block hashes to replay");
    if (cfg.block_tokens == 0)
        cfg.block_tokens = block_tokens;
    else if (cfg.block_tokens != block_tokens)
        return cc_err_set(err, CC_EARG, NULL, 0, "block_size",
                          "cache blocks of %u tokens but the trace's blocks hold %u; re-block "
                          "the trace", cfg.block_tokens, block_tokens);
    if (block_tokens == CC_STREAM_BLOCK_TOKENS_ANY && cfg.n_tiers != 1)
        return cc_err_set(err, CC_EUNSUP, NULL, 0, "tiers",
                          "a trace whose block size is known only at its end streams "
                          "through one tier");
    for (uint32_t k = 0; k < cfg.n_tiers && k < CC_PC_MAX_TIERS; k++) {
        const cc_policy_ops *ops = cfg.tiers[k].policy ? cfg.tiers[k].policy
                                                       : cc_policy_find("lru");
        if (!cfg.tiers[k].capacity_blocks)
            return cc_err_set(err, CC_EUNSUP, NULL, 0, "capacity_blocks",
                              "an unbounded tier is sized to the trace's distinct blocks: "
                              "that needs the whole trace");
        if (ops && (ops->flags & CC_POLICY_NEEDS_NEXT_USE))
            return cc_err_set(err, CC_EUNSUP, NULL, 0, "policy",
                              "policy '%s' needs next uses: that needs the whole trace",
                              ops->name);
    }
    cc_replay_stream *s = calloc(1, sizeof *s);
    if (!s)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory for the replay");
    s->cfg = cfg;
    s->prefill_tps = prefill_tps;
    s->decode_tps = decode_tps;
    s->concurrency = opts->concurrency;
    s->progress = opts->progress;
    int rc = cc_pc_create(&cfg, &s->pc, err);
    if (rc != CC_OK) {
        free(s);
        return rc;
    }
    *out = s;
    return CC_OK;
}

_Static_assert((CC_PC_MAX_TIERS & (CC_PC_MAX_TIERS - 1)) == 0,
               "feed_singles masks a tier index with CC_PC_MAX_TIERS - 1");

/* The integer sums of sum_singles (below). */
__attribute__((optimize("O3"))) static void sum_counts(
    const int8_t *restrict tiers, const uint32_t *restrict input, const uint32_t *restrict output,
    size_t n, uint32_t bt, uint64_t *input_tokens, uint64_t *hit_blocks, uint64_t *hit_tokens,
    uint64_t *ratio_n, uint64_t *ones, uint64_t *out, uint32_t *partial)
{
    uint64_t a = 0, b = 0, c = 0, d = 0, e = 0, f = 0;
    uint32_t p = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t in = input[i];
        uint32_t hit = tiers[i] >= 0;
        uint32_t tok = (in < bt ? in : bt) & (0u - hit); /* cc_pc_block_tokens(in, bt, 0) */
        a += in;
        b += hit;
        c += tok;
        d += in != 0;
        e += (tok == in) & (in != 0);
        p |= (tok != 0) & (tok != in);
        f += output[i];
    }
    *input_tokens = a;
    *hit_blocks = b;
    *hit_tokens = c;
    *ratio_n = d;
    *ones = e;
    *out = f;
    *partial = p;
}

/* The figures of a window of one-block requests without the hits structs
 * (hits = NULL): integer sums, then added to the doubles at once where
 * that is exactly what adding them one by one gives -- every partial sum
 * an integer below 2^53, so each addition was exact (a token count or a
 * request ratio of 0 or 1 is an integer).  Otherwise (a block partly
 * served, or sums past 2^53) the one-by-one additions. */
static void sum_singles(cc_replay_stream *s, const cc_trace *w, size_t n)
{
    const uint32_t bt = s->cfg.block_tokens;
    const int8_t *tiers = s->tiers;
    /* one pass, no branch and no carried state but the sums (so that GCC
     * vectorizes it at -O3: sum_counts) */
    uint64_t input_tokens = 0, hit_blocks = 0, hit_tokens = 0, ratio_n = 0, ones = 0, out = 0;
    uint32_t partial = 0;
    sum_counts(tiers, w->input_tokens, w->output_tokens, n, bt, &input_tokens, &hit_blocks,
               &hit_tokens, &ratio_n, &ones, &out, &partial);
    const double two53 = 0x1p53;
    int exact = !partial && s->ratio_sum < two53 && s->in_tok < two53 && s->out_tok < two53 &&
                (uint64_t)s->ratio_sum == s->ratio_sum &&
                (uint64_t)s->ratio_sum + ones < (UINT64_C(1) << 53) &&
                (uint64_t)s->in_tok + input_tokens < (UINT64_C(1) << 53) &&
                (uint64_t)s->out_tok + out < (UINT64_C(1) << 53);
    if (exact) {
        s->ratio_sum += (double)ones;
        s->in_tok += (double)input_tokens;
        s->out_tok += (double)out;
    } else {
        double ratio_sum = s->ratio_sum, in_tok = s->in_tok, out_tok = s->out_tok;
        for (size_t i = 0; i < n; i++) {
            uint32_t in = w->input_tokens[i];
            uint32_t tok = tiers[i] >= 0 ? cc_pc_block_tokens(in, bt, 0) : 0;
            if (in)
                ratio_sum += tok == in ? 1.0 : (double)tok / in;
            in_tok += in;
            out_tok += w->output_tokens[i];
        }
        s->ratio_sum = ratio_sum;
        s->in_tok = in_tok;
        s->out_tok = out_tok;
    }
    s->input_tokens += input_tokens;
    s->hit_blocks += hit_blocks;
    s->hit_tokens += hit_tokens;
    s->ratio_n += ratio_n;
}

/* Independent mode, every request one block (libCacheSim traces). */
static int feed_singles(cc_replay_stream *s, const cc_trace *w, cc_pc_hits *hits, double t0,
                        cc_err *err)
{
    size_t n = w->n;
    if (n > s->cap_tiers) {
        int8_t *nt = realloc(s->tiers, n);
        if (!nt)
            return cc_err_set(err, CC_ENOMEM, w->source, 0, NULL, "out of memory for the replay");
        s->tiers = nt;
        s->cap_tiers = n;
    }
    if (s->progress)
        cc_progress_update(s->requests);
    cc_pc_access_singles(s->pc, w->blocks, w->input_tokens, w->arrival_ns, n, s->requests,
                         s->block_accesses, s->tiers);
    sum_singles(s, w, n);
    const uint32_t bt = s->cfg.block_tokens;
    for (size_t i = 0; hits && i < n; i++) {
        cc_pc_hits *h = &hits[i];
        int k = s->tiers[i];
        uint32_t hit = k >= 0;
        uint32_t tok = hit ? cc_pc_block_tokens(w->input_tokens[i], bt, 0) : 0;
        for (uint32_t j = 0; j < CC_PC_MAX_TIERS; j++) /* (fixed count: no memset call) */
            h->tier_blocks[j] = h->tier_tokens[j] = 0;
        h->blocks = hit;
        h->tokens = tok;
        /* no branch on the hit (unpredictable): a miss (k = -1) writes its
         * zeros to the last tier's entries, already zero */
        h->tier_blocks[(unsigned)k & (CC_PC_MAX_TIERS - 1)] = hit;
        h->tier_tokens[(unsigned)k & (CC_PC_MAX_TIERS - 1)] = tok;
    }
    s->block_accesses += n;
    s->last_arrival = w->arrival_ns[n - 1];
    s->requests += n;
    s->elapsed_s += now_s() - t0;
    return CC_OK;
}

bool cc_replay_stream_singles(const cc_replay_stream *s, const cc_trace *w)
{
    return s->cfg.mode != CC_PC_PREFIX && w->n && cc_trace_n_blocks_total(w) == w->n;
}

const int8_t *cc_replay_stream_tiers(const cc_replay_stream *s)
{
    return s->tiers;
}

int cc_replay_stream_feed(cc_replay_stream *s, const cc_trace *w, cc_pc_hits *hits, cc_err *err)
{
    double t0 = now_s();
    uint32_t max_blocks = 1;
    for (size_t i = 0; i < w->n; i++) {
        uint64_t nb = w->block_off[i + 1] - w->block_off[i];
        if (nb > max_blocks)
            max_blocks = (uint32_t)nb;
    }
    if (max_blocks > s->cap_nodes) {
        uint32_t *nn = realloc(s->nodes, (size_t)max_blocks * sizeof *nn);
        if (!nn)
            return cc_err_set(err, CC_ENOMEM, w->source, 0, NULL, "out of memory for the replay");
        s->nodes = nn;
        s->cap_nodes = max_blocks;
    }
    cc_prefix_cache *pc = s->pc;
    const int prefix = s->cfg.mode == CC_PC_PREFIX;
    const size_t total = cc_trace_n_blocks_total(w);
    if (cc_replay_stream_singles(s, w)) /* one block a request: one call for all */
        return feed_singles(s, w, hits, t0, err);
    if (!hits)
        return cc_err_set(err, CC_EARG, w->source, 0, "hits",
                          "hits may be NULL only for one-block requests in independent mode");
    size_t pf1 = 0, pf2 = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (s->progress && ((s->requests + i) & 4095) == 0)
            cc_progress_update(s->requests + i);
        uint64_t off = w->block_off[i];
        size_t end = w->block_off[i + 1];
        for (; prefix && pf1 < total && pf1 < end + 2 * PREFETCH_STEP; pf1++)
            cc_pc_prefetch(pc, w->blocks[pf1], 1);
        for (; prefix && pf2 < total && pf2 < end + PREFETCH_STEP; pf2++)
            cc_pc_prefetch(pc, w->blocks[pf2], 2);
        cc_pc_request rq = {
            .blocks = w->blocks + off,
            .n_blocks = (uint32_t)(end - off),
            .input_tokens = w->input_tokens[i],
            .index = s->requests + i,
            .time_ns = w->arrival_ns[i],
            .first_seq = s->block_accesses,
        };
        cc_pc_hits *h = &hits[i];
        if (prefix) {
            cc_pc_lookup(pc, &rq, s->nodes, h);
            uint32_t inserted;
            cc_pc_insert(pc, &rq, s->nodes, &inserted);
            cc_pc_release(pc, s->nodes, rq.n_blocks);
        } else {
            cc_pc_access_request(pc, &rq, w->blocks + end, total - end, NULL, h);
        }
        s->block_accesses += rq.n_blocks;
        s->input_tokens += rq.input_tokens;
        s->hit_blocks += h->blocks;
        s->hit_tokens += h->tokens;
        if (rq.input_tokens) {
            s->ratio_sum += (double)h->tokens / rq.input_tokens;
            s->ratio_n++;
        }
        s->in_tok += w->input_tokens[i];
        s->out_tok += w->output_tokens[i];
        s->last_arrival = rq.time_ns;
    }
    s->requests += w->n;
    s->elapsed_s += now_s() - t0;
    return CC_OK;
}

int cc_replay_stream_end(cc_replay_stream *s, const char *source, cc_replay_result *res,
                         cc_err *err)
{
    memset(res, 0, sizeof *res);
    if (s->requests) {
        double worst_ns = (double)s->last_arrival +
                          (isinf(s->prefill_tps) ? 0 : s->in_tok * 1e9 / s->prefill_tps) +
                          (isinf(s->decode_tps) ? 0 : s->out_tok * 1e9 / s->decode_tps);
        if (!(worst_ns < 0x1p63 * 0.999)) {
            double p = s->prefill_tps, d = s->decode_tps;
            cc_replay_stream_free(s);
            return cc_err_set(err, CC_ERANGE, source, 0, "prefill_tokens_per_s",
                              "at %g prefill and %g decode tokens/s the simulated time could "
                              "pass 2^63 ns (292 years); expected faster rates", p, d);
        }
    }
    uint32_t T = s->cfg.n_tiers;
    res->concurrency = s->concurrency;
    res->prefill_tokens_per_s = s->prefill_tps;
    res->decode_tokens_per_s = s->decode_tps;
    res->servers = 1;
    res->elapsed_s = s->elapsed_s;
    res->max_in_flight = s->requests ? 1 : 0;
    res->request_hit_ratio_mean = s->ratio_n ? s->ratio_sum / s->ratio_n : 0;
    res->requests = s->requests;
    res->block_accesses = s->block_accesses;
    res->input_tokens = s->input_tokens;
    res->hit_blocks = s->hit_blocks;
    res->hit_tokens = s->hit_tokens;
    res->computed_tokens = res->input_tokens - res->hit_tokens;
    res->block_hit_ratio = res->block_accesses ? (double)res->hit_blocks / res->block_accesses : 0;
    res->token_hit_ratio = res->input_tokens ? (double)res->hit_tokens / res->input_tokens : 0;
    const cc_pc_stats *st = cc_pc_get_stats(s->pc);
    res->n_tiers = T;
    res->no_room_blocks = st->no_room_blocks;
    for (uint32_t k = 0; k < T; k++) {
        res->tiers[k] = st->tier[k];
        res->capacity_blocks[k] = s->cfg.tiers[k].capacity_blocks;
        res->blocks_moved += st->tier[k].promoted_blocks + st->tier[k].demoted_in_blocks;
        res->bytes_moved += st->tier[k].bytes_up + st->tier[k].bytes_down;
    }
    for (uint32_t k = 0; k < T; k++) {
        res->evictions += st->tier[k].dropped_blocks;
        res->expirations += st->tier[k].expired_blocks;
    }
    res->metadata_bytes_per_block = cc_pc_bytes_per_block(s->pc);
    res->implicit_hit_tokens = res->hit_tokens;
    cc_replay_stream_free(s);
    return CC_OK;
}
