/*
 * pricing.c -- the parametric pricing model (pricing.h): field checks, the
 * user-defined model file, the --pricing list, the bill of a replay, and
 * the replay each model implies.
 *
 * How a bill is made: one pass over the replay's records classifies each
 * request's input tokens once -- read (served by the cache), else written
 * (into the object it created), else uncached -- after the model's
 * minimum and granularity; one pass over the objects adds creation fees
 * and storage (holding time rounded up to the storage unit).  Every price
 * is a field; no preset has its own code path.
 *
 * Costs: bill O(requests + objects), no allocation.  The replay per model:
 * one cc_replay (see pricing.h); the implicit storage pass: O(blocks) u64
 * map probes, arrays of 20 bytes per distinct block grown by cc_grow.
 */
#include "pricing.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---- checks --------------------------------------------------------------------- */
static int bad(cc_err *err, const char *field, const char *name, const char *what, double v)
{
    return cc_err_set(err, CC_EARG, NULL, 0, field, "pricing '%s': %s must be %s, got %g", name,
                      field, what, v);
}

static int name_ok(const char *s)
{
    if (!*s || strlen(s) > 31)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return 0;
    return 1;
}

#define PRICE_MAX 1e6
#define MULT_MAX 100.0

int cc_pricing_check(const cc_pricing *p, cc_err *err)
{
    const char *n = p->name;
    if (!name_ok(n))
        return cc_err_set(err, CC_EARG, NULL, 0, "name",
                          "pricing name '%s': expected 1-31 of [A-Za-z0-9._-]", n);
    struct {
        const char *f;
        double v, hi;
    } r[] = {
        {"input_usd_per_mtok", p->input_usd_per_mtok, PRICE_MAX},
        {"output_usd_per_mtok", p->output_usd_per_mtok, PRICE_MAX},
        {"write_mult", p->write_mult, MULT_MAX},
        {"read_mult", p->read_mult, MULT_MAX},
        {"creation_usd_per_mtok", p->creation_usd_per_mtok, PRICE_MAX},
        {"creation_fee_usd", p->creation_fee_usd, PRICE_MAX},
        {"hit_fee_usd", p->hit_fee_usd, PRICE_MAX},
        {"storage_usd_per_mtok_hour", p->storage_usd_per_mtok_hour, PRICE_MAX},
        {"storage_unit_s", p->storage_unit_s, 1e9},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        if (!(r[i].v >= 0 && r[i].v <= r[i].hi)) {
            char what[64];
            snprintf(what, sizeof what, "in [0, %g]", r[i].hi);
            return bad(err, r[i].f, n, what, r[i].v);
        }
    if (!(p->ttl_s > 0 && p->ttl_s <= 1e9))
        return bad(err, "ttl_s", n, "in (0, 1e9]", p->ttl_s);
    if (p->refresh != 0 && p->refresh != 1)
        return bad(err, "refresh", n, "0 or 1", p->refresh);
    if (p->explicit_cache != 0 && p->explicit_cache != 1)
        return bad(err, "explicit", n, "0 or 1", p->explicit_cache);
    if (p->granularity_tokens < 1 || p->granularity_tokens > (1u << 20))
        return bad(err, "granularity_tokens", n, "in [1, 1048576]", p->granularity_tokens);
    return CC_OK;
}

/* ---- the user-defined model file ------------------------------------------------- */
enum { K_DBL, K_UINT, K_BOOL, K_NAME, K_TEXT, K_BASE };
typedef struct key_def {
    const char *key;
    int kind;
    size_t off;
    double lo, hi;
} key_def;

#define OFF(f) offsetof(cc_pricing, f)
static const key_def keys[] = {
    {"base", K_BASE, 0, 0, 0},
    {"name", K_NAME, OFF(name), 0, 0},
    {"explicit", K_BOOL, OFF(explicit_cache), 0, 1},
    {"input_usd_per_mtok", K_DBL, OFF(input_usd_per_mtok), 0, PRICE_MAX},
    {"output_usd_per_mtok", K_DBL, OFF(output_usd_per_mtok), 0, PRICE_MAX},
    {"write_mult", K_DBL, OFF(write_mult), 0, MULT_MAX},
    {"read_mult", K_DBL, OFF(read_mult), 0, MULT_MAX},
    {"creation_usd_per_mtok", K_DBL, OFF(creation_usd_per_mtok), 0, PRICE_MAX},
    {"creation_fee_usd", K_DBL, OFF(creation_fee_usd), 0, PRICE_MAX},
    {"hit_fee_usd", K_DBL, OFF(hit_fee_usd), 0, PRICE_MAX},
    {"storage_usd_per_mtok_hour", K_DBL, OFF(storage_usd_per_mtok_hour), 0, PRICE_MAX},
    {"storage_unit_s", K_DBL, OFF(storage_unit_s), 0, 1e9},
    {"ttl_s", K_DBL, OFF(ttl_s), 1e-9, 1e9},
    {"refresh", K_BOOL, OFF(refresh), 0, 1},
    {"min_tokens", K_UINT, OFF(min_tokens), 0, UINT32_MAX},
    {"granularity_tokens", K_UINT, OFF(granularity_tokens), 1, 1 << 20},
    {"source", K_TEXT, OFF(source), 0, 0},
};
#define N_KEYS (sizeof keys / sizeof keys[0])
#define MAX_LINE 1024

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

static void known_presets(char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < cc_pricing_preset_count(); i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? ", " : "",
                 cc_pricing_preset_at(i)->name);
}

static int set_value(const char *file, long line, const key_def *k, const char *v, cc_pricing *p,
                     cc_err *err)
{
    char *base = (char *)p;
    if (k->kind == K_NAME) {
        if (!name_ok(v))
            return cc_err_set(err, CC_EFORMAT, file, line, k->key,
                              "expected 1-31 of [A-Za-z0-9._-], got '%.40s'", v);
        snprintf(p->name, sizeof p->name, "%s", v);
        return CC_OK;
    }
    if (k->kind == K_TEXT) {
        snprintf(p->source, sizeof p->source, "%s", v);
        return CC_OK;
    }
    if (k->kind == K_BASE) {
        const cc_pricing *b = cc_pricing_preset_find(v);
        if (!b) {
            char known[256];
            known_presets(known, sizeof known);
            return cc_err_set(err, CC_EFORMAT, file, line, k->key,
                              "unknown preset '%.40s' (known: %s)", v, known);
        }
        char name[32];
        memcpy(name, p->name, sizeof name);
        *p = *b;
        memcpy(p->name, name, sizeof name);
        snprintf(p->source, sizeof p->source, "%s (based on %s)", file, b->name);
        return CC_OK;
    }
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    /* decimal only: strtod also takes hex ("0x10", "0x1p3"), "inf" and "nan" */
    if (!*v || end == v || *end || errno == ERANGE || isnan(x) ||
        v[strspn(v, "0123456789+-.eE")] != '\0')
        return cc_err_set(err, CC_EFORMAT, file, line, k->key,
                          "expected a decimal number, got '%.40s'", v);
    if (!(x >= k->lo && x <= k->hi))
        return cc_err_set(err, CC_ERANGE, file, line, k->key, "expected a value in [%g, %g], got %g",
                          k->lo, k->hi, x);
    if ((k->kind == K_UINT || k->kind == K_BOOL) && x != floor(x))
        return cc_err_set(err, CC_EFORMAT, file, line, k->key, "expected an integer, got '%.40s'",
                          v);
    if (k->kind == K_DBL)
        memcpy(base + k->off, &x, sizeof x);
    else if (k->kind == K_UINT) {
        uint32_t u = (uint32_t)x;
        memcpy(base + k->off, &u, sizeof u);
    } else {
        int b = (int)x;
        memcpy(base + k->off, &b, sizeof b);
    }
    return CC_OK;
}

/* The key a line names (the text before '=', trimmed) when it is a plain
 * word, for errors found before the line is parsed; else "text". */
static const char *line_key(const char *line, size_t n, char *buf, size_t len)
{
    size_t i = 0, k = 0;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    while (i < n && k + 1 < len && (isalnum((unsigned char)line[i]) || line[i] == '_'))
        buf[k++] = line[i++];
    buf[k] = '\0';
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    return k && i < n && line[i] == '=' ? buf : "text";
}

int cc_pricing_parse(const char *file, const char *text, size_t len, cc_pricing *out, cc_err *err)
{
    cc_pricing p;
    memset(&p, 0, sizeof p);
    p.ttl_s = 300;
    p.granularity_tokens = 1;
    snprintf(p.source, sizeof p.source, "%s", file);
    long seen[N_KEYS] = {0}; /* line of each key, 0 = not seen */
    long line = 0;
    size_t pos = 0;
    int any_key = 0;
    if (len == 0)
        return cc_err_set(err, CC_EFORMAT, file, 1, "name",
                          "empty pricing file: expected 'name = ...' and 'explicit = 0|1'");
    while (pos < len) {
        line++;
        size_t e = pos;
        while (e < len && text[e] != '\n')
            e++;
        size_t n = e - pos;
        char kb[64];
        if (memchr(text + pos, '\0', n))
            return cc_err_set(err, CC_EFORMAT, file, line, line_key(text + pos, n, kb, sizeof kb),
                              "a NUL byte: this looks like a binary file, not a pricing file");
        for (size_t i = 0; i < n;) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)text + pos + i,
                                                  (utf8proc_ssize_t)(n - i), &cp);
            if (k <= 0)
                return cc_err_set(err, CC_EFORMAT, file, line, line_key(text + pos, n, kb, sizeof kb),
                                  "invalid UTF-8 at byte %zu of the line", i + 1);
            i += (size_t)k;
        }
        if (n >= MAX_LINE)
            return cc_err_set(err, CC_EFORMAT, file, line, line_key(text + pos, n, kb, sizeof kb),
                              "line longer than %d bytes", MAX_LINE - 1);
        char buf[MAX_LINE];
        memcpy(buf, text + pos, n);
        buf[n] = '\0';
        pos = e < len ? e + 1 : e;
        char *s = trim(buf);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            char *sp = s + strcspn(s, " \t");
            *sp = '\0';
            return cc_err_set(err, CC_EFORMAT, file, line, s,
                              "expected 'key = value', found no '=' (a cut-off line?)");
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        if (!*key)
            return cc_err_set(err, CC_EFORMAT, file, line, "key",
                              "expected 'key = value', found nothing before '='");
        char *hash = strstr(val, " #"); /* trailing comment, except in source */
        size_t ki = 0;
        while (ki < N_KEYS && strcmp(keys[ki].key, key))
            ki++;
        if (ki == N_KEYS)
            return cc_err_set(err, CC_EFORMAT, file, line, key,
                              "unknown key (see docs/pricing.md for the keys)");
        if (hash && keys[ki].kind != K_TEXT) {
            *hash = '\0';
            val = trim(val);
        }
        if (seen[ki])
            return cc_err_set(err, CC_EFORMAT, file, line, key, "repeated key (first on line %ld)",
                              seen[ki]);
        if (keys[ki].kind == K_BASE && any_key)
            return cc_err_set(err, CC_EFORMAT, file, line, key,
                              "'base' must come before the other keys (it sets them all)");
        if (!*val)
            return cc_err_set(err, CC_EFORMAT, file, line, key, "missing value");
        seen[ki] = line;
        any_key = 1;
        int rc = set_value(file, line, &keys[ki], val, &p, err);
        if (rc)
            return rc;
    }
    static const char *const required[] = {"name", "explicit"};
    for (size_t r = 0; r < 2; r++) {
        size_t ki = 0;
        while (strcmp(keys[ki].key, required[r]))
            ki++;
        if (!seen[ki] && !(ki == 2 && seen[0])) /* base sets explicit */
            return cc_err_set(err, CC_EFORMAT, file, line, required[r],
                              "missing key '%s' (required)", required[r]);
    }
    cc_err e2 = {0};
    if (cc_pricing_check(&p, &e2) != CC_OK)
        return cc_err_set(err, CC_ERANGE, file, line, e2.field, "%s", e2.msg);
    *out = p;
    return CC_OK;
}

int cc_pricing_load(const char *path, cc_pricing *out, cc_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cc_err_set(err, CC_EIO, path, 0, NULL, "cannot open pricing file: %s",
                          strerror(errno));
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (cc_grow((void **)&buf, &cap, n + 4096, 1) != CC_OK) {
            free(buf);
            fclose(f);
            return cc_err_set(err, CC_ENOMEM, path, 0, NULL, "out of memory");
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
        if (n > (1u << 20)) {
            free(buf);
            fclose(f);
            return cc_err_set(err, CC_EFORMAT, path, 0, "text",
                              "pricing file larger than 1 MiB: not a pricing file");
        }
    }
    int rd_err = ferror(f);
    fclose(f);
    if (rd_err) {
        free(buf);
        return cc_err_set(err, CC_EIO, path, 0, NULL, "read error");
    }
    int rc = cc_pricing_parse(path, buf ? buf : "", n, out, err);
    free(buf);
    return rc;
}

static int looks_like_path(const char *s)
{
    size_t n = strlen(s);
    return strchr(s, '/') || (n > 8 && !strcmp(s + n - 8, ".pricing")) ||
           (n > 4 && !strcmp(s + n - 4, ".txt"));
}

int cc_pricing_parse_list(const char *list, cc_pricing *out, size_t max, size_t *n, cc_err *err)
{
    *n = 0;
    char buf[4096];
    if (!list || !*list)
        return cc_err_set(err, CC_EARG, NULL, 0, "pricing", "empty --pricing list");
    if (strlen(list) >= sizeof buf)
        return cc_err_set(err, CC_EARG, NULL, 0, "pricing", "--pricing list too long");
    strcpy(buf, list);
    char *save = NULL;
    for (char *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
        char *name = trim(it);
        if (*n >= max)
            return cc_err_set(err, CC_EARG, NULL, 0, "pricing", "at most %zu pricing models",
                              max);
        const cc_pricing *p = cc_pricing_preset_find(name);
        if (p)
            out[*n] = *p;
        else if (looks_like_path(name)) {
            int rc = cc_pricing_load(name, &out[*n], err);
            if (rc)
                return rc;
        } else {
            char known[256];
            known_presets(known, sizeof known);
            return cc_err_set(err, CC_EARG, NULL, 0, "pricing",
                              "unknown pricing model '%s' (presets: %s; or a file path)", name,
                              known);
        }
        for (size_t j = 0; j < *n; j++)
            if (!strcmp(out[j].name, out[*n].name))
                return cc_err_set(err, CC_EARG, NULL, 0, "pricing",
                                  "pricing model '%s' listed twice", out[j].name);
        (*n)++;
    }
    if (*n == 0)
        return cc_err_set(err, CC_EARG, NULL, 0, "pricing", "empty --pricing list");
    return CC_OK;
}

/* ---- bills ---------------------------------------------------------------------- */
cc_pricing cc_pricing_apply(const cc_pricing *p, const cc_pricing_run *run)
{
    cc_pricing m = *p;
    if (run && run->input_usd_per_mtok > 0)
        m.input_usd_per_mtok = run->input_usd_per_mtok;
    if (run && run->output_usd_per_mtok > 0)
        m.output_usd_per_mtok = run->output_usd_per_mtok;
    if (run && run->ttl_s > 0)
        m.ttl_s = run->ttl_s;
    return m;
}

static uint64_t floor_g(uint64_t x, uint32_t g) { return g > 1 ? x / g * g : x; }

/* One request's read and written tokens (the rest is uncached) under p. */
static void request_classes(const cc_pricing *p, const cc_replay_record *rec, uint32_t g,
                            uint64_t *rd_out, uint64_t *wr_out)
{
    uint64_t rd, wr = 0;
    if (p->explicit_cache) {
        rd = floor_g(rec->explicit_tokens, g);
        uint64_t c = floor_g(rec->created_tokens, g);
        wr = c > rd ? c - rd : 0; /* tokens it read are not written again */
    } else {
        rd = floor_g(rec->hit_tokens, g);
        if (rd < p->min_tokens)
            rd = 0;
    }
    if (rd + wr > rec->input_tokens) /* cannot happen with a consistent replay */
        wr = rec->input_tokens > rd ? rec->input_tokens - rd : 0;
    *rd_out = rd;
    *wr_out = wr;
}

static void bill_money(const cc_pricing *p, cc_bill *b);

void cc_pricing_bill(const cc_pricing *p, const cc_replay_result *r, double implicit_token_seconds,
                     cc_bill *b)
{
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", p->name);
    const uint32_t g = p->granularity_tokens ? p->granularity_tokens : 1;
    const size_t n = r->records ? r->requests : 0;
    for (size_t i = 0; i < n; i++) {
        const cc_replay_record *rec = &r->records[i];
        uint64_t rd, wr;
        request_classes(p, rec, g, &rd, &wr);
        b->requests++;
        b->input_tokens += rec->input_tokens;
        b->output_tokens += rec->output_tokens;
        b->read_tokens += rd;
        b->written_tokens += wr;
        b->uncached_tokens += rec->input_tokens - rd - wr;
        b->hits += rd > 0;
    }
    double token_s = 0;
    if (p->explicit_cache) {
        for (size_t k = 0; k < r->n_ctx_objects; k++) {
            const cc_ctx_object *o = &r->ctx_objects[k];
            double d = (double)(o->ended_ns - o->created_ns) / 1e9;
            if (p->storage_unit_s > 0)
                d = ceil(d / p->storage_unit_s - 1e-12) * p->storage_unit_s;
            token_s += (double)floor_g(o->size_tokens, g) * d;
            b->objects++;
            b->object_tokens += floor_g(o->size_tokens, g);
        }
    } else {
        token_s = implicit_token_seconds;
    }
    b->token_hours_stored = token_s / 3600;
    bill_money(p, b);
}

/* The dollar fields of a bill from its token counts, objects and hits. */
static void bill_money(const cc_pricing *p, cc_bill *b)
{
    const double P = p->input_usd_per_mtok / 1e6;
    b->input_uncached_usd = (double)b->uncached_tokens * P;
    b->cache_write_usd =
        (double)b->written_tokens * (P * p->write_mult + p->creation_usd_per_mtok / 1e6);
    b->cache_read_usd = (double)b->read_tokens * P * p->read_mult;
    b->storage_usd = b->token_hours_stored * p->storage_usd_per_mtok_hour / 1e6;
    b->creation_fee_usd = (double)b->objects * p->creation_fee_usd;
    b->hit_fee_usd = (double)b->hits * p->hit_fee_usd;
    b->output_usd = (double)b->output_tokens * p->output_usd_per_mtok / 1e6;
    b->total_usd = b->input_uncached_usd + b->cache_write_usd + b->cache_read_usd + b->storage_usd +
                   b->creation_fee_usd + b->hit_fee_usd + b->output_usd;
}

/* ---- bills with blend ----------------------------------------------------------- */

/* The window hashes of `replay --blend --blend-chunk-tokens` (sim/driver.c
 * uses the same seed), so that both see the same windows as equal. */
#define BLEND_WINDOW_SEED UINT64_C(0x626c656e64)

typedef struct blend_unit_key {
    uint64_t content; /* chunk hash, or the window's token-id hash */
    uint32_t tokens, tenant;
} blend_unit_key;

/* Visits request i's blend units: whole chunks or C-token windows from
 * each chunk's start that end within the input.  lookup: sums into *served
 * the tokens of units starting at or after `from` that are held and live
 * at `now`; else records every unit as held at `now`.  0 or CC_ENOMEM. */
static int blend_pass(const cc_pricing *p, const cc_trace *t, size_t i, uint32_t C,
                      uint64_t from, int64_t now, int lookup, cc_u64map *held, uint64_t *served)
{
    const int64_t ttl_ns = (int64_t)llround(p->ttl_s * 1e9);
    const uint32_t in = t->input_tokens[i];
    for (uint64_t ci = t->chunk_off[i]; ci < t->chunk_off[i + 1]; ci++) {
        const cc_chunk *c = &t->chunks[ci];
        const uint32_t w = C ? C : c->token_len;
        for (uint32_t off = 0; c->token_len && off < c->token_len; off += w) {
            const uint32_t len = c->token_len - off < w ? c->token_len - off : w;
            const uint32_t start = c->token_start + off;
            if ((uint64_t)start + len > in)
                return CC_OK;
            blend_unit_key k = {c->chunk_hash, len, t->tenant[i]};
            if (C)
                k.content = cc_hash_bytes(t->token_ids + t->token_off[i] + start,
                                          (size_t)len * sizeof *t->token_ids, BLEND_WINDOW_SEED);
            const uint64_t key = cc_hash_bytes(&k, sizeof k, 0);
            uint64_t *at = cc_u64map_get(held, key);
            const int live = at && now - (int64_t)*at <= ttl_ns;
            if (lookup) {
                if (live && start >= from)
                    *served += len;
            } else if (!at) {
                if (cc_u64map_put(held, key, (uint64_t)now, &at) < 0)
                    return CC_ENOMEM;
            } else if (!live || p->refresh) {
                *at = (uint64_t)now; /* held again from now (expired, or refreshed) */
            }
        }
    }
    return CC_OK;
}

int cc_pricing_bill_blend(const cc_pricing *p, const cc_trace *t, const cc_replay_result *r,
                          const cc_bill *prefix, double recompute_ratio, uint32_t chunk_tokens,
                          cc_bill *out, cc_err *err)
{
    *out = *prefix;
    out->blend_read_tokens = out->blend_recompute_tokens = 0;
    if (!(recompute_ratio >= 0 && recompute_ratio <= 1))
        return cc_err_set(err, CC_EARG, NULL, 0, "recompute_ratio",
                          "expected a share 0..1 of the blended tokens, got %g", recompute_ratio);
    if (!t->chunk_off || !r->records || r->requests != t->n)
        return CC_OK; /* no chunks: nothing to blend */
    if (chunk_tokens && !t->token_ids)
        return cc_err_set(err, CC_EUNSUP, t->source, 0, "blend_chunk_tokens",
                          "windows of %u tokens need the trace's token ids", chunk_tokens);
    const uint32_t g = p->granularity_tokens ? p->granularity_tokens : 1;
    cc_u64map held;
    if (cc_u64map_init(&held, 1024) != CC_OK)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory");
    int rc = CC_OK;
    for (size_t i = 0; i < t->n && rc == CC_OK; i++) {
        const cc_replay_record *rec = &r->records[i];
        uint64_t rd, wr, served = 0;
        request_classes(p, rec, g, &rd, &wr);
        const int64_t now = t->arrival_ns[i];
        /* after the tokens served or written: an implicit hit below the
         * minimum is not billed as a read, and not blended either */
        const uint64_t from = rd + wr > rec->hit_tokens ? rd + wr : rec->hit_tokens;
        rc = blend_pass(p, t, i, chunk_tokens, from, now, 1, &held, &served);
        if (rc == CC_OK)
            rc = blend_pass(p, t, i, chunk_tokens, 0, now, 0, &held, NULL);
        const uint64_t unc = rec->input_tokens - rd - wr;
        if (served > unc) /* cannot happen: units end within the input */
            served = unc;
        const uint64_t rec_tok = (uint64_t)floor(recompute_ratio * (double)served + 0.5);
        uint64_t brd = floor_g(served - rec_tok, g);
        if (!p->explicit_cache && brd < p->min_tokens)
            brd = 0; /* the automatic cache's minimum, as for a prefix hit */
        out->blend_read_tokens += brd;
        out->blend_recompute_tokens += rec_tok;
        out->read_tokens += brd;
        out->uncached_tokens -= brd;
        out->hits += rd == 0 && brd > 0;
    }
    cc_u64map_free(&held);
    if (rc != CC_OK)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory for the blend bill");
    bill_money(p, out);
    return CC_OK;
}

/* ---- the replay a model implies --------------------------------------------------- */
int cc_pricing_implicit_token_seconds(const cc_trace *t, double ttl_s, int refresh, double *out,
                                      cc_err *err)
{
    *out = 0;
    if (!t->block_size || !t->n)
        return CC_OK;
    const int64_t ttl_ns = (int64_t)llround(ttl_s * 1e9);
    cc_u64map idx;
    if (cc_u64map_init(&idx, 1024) != CC_OK)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory");
    int64_t *start = NULL, *expiry = NULL;
    uint32_t *tok = NULL;
    size_t cap_s = 0, cap_e = 0, cap_t = 0, used = 0;
    double ts = 0;
    int rc = CC_OK;
    for (size_t i = 0; i < t->n && rc == CC_OK; i++) {
        const int64_t now = t->arrival_ns[i];
        const uint64_t off = t->block_off[i], nb = t->block_off[i + 1] - off;
        for (uint64_t j = 0; j < nb; j++) {
            uint64_t *slot;
            int ins = cc_u64map_put(&idx, t->blocks[off + j], used, &slot);
            if (ins < 0 || (ins == 1 && (cc_grow((void **)&start, &cap_s, used + 1, 8) ||
                                         cc_grow((void **)&expiry, &cap_e, used + 1, 8) ||
                                         cc_grow((void **)&tok, &cap_t, used + 1, 4)))) {
                rc = cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory");
                break;
            }
            size_t k;
            if (ins == 1) {
                k = used++;
                tok[k] = cc_pc_block_tokens(t->input_tokens[i], t->block_size, (uint32_t)j);
                start[k] = now;
                expiry[k] = now + ttl_ns;
                continue;
            }
            k = (size_t)*slot;
            if (expiry[k] <= now) { /* the episode ended at its expiry: bill it, start anew */
                ts += (double)tok[k] * (double)(expiry[k] - start[k]) / 1e9;
                start[k] = now;
                expiry[k] = now + ttl_ns;
            } else if (refresh) {
                expiry[k] = now + ttl_ns;
            }
        }
    }
    for (size_t k = 0; k < used && rc == CC_OK; k++)
        ts += (double)tok[k] * (double)(expiry[k] - start[k]) / 1e9;
    free(start);
    free(expiry);
    free(tok);
    cc_u64map_free(&idx);
    if (rc == CC_OK)
        *out = ts;
    return rc;
}

int cc_pricing_replay(const cc_trace *t, const cc_pricing *p0, const cc_pricing_run *run,
                      cc_bill *out, cc_replay_result *res_out, cc_err *err)
{
    cc_pricing p = cc_pricing_apply(p0, run);
    int rc = cc_pricing_check(&p, err);
    if (rc)
        return rc;
    if (!t->block_size)
        return cc_err_set(err, CC_EUNSUP, t->source, 0, "block_size",
                          "pricing needs a trace with block hashes (give --block-size)");
    cc_pc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.mode = CC_PC_PREFIX;
    cfg.block_tokens = t->block_size;
    cfg.kv_bytes_per_block = (uint64_t)t->block_size * (uint64_t)CC_ECON_DEFAULT_KV_BYTES_PER_TOKEN;
    cfg.n_tiers = 1;
    snprintf(cfg.tiers[0].name, sizeof cfg.tiers[0].name, "provider");
    char spec[128];
    /* explicit: a zero TTL below the objects, so only object-pinned blocks serve */
    snprintf(spec, sizeof spec, "ttl(ttl_s=%.17g,refresh=%d)", p.explicit_cache ? 0.0 : p.ttl_s,
             p.explicit_cache ? 0 : p.refresh);
    if ((rc = cc_policy_parse(spec, &cfg.tiers[0].policy, &cfg.tiers[0].policy_params, err)))
        return rc;
    cc_ctx_config ctx;
    memset(&ctx, 0, sizeof ctx);
    snprintf(ctx.style.name, sizeof ctx.style.name, "%s", p.name);
    ctx.style.ttl_s = p.ttl_s;
    ctx.style.refresh = p.refresh;
    ctx.style.min_tokens = p.min_tokens;
    ctx.cacheable = run ? run->cacheable : CC_CACHEABLE_AUTO;
    ctx.cacheable_blocks = run ? run->cacheable_blocks : 0;
    cc_replay_opts ro = {.concurrency = CC_CONCURRENCY_NONE, .keep_records = true,
                         .context_cache = p.explicit_cache ? &ctx : NULL};
    cc_replay_result r;
    if ((rc = cc_replay(t, &cfg, &ro, &r, err)))
        return rc;
    double implicit_ts = 0;
    /* held token-time even when unpriced: the operator pays for it */
    if (!p.explicit_cache &&
        (rc = cc_pricing_implicit_token_seconds(t, p.ttl_s, p.refresh, &implicit_ts, err))) {
        cc_replay_result_free(&r);
        return rc;
    }
    cc_pricing_bill(&p, &r, implicit_ts, out);
    if (res_out)
        *res_out = r;
    else
        cc_replay_result_free(&r);
    return CC_OK;
}
