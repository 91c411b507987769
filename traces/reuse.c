/*
 * reuse.c -- how much of a trace's prompts a blend cache could reuse
 * (`ctxcache trace stats TRACE --chunk-tokens C [--reuse-scope S]`).
 *
 * Every input token of every request falls in exactly one of three classes,
 * with C tokens per chunk and requests taken in trace (arrival) order:
 *
 *   prefix-reusable   the leading run a prefix cache of infinite capacity
 *                     with C-token blocks serves: the first P = k*C tokens
 *                     for the largest k such that an earlier request in
 *                     scope began with the same k*C tokens (whole chunks
 *                     only: a partial last chunk is never prefix-reusable);
 *   non-prefix-       not prefix-reusable, and inside some window
 *   reusable          x[s, s+C) of the prompt (any s, windows may start in
 *                     the prefix part) whose exact C tokens appear as a
 *                     contiguous run anywhere in an earlier request in
 *                     scope, at any offset -- what a blend cache that keeps
 *                     every C-token run it has seen could serve from KV
 *                     computed elsewhere (the offline analyses of CacheBlend
 *                     match windows with a rolling hash the same way);
 *   new               the rest.
 *
 * "Earlier" is strict: a run repeated inside one prompt but never seen
 * before it is new.  Scope: `trace` (default) matches against every earlier
 * request of the same tenant (caches never share across tenants); `session`
 * only against earlier requests of the same session and tenant.
 *
 * How: a prefix chunk is named by the trace's block hash chain at block size
 * C (cc_block_chain, tenant included) mixed with the scope's key; a window
 * by a polynomial rolling hash mod 2^61 - 1 over its token ids (O(1) per
 * step), mixed with the scope's key.  Two sets of 64-bit keys (cc_u64map)
 * hold what earlier requests had: a request is first looked up, then
 * added.  The covered positions are the union of matched windows, counted
 * in one sweep (windows come in order of start).  Distinct windows collide
 * with probability about C / 2^61 per pair: no figure here can tell.
 * Cost: O(total input tokens) expected time; memory 32 bytes or less per
 * distinct window and per distinct prefix chunk, plus 8 bytes per token of
 * the longest prompt.
 */
#include "traces.h"

#include <stdlib.h>
#include <string.h>

#define MERSENNE61 ((UINT64_C(1) << 61) - 1)
#define ROLL_BASE UINT64_C(0x1f3d5b79a2c4e687) /* any value in (1, 2^61 - 1) */

static uint64_t mulmod61(uint64_t a, uint64_t b)
{
    __uint128_t p = (__uint128_t)a * b;
    uint64_t lo = (uint64_t)(p & MERSENNE61), hi = (uint64_t)(p >> 61);
    uint64_t s = lo + hi;
    return s >= MERSENNE61 ? s - MERSENNE61 : s;
}

static uint64_t addmod61(uint64_t a, uint64_t b)
{
    uint64_t s = a + b;
    return s >= MERSENNE61 ? s - MERSENNE61 : s;
}

static uint64_t scope_key(const cc_trace *t, size_t i, cc_reuse_scope scope)
{
    uint64_t k = cc_mix64(UINT64_C(0x7265757365000000) ^ t->tenant[i]); /* "reuse" */
    if (scope == CC_REUSE_SESSION)
        k = cc_mix64(k ^ cc_mix64(t->session_id[i] + UINT64_C(0x9e3779b97f4a7c15)));
    return k;
}

void cc_reuse_stats_free(cc_reuse_stats *s)
{
    free(s->session_ids);
    free(s->sessions);
    memset(s, 0, sizeof *s);
}

const char *cc_reuse_scope_name(cc_reuse_scope scope)
{
    return scope == CC_REUSE_SESSION ? "session" : "trace";
}

int cc_trace_reuse(const cc_trace *t, uint32_t chunk_tokens, cc_reuse_scope scope,
                   cc_reuse_stats *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    const char *src = t->source;
    if (chunk_tokens == 0)
        return cc_err_set(err, CC_EARG, NULL, 0, "--chunk-tokens",
                          "chunk size of 0 tokens; expected at least 1");
    if (scope != CC_REUSE_TRACE && scope != CC_REUSE_SESSION)
        return cc_err_set(err, CC_EARG, NULL, 0, "--reuse-scope",
                          "unknown scope %d; expected session or trace", (int)scope);
    out->chunk_tokens = chunk_tokens;
    out->scope = scope;
    for (size_t i = 0; i < t->n; i++)
        if (t->input_tokens[i] && t->token_off[i + 1] == t->token_off[i])
            return cc_err_set(err, CC_EUNSUP, src, 0, "token_ids",
                              "request %zu has no token ids (a %s trace carries only block "
                              "hashes); reuse by content needs a trace with token ids (a text "
                              "format, the generator, or an HDF5 file made from one)",
                              i + 1, t->source_format[0] ? t->source_format : "hash-only");

    cc_u64map prefixes, windows, sessions;
    size_t total = cc_trace_n_tokens_total(t);
    int rc = CC_ENOMEM;
    uint64_t *chain = NULL, *wkeys = NULL;
    size_t cap_chain = 0, cap_wkeys = 0, cap_sess = 0, cap_sess2 = 0;
    memset(&prefixes, 0, sizeof prefixes);
    memset(&windows, 0, sizeof windows);
    memset(&sessions, 0, sizeof sessions);
    /* sized for the trace up to a cap, then grown as needed */
    size_t guess_win = total < (size_t)1 << 22 ? total : (size_t)1 << 22;
    if (cc_u64map_init(&prefixes, guess_win / chunk_tokens + 16) ||
        cc_u64map_init(&windows, guess_win + 16) || cc_u64map_init(&sessions, 64))
        goto done;

    /* B^(C-1) mod p, to take the leaving token out of the rolling hash */
    uint64_t top = 1;
    for (uint32_t k = 1; k < chunk_tokens; k++)
        top = mulmod61(top, ROLL_BASE);

    for (size_t i = 0; i < t->n; i++) {
        cc_request r = cc_trace_get(t, i);
        uint32_t L = r.input_tokens;
        uint64_t skey = scope_key(t, i, scope);
        uint64_t *sidx;
        int put = cc_u64map_put(&sessions, r.session_id, out->n_sessions, &sidx);
        if (put < 0)
            goto done;
        if (put == 1) {
            if (cc_grow((void **)&out->session_ids, &cap_sess, out->n_sessions + 1,
                        sizeof *out->session_ids) ||
                cc_grow((void **)&out->sessions, &cap_sess2, out->n_sessions + 1,
                        sizeof *out->sessions))
                goto done;
            out->session_ids[out->n_sessions] = r.session_id;
            memset(&out->sessions[out->n_sessions], 0, sizeof *out->sessions);
            out->n_sessions++;
        }
        cc_reuse_counts *sc = &out->sessions[*sidx];

        /* prefix-reusable: the leading run of whole chunks seen as prefixes */
        uint32_t full = L / chunk_tokens, lead = 0;
        if (cc_grow((void **)&chain, &cap_chain, (size_t)full + 2, sizeof *chain))
            goto done;
        if (L)
            cc_block_chain(r.tenant, r.token_ids, L, chunk_tokens, chain);
        for (uint32_t k = 0; k < full; k++)
            chain[k] = cc_mix64(chain[k] ^ skey);
        while (lead < full && cc_u64map_get(&prefixes, chain[lead]))
            lead++;
        uint64_t P = (uint64_t)lead * chunk_tokens;

        /* non-prefix-reusable: positions >= P inside a window seen before */
        uint64_t N = 0;
        uint32_t n_win = L >= chunk_tokens ? L - chunk_tokens + 1 : 0;
        if (cc_grow((void **)&wkeys, &cap_wkeys, (size_t)n_win + 1, sizeof *wkeys))
            goto done;
        if (n_win) {
            uint64_t h = 0;
            for (uint32_t k = 0; k < chunk_tokens; k++)
                h = addmod61(mulmod61(h, ROLL_BASE), r.token_ids[k] % MERSENNE61);
            uint64_t covered_end = P; /* positions below it are counted already */
            for (uint32_t s = 0;; s++) {
                wkeys[s] = cc_mix64(h ^ skey);
                uint64_t end = (uint64_t)s + chunk_tokens;
                if (end > covered_end && cc_u64map_get(&windows, wkeys[s])) {
                    uint64_t from = s > covered_end ? s : covered_end;
                    N += end - from;
                    covered_end = end;
                }
                if (s + 1 == n_win)
                    break;
                uint64_t out_tok = mulmod61(r.token_ids[s] % MERSENNE61, top);
                h = addmod61(h, MERSENNE61 - out_tok);
                h = addmod61(mulmod61(h, ROLL_BASE), r.token_ids[s + chunk_tokens] % MERSENNE61);
            }
        }
        /* then what this request adds for the ones after it */
        for (uint32_t k = 0; k < full; k++)
            if (cc_u64map_put(&prefixes, chain[k], 0, NULL) < 0)
                goto done;
        for (uint32_t s = 0; s < n_win; s++)
            if (cc_u64map_put(&windows, wkeys[s], 0, NULL) < 0)
                goto done;

        cc_reuse_counts one = {1, L, P, N, L - P - N};
        cc_reuse_counts *dst[2] = {&out->total, sc};
        for (int d = 0; d < 2; d++) {
            dst[d]->requests += one.requests;
            dst[d]->tokens += one.tokens;
            dst[d]->prefix_tokens += one.prefix_tokens;
            dst[d]->nonprefix_tokens += one.nonprefix_tokens;
            dst[d]->new_tokens += one.new_tokens;
        }
    }
    rc = CC_OK;
done:
    free(chain);
    free(wkeys);
    cc_u64map_free(&prefixes);
    cc_u64map_free(&windows);
    cc_u64map_free(&sessions);
    if (rc == CC_ENOMEM) {
        cc_reuse_stats_free(out);
        return cc_err_set(err, CC_ENOMEM, src, 0, NULL, "out of memory for the reuse analysis");
    }
    return rc;
}
