/*
 * engine.c -- the engine's front: options, argument checks (tokens, block
 * tables, slots written twice), prefill chunking, the decode wrapper, and KV
 * block files.  The work itself is the backend's (a table of operations,
 * cc_engine_vt: engine_cpu.c or engine.cu), so both backends take the same
 * checked arguments and give the same errors.
 *
 * Costs: a forward's checks are O(tokens + blocks); the slot-ownership check
 * uses one epoch-stamped mark per pool slot (4 bytes per slot), so it needs
 * no clearing and no allocation per forward.
 *
 * KV block file: "CCKVBLK1", then little-endian u32 version, dtype,
 * n_layers, block_size, n_kv_heads, head_dim, n_blocks, u64 block_bytes,
 * then n_blocks host images (gpu.h).  Written to path.tmp and renamed.
 */
#include "engine_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cc_engine_opts_default(cc_engine_opts *o)
{
    memset(o, 0, sizeof *o);
    o->backend = CC_BACKEND_CPU;
    o->dtype = CC_DTYPE_F32;
    o->n_slots = 256;
    o->max_batch_tokens = 512;
    o->max_seqs = 16;
    o->max_context = 8192;
}

static int check_opts(const cc_engine_opts *o, cc_err *err)
{
    if (o->backend != CC_BACKEND_CPU && o->backend != CC_BACKEND_CUDA)
        return cc_err_set(err, CC_EARG, NULL, 0, "backend", "expected cpu or cuda, found %d",
                          o->backend);
    if (o->dtype < CC_DTYPE_F32 || o->dtype > CC_DTYPE_BF16)
        return cc_err_set(err, CC_EARG, NULL, 0, "dtype", "expected F32, F16 or BF16");
    if (o->backend == CC_BACKEND_CPU && o->dtype != CC_DTYPE_F32)
        return cc_err_set(err, CC_EARG, NULL, 0, "dtype",
                          "the CPU reference computes in F32, found %s", cc_dtype_name(o->dtype));
#define POS(f)                                                                          \
    if (o->f <= 0)                                                                      \
        return cc_err_set(err, CC_EARG, NULL, 0, #f, "expected > 0, found %d", o->f);
    POS(n_slots) POS(max_batch_tokens) POS(max_seqs) POS(max_context)
#undef POS
    if (o->attn_q_rows < 0 || o->attn_q_rows > 1024)
        return cc_err_set(err, CC_EARG, NULL, 0, "attn_q_rows", "expected 0..1024, found %d",
                          o->attn_q_rows);
    if (o->attn_k_tile < 0 || o->attn_k_tile > 1024)
        return cc_err_set(err, CC_EARG, NULL, 0, "attn_k_tile", "expected 0..1024, found %d",
                          o->attn_k_tile);
    return CC_OK;
}

int cc_engine_create(const cc_weights *w, const cc_engine_opts *opts, cc_engine **out,
                     cc_err *err)
{
    *out = NULL;
    int rc = cc_model_validate(&w->cfg, err);
    if (rc)
        return rc;
    if (!w->data)
        return cc_err_set(err, CC_EARG, NULL, 0, "weights", "weights are not loaded");
    cc_engine_opts o;
    if (opts)
        o = *opts;
    else
        cc_engine_opts_default(&o);
    if ((rc = check_opts(&o, err)))
        return rc;
    cc_engine *e = calloc(1, sizeof *e);
    if (!e)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "engine", "out of memory");
    e->cfg = w->cfg;
    if (!o.attn_q_rows)
        o.attn_q_rows = o.backend == CC_BACKEND_CPU ? CC_CPU_ATTN_Q_ROWS : CC_CUDA_ATTN_Q_ROWS;
    if (!o.attn_k_tile)
        o.attn_k_tile = o.backend == CC_BACKEND_CPU ? CC_CPU_ATTN_K_TILE : CC_CUDA_ATTN_K_TILE;
    e->opts = o;
    e->layer_elems = (size_t)w->cfg.block_size * w->cfg.n_kv_heads * w->cfg.head_dim;
    e->block_bytes = 2 * (size_t)w->cfg.n_layers * e->layer_elems * cc_dtype_size(o.dtype);
    e->slot_mark = calloc(o.n_slots, sizeof *e->slot_mark);
    if (!e->slot_mark) {
        free(e);
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "n_slots", "out of memory");
    }
    rc = o.backend == CC_BACKEND_CPU ? cc_engine_cpu_init(e, w, err)
                                     : cc_engine_cuda_init(e, w, err);
    if (rc) {
        free(e->slot_mark);
        free(e);
        return rc;
    }
    *out = e;
    return CC_OK;
}

void cc_engine_free(cc_engine *e)
{
    if (!e)
        return;
    e->vt->destroy(e);
    cc_engine_blend_buf_free(e->blend_buf);
    free(e->slot_mark);
    free(e);
}

const cc_model_config *cc_engine_config(const cc_engine *e) { return &e->cfg; }
const cc_engine_opts *cc_engine_options(const cc_engine *e) { return &e->opts; }
size_t cc_engine_block_bytes(const cc_engine *e) { return e->block_bytes; }

/* ---- forward ------------------------------------------------------------------ */
static int check_seqs(cc_engine *e, const cc_seq *seqs, int n_seqs, int logits_mode,
                      const float *logits, cc_err *err)
{
    const cc_model_config *c = &e->cfg;
    int bs = c->block_size;
    if (n_seqs <= 0 || n_seqs > e->opts.max_seqs)
        return cc_err_set(err, CC_EARG, NULL, 0, "n_seqs", "expected 1..%d, found %d",
                          e->opts.max_seqs, n_seqs);
    if (logits_mode < CC_LOGITS_LAST || logits_mode > CC_LOGITS_NONE)
        return cc_err_set(err, CC_EARG, NULL, 0, "logits_mode", "unknown mode %d", logits_mode);
    if (logits_mode != CC_LOGITS_NONE && !logits)
        return cc_err_set(err, CC_EARG, NULL, 0, "logits", "no output buffer");
    long total = 0;
    if (++e->epoch == 0) { /* wrapped: old marks could collide */
        memset(e->slot_mark, 0, e->opts.n_slots * sizeof *e->slot_mark);
        e->epoch = 1;
    }
    for (int i = 0; i < n_seqs; i++) {
        const cc_seq *s = &seqs[i];
        if (s->n_new <= 0 || s->n_cached < 0)
            return cc_err_set(err, CC_EARG, NULL, i + 1, "n_new",
                              "sequence %d: expected n_new >= 1 and n_cached >= 0, found %d, %d",
                              i, s->n_new, s->n_cached);
        long len = (long)s->n_cached + s->n_new;
        if (len > e->opts.max_context)
            return cc_err_set(err, CC_EARG, NULL, i + 1, "max_context",
                              "sequence %d: %ld tokens exceed max_context %d", i, len,
                              e->opts.max_context);
        long need = (len + bs - 1) / bs;
        if (!s->block_table || s->n_blocks < need)
            return cc_err_set(err, CC_EARG, NULL, i + 1, "block_table",
                              "sequence %d: %ld tokens need %ld blocks, table has %d", i, len,
                              need, s->block_table ? s->n_blocks : 0);
        for (long b = 0; b < need; b++) {
            int32_t slot = s->block_table[b];
            if (slot < 0 || slot >= e->opts.n_slots)
                return cc_err_set(err, CC_EARG, NULL, i + 1, "block_table",
                                  "sequence %d block %ld: slot %d outside 0..%d", i, b, slot,
                                  e->opts.n_slots - 1);
            if (b >= s->n_cached / bs) { /* a block this forward writes */
                if (e->slot_mark[slot] == e->epoch)
                    return cc_err_set(err, CC_EARG, NULL, i + 1, "block_table",
                                      "sequence %d block %ld: slot %d is written twice in "
                                      "one forward",
                                      i, b, slot);
                e->slot_mark[slot] = e->epoch;
            }
        }
        for (int t = 0; t < s->n_new; t++)
            if (s->tokens[t] < 0 || s->tokens[t] >= c->vocab)
                return cc_err_set(err, CC_EARG, NULL, i + 1, "tokens",
                                  "sequence %d token %d: id %d outside 0..%d", i, t,
                                  s->tokens[t], c->vocab - 1);
        total += s->n_new;
    }
    if (total > e->opts.max_batch_tokens)
        return cc_err_set(err, CC_EARG, NULL, 0, "max_batch_tokens",
                          "%ld new tokens exceed max_batch_tokens %d", total,
                          e->opts.max_batch_tokens);
    return CC_OK;
}

int cc_engine_forward(cc_engine *e, const cc_seq *seqs, int n_seqs, int logits_mode,
                      float *logits, cc_err *err)
{
    int rc = check_seqs(e, seqs, n_seqs, logits_mode, logits, err);
    if (rc)
        return rc;
    return e->vt->forward(e, seqs, n_seqs, logits_mode, logits, err);
}

int cc_engine_prefill(cc_engine *e, const int32_t *tokens, int n_new, int n_cached,
                      const int32_t *block_table, int n_blocks, int logits_mode,
                      float *logits, cc_err *err)
{
    if (n_new <= 0)
        return cc_err_set(err, CC_EARG, NULL, 0, "n_new", "expected >= 1, found %d", n_new);
    int chunk = e->opts.max_batch_tokens;
    for (int done = 0; done < n_new; done += chunk) {
        cc_seq s = {tokens + done, n_new - done < chunk ? n_new - done : chunk,
                    n_cached + done, block_table, n_blocks};
        int last = done + s.n_new == n_new;
        int mode = logits_mode == CC_LOGITS_ALL ? CC_LOGITS_ALL
                   : last                       ? logits_mode
                                                : CC_LOGITS_NONE;
        float *out = logits_mode == CC_LOGITS_ALL ? logits + (size_t)done * e->cfg.vocab : logits;
        int rc = cc_engine_forward(e, &s, 1, mode, out, err);
        if (rc)
            return rc;
    }
    return CC_OK;
}

int cc_engine_decode(cc_engine *e, int n_seqs, const int32_t *tokens,
                     const int32_t *positions, const int32_t *block_tables,
                     int table_stride, float *logits, cc_err *err)
{
    if (n_seqs <= 0 || n_seqs > e->opts.max_seqs)
        return cc_err_set(err, CC_EARG, NULL, 0, "n_seqs", "expected 1..%d, found %d",
                          e->opts.max_seqs, n_seqs);
    cc_seq seqs[n_seqs]; /* max_seqs bounds it; small */
    for (int i = 0; i < n_seqs; i++) {
        seqs[i].tokens = tokens + i;
        seqs[i].n_new = 1;
        seqs[i].n_cached = positions[i];
        seqs[i].block_table = block_tables + (size_t)i * table_stride;
        seqs[i].n_blocks = table_stride;
    }
    return cc_engine_forward(e, seqs, n_seqs, CC_LOGITS_LAST, logits, err);
}

/* ---- KV blocks ------------------------------------------------------------------ */
static int check_slot(const cc_engine *e, int slot, const char *field, cc_err *err)
{
    if (slot < 0 || slot >= e->opts.n_slots)
        return cc_err_set(err, CC_EARG, NULL, 0, field, "slot %d outside 0..%d", slot,
                          e->opts.n_slots - 1);
    return CC_OK;
}

void *cc_engine_host_alloc(cc_engine *e, size_t bytes) { return e->vt->host_alloc(e, bytes); }
void cc_engine_host_free(cc_engine *e, void *p)
{
    if (p)
        e->vt->host_free(e, p);
}

int cc_engine_kv_to_host(cc_engine *e, int slot, void *host, cc_err *err)
{
    int rc = check_slot(e, slot, "slot", err);
    return rc ? rc : e->vt->kv_to_host(e, slot, host, err);
}

int cc_engine_kv_from_host(cc_engine *e, int slot, const void *host, cc_err *err)
{
    int rc = check_slot(e, slot, "slot", err);
    return rc ? rc : e->vt->kv_from_host(e, slot, host, err);
}

int cc_engine_kv_copy_block(cc_engine *e, int dst_slot, int src_slot, cc_err *err)
{
    int rc = check_slot(e, dst_slot, "dst_slot", err);
    if (!rc)
        rc = check_slot(e, src_slot, "src_slot", err);
    if (rc || dst_slot == src_slot)
        return rc;
    return e->vt->kv_copy_block(e, dst_slot, src_slot, err);
}

int cc_engine_sync(cc_engine *e, cc_err *err) { return e->vt->sync(e, err); }

#define KV_MAGIC "CCKVBLK1"
enum { KV_VERSION = 1, KV_N_FIELDS = 7 };
static const char *const kv_field_names[KV_N_FIELDS] = {
    "version", "dtype", "n_layers", "block_size", "n_kv_heads", "head_dim", "n_blocks"};

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void kv_header_fields(const cc_engine *e, int n, uint32_t f[KV_N_FIELDS])
{
    f[0] = KV_VERSION;
    f[1] = (uint32_t)e->opts.dtype;
    f[2] = (uint32_t)e->cfg.n_layers;
    f[3] = (uint32_t)e->cfg.block_size;
    f[4] = (uint32_t)e->cfg.n_kv_heads;
    f[5] = (uint32_t)e->cfg.head_dim;
    f[6] = (uint32_t)n;
}

enum { KV_HEADER_BYTES = 8 + 4 * KV_N_FIELDS + 8 };

int cc_engine_kv_to_file(cc_engine *e, const int32_t *slots, int n, const char *path,
                         cc_err *err)
{
    if (n < 0)
        return cc_err_set(err, CC_EARG, path, 0, "n", "expected >= 0, found %d", n);
    for (int i = 0; i < n; i++) {
        int rc = check_slot(e, slots[i], "slots", err);
        if (rc)
            return rc;
    }
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return cc_err_set(err, CC_EARG, path, 0, "path", "path too long");
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return cc_err_set(err, CC_EIO, path, 0, "", "cannot create %s", tmp);
    unsigned char hdr[KV_HEADER_BYTES];
    uint32_t fields[KV_N_FIELDS];
    kv_header_fields(e, n, fields);
    memcpy(hdr, KV_MAGIC, 8);
    for (int i = 0; i < KV_N_FIELDS; i++)
        put_u32(hdr + 8 + 4 * i, fields[i]);
    put_u32(hdr + 8 + 4 * KV_N_FIELDS, (uint32_t)e->block_bytes);
    put_u32(hdr + 12 + 4 * KV_N_FIELDS, (uint32_t)((uint64_t)e->block_bytes >> 32));
    int rc = fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr ? CC_OK : CC_EIO;
    void *buf = rc ? NULL : cc_engine_host_alloc(e, e->block_bytes);
    if (!rc && !buf)
        rc = cc_err_set(err, CC_ENOMEM, path, 0, "", "cannot allocate a block buffer");
    for (int i = 0; !rc && i < n; i++) {
        if ((rc = cc_engine_kv_to_host(e, slots[i], buf, err)) ||
            (rc = cc_engine_sync(e, err)))
            break;
        if (fwrite(buf, 1, e->block_bytes, f) != e->block_bytes)
            rc = CC_EIO;
    }
    cc_engine_host_free(e, buf);
    if (fclose(f) != 0 && !rc)
        rc = CC_EIO;
    if (!rc && rename(tmp, path) != 0)
        rc = CC_EIO;
    if (rc) {
        remove(tmp);
        if (rc == CC_EIO)
            cc_err_set(err, CC_EIO, path, 0, "", "write failed");
    }
    return rc;
}

int cc_engine_kv_from_file(cc_engine *e, const char *path, const int32_t *slots, int n,
                           cc_err *err)
{
    for (int i = 0; i < n; i++) {
        int rc = check_slot(e, slots[i], "slots", err);
        if (rc)
            return rc;
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        return cc_err_set(err, CC_EIO, path, 0, "", "cannot open");
    unsigned char hdr[KV_HEADER_BYTES];
    int rc = CC_OK;
    size_t got = fread(hdr, 1, sizeof hdr, f);
    if (got < 8 || memcmp(hdr, KV_MAGIC, 8) != 0)
        rc = cc_err_set(err, CC_EFORMAT, path, 0, "magic", "not a ctxcache KV block file");
    else if (got < sizeof hdr)
        rc = cc_err_set(err, CC_EFORMAT, path, 0, "header",
                        "truncated header: %zu of %d bytes", got, KV_HEADER_BYTES);
    uint32_t want[KV_N_FIELDS];
    kv_header_fields(e, n, want);
    for (int i = 0; !rc && i < KV_N_FIELDS; i++) {
        uint32_t v = get_u32(hdr + 8 + 4 * i);
        if (v != want[i])
            rc = cc_err_set(err, CC_EFORMAT, path, 0, kv_field_names[i],
                            "expected %u (this engine%s), found %u", want[i],
                            i == 6 ? "'s request" : "", v);
    }
    uint64_t bb = rc ? 0
                     : get_u32(hdr + 8 + 4 * KV_N_FIELDS) |
                           (uint64_t)get_u32(hdr + 12 + 4 * KV_N_FIELDS) << 32;
    if (!rc && bb != e->block_bytes)
        rc = cc_err_set(err, CC_EFORMAT, path, 0, "block_bytes", "expected %zu, found %llu",
                        e->block_bytes, (unsigned long long)bb);
    void *buf = rc ? NULL : cc_engine_host_alloc(e, e->block_bytes);
    if (!rc && !buf)
        rc = cc_err_set(err, CC_ENOMEM, path, 0, "", "cannot allocate a block buffer");
    for (int i = 0; !rc && i < n; i++) {
        size_t r = fread(buf, 1, e->block_bytes, f);
        if (r != e->block_bytes) {
            rc = cc_err_set(err, CC_EFORMAT, path, i + 1, "block",
                            "truncated: block %d has %zu of %zu bytes", i, r, e->block_bytes);
            break;
        }
        if ((rc = cc_engine_kv_from_host(e, slots[i], buf, err)) ||
            (rc = cc_engine_sync(e, err)))
            break;
    }
    if (!rc && fgetc(f) != EOF)
        rc = cc_err_set(err, CC_EFORMAT, path, n + 1, "block",
                        "trailing bytes after %d blocks", n);
    cc_engine_host_free(e, buf);
    fclose(f);
    return rc;
}
