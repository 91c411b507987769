/*
 * stats.c -- trace statistics (ctxcache trace stats).
 *
 * The ideal hit ratios model an infinite prefix cache that sees requests one
 * at a time in arrival order: a request's hits are the leading run of its
 * blocks already seen (in earlier requests or earlier in itself); each hit
 * block counts block_size tokens, the request's total capped at its input
 * length.  This is the figure the Mooncake paper's trace analysis uses and
 * the upper bound for any finite cache under the prefix rule.
 * Cost: O(block accesses) expected time, one set of the distinct blocks:
 * keys only, grown with them (16 to 32 bytes a distinct block, 48 at the
 * moment it doubles).  It was a u64 map sized for every block access (32 to
 * 64 bytes a block access: 4.3 GB of the 5.4 GB that `replay` of the
 * 1M-request default workload peaked at, 106M accesses of 16M blocks).
 */
#include "traces.h"

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The set of blocks seen: open addressing, linear probing, load <= 1/2;
 * all-ones marks a free slot (the key itself is kept aside). */
typedef struct seen_set {
    uint64_t *keys;
    size_t cap, count;
    int has_ones;
} seen_set;

static int set_alloc(seen_set *st, size_t cap)
{
    st->keys = malloc(cap * sizeof *st->keys);
    if (!st->keys)
        return CC_ENOMEM;
    memset(st->keys, 0xff, cap * sizeof *st->keys);
    st->cap = cap;
    return CC_OK;
}

/* 1 when k is new, 0 when seen before, CC_ENOMEM. */
static int set_add(seen_set *st, uint64_t k)
{
    if (k == UINT64_MAX) {
        int fresh = !st->has_ones;
        st->has_ones = 1;
        st->count += fresh;
        return fresh;
    }
    if ((st->count + 1) * 2 > st->cap) {
        seen_set g = *st;
        if (set_alloc(&g, st->cap * 2) != CC_OK)
            return CC_ENOMEM;
        for (size_t j = 0; j < st->cap; j++) {
            uint64_t x = st->keys[j];
            if (x == UINT64_MAX)
                continue;
            size_t i = cc_mix64(x) & (g.cap - 1);
            while (g.keys[i] != UINT64_MAX)
                i = (i + 1) & (g.cap - 1);
            g.keys[i] = x;
        }
        free(st->keys);
        *st = g;
    }
    size_t mask = st->cap - 1, i = cc_mix64(k) & mask;
    for (;;) {
        if (st->keys[i] == k)
            return 0;
        if (st->keys[i] == UINT64_MAX)
            break;
        i = (i + 1) & mask;
    }
    st->keys[i] = k;
    st->count++;
    return 1;
}

static void percentiles(double *v, size_t n, double *p50, double *p90, double *p99)
{
    if (n == 0) {
        *p50 = *p90 = *p99 = 0;
        return;
    }
    gsl_sort(v, 1, n);
    *p50 = gsl_stats_quantile_from_sorted_data(v, 1, n, 0.50);
    *p90 = gsl_stats_quantile_from_sorted_data(v, 1, n, 0.90);
    *p99 = gsl_stats_quantile_from_sorted_data(v, 1, n, 0.99);
}

int cc_trace_compute_stats(const cc_trace *t, cc_trace_stats *s, cc_err *err)
{
    memset(s, 0, sizeof *s);
    s->requests = t->n;
    s->tenants = t->n_tenants;
    if (t->n == 0)
        return CC_OK;

    seen_set seen = {0};
    cc_u64map sessions;
    if (cc_u64map_init(&sessions, 1024))
        return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL, "out of memory for statistics");
    if (set_alloc(&seen, 1024)) {
        cc_u64map_free(&sessions);
        return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL, "out of memory for statistics");
    }
    double *v = malloc(t->n * sizeof *v);
    if (!v) {
        free(seen.keys);
        cc_u64map_free(&sessions);
        return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL, "out of memory for statistics");
    }

    uint64_t hit_blocks = 0, hit_tokens = 0, turns_max_sum = 0;
    for (size_t i = 0; i < t->n; i++) {
        s->input_tokens += t->input_tokens[i];
        s->output_tokens += t->output_tokens[i];
        uint64_t *turns;
        if (cc_u64map_put(&sessions, t->session_id[i], 0, &turns) < 0)
            goto oom;
        if (t->turn[i] + 1u > *turns)
            *turns = t->turn[i] + 1u;

        const uint64_t *b = t->blocks ? t->blocks + t->block_off[i] : NULL;
        size_t nb = t->block_off[i + 1] - t->block_off[i];
        size_t lead = 0;
        int in_run = 1;
        for (size_t j = 0; j < nb; j++) {
            int r = set_add(&seen, b[j]);
            if (r < 0)
                goto oom;
            if (in_run && r == 0)
                lead++;
            else
                in_run = 0;
        }
        s->block_accesses += nb;
        hit_blocks += lead;
        uint64_t ht = (uint64_t)lead * t->block_size;
        hit_tokens += ht < t->input_tokens[i] ? ht : t->input_tokens[i];
    }
    s->distinct_blocks = seen.count;
    s->sessions = sessions.count;
    for (size_t k = 0; k < sessions.cap; k++)
        if (sessions.keys[k] != CC_U64MAP_EMPTY)
            turns_max_sum += sessions.vals[k];
    if (sessions.has_empty_key)
        turns_max_sum += sessions.empty_key_val;
    s->turns_mean = (double)turns_max_sum / (double)s->sessions;
    s->ideal_block_hit_ratio = s->block_accesses ? (double)hit_blocks / s->block_accesses : 0;
    s->ideal_token_hit_ratio = s->input_tokens ? (double)hit_tokens / s->input_tokens : 0;
    s->input_tokens_mean = (double)s->input_tokens / t->n;
    s->output_tokens_mean = (double)s->output_tokens / t->n;
    s->span_s = (t->arrival_ns[t->n - 1] - t->arrival_ns[0]) * 1e-9;

    if (t->n > 1) {
        size_t m = t->n - 1;
        for (size_t i = 0; i < m; i++)
            v[i] = (t->arrival_ns[i + 1] - t->arrival_ns[i]) * 1e-9;
        s->interarrival_mean_s = gsl_stats_mean(v, 1, m);
        double sd = m > 1 ? gsl_stats_sd_m(v, 1, m, s->interarrival_mean_s) : 0;
        s->interarrival_cv = s->interarrival_mean_s > 0 ? sd / s->interarrival_mean_s : 0;
    }
    for (size_t i = 0; i < t->n; i++)
        v[i] = t->input_tokens[i];
    percentiles(v, t->n, &s->input_p50, &s->input_p90, &s->input_p99);
    for (size_t i = 0; i < t->n; i++)
        v[i] = t->output_tokens[i];
    percentiles(v, t->n, &s->output_p50, &s->output_p90, &s->output_p99);

    free(v);
    free(seen.keys);
    cc_u64map_free(&sessions);
    return CC_OK;
oom:
    free(v);
    free(seen.keys);
    cc_u64map_free(&sessions);
    return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL, "out of memory for statistics");
}
