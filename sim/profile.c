/*
 * profile.c -- hardware and model profiles: the plain-text files under
 * sim/profiles/ that give the cost model its numbers, their reader (with
 * errors that name the file, the line and the key), their writer (for the
 * calibration) and the NAME|PATH lookup.
 *
 * The format
 * ----------
 *   # a comment: where each number comes from
 *   kind = hardware            # or model; the first key of every file
 *   name = h100-sxm
 *   hbm_bytes_per_s = 3.35e12  # a trailing comment
 *
 * One `key = value` per line; blank lines and '#' comments anywhere.  Keys
 * are [a-z0-9_]+, each at most once; the key set depends on `kind` (tables
 * hw_keys[] and model_keys[] below, documented for users in
 * sim/profiles/README.md).  Values: names [A-Za-z0-9._-]; numbers in C
 * decimal syntax (1e12, 0.5; finite); integers as digits; booleans 0/1 or
 * true/false; dtypes fp32 tf32 fp16 bf16 fp8 (or float32 float16 bfloat16).
 * Units are in the key names (_bytes, _bytes_per_s, _flop_per_s, _s).  The
 * file must be UTF-8 text (comments may hold any UTF-8); a NUL byte means a
 * binary file.  A missing last newline is fine; \r\n line ends are fine.
 *
 * Errors: CC_EIO for a file that cannot be read; CC_EFORMAT for syntax
 * (no '=', unknown or repeated key, not a number, invalid UTF-8, binary,
 * empty file, missing required key: reported at the file's last line);
 * CC_ERANGE for a well-formed value out of its range (negative bandwidth,
 * 0 layers, n_heads not a multiple of n_kv_heads: reported at the line of
 * the key named in `field`).
 *
 * Costs: one read of the file (at most 1 MiB) and one pass over it; a
 * lookup tries at most 2 paths per search directory.
 */
#include "sim.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FILE_BYTES (1 << 20)
#define MAX_LINE_BYTES 1024

/* ---- dtypes -------------------------------------------------------------- */
static const char *const dtype_names[CC_SIM_DTYPE_COUNT] = {"fp32", "tf32", "fp16", "bf16",
                                                            "fp8"};
static const int dtype_size[CC_SIM_DTYPE_COUNT] = {4, 4, 2, 2, 1};

const char *cc_sim_dtype_name(int d)
{
    return d >= 0 && d < CC_SIM_DTYPE_COUNT ? dtype_names[d] : "?";
}

int cc_sim_dtype_bytes(int d) { return d >= 0 && d < CC_SIM_DTYPE_COUNT ? dtype_size[d] : 0; }

int cc_sim_dtype_parse(const char *s)
{
    for (int d = 0; d < CC_SIM_DTYPE_COUNT; d++)
        if (strcmp(s, dtype_names[d]) == 0)
            return d;
    /* Hugging Face torch_dtype spellings */
    if (strcmp(s, "float32") == 0)
        return CC_SIM_FP32;
    if (strcmp(s, "float16") == 0)
        return CC_SIM_FP16;
    if (strcmp(s, "bfloat16") == 0)
        return CC_SIM_BF16;
    return -1;
}

const char *const cc_sim_coeff_names[CC_SIM_N_COEFFS] = {
    "eff_linear", "eff_attn", "eff_mem", "step_overhead_s", "item_overhead_s"};

double *cc_sim_coeff_ptr(cc_sim_coeffs *c, int i)
{
    switch (i) {
    case 0: return &c->eff_linear;
    case 1: return &c->eff_attn;
    case 2: return &c->eff_mem;
    case 3: return &c->step_overhead_s;
    case 4: return &c->item_overhead_s;
    default: return NULL;
    }
}

/* ---- key tables ------------------------------------------------------------
 * One row per key: where it goes, its type, whether it must be present, its
 * range and its default.  The reader, the validation and the writer all
 * walk these tables, so adding a key is adding a row (and a struct field). */
enum { K_NAME, K_REAL, K_INT, K_BOOL, K_DTYPE };

typedef struct key_spec {
    const char *key;
    int type;
    size_t off;
    int required;
    double min, max; /* inclusive range */
    int zero_ok;     /* 1: 0 is also accepted (an absent link or dtype) */
    double dflt;
    const char *unit; /* for messages */
} key_spec;

/* Ranges keep every product and quotient of the cost model finite: rates
 * are at least 1e3 (or 0 where 0 means absent), efficiencies at least 1e-3. */
#define HW(f) offsetof(cc_sim_hw, f)
#define CO(f) (offsetof(cc_sim_hw, coeffs) + offsetof(cc_sim_coeffs, f))
#define PEAK(d) (offsetof(cc_sim_hw, peak_flop_per_s) + (d) * sizeof(double))
static const key_spec hw_keys[] = {
    {"name", K_NAME, HW(name), 1, 0, 0, 0, 0, ""},
    {"peak_fp32_flop_per_s", K_REAL, PEAK(CC_SIM_FP32), 1, 1e6, 1e18, 0, 0, "FLOP/s"},
    {"peak_tf32_flop_per_s", K_REAL, PEAK(CC_SIM_TF32), 0, 1e6, 1e18, 1, 0, "FLOP/s"},
    {"peak_fp16_flop_per_s", K_REAL, PEAK(CC_SIM_FP16), 0, 1e6, 1e18, 1, 0, "FLOP/s"},
    {"peak_bf16_flop_per_s", K_REAL, PEAK(CC_SIM_BF16), 0, 1e6, 1e18, 1, 0, "FLOP/s"},
    {"peak_fp8_flop_per_s", K_REAL, PEAK(CC_SIM_FP8), 0, 1e6, 1e18, 1, 0, "FLOP/s"},
    {"hbm_bytes", K_REAL, HW(hbm_bytes), 1, 1e3, 1e15, 0, 0, "bytes"},
    {"hbm_bytes_per_s", K_REAL, HW(hbm_bytes_per_s), 1, 1e3, 1e14, 0, 0, "bytes/s"},
    {"pcie_bytes_per_s", K_REAL, HW(pcie_bytes_per_s), 1, 1e3, 1e13, 0, 0, "bytes/s"},
    {"pcie_latency_s", K_REAL, HW(pcie_latency_s), 0, 0, 10, 0, 0, "s"},
    {"nvlink_bytes_per_s", K_REAL, HW(nvlink_bytes_per_s), 0, 1e3, 1e14, 1, 0, "bytes/s"},
    {"nvlink_latency_s", K_REAL, HW(nvlink_latency_s), 0, 0, 10, 0, 0, "s"},
    {"dram_bytes", K_REAL, HW(dram_bytes), 1, 1e3, 1e16, 0, 0, "bytes"},
    {"dram_bytes_per_s", K_REAL, HW(dram_bytes_per_s), 1, 1e3, 1e14, 0, 0, "bytes/s"},
    {"nvme_bytes", K_REAL, HW(nvme_bytes), 0, 1e3, 1e18, 1, 0, "bytes"},
    {"nvme_bytes_per_s", K_REAL, HW(nvme_bytes_per_s), 0, 1e3, 1e13, 1, 0, "bytes/s"},
    {"nvme_latency_s", K_REAL, HW(nvme_latency_s), 0, 0, 10, 0, 0, "s"},
    {"net_bytes_per_s", K_REAL, HW(net_bytes_per_s), 0, 1e3, 1e13, 1, 0, "bytes/s"},
    {"net_latency_s", K_REAL, HW(net_latency_s), 0, 0, 10, 0, 0, "s"},
    /* Efficiencies are fractions of the stated peaks; up to 4 is accepted
     * because a calibrated profile whose nominal peak is low may exceed 1. */
    {"eff_link", K_REAL, HW(eff_link), 0, 1e-3, 4, 0, 0.8, ""},
    {"eff_linear", K_REAL, CO(eff_linear), 0, 1e-3, 4, 0, 0.6, ""},
    {"eff_attn", K_REAL, CO(eff_attn), 0, 1e-3, 4, 0, 0.4, ""},
    {"eff_mem", K_REAL, CO(eff_mem), 0, 1e-3, 4, 0, 0.8, ""},
    {"step_overhead_s", K_REAL, CO(step_overhead_s), 0, 0, 10, 0, 0, "s"},
    {"item_overhead_s", K_REAL, CO(item_overhead_s), 0, 0, 10, 0, 0, "s"},
    /* rent of one device: each shipped profile says where and when */
    {"usd_per_hour", K_REAL, HW(usd_per_hour), 0, 1e-6, 1e6, 1, 0, "USD/h"},
};
#undef HW
#undef CO
#undef PEAK

#define MD(f) offsetof(cc_sim_model, f)
static const key_spec model_keys[] = {
    {"name", K_NAME, MD(name), 1, 0, 0, 0, 0, ""},
    {"n_layers", K_INT, MD(n_layers), 1, 1, 10000, 0, 0, ""},
    {"hidden", K_INT, MD(hidden), 1, 1, 1 << 20, 0, 0, ""},
    {"n_heads", K_INT, MD(n_heads), 1, 1, 1 << 16, 0, 0, ""},
    {"n_kv_heads", K_INT, MD(n_kv_heads), 1, 1, 1 << 16, 0, 0, ""},
    {"head_dim", K_INT, MD(head_dim), 1, 1, 1 << 12, 0, 0, ""},
    {"ffn", K_INT, MD(ffn), 1, 1, 1 << 22, 0, 0, ""},
    {"vocab", K_INT, MD(vocab), 1, 1, 1 << 24, 0, 0, ""},
    {"dtype", K_DTYPE, MD(dtype), 1, 0, 0, 0, 0, ""},
    {"kv_dtype", K_DTYPE, MD(kv_dtype), 0, 0, 0, 0, -1, ""},
    {"qkv_bias", K_BOOL, MD(qkv_bias), 0, 0, 1, 0, 0, ""},
    {"tie_embeddings", K_BOOL, MD(tie_embeddings), 0, 0, 1, 0, 0, ""},
    {"rope_theta", K_REAL, MD(rope_theta), 0, 1, 1e12, 0, 10000.0, ""},
    {"norm_eps", K_REAL, MD(norm_eps), 0, 1e-30, 1, 0, 1e-5, ""},
};
#undef MD

#define N_HW_KEYS (sizeof hw_keys / sizeof hw_keys[0])
#define N_MODEL_KEYS (sizeof model_keys / sizeof model_keys[0])
#define MAX_KEYS (N_HW_KEYS > N_MODEL_KEYS ? N_HW_KEYS : N_MODEL_KEYS)

static void set_default(const key_spec *k, void *base)
{
    char *p = (char *)base + k->off;
    switch (k->type) {
    case K_REAL: *(double *)p = k->dflt; break;
    case K_INT:
    case K_BOOL:
    case K_DTYPE: *(int *)p = (int)k->dflt; break;
    case K_NAME: p[0] = '\0'; break;
    }
}

static int range_ok(const key_spec *k, double v)
{
    return (k->zero_ok && v == 0) || (v >= k->min && v <= k->max);
}

static const char *range_text(const key_spec *k, char *buf, size_t len)
{
    snprintf(buf, len, "%s%g to %g%s%s", k->zero_ok ? "0 (absent) or " : "", k->min, k->max,
             k->unit[0] ? " " : "", k->unit);
    return buf;
}

/* ---- validation (also for structs built in code) --------------------------- */
static int check_table(const key_spec *keys, size_t nk, const void *base, cc_err *err)
{
    char rb[96];
    for (size_t i = 0; i < nk; i++) {
        const key_spec *k = &keys[i];
        const char *p = (const char *)base + k->off;
        if (k->type == K_REAL) {
            double v = *(const double *)p;
            if (!isfinite(v) || !range_ok(k, v))
                return cc_err_set(err, CC_ERANGE, NULL, 0, k->key, "expected %s, found %g",
                                  range_text(k, rb, sizeof rb), v);
        } else if (k->type == K_INT || k->type == K_BOOL) {
            int v = *(const int *)p;
            if (!range_ok(k, v))
                return cc_err_set(err, CC_ERANGE, NULL, 0, k->key, "expected %s, found %d",
                                  range_text(k, rb, sizeof rb), v);
        } else if (k->type == K_DTYPE) {
            int v = *(const int *)p;
            if (v < 0 || v >= CC_SIM_DTYPE_COUNT)
                return cc_err_set(err, CC_ERANGE, NULL, 0, k->key,
                                  "expected fp32, tf32, fp16, bf16 or fp8, found code %d", v);
        } else if (k->type == K_NAME && p[0] == '\0') {
            return cc_err_set(err, CC_ERANGE, NULL, 0, k->key, "expected a non-empty name");
        }
    }
    return CC_OK;
}

int cc_sim_hw_validate(const cc_sim_hw *hw, cc_err *err)
{
    int rc = check_table(hw_keys, N_HW_KEYS, hw, err);
    if (rc)
        return rc;
    /* a link that is present must say its latency sensibly (0 is allowed) */
    if (hw->nvme_bytes_per_s > 0 && !(hw->nvme_bytes > 0))
        return cc_err_set(err, CC_ERANGE, NULL, 0, "nvme_bytes",
                          "expected > 0 when nvme_bytes_per_s is given, found %g",
                          hw->nvme_bytes);
    return CC_OK;
}

int cc_sim_model_validate(const cc_sim_model *m, cc_err *err)
{
    cc_sim_model c = *m;
    if (c.kv_dtype < 0)
        c.kv_dtype = c.dtype;
    int rc = check_table(model_keys, N_MODEL_KEYS, &c, err);
    if (rc)
        return rc;
    if (m->n_heads % m->n_kv_heads)
        return cc_err_set(err, CC_ERANGE, NULL, 0, "n_kv_heads",
                          "n_heads (%d) must be a multiple of n_kv_heads (%d)", m->n_heads,
                          m->n_kv_heads);
    if ((double)m->vocab * m->hidden > 1e11 || (double)m->ffn * m->hidden > 1e11)
        return cc_err_set(err, CC_ERANGE, NULL, 0, "hidden",
                          "absurd tensor size (vocab or ffn x hidden > 1e11)");
    return CC_OK;
}

/* ---- sizes ------------------------------------------------------------------ */
static double layer_linear_params(const cc_sim_model *m)
{
    double h = m->hidden, q = (double)m->n_heads * m->head_dim,
           kv = (double)m->n_kv_heads * m->head_dim;
    return h * q + 2 * h * kv + q * h + 3 * h * m->ffn;
}

double cc_sim_model_params(const cc_sim_model *m)
{
    double h = m->hidden, q = (double)m->n_heads * m->head_dim,
           kv = (double)m->n_kv_heads * m->head_dim;
    double layer = layer_linear_params(m) + 2 * h + (m->qkv_bias ? q + 2 * kv : 0);
    double emb = (double)m->vocab * h;
    return emb * (m->tie_embeddings ? 1 : 2) + h + m->n_layers * layer;
}

double cc_sim_model_weight_bytes(const cc_sim_model *m, int dtype)
{
    return cc_sim_model_params(m) * cc_sim_dtype_bytes(dtype);
}

double cc_sim_model_kv_bytes_per_token(const cc_sim_model *m)
{
    int kvd = m->kv_dtype >= 0 ? m->kv_dtype : m->dtype;
    return 2.0 * m->n_layers * m->n_kv_heads * m->head_dim * cc_sim_dtype_bytes(kvd);
}

/* ---- reading ------------------------------------------------------------------ */
typedef struct reader {
    const char *path;
    cc_err *err;
    long line;
} reader;

__attribute__((format(printf, 4, 5))) static int fail(reader *r, int code, const char *field,
                                                      const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cc_err_set(r->err, code, r->path, r->line, field, "%s", msg);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    unsigned cp = c & (0xff >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Printable rendering of a value for messages (non-ASCII as \xHH). */
static const char *show(const char *s, size_t n, char *buf, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, len - o, "\\x%02X", c);
    }
    if (o + 8 >= len && o >= 3)
        memcpy(buf + o - 3, "...", 3);
    buf[o] = '\0';
    return buf;
}

static int parse_real(const char *v, double *out)
{
    /* decimal only: strtod would also take hex floats, "inf" and "nan" */
    for (const char *p = v; *p; p++)
        if (!isdigit((unsigned char)*p) && !strchr("+-.eE", *p))
            return -1;
    errno = 0;
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

static int parse_int(const char *v, long long *out)
{
    const char *p = v;
    if (*p == '-' || *p == '+')
        p++;
    if (!*p)
        return -1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return -1;
    errno = 0;
    long long x = strtoll(v, NULL, 10);
    if (errno == ERANGE)
        x = v[0] == '-' ? LLONG_MIN : LLONG_MAX;
    *out = x;
    return 0;
}

static int valid_name(const char *v)
{
    if (!*v)
        return 0;
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
            return 0;
    return 1;
}

static int set_value(reader *r, const key_spec *k, void *base, const char *v)
{
    char sb[96], rb[96];
    char *p = (char *)base + k->off;
    switch (k->type) {
    case K_NAME:
        if (!valid_name(v) || strlen(v) >= 64)
            return fail(r, CC_EFORMAT, k->key,
                        "expected a name of 1 to 63 characters [A-Za-z0-9._-], found '%s'",
                        show(v, strlen(v), sb, sizeof sb));
        snprintf(p, 64, "%s", v);
        return CC_OK;
    case K_REAL: {
        double d;
        if (parse_real(v, &d))
            return fail(r, CC_EFORMAT, k->key,
                        "expected a decimal number (e.g. 3.35e12)%s%s, found '%s'",
                        k->unit[0] ? " in " : "", k->unit, show(v, strlen(v), sb, sizeof sb));
        if (!range_ok(k, d))
            return fail(r, CC_ERANGE, k->key, "expected %s, found %s%s",
                        range_text(k, rb, sizeof rb), v,
                        d < 0 ? " (negative)" : d > k->max ? " (absurd)" : " (too small)");
        *(double *)p = d;
        return CC_OK;
    }
    case K_INT: {
        long long x;
        if (parse_int(v, &x))
            return fail(r, CC_EFORMAT, k->key, "expected an integer, found '%s'",
                        show(v, strlen(v), sb, sizeof sb));
        if (!range_ok(k, (double)x))
            return fail(r, CC_ERANGE, k->key, "expected an integer %s, found %s%s",
                        range_text(k, rb, sizeof rb), v,
                        x < 0 ? " (negative)" : x > k->max ? " (absurd)" : " (too small)");
        *(int *)p = (int)x;
        return CC_OK;
    }
    case K_BOOL:
        if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
            *(int *)p = 1;
        else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
            *(int *)p = 0;
        else
            return fail(r, CC_EFORMAT, k->key, "expected 0, 1, true or false, found '%s'",
                        show(v, strlen(v), sb, sizeof sb));
        return CC_OK;
    case K_DTYPE: {
        int d = cc_sim_dtype_parse(v);
        if (d < 0)
            return fail(r, CC_EFORMAT, k->key,
                        "expected fp32, tf32, fp16, bf16 or fp8, found '%s'",
                        show(v, strlen(v), sb, sizeof sb));
        *(int *)p = d;
        return CC_OK;
    }
    }
    return fail(r, CC_EFORMAT, k->key, "internal: unknown key type");
}

/* Reads the whole file into a NUL-terminated buffer. */
static int slurp(reader *r, char **out, size_t *len)
{
    FILE *f = fopen(r->path, "rb");
    if (!f)
        return cc_err_set(r->err, CC_EIO, r->path, 0, "", "cannot open: %s", strerror(errno));
    char *buf = malloc(MAX_FILE_BYTES + 1);
    if (!buf) {
        fclose(f);
        return cc_err_set(r->err, CC_ENOMEM, r->path, 0, "", "cannot allocate the read buffer");
    }
    size_t n = fread(buf, 1, MAX_FILE_BYTES + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return cc_err_set(r->err, CC_EIO, r->path, 0, "", "read failed");
    }
    if (n > MAX_FILE_BYTES) {
        free(buf);
        r->line = 1;
        return fail(r, CC_ERANGE, "kind", "file larger than %d bytes: not a profile",
                    MAX_FILE_BYTES);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return CC_OK;
}

static int parse(reader *r, const char *buf, size_t len, cc_sim_profile *out)
{
    const key_spec *keys = NULL;
    size_t nk = 0;
    void *base = NULL;
    long seen_line[MAX_KEYS] = {0};
    long kind_line = 0;
    char sb[96];
    size_t pos = 0;
    r->line = 0;
    while (pos < len) {
        r->line++;
        size_t end = pos;
        while (end < len && buf[end] != '\n')
            end++;
        size_t n = end - pos;
        const char *s = buf + pos;
        pos = end + 1;
        if (n && s[n - 1] == '\r')
            n--;
        /* The key this line sets, if it looks like one: errors about the
         * bytes of the line name it (or "kind" before the first key). */
        char lkey[64] = "";
        {
            size_t i = 0, k0;
            while (i < n && (s[i] == ' ' || s[i] == '\t'))
                i++;
            k0 = i;
            while (i < n && i - k0 < 63 &&
                   (islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_'))
                i++;
            size_t k1 = i;
            while (i < n && (s[i] == ' ' || s[i] == '\t'))
                i++;
            if (k1 > k0 && i < n && s[i] == '=')
                snprintf(lkey, sizeof lkey, "%.*s", (int)(k1 - k0), s + k0);
            else if (!keys)
                snprintf(lkey, sizeof lkey, "kind");
        }
        /* bytes first: binary data and invalid UTF-8 anywhere on the line */
        for (size_t i = 0; i < n;) {
            if (s[i] == '\0')
                return fail(r, CC_EFORMAT, lkey,
                            "binary data (NUL byte at column %zu): not a text profile", i + 1);
            if (s[i] == '\r')
                return fail(r, CC_EFORMAT, lkey, "carriage return inside a line (column %zu)",
                            i + 1);
            size_t u = utf8_len((const unsigned char *)s + i, n - i);
            if (!u)
                return fail(r, CC_EFORMAT, lkey, "invalid UTF-8 (byte \\x%02X at column %zu)",
                            (unsigned char)s[i], i + 1);
            i += u;
        }
        if (n > MAX_LINE_BYTES)
            return fail(r, CC_EFORMAT, lkey, "line longer than %d bytes", MAX_LINE_BYTES);
        char line[MAX_LINE_BYTES + 1];
        memcpy(line, s, n);
        line[n] = '\0';
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *a = line;
        while (*a == ' ' || *a == '\t')
            a++;
        char *z = a + strlen(a);
        while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
            *--z = '\0';
        if (!*a)
            continue; /* blank or comment */
        char *ke = a;
        while (islower((unsigned char)*ke) || isdigit((unsigned char)*ke) || *ke == '_')
            ke++;
        size_t klen = (size_t)(ke - a);
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(klen < 63 ? klen : 63), a);
        char *eq = ke;
        while (*eq == ' ' || *eq == '\t')
            eq++;
        if (klen == 0)
            return fail(r, CC_EFORMAT, keys ? "" : "kind",
                        "expected 'key = value' with a key of [a-z0-9_], found '%s'",
                        show(a, strlen(a), sb, sizeof sb));
        if (*eq != '=')
            return fail(r, CC_EFORMAT, key, "expected '=' after the key, found '%s'",
                        show(a, strlen(a), sb, sizeof sb));
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (!*v)
            return fail(r, CC_EFORMAT, key, "missing value after '='");
        if (!keys) { /* the first key says what the file is */
            if (strcmp(key, "kind") != 0)
                return fail(r, CC_EFORMAT, "kind",
                            "expected 'kind = hardware' or 'kind = model' first, found key '%s'",
                            key);
            memset(out, 0, sizeof *out);
            if (strcmp(v, "hardware") == 0) {
                out->kind = CC_SIM_PROFILE_HARDWARE;
                keys = hw_keys, nk = N_HW_KEYS, base = &out->hw;
            } else if (strcmp(v, "model") == 0) {
                out->kind = CC_SIM_PROFILE_MODEL;
                keys = model_keys, nk = N_MODEL_KEYS, base = &out->model;
            } else {
                return fail(r, CC_EFORMAT, "kind", "expected hardware or model, found '%s'",
                            show(v, strlen(v), sb, sizeof sb));
            }
            for (size_t i = 0; i < nk; i++)
                set_default(&keys[i], base);
            kind_line = r->line;
            continue;
        }
        if (strcmp(key, "kind") == 0)
            return fail(r, CC_EFORMAT, "kind", "key given twice (first at line %ld)", kind_line);
        size_t ki = 0;
        while (ki < nk && strcmp(keys[ki].key, key) != 0)
            ki++;
        if (ki == nk)
            return fail(r, CC_EFORMAT, key,
                        "unknown key for a %s profile (the keys are listed in "
                        "sim/profiles/README.md)",
                        out->kind == CC_SIM_PROFILE_HARDWARE ? "hardware" : "model");
        if (seen_line[ki])
            return fail(r, CC_EFORMAT, key, "key given twice (first at line %ld)",
                        seen_line[ki]);
        seen_line[ki] = r->line;
        int rc = set_value(r, &keys[ki], base, v);
        if (rc)
            return rc;
    }
    if (r->line == 0)
        r->line = 1;
    if (!keys)
        return fail(r, CC_EFORMAT, "kind", "%s: expected 'kind = hardware' or 'kind = model'",
                    len ? "no key in the file" : "empty file");
    for (size_t i = 0; i < nk; i++)
        if (keys[i].required && !seen_line[i])
            return fail(r, CC_EFORMAT, keys[i].key,
                        "required key missing (reached the end of the file)");
    /* cross-field checks: report at the line of the key they name */
    cc_err e2 = {0};
    int rc = out->kind == CC_SIM_PROFILE_HARDWARE ? cc_sim_hw_validate(&out->hw, &e2)
                                                  : cc_sim_model_validate(&out->model, &e2);
    if (rc) {
        for (size_t i = 0; i < nk; i++)
            if (strcmp(keys[i].key, e2.field) == 0 && seen_line[i])
                r->line = seen_line[i];
        return fail(r, rc, e2.field, "%s", e2.msg);
    }
    if (out->kind == CC_SIM_PROFILE_MODEL && out->model.kv_dtype < 0)
        out->model.kv_dtype = out->model.dtype;
    return CC_OK;
}

int cc_sim_profile_read(const char *path, cc_sim_profile *out, cc_err *err)
{
    reader r = {path, err, 0};
    char *buf = NULL;
    size_t len = 0;
    int rc = slurp(&r, &buf, &len);
    if (rc)
        return rc;
    rc = parse(&r, buf, len, out);
    free(buf);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

/* ---- lookup -------------------------------------------------------------------- */
static int try_path(char *path, size_t len, const char *dir, const char *sub, const char *name)
{
    int n = sub ? snprintf(path, len, "%s/%s/%s.profile", dir, sub, name)
                : snprintf(path, len, "%s/%s.profile", dir, name);
    return n > 0 && (size_t)n < len && access(path, R_OK) == 0;
}

/* The directory of the running binary (Linux: /proc/self/exe), or "". */
static void exe_dir(char *out, size_t len)
{
    out[0] = '\0';
    char buf[1024];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash)
        return;
    *slash = '\0';
    snprintf(out, len, "%s", buf);
}

#ifndef CC_DATADIR
#define CC_DATADIR "/usr/local/share/ctxcache"
#endif

int cc_sim_profile_dirs(char dirs[][512], size_t max)
{
    size_t n = 0;
#define ADD(...)                                                                 \
    do {                                                                         \
        if (n < max && snprintf(dirs[n], 512, __VA_ARGS__) < 512)                \
            n++;                                                                 \
    } while (0)
    const char *env = getenv("CC_PROFILE_PATH");
    for (const char *p = env && *env ? env : ""; *p;) {
        const char *q = strchr(p, ':');
        size_t dl = q ? (size_t)(q - p) : strlen(p);
        if (dl && dl < 512)
            ADD("%.*s", (int)dl, p);
        p += dl + (q ? 1 : 0);
    }
    const char *data = getenv("CTXCACHE_DATA");
    if (data && *data)
        ADD("%s/profiles", data);
    ADD("sim/profiles");
    char ed[1024];
    exe_dir(ed, sizeof ed);
    if (ed[0]) {
        ADD("%s/profiles", ed);                      /* copied with its profiles */
        ADD("%s/../share/ctxcache/profiles", ed);    /* PREFIX/bin/ctxcache */
        ADD("%s/../sim/profiles", ed);               /* the build tree: build/ctxcache */
    }
    ADD("%s/profiles", CC_DATADIR);
#undef ADD
    return (int)n;
}

int cc_sim_profile_find(const char *kind, const char *name_or_path, char *path, size_t len,
                        cc_err *err)
{
    if (!name_or_path || !*name_or_path)
        return cc_err_set(err, CC_EARG, NULL, 0, "profile", "expected a %s profile name or path",
                          kind);
    size_t nl = strlen(name_or_path);
    if (strchr(name_or_path, '/') ||
        (nl > 8 && strcmp(name_or_path + nl - 8, ".profile") == 0)) {
        if ((size_t)snprintf(path, len, "%s", name_or_path) >= len)
            return cc_err_set(err, CC_EARG, name_or_path, 0, "profile", "path too long");
        return CC_OK;
    }
    if (!valid_name(name_or_path))
        return cc_err_set(err, CC_EARG, NULL, 0, "profile",
                          "'%s' is neither a path nor a profile name ([A-Za-z0-9._-])",
                          name_or_path);
    char dirs[16][512];
    int nd = cc_sim_profile_dirs(dirs, 16);
    char searched[1200] = "";
    for (int i = 0; i < nd; i++) {
        if (try_path(path, len, dirs[i], kind, name_or_path) ||
            try_path(path, len, dirs[i], NULL, name_or_path))
            return CC_OK;
        size_t sl = strlen(searched);
        snprintf(searched + sl, sizeof searched - sl, "%s%s", i ? ", " : "", dirs[i]);
    }
    return cc_err_set(err, CC_EARG, NULL, 0, "profile",
                      "no %s profile '%s' (looked for DIR/%s/%s.profile and DIR/%s.profile in "
                      "%s; set CTXCACHE_DATA or CC_PROFILE_PATH, or give a path)",
                      kind, name_or_path, kind, name_or_path, name_or_path, searched);
}

static int load_kind(const char *kind, int want, const char *name_or_path, cc_sim_profile *p,
                     cc_err *err)
{
    char path[1024];
    int rc = cc_sim_profile_find(kind, name_or_path, path, sizeof path, err);
    if (rc)
        return rc;
    rc = cc_sim_profile_read(path, p, err);
    if (rc)
        return rc;
    if (p->kind != want)
        return cc_err_set(err, CC_EFORMAT, path, 1, "kind", "expected kind = %s, found %s",
                          kind, p->kind == CC_SIM_PROFILE_MODEL ? "model" : "hardware");
    return CC_OK;
}

int cc_sim_hw_load(const char *name_or_path, cc_sim_hw *out, cc_err *err)
{
    cc_sim_profile p;
    int rc = load_kind("hardware", CC_SIM_PROFILE_HARDWARE, name_or_path, &p, err);
    if (rc == CC_OK)
        *out = p.hw;
    return rc;
}

int cc_sim_model_load(const char *name_or_path, cc_sim_model *out, cc_err *err)
{
    cc_sim_profile p;
    int rc = load_kind("model", CC_SIM_PROFILE_MODEL, name_or_path, &p, err);
    if (rc == CC_OK)
        *out = p.model;
    return rc;
}

/* ---- writing ----------------------------------------------------------------------- */
int cc_sim_hw_write(const char *path, const cc_sim_hw *hw, const char *comment, cc_err *err)
{
    int rc = cc_sim_hw_validate(hw, err);
    if (rc)
        return rc;
    cc_outfile of; /* PATH.tmp, renamed on success, removed on failure or a signal */
    if ((rc = cc_outfile_open(&of, path, err)) != CC_OK)
        return rc;
    FILE *f = of.f;
    if (comment) {
        const char *p = comment;
        while (*p) {
            const char *q = strchr(p, '\n');
            size_t n = q ? (size_t)(q - p) : strlen(p);
            fprintf(f, "#%s%.*s\n", n ? " " : "", (int)n, p);
            p += n + (q ? 1 : 0);
        }
    }
    fprintf(f, "kind = hardware\n");
    for (size_t i = 0; i < N_HW_KEYS; i++) {
        const key_spec *k = &hw_keys[i];
        const char *p = (const char *)hw + k->off;
        if (k->type == K_NAME)
            fprintf(f, "%s = %s\n", k->key, p);
        else
            fprintf(f, "%s = %.9g\n", k->key, *(const double *)p);
    }
    return cc_outfile_close(&of, path, CC_OK, err);
}
