/*
 * blend.c -- the front of CacheBlend on the real engine (gpu.h explains the
 * algorithm): checks a blend request, lays it out as a plan over prompt
 * positions (tokens, destination and source pool rows, the forced tokens,
 * one re-rotation run per cached chunk, how many reused tokens each check
 * layer keeps), and hands the plan to the backend's layer loop
 * (engine_cpu.c; vt->blend).  The backend-independent steps of that loop are
 * here too: the selection of the most deviating tokens (cc_blend_select) and
 * the attention tiles of a sparse set of positions (cc_blend_tiles).
 *
 * Memory: the plan's arrays (about 30 bytes per token of max_batch_tokens)
 * are allocated by the engine's first blend and kept with it, so a blend
 * allocates nothing.  Costs: the checks and the plan are O(tokens + blocks);
 * a selection sorts the current set's reused tokens (O(n log n)).
 */
#include "engine_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct blend_buf {
    cc_blend_plan plan;
    cc_blend_run *runs;
    int runs_cap;
} blend_buf;

void cc_engine_blend_buf_free(void *buf)
{
    blend_buf *b = buf;
    if (b)
        free(b->runs);
    free(b);
}

static int plan_arrays(cc_engine *e, int n_chunks, cc_err *err)
{
    blend_buf *b = e->blend_buf;
    size_t T = e->opts.max_batch_tokens;
    if (!b) {
        /* int32: tokens, dst, src, cand, cur, keep_rows; float: dev; u8: forced, mark */
        size_t bytes = sizeof *b + T * (6 * sizeof(int32_t) + sizeof(float) + 2);
        b = calloc(1, bytes);
        if (!b)
            return cc_err_set(err, CC_ENOMEM, NULL, 0, "blend", "out of memory");
        int32_t *i32 = (int32_t *)(b + 1);
        cc_blend_plan *p = &b->plan;
        p->tokens = i32;
        p->dst_rows = i32 + T;
        p->src_rows = i32 + 2 * T;
        p->cand = i32 + 3 * T;
        p->cur = i32 + 4 * T;
        p->keep_rows = i32 + 5 * T;
        p->dev = (float *)(i32 + 6 * T);
        p->forced = (uint8_t *)(p->dev + T);
        p->mark = p->forced + T;
        e->blend_buf = b;
    }
    if (n_chunks > b->runs_cap) {
        cc_blend_run *r = realloc(b->runs, (size_t)n_chunks * sizeof *r);
        if (!r)
            return cc_err_set(err, CC_ENOMEM, NULL, 0, "blend", "out of memory");
        b->runs = r;
        b->runs_cap = n_chunks;
    }
    b->plan.runs = b->runs;
    return CC_OK;
}

/* Marks the slots of a table; a slot marked twice (or a prompt slot found in
 * a chunk's table) is an error. */
static int check_table(cc_engine *e, const int32_t *table, int n_blocks, long need,
                       int mark, const char *field, int chunk, cc_err *err)
{
    if (!table || n_blocks < need)
        return cc_err_set(err, CC_EARG, NULL, chunk + 1, field,
                          "chunk %d: %ld blocks needed, table has %d", chunk, need,
                          table ? n_blocks : 0);
    for (long b = 0; b < need; b++) {
        int32_t slot = table[b];
        if (slot < 0 || slot >= e->opts.n_slots)
            return cc_err_set(err, CC_EARG, NULL, chunk + 1, field,
                              "chunk %d block %ld: slot %d outside 0..%d", chunk, b, slot,
                              e->opts.n_slots - 1);
        if (mark) {
            if (e->slot_mark[slot] == e->epoch)
                return cc_err_set(err, CC_EARG, NULL, 0, field,
                                  "block %ld: slot %d is listed twice", b, slot);
            e->slot_mark[slot] = e->epoch;
        } else if (e->slot_mark[slot] == e->epoch) {
            return cc_err_set(err, CC_EARG, NULL, chunk + 1, field,
                              "chunk %d block %ld: slot %d is also a slot of the prompt "
                              "(the prompt's KV must go to other slots)",
                              chunk, b, slot);
        }
    }
    return CC_OK;
}

int cc_engine_blend_prefill(cc_engine *e, const cc_blend_chunk *chunks, int n_chunks,
                            const int32_t *block_table, int n_blocks,
                            const cc_blend_opts *opts, int logits_mode, float *logits,
                            cc_blend_stats *stats, cc_err *err)
{
    const cc_model_config *c = &e->cfg;
    int bs = c->block_size, rc;
    if (!e->vt->blend)
        return cc_err_set(err, CC_EUNSUP, NULL, 0, "backend",
                          "blend is not implemented on this backend");
    if (!chunks || n_chunks <= 0)
        return cc_err_set(err, CC_EARG, NULL, 0, "n_chunks", "expected >= 1, found %d",
                          n_chunks);
    double r = opts ? opts->recompute_ratio : 0.0;
    if (!(r >= 0.0 && r <= 1.0))
        return cc_err_set(err, CC_EARG, NULL, 0, "recompute_ratio",
                          "expected a number in 0..1, found %g", r);
    int n_checks = opts && opts->n_checks ? opts->n_checks : 3;
    if (n_checks < 1 || n_checks > CC_BLEND_MAX_CHECKS)
        return cc_err_set(err, CC_EARG, NULL, 0, "n_checks", "expected 1..%d, found %d",
                          CC_BLEND_MAX_CHECKS, n_checks);
    if (n_checks > c->n_layers - 1)
        n_checks = c->n_layers - 1;
    if (logits_mode < CC_LOGITS_LAST || logits_mode > CC_LOGITS_NONE)
        return cc_err_set(err, CC_EARG, NULL, 0, "logits_mode", "unknown mode %d", logits_mode);
    if (logits_mode != CC_LOGITS_NONE && !logits)
        return cc_err_set(err, CC_EARG, NULL, 0, "logits", "no output buffer");
    long n = 0;
    for (int i = 0; i < n_chunks; i++) {
        const cc_blend_chunk *ch = &chunks[i];
        if (!ch->tokens || ch->n_tokens <= 0)
            return cc_err_set(err, CC_EARG, NULL, i + 1, "n_tokens",
                              "chunk %d: expected >= 1 tokens, found %d", i, ch->n_tokens);
        if (ch->kv_table && ch->kv_pos0 < 0)
            return cc_err_set(err, CC_EARG, NULL, i + 1, "kv_pos0",
                              "chunk %d: expected >= 0, found %d", i, ch->kv_pos0);
        for (int t = 0; t < ch->n_tokens; t++)
            if (ch->tokens[t] < 0 || ch->tokens[t] >= c->vocab)
                return cc_err_set(err, CC_EARG, NULL, i + 1, "tokens",
                                  "chunk %d token %d: id %d outside 0..%d", i, t,
                                  ch->tokens[t], c->vocab - 1);
        n += ch->n_tokens;
    }
    if (n > e->opts.max_batch_tokens || n > e->opts.max_context)
        return cc_err_set(err, CC_EARG, NULL, 0, "max_batch_tokens",
                          "a blend prompt is one batch: %ld tokens exceed max_batch_tokens %d "
                          "or max_context %d",
                          n, e->opts.max_batch_tokens, e->opts.max_context);
    if (++e->epoch == 0) {
        memset(e->slot_mark, 0, e->opts.n_slots * sizeof *e->slot_mark);
        e->epoch = 1;
    }
    if ((rc = check_table(e, block_table, n_blocks, (n + bs - 1) / bs, 1, "block_table", -1,
                          err)))
        return rc;
    for (int i = 0; i < n_chunks; i++) {
        const cc_blend_chunk *ch = &chunks[i];
        if (ch->kv_table &&
            (rc = check_table(e, ch->kv_table, ch->kv_n_blocks,
                              ((long)ch->kv_pos0 + ch->n_tokens + bs - 1) / bs, 0, "kv_table",
                              i, err)))
            return rc;
    }
    if ((rc = plan_arrays(e, n_chunks, err)))
        return rc;

    /* The plan over positions. */
    cc_blend_plan *p = &((blend_buf *)e->blend_buf)->plan;
    p->n = (int)n;
    p->table = block_table;
    p->n_runs = 0;
    cc_kv_pool_rows(p->dst_rows, block_table, 0, (int)n, bs);
    int pos = 0;
    for (int i = 0; i < n_chunks; i++) {
        const cc_blend_chunk *ch = &chunks[i];
        memcpy(p->tokens + pos, ch->tokens, ch->n_tokens * sizeof(int32_t));
        if (ch->kv_table) {
            cc_kv_pool_rows(p->src_rows + pos, ch->kv_table, ch->kv_pos0, ch->n_tokens, bs);
            p->runs[p->n_runs++] = (cc_blend_run){pos, ch->n_tokens, pos - ch->kv_pos0};
        } else {
            for (int t = 0; t < ch->n_tokens; t++)
                p->src_rows[pos + t] = -1;
        }
        for (int t = 0; t < ch->n_tokens; t++)
            p->forced[pos + t] = ch->kv_table == NULL;
        pos += ch->n_tokens;
    }
    p->forced[n - 1] = 1; /* the last token's hidden state gives the next token */
    p->n_forced = 0;
    for (int i = 0; i < p->n; i++)
        p->n_forced += p->forced[i];
    p->n_reused = p->n - p->n_forced;
    /* Reused tokens kept after check j: a share narrowing linearly from
     * min(1, 2r) at the first check to r at the last. */
    p->n_checks = n_checks;
    double r0 = 2 * r < 1 ? 2 * r : 1;
    for (int j = 0; j < n_checks; j++) {
        double rj = n_checks == 1 ? r : r + (r0 - r) * (n_checks - 1 - j) / (n_checks - 1);
        long k = lround(rj * p->n_reused);
        p->keep[j] = (int32_t)(k < p->n_reused ? k : p->n_reused);
    }
    if (stats) {
        stats->n_tokens = p->n;
        stats->n_reused = p->n_reused;
        stats->n_forced = p->n_forced;
        stats->n_recomputed = n_checks ? p->keep[n_checks - 1] : p->n_reused;
        if (stats->recomputed)
            memset(stats->recomputed, 0, (size_t)p->n);
    }
    rc = e->vt->blend(e, p, logits_mode, logits, err);
    if (!rc && stats && stats->recomputed)
        for (int i = 0; i < p->n_final; i++)
            stats->recomputed[p->cur[i]] = 1;
    return rc;
}

/* Sort order of candidate rows: larger deviation first, then lower row. */
static int by_dev(const void *a, const void *b, void *ctx)
{
    const float *dev = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (dev[x] != dev[y])
        return dev[x] > dev[y] ? -1 : 1;
    return (x > y) - (x < y);
}

int cc_blend_select(cc_blend_plan *p, int j, const int32_t *cur, const float *dev, int n,
                    int32_t *keep_rows)
{
    int n_cand = 0;
    if (n <= 0)
        return 0;
    for (int r = 0; r < n; r++)
        if (!p->forced[cur[r]])
            p->cand[n_cand++] = r;
    qsort_r(p->cand, n_cand, sizeof *p->cand, by_dev, (void *)dev);
    int k = p->keep[j] < n_cand ? p->keep[j] : n_cand;
    memset(p->mark, 0, (size_t)n);
    for (int i = 0; i < k; i++)
        p->mark[p->cand[i]] = 1;
    int m = 0;
    for (int r = 0; r < n; r++)
        if (p->forced[cur[r]] || p->mark[r])
            keep_rows[m++] = r;
    return m;
}

int cc_blend_tiles(cc_attn_tile *tiles, const int32_t *pos, int n, int tok_per_tile)
{
    int nt = 0;
    for (int i = 0; i < n;) {
        int len = 1;
        while (i + len < n && len < tok_per_tile && pos[i + len] == pos[i] + len)
            len++;
        tiles[nt++] = (cc_attn_tile){i, len, pos[i], 0, INT32_MAX}; /* rows compacted */
        i += len;
    }
    return nt;
}
