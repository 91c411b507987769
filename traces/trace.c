/*
 * trace.c -- the columnar trace: builder, views, re-blocking, validation.
 *
 * Columns grow by doubling (cc_grow), so appending n requests costs O(n)
 * amortised and no allocation per request once capacity is reached.  Memory
 * per request: 41 bytes of fixed columns + 8 per block + 4 per token id +
 * 32 per chunk + 24 for the three offsets, plus text and embeddings
 * (cc_trace_bytes_for: the figure the memory bound compares).
 */
#include "traces.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const chunk_kind_names[CC_CHUNK_KIND_COUNT] = {
    "system", "user", "assistant", "passage", "question", "tool",
};

const char *cc_chunk_kind_name(int kind)
{
    return kind >= 0 && kind < CC_CHUNK_KIND_COUNT ? chunk_kind_names[kind] : "unknown";
}

void cc_trace_init(cc_trace *t)
{
    memset(t, 0, sizeof *t);
}

void cc_trace_free(cc_trace *t)
{
    free(t->arrival_ns);
    free(t->session_id);
    free(t->turn);
    free(t->tenant);
    free(t->input_tokens);
    free(t->output_tokens);
    free(t->group_id);
    free(t->role);
    free(t->block_off);
    free(t->blocks);
    free(t->token_off);
    free(t->token_ids);
    free(t->chunk_off);
    free(t->chunks);
    free(t->text);
    free(t->embeddings);
    for (size_t i = 0; i < t->n_tenants; i++)
        free(t->tenants[i]);
    free(t->tenants);
    memset(t, 0, sizeof *t);
}

cc_request cc_trace_get(const cc_trace *t, size_t i)
{
    cc_request r;
    r.arrival_ns = t->arrival_ns[i];
    r.session_id = t->session_id[i];
    r.turn = t->turn[i];
    r.tenant = t->tenant[i];
    r.input_tokens = t->input_tokens[i];
    r.output_tokens = t->output_tokens[i];
    r.group_id = t->group_id[i];
    r.role = t->role[i];
    r.n_blocks = (uint32_t)(t->block_off[i + 1] - t->block_off[i]);
    r.blocks = t->blocks ? t->blocks + t->block_off[i] : NULL;
    r.n_token_ids = (uint32_t)(t->token_off[i + 1] - t->token_off[i]);
    r.token_ids = r.n_token_ids ? t->token_ids + t->token_off[i] : NULL;
    r.n_chunks = (uint32_t)(t->chunk_off[i + 1] - t->chunk_off[i]);
    r.chunks = r.n_chunks ? t->chunks + t->chunk_off[i] : NULL;
    r.embedding = t->embedding_dim ? t->embeddings + i * t->embedding_dim : NULL;
    return r;
}

uint64_t cc_trace_memory_bound(const cc_read_opts *o)
{
    if (o && o->max_bytes)
        return o->max_bytes;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page / 2 : UINT64_C(8) << 30;
}

/* Saturating: sizes come from files and may be absurd. */
static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }
static uint64_t sat_mul(uint64_t a, uint64_t b) { return b && a > UINT64_MAX / b ? UINT64_MAX : a * b; }

uint64_t cc_trace_bytes_for(uint64_t requests, uint64_t blocks, uint64_t tokens,
                            uint64_t chunks, uint64_t text_bytes, uint64_t embedding_floats)
{
    uint64_t b = sat_mul(requests, CC_TRACE_REQUEST_BYTES);
    b = sat_add(b, sat_mul(blocks, sizeof(uint64_t)));
    b = sat_add(b, sat_mul(tokens, sizeof(uint32_t)));
    b = sat_add(b, sat_mul(chunks, sizeof(cc_chunk)));
    b = sat_add(b, text_bytes);
    return sat_add(b, sat_mul(embedding_floats, sizeof(float)));
}

uint64_t cc_trace_memory_bytes(const cc_trace *t)
{
    return cc_trace_bytes_for(t->n, cc_trace_n_blocks_total(t), cc_trace_n_tokens_total(t),
                              cc_trace_n_chunks_total(t), t->text_len,
                              (uint64_t)t->n * t->embedding_dim);
}

const char *cc_bytes_human(uint64_t b, char *buf, size_t len)
{
    if (b >= UINT64_C(1000000000))
        snprintf(buf, len, "%.2f GB", b / 1e9);
    else if (b >= UINT64_C(1000000))
        snprintf(buf, len, "%.1f MB", b / 1e6);
    else
        snprintf(buf, len, "%.1f KB", b / 1e3);
    return buf;
}

int cc_trace_bound_error(const char *path, long line, const char *field, const char *what,
                         uint64_t need, uint64_t bound, cc_err *e)
{
    char n[32], b[32];
    return cc_err_set(e, CC_ENOMEM, path, line, field,
                      "%s would take %s, past the bound of %s (half the physical memory, or "
                      "CTXCACHE_MAX_MEMORY)", what, cc_bytes_human(need, n, sizeof n),
                      cc_bytes_human(bound, b, sizeof b));
}

int cc_trace_add_text(cc_trace *t, const char *s, size_t len, uint64_t *off)
{
    if (cc_grow((void **)&t->text, &t->cap_text, t->text_len + len + 1, 1))
        return CC_ENOMEM;
    memcpy(t->text + t->text_len, s, len);
    *off = t->text_len;
    t->text_len += len;
    t->text[t->text_len] = '\0'; /* convenience for debuggers; not part of text_len */
    return CC_OK;
}

int cc_trace_tenant(cc_trace *t, const char *name, uint32_t *idx)
{
    for (size_t i = 0; i < t->n_tenants; i++)
        if (strcmp(t->tenants[i], name) == 0) {
            *idx = (uint32_t)i;
            return CC_OK;
        }
    if (cc_grow((void **)&t->tenants, &t->cap_tenants, t->n_tenants + 1, sizeof(char *)))
        return CC_ENOMEM;
    char *copy = strdup(name);
    if (!copy)
        return CC_ENOMEM;
    t->tenants[t->n_tenants] = copy;
    *idx = (uint32_t)t->n_tenants++;
    return CC_OK;
}

static int grow_rows(cc_trace *t, size_t need)
{
    if (need <= t->cap_n)
        return CC_OK;
    size_t cap = t->cap_n ? t->cap_n : 64;
    while (cap < need)
        cap *= 2;
#define GROW(col, extra)                                                         \
    do {                                                                         \
        void *p = realloc(t->col, (cap + (extra)) * sizeof *t->col);             \
        if (!p)                                                                  \
            return CC_ENOMEM;                                                    \
        t->col = p;                                                              \
    } while (0)
    GROW(arrival_ns, 0);
    GROW(session_id, 0);
    GROW(turn, 0);
    GROW(tenant, 0);
    GROW(input_tokens, 0);
    GROW(output_tokens, 0);
    GROW(group_id, 0);
    GROW(role, 0);
    GROW(block_off, 1);
    GROW(token_off, 1);
    GROW(chunk_off, 1);
#undef GROW
    if (t->embedding_dim) {
        void *p = realloc(t->embeddings, cap * t->embedding_dim * sizeof(float));
        if (!p)
            return CC_ENOMEM;
        t->embeddings = p;
    }
    if (t->cap_n == 0) {
        t->block_off[0] = t->token_off[0] = t->chunk_off[0] = 0;
    }
    t->cap_n = cap;
    return CC_OK;
}

int cc_trace_append(cc_trace *t, const cc_request *r)
{
    if (grow_rows(t, t->n + 1))
        return CC_ENOMEM;
    if (t->n_tenants == 0) {
        uint32_t idx;
        if (cc_trace_tenant(t, "default", &idx))
            return CC_ENOMEM;
    }
    size_t nb = t->block_off[t->n], nt = t->token_off[t->n], nc = t->chunk_off[t->n];
    if (r->n_blocks &&
        cc_grow((void **)&t->blocks, &t->cap_blocks, nb + r->n_blocks, sizeof *t->blocks))
        return CC_ENOMEM;
    if (r->n_token_ids &&
        cc_grow((void **)&t->token_ids, &t->cap_tokens, nt + r->n_token_ids, sizeof *t->token_ids))
        return CC_ENOMEM;
    if (r->n_chunks &&
        cc_grow((void **)&t->chunks, &t->cap_chunks, nc + r->n_chunks, sizeof *t->chunks))
        return CC_ENOMEM;

    size_t i = t->n;
    t->arrival_ns[i] = r->arrival_ns;
    t->session_id[i] = r->session_id;
    t->turn[i] = r->turn;
    t->tenant[i] = r->tenant;
    t->input_tokens[i] = r->input_tokens;
    t->output_tokens[i] = r->output_tokens;
    t->group_id[i] = r->group_id;
    t->role[i] = (uint8_t)r->role;
    if (r->n_blocks)
        memcpy(t->blocks + nb, r->blocks, r->n_blocks * sizeof *t->blocks);
    if (r->n_token_ids)
        memcpy(t->token_ids + nt, r->token_ids, r->n_token_ids * sizeof *t->token_ids);
    for (uint32_t c = 0; c < r->n_chunks; c++) {
        cc_chunk ch = r->chunks[c];
        if (ch.chunk_hash == 0 && ch.text_len)
            ch.chunk_hash = cc_hash_bytes(t->text + ch.text_off, ch.text_len, 0);
        t->chunks[nc + c] = ch;
    }
    if (t->embedding_dim) {
        float *dst = t->embeddings + i * t->embedding_dim;
        if (r->embedding)
            memcpy(dst, r->embedding, t->embedding_dim * sizeof(float));
        else
            memset(dst, 0, t->embedding_dim * sizeof(float));
    }
    t->block_off[i + 1] = nb + r->n_blocks;
    t->token_off[i + 1] = nt + r->n_token_ids;
    t->chunk_off[i + 1] = nc + r->n_chunks;
    t->n++;
    return CC_OK;
}

int cc_trace_reblock(cc_trace *t, uint32_t block_size, cc_err *err)
{
    if (block_size == 0 || block_size > (1u << 20))
        return cc_err_set(err, CC_EARG, NULL, 0, "block_size",
                          "expected a block size in 1..1048576 tokens, got %u", block_size);
    if (t->n && cc_trace_n_tokens_total(t) == 0)
        return cc_trace_no_tokens_error(t->source,
                                        cc_trace_n_blocks_total(t) ? t->block_size : 0,
                                        block_size, CC_EUNSUP, err);
    size_t total = 0;
    for (size_t i = 0; i < t->n; i++) {
        size_t ntok = t->token_off[i + 1] - t->token_off[i];
        total += (ntok + block_size - 1) / block_size;
    }
    uint64_t *blocks = malloc((total ? total : 1) * sizeof *blocks);
    if (!blocks)
        return CC_ENOMEM;
    size_t pos = 0;
    for (size_t i = 0; i < t->n; i++) {
        t->block_off[i] = pos;
        size_t ntok = t->token_off[i + 1] - t->token_off[i];
        pos += cc_block_chain(t->tenant[i], t->token_ids + t->token_off[i], ntok, block_size,
                              blocks + pos);
    }
    t->block_off[t->n] = pos;
    free(t->blocks);
    t->blocks = blocks;
    t->cap_blocks = total ? total : 1;
    t->block_size = block_size;
    return CC_OK;
}

int cc_trace_no_tokens_error(const char *src, uint32_t has_blocks_of, uint32_t want, int code,
                             cc_err *err)
{
    if (has_blocks_of)
        return cc_err_set(err, code, src, 0, "block_size",
                          "this trace has block hashes of %u tokens but no token ids, so it "
                          "cannot be re-blocked to %u tokens per block: leave out --block-size "
                          "(its blocks stay %u tokens)", has_blocks_of, want, has_blocks_of);
    return cc_err_set(err, code, src, 0, "block_size",
                      "this trace has lengths only (no token ids, no block hashes), so no "
                      "blocks of %u tokens can be built from it: leave out --block-size; "
                      "'ctxcache replay' replays it with every token new "
                      "(--assume-prefix-share F models a shared prompt)", want);
}

/* Hash of one synthetic block: (kind, tenant, request or 0, position). */
static uint64_t synth_hash(uint64_t kind, uint64_t tenant, uint64_t req, uint64_t pos)
{
    uint64_t w[4] = {kind, tenant, req, pos};
    return cc_hash_bytes(w, sizeof w, UINT64_C(0x6374786361636865)); /* "ctxcache" */
}

int cc_trace_synth_blocks(cc_trace *t, uint32_t block_size, double shared_fraction,
                          cc_err *err)
{
    if (block_size == 0 || block_size > (1u << 20))
        return cc_err_set(err, CC_EARG, NULL, 0, "block_size",
                          "expected a block size in 1..1048576 tokens, got %u", block_size);
    if (!(shared_fraction >= 0 && shared_fraction <= 1))
        return cc_err_set(err, CC_EARG, NULL, 0, "shared_fraction",
                          "expected a fraction in [0, 1], got %g", shared_fraction);
    size_t total = 0;
    for (size_t i = 0; i < t->n; i++)
        total += ((size_t)t->input_tokens[i] + block_size - 1) / block_size;
    uint64_t *blocks = malloc((total ? total : 1) * sizeof *blocks);
    if (!blocks)
        return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL, "out of memory for %zu blocks",
                          total);
    /* Chains: a shared block j names the prefix 0..j of the tenant's shared
     * prompt, so one hash per (tenant, j); a private block names a prefix no
     * other request has, so (request, j) suffices once the shared run ends. */
    size_t pos = 0;
    for (size_t i = 0; i < t->n; i++) {
        t->block_off[i] = pos;
        uint64_t nb = ((uint64_t)t->input_tokens[i] + block_size - 1) / block_size;
        /* + 1e-9: F * L landing a rounding error below a block boundary */
        uint64_t shared =
            (uint64_t)floor(shared_fraction * t->input_tokens[i] / block_size + 1e-9);
        if (shared > nb)
            shared = nb;
        for (uint64_t j = 0; j < nb; j++)
            blocks[pos++] = j < shared ? synth_hash(1, t->tenant[i], 0, j)
                                       : synth_hash(2, t->tenant[i], (uint64_t)i + 1, j);
    }
    t->block_off[t->n] = pos;
    free(t->blocks);
    t->blocks = blocks;
    t->cap_blocks = total ? total : 1;
    t->block_size = block_size;
    return CC_OK;
}

int cc_trace_validate(const cc_trace *t, const char *name, cc_err *err)
{
    const char *src = name ? name : t->source;
    if (t->n == 0)
        return CC_OK;
    if (t->block_off[0] || t->token_off[0] || t->chunk_off[0])
        return cc_err_set(err, CC_EFORMAT, src, 0, "offsets", "offsets must start at 0");
    for (size_t i = 0; i < t->n; i++) {
        long rec = (long)i + 1;
        if (t->arrival_ns[i] < 0)
            return cc_err_set(err, CC_ERANGE, src, 0, "arrival_ns",
                              "request %ld: arrival %lld ns is negative", rec,
                              (long long)t->arrival_ns[i]);
        if (t->arrival_ns[i] > CC_MAX_ARRIVAL_NS)
            return cc_err_set(err, CC_ERANGE, src, 0, "arrival_ns",
                              "request %ld: arrival %lld ns is past the largest accepted, "
                              "2^62 ns (146 years), beyond which times could overflow",
                              rec, (long long)t->arrival_ns[i]);
        if (i && t->arrival_ns[i] < t->arrival_ns[i - 1])
            return cc_err_set(err, CC_ERANGE, src, 0, "arrival_ns",
                              "request %ld: arrival %lld ns is before the previous request's "
                              "%lld ns; expected non-decreasing arrivals",
                              rec, (long long)t->arrival_ns[i], (long long)t->arrival_ns[i - 1]);
        if (t->block_off[i + 1] < t->block_off[i] || t->token_off[i + 1] < t->token_off[i] ||
            t->chunk_off[i + 1] < t->chunk_off[i])
            return cc_err_set(err, CC_EFORMAT, src, 0, "offsets",
                              "request %ld: offsets decrease", rec);
        if (t->tenant[i] >= t->n_tenants)
            return cc_err_set(err, CC_ERANGE, src, 0, "tenant",
                              "request %ld: tenant index %u, but only %zu tenants", rec,
                              t->tenant[i], t->n_tenants);
        if (t->role[i] > CC_ROLE_SEED)
            return cc_err_set(err, CC_ERANGE, src, 0, "role", "request %ld: role %u unknown",
                              rec, t->role[i]);
        uint64_t nb = t->block_off[i + 1] - t->block_off[i];
        if (t->block_size && nb &&
            nb != ((uint64_t)t->input_tokens[i] + t->block_size - 1) / t->block_size)
            return cc_err_set(err, CC_EFORMAT, src, 0, "blocks",
                              "request %ld: %llu blocks for %u input tokens at block size %u; "
                              "expected ceil(input_tokens / block_size)",
                              rec, (unsigned long long)nb, t->input_tokens[i], t->block_size);
        uint64_t ntok = t->token_off[i + 1] - t->token_off[i];
        if (ntok && ntok != t->input_tokens[i])
            return cc_err_set(err, CC_EFORMAT, src, 0, "token_ids",
                              "request %ld: %llu token ids but input_tokens = %u", rec,
                              (unsigned long long)ntok, t->input_tokens[i]);
        for (uint64_t c = t->chunk_off[i]; c < t->chunk_off[i + 1]; c++) {
            const cc_chunk *ch = &t->chunks[c];
            if (ch->text_off + ch->text_len > t->text_len || ch->kind >= CC_CHUNK_KIND_COUNT ||
                (ntok && (uint64_t)ch->token_start + ch->token_len > ntok))
                return cc_err_set(err, CC_EFORMAT, src, 0, "chunks",
                                  "request %ld: chunk %llu lies outside the text arena or the "
                                  "token range, or has an unknown kind %u",
                                  rec, (unsigned long long)(c - t->chunk_off[i]), ch->kind);
        }
    }
    return CC_OK;
}
