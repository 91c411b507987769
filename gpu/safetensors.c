/*
 * safetensors.c -- loads a Hugging Face Llama-layout checkpoint into fp32
 * cc_weights.  A safetensors file is an 8-byte little-endian header length
 * N, N bytes of JSON ({"name": {"dtype", "shape", "data_offsets": [b, e]},
 * "__metadata__": {...}}), then the tensor bytes (offsets relative to the
 * end of the header).  The JSON is parsed with jansson (which also rejects
 * invalid UTF-8); every tensor the config expects is checked for dtype
 * (F32, F16, BF16), shape and offsets, read and converted to fp32.  Errors
 * name the tensor (cc_err.field) and say what was expected.  Sharded
 * checkpoints: a directory with model.safetensors.index.json (its
 * "weight_map" lists the shard files) or with a single model.safetensors.
 * cc_safetensors_load does the same for any list of named tensors (the
 * MiniLM encoder of minilm.c uses it).
 *
 * Costs: one pass over each file's tensor bytes through a 1 MiB buffer;
 * the header is parsed once; tensors are found by name through a hash map.
 * Assumes a little-endian host (as safetensors data is).
 */
#include "gpu.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct expect {
    char name[96];
    float *dst;
    int ndim;
    int64_t shape[2];
    int loaded;
} expect;

typedef struct loader {
    expect *ex;
    int n_ex;
    cc_u64map by_name; /* hash of name -> index in ex */
    unsigned char *buf;
} loader;

enum { CHUNK_BYTES = 1 << 20, MAX_HEADER_BYTES = 100 << 20 };

static void add(loader *L, float *dst, int ndim, int64_t d0, int64_t d1, const char *fmt,
                int layer)
{
    expect *x = &L->ex[L->n_ex++];
    snprintf(x->name, sizeof x->name, fmt, layer);
    x->dst = dst;
    x->ndim = ndim;
    x->shape[0] = d0;
    x->shape[1] = d1;
    x->loaded = 0;
}

static int build_expectations(loader *L, cc_weights *w)
{
    const cc_model_config *c = &w->cfg;
    int64_t h = c->hidden, q = (int64_t)c->n_heads * c->head_dim,
            kv = (int64_t)c->n_kv_heads * c->head_dim, f = c->ffn;
    L->ex = calloc(3 + 12 * (size_t)c->n_layers, sizeof *L->ex);
    if (!L->ex || cc_u64map_init(&L->by_name, 16 + 24 * (size_t)c->n_layers) != CC_OK)
        return CC_ENOMEM;
    add(L, w->embed, 2, c->vocab, h, "model.embed_tokens.weight", 0);
    add(L, w->final_norm, 1, h, 0, "model.norm.weight", 0);
    if (!c->tie_embeddings)
        add(L, w->lm_head, 2, c->vocab, h, "lm_head.weight", 0);
    for (int l = 0; l < c->n_layers; l++) {
        cc_layer_weights *W = &w->layers[l];
        add(L, W->attn_norm, 1, h, 0, "model.layers.%d.input_layernorm.weight", l);
        add(L, W->wq, 2, q, h, "model.layers.%d.self_attn.q_proj.weight", l);
        add(L, W->wk, 2, kv, h, "model.layers.%d.self_attn.k_proj.weight", l);
        add(L, W->wv, 2, kv, h, "model.layers.%d.self_attn.v_proj.weight", l);
        add(L, W->wo, 2, h, q, "model.layers.%d.self_attn.o_proj.weight", l);
        if (c->qkv_bias) {
            add(L, W->bq, 1, q, 0, "model.layers.%d.self_attn.q_proj.bias", l);
            add(L, W->bk, 1, kv, 0, "model.layers.%d.self_attn.k_proj.bias", l);
            add(L, W->bv, 1, kv, 0, "model.layers.%d.self_attn.v_proj.bias", l);
        }
        add(L, W->mlp_norm, 1, h, 0, "model.layers.%d.post_attention_layernorm.weight", l);
        add(L, W->w_gate, 2, f, h, "model.layers.%d.mlp.gate_proj.weight", l);
        add(L, W->w_up, 2, f, h, "model.layers.%d.mlp.up_proj.weight", l);
        add(L, W->w_down, 2, h, f, "model.layers.%d.mlp.down_proj.weight", l);
    }
    for (int i = 0; i < L->n_ex; i++) {
        uint64_t *slot;
        if (cc_u64map_put(&L->by_name, cc_hash_bytes(L->ex[i].name, strlen(L->ex[i].name), 0),
                          (uint64_t)i, &slot) < 0)
            return CC_ENOMEM;
    }
    return CC_OK;
}

static expect *find(loader *L, const char *name)
{
    uint64_t *v = cc_u64map_get(&L->by_name, cc_hash_bytes(name, strlen(name), 0));
    if (!v || strcmp(L->ex[*v].name, name) != 0)
        return NULL;
    return &L->ex[*v];
}

static int parse_dtype(const char *s)
{
    if (!strcmp(s, "F32"))
        return CC_DTYPE_F32;
    if (!strcmp(s, "F16"))
        return CC_DTYPE_F16;
    if (!strcmp(s, "BF16"))
        return CC_DTYPE_BF16;
    return -1;
}

/* Reads bytes [off, off + n_elems * size) of the data section into dst as fp32. */
static int read_tensor(loader *L, FILE *f, long long data_start, long long off,
                       size_t n_elems, int dtype, float *dst)
{
    if (fseeko(f, (off_t)(data_start + off), SEEK_SET) != 0)
        return CC_EIO;
    size_t es = cc_dtype_size(dtype), per = CHUNK_BYTES / es;
    for (size_t done = 0; done < n_elems;) {
        size_t n = n_elems - done < per ? n_elems - done : per;
        if (dtype == CC_DTYPE_F32) {
            if (fread(dst + done, 4, n, f) != n)
                return CC_EIO;
        } else {
            if (fread(L->buf, es, n, f) != n)
                return CC_EIO;
            const uint16_t *u = (const uint16_t *)L->buf;
            if (dtype == CC_DTYPE_F16)
                for (size_t i = 0; i < n; i++)
                    dst[done + i] = cc_f16_to_f32(u[i]);
            else
                for (size_t i = 0; i < n; i++)
                    dst[done + i] = cc_bf16_to_f32(u[i]);
        }
        done += n;
    }
    return CC_OK;
}

static int load_file(loader *L, const char *path, cc_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cc_err_set(err, CC_EIO, path, 0, "", "cannot open: %s", strerror(errno));
    int rc = CC_OK;
    json_t *root = NULL;
    char *hdr = NULL;
    struct stat st;
    unsigned char lenb[8];
    if (fstat(fileno(f), &st) != 0) {
        rc = cc_err_set(err, CC_EIO, path, 0, "", "cannot stat");
        goto out;
    }
    long long size = st.st_size;
    if (size < 8 || fread(lenb, 1, 8, f) != 8) {
        rc = cc_err_set(err, CC_EFORMAT, path, 0, "header_length",
                        "expected an 8-byte header length, file has %lld bytes", size);
        goto out;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | lenb[i];
    if (n < 2 || n > MAX_HEADER_BYTES || (long long)n > size - 8) {
        rc = cc_err_set(err, CC_EFORMAT, path, 0, "header_length",
                        "expected 2..%lld bytes of JSON header, found %llu",
                        size - 8 < MAX_HEADER_BYTES ? size - 8 : (long long)MAX_HEADER_BYTES,
                        (unsigned long long)n);
        goto out;
    }
    hdr = malloc(n);
    if (!hdr || fread(hdr, 1, n, f) != n) {
        rc = cc_err_set(err, hdr ? CC_EIO : CC_ENOMEM, path, 0, "header", "cannot read header");
        goto out;
    }
    json_error_t je;
    root = json_loadb(hdr, n, JSON_REJECT_DUPLICATES, &je);
    if (!root || !json_is_object(root)) {
        rc = cc_err_set(err, CC_EFORMAT, path, root ? 0 : je.line, "header",
                        "expected a JSON object: %s", root ? "found another type" : je.text);
        goto out;
    }
    long long data_start = 8 + (long long)n, data_size = size - data_start;
    const char *name;
    json_t *t;
    json_object_foreach(root, name, t) {
        if (!strcmp(name, "__metadata__"))
            continue;
        expect *x = find(L, name);
        if (!x)
            continue; /* a tensor this model does not use (rotary tables, ...) */
        if (x->loaded) {
            rc = cc_err_set(err, CC_EFORMAT, path, 0, name, "tensor appears in two shards");
            goto out;
        }
        json_t *jd = json_object_get(t, "dtype"), *js = json_object_get(t, "shape"),
               *jo = json_object_get(t, "data_offsets");
        if (!json_is_object(t) || !json_is_string(jd) || !json_is_array(js) ||
            !json_is_array(jo)) {
            rc = cc_err_set(err, CC_EFORMAT, path, 0, name,
                            "expected an object with dtype (string), shape and data_offsets "
                            "(arrays)");
            goto out;
        }
        int dtype = parse_dtype(json_string_value(jd));
        if (dtype < 0) {
            rc = cc_err_set(err, CC_EFORMAT, path, 0, name,
                            "dtype: expected F32, F16 or BF16, found %s", json_string_value(jd));
            goto out;
        }
        int shape_ok = (int)json_array_size(js) == x->ndim;
        for (int d = 0; shape_ok && d < x->ndim; d++) {
            json_t *v = json_array_get(js, d);
            shape_ok = json_is_integer(v) && json_integer_value(v) == x->shape[d];
        }
        if (!shape_ok) {
            char found[128];
            size_t fl = json_dumpb(js, found, sizeof found - 1, JSON_COMPACT);
            if (fl == 0 || fl >= sizeof found - 1)
                snprintf(found, sizeof found, "(not a short array)");
            else
                found[fl] = '\0';
            if (x->ndim == 2)
                rc = cc_err_set(err, CC_EFORMAT, path, 0, name,
                                "shape: expected [%lld, %lld] for this config, found %s",
                                (long long)x->shape[0], (long long)x->shape[1], found);
            else
                rc = cc_err_set(err, CC_EFORMAT, path, 0, name,
                                "shape: expected [%lld] for this config, found %s",
                                (long long)x->shape[0], found);
            goto out;
        }
        size_t n_elems = (size_t)x->shape[0] * (x->ndim == 2 ? (size_t)x->shape[1] : 1);
        json_t *b = json_array_get(jo, 0), *e = json_array_get(jo, 1);
        if (json_array_size(jo) != 2 || !json_is_integer(b) || !json_is_integer(e) ||
            json_integer_value(b) < 0 || json_integer_value(e) < json_integer_value(b) ||
            json_integer_value(e) > data_size ||
            (size_t)(json_integer_value(e) - json_integer_value(b)) !=
                n_elems * cc_dtype_size(dtype)) {
            rc = cc_err_set(err, CC_EFORMAT, path, 0, name,
                            "data_offsets: expected [begin, begin + %zu] within the %lld data "
                            "bytes",
                            n_elems * cc_dtype_size(dtype), data_size);
            goto out;
        }
        if (read_tensor(L, f, data_start, json_integer_value(b), n_elems, dtype, x->dst)) {
            rc = cc_err_set(err, CC_EIO, path, 0, name, "read failed");
            goto out;
        }
        x->loaded = 1;
    }
out:
    json_decref(root);
    free(hdr);
    fclose(f);
    return rc;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int load_index(loader *L, const char *dir, const char *index, cc_err *err)
{
    json_error_t je;
    json_t *root = json_load_file(index, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return cc_err_set(err, CC_EFORMAT, index, je.line, "", "%s", je.text);
    json_t *map = json_object_get(root, "weight_map");
    int rc = CC_OK;
    if (!json_is_object(map)) {
        rc = cc_err_set(err, CC_EFORMAT, index, 0, "weight_map", "expected an object");
        goto out;
    }
    /* Each distinct shard once, in order of first mention. */
    json_t *done = json_object();
    const char *tensor;
    json_t *file;
    json_object_foreach(map, tensor, file) {
        if (!json_is_string(file) || strchr(json_string_value(file), '/')) {
            rc = cc_err_set(err, CC_EFORMAT, index, 0, tensor,
                            "weight_map: expected a file name in the same directory");
            break;
        }
        const char *fn = json_string_value(file);
        if (json_object_get(done, fn))
            continue;
        json_object_set_new(done, fn, json_true());
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, fn);
        if ((rc = load_file(L, path, err)))
            break;
    }
    json_decref(done);
out:
    json_decref(root);
    return rc;
}

/* Loads the expected tensors from path (a file, a directory with an index of
 * shards, or a directory with model.safetensors) and checks none is missing. */
static int load_path(loader *L, const char *path, cc_err *err)
{
    int rc;
    if (is_dir(path)) {
        char p[4096];
        snprintf(p, sizeof p, "%s/model.safetensors.index.json", path);
        FILE *f = fopen(p, "rb");
        if (f) {
            fclose(f);
            rc = load_index(L, path, p, err);
        } else {
            snprintf(p, sizeof p, "%s/model.safetensors", path);
            rc = load_file(L, p, err);
        }
    } else {
        rc = load_file(L, path, err);
    }
    for (int i = 0; !rc && i < L->n_ex; i++)
        if (!L->ex[i].loaded)
            rc = cc_err_set(err, CC_EFORMAT, path, 0, L->ex[i].name,
                            "tensor missing from the checkpoint%s",
                            strstr(L->ex[i].name, "lm_head") ? " (tie_embeddings is off)" : "");
    return rc;
}

int cc_weights_load_safetensors(cc_weights *w, const cc_model_config *cfg, const char *path,
                                cc_err *err)
{
    int rc = cc_weights_alloc(w, cfg, err);
    if (rc)
        return rc;
    loader L = {0};
    L.buf = malloc(CHUNK_BYTES);
    if (!L.buf || build_expectations(&L, w) != CC_OK) {
        rc = cc_err_set(err, CC_ENOMEM, path, 0, "", "out of memory");
        goto out;
    }
    rc = load_path(&L, path, err);
out:
    free(L.buf);
    free(L.ex);
    cc_u64map_free(&L.by_name);
    if (rc)
        cc_weights_free(w);
    return rc;
}

int cc_safetensors_load(const char *path, const cc_tensor_want *want, int n, cc_err *err)
{
    loader L = {0};
    int rc = CC_OK;
    L.buf = malloc(CHUNK_BYTES);
    L.ex = calloc(n > 0 ? (size_t)n : 1, sizeof *L.ex);
    if (!L.buf || !L.ex || cc_u64map_init(&L.by_name, 16 + 2 * (size_t)n) != CC_OK) {
        rc = cc_err_set(err, CC_ENOMEM, path, 0, "", "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        if (strlen(want[i].name) >= sizeof L.ex[0].name || want[i].ndim < 1 ||
            want[i].ndim > 2) {
            rc = cc_err_set(err, CC_EARG, path, 0, want[i].name,
                            "expected a name under 96 bytes and ndim 1 or 2");
            goto out;
        }
        expect *x = &L.ex[L.n_ex++];
        snprintf(x->name, sizeof x->name, "%s", want[i].name);
        x->dst = want[i].dst;
        x->ndim = want[i].ndim;
        x->shape[0] = want[i].shape[0];
        x->shape[1] = want[i].ndim == 2 ? want[i].shape[1] : 0;
        uint64_t *slot;
        if (cc_u64map_put(&L.by_name, cc_hash_bytes(want[i].name, strlen(want[i].name), 0),
                          (uint64_t)i, &slot) < 0) {
            rc = cc_err_set(err, CC_ENOMEM, path, 0, "", "out of memory");
            goto out;
        }
    }
    rc = load_path(&L, path, err);
out:
    free(L.buf);
    free(L.ex);
    cc_u64map_free(&L.by_name);
    return rc;
}
