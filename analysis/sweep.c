/*
 * sweep.c -- the sweep spec parser, grid enumeration, loading the traces a
 * grid needs, running one point (one cc_replay) and running many on a pool
 * of pthreads.  See sweep.h and docs/sweep.md.
 *
 * Parsing is one pass over the lines (O(bytes)); each value is checked as
 * it is read (numbers, policy names through the registry), so an error names
 * the file, the line and the key.  A point costs one replay (linear in the
 * trace's block accesses); workers take the next point index from an atomic
 * counter, so the order points finish in is free but each row lands in its
 * slot by index.
 */
#include "sweep.h"
#include "../core/progress.h"
#include "../policies/pricing.h"
#include "../sim/driver.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_VALUES 4096           /* per axis */
_Static_assert(CC_PC_MAX_TIER_BLOCKS == 268435455, "the capacity message names the limit");
#define MAX_POINTS 10000000ull    /* whole grid */
#define MAX_SPEC_BYTES (1u << 20)

static const char *const axis_key[CC_SWEEP_N_AXES] = {
    "trace", "block_size", "policy", "capacity_blocks", "ttl_s", "pricing",
    "tiers", "concurrency", "instances", "hardware", "model", "router", "scheduler", "tp",
};

/* ---- metrics ------------------------------------------------------------
 * Add a figure: a name here (the file's column, docs/sweep.md) and its value
 * in fill_metrics / cc_sweep_point_run. */
static const char *const metric_names[] = {
    "requests", "block_accesses", "input_tokens", "hit_blocks", "hit_tokens",
    "block_hit_ratio", "token_hit_ratio", "request_hit_ratio_mean", "evictions",
    "expirations", "blocks_moved", "bytes_moved", "no_room_blocks", "computed_tokens",
    "capacity_blocks_run", "ttl_applied", "queue_wait_ns", "last_finish_ns", "max_in_flight",
    /* the bill under the point's pricing model (NaN for pricing = none) */
    "cost_usd", "cost_cache_read_usd", "cost_cache_write_usd", "cost_storage_usd",
    "cost_read_tokens",
    /* the serving simulator's figures (backend sim, schema 1.1; NaN for
     * backend cache), the same as replay --json's */
    "ttft_p50_s", "ttft_p99_s", "ttft_mean_s", "tpot_p50_s", "tpot_p99_s", "tpot_mean_s",
    "throughput_tokens_per_s", "requests_per_s", "makespan_s", "prefill_gpu_s_saved",
    "gpu_busy_s", "preemptions",
};
#define N_METRICS (sizeof metric_names / sizeof metric_names[0])

size_t cc_sweep_n_metrics(void) { return N_METRICS; }
const char *cc_sweep_metric_name(size_t k) { return k < N_METRICS ? metric_names[k] : NULL; }

/* ---- parsing ------------------------------------------------------------ */

typedef struct parser {
    const char *file;
    cc_sweep_spec *spec;
    cc_err *err;
    long seen[CC_SWEEP_N_AXES + 8]; /* line each key was given on */
} parser;

enum { K_MODE = CC_SWEEP_N_AXES, K_BACKEND, K_SEED, K_THREADS, K_OUTPUT, K_KVB, K_END };
static const char *const scalar_key[] = {"mode", "backend", "seed", "threads", "output",
                                         "kv_bytes_per_token"};

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* 1 when s[0..n) is valid UTF-8 without control characters other than tab. */
static int clean_text(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
                return 0;
            i++;
            continue;
        }
        size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
        if (!len || (c >= 0xf0 && len != 4) || i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        i += len;
    }
    return 1;
}

static int perr(parser *P, int code, long line, const char *key, const char *fmt, const char *a)
{
    return cc_err_set(P->err, code, P->file, line, key, fmt, a);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!*s || *s == '-' || *s == '+')
        return -1;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -2;
    if (v > max)
        return -2;
    *out = v;
    return 0;
}

/* Splits v on commas outside parentheses (tier layouts, which hold commas:
 * on '|') into the axis values. */
static int add_values(parser *P, long line, int axis, char *v)
{
    cc_sweep_values *ax = &P->spec->axes[axis];
    const char *key = axis_key[axis];
    const char sep = axis == CC_SWEEP_TIERS ? '|' : ',';
    int depth = 0;
    char *start = v;
    for (char *p = v;; p++) {
        if (*p == '(')
            depth++;
        else if (*p == ')')
            depth--;
        if (depth < 0)
            return perr(P, CC_EFORMAT, line, key, "unbalanced ')' in '%s'", v);
        if (*p != '\0' && !(*p == sep && depth == 0))
            continue;
        int last = *p == '\0';
        *p = '\0';
        char *item = trim(start);
        if (!*item)
            return perr(P, CC_EFORMAT, line, key,
                        "empty value in the list (expected values separated by %s)",
                        sep == '|' ? "'|'" : "commas");
        if (ax->n == MAX_VALUES)
            return perr(P, CC_ERANGE, line, key, "more than 4096 values%s", "");
        char **nt = realloc(ax->text, (ax->n + 1) * sizeof *nt);
        if (!nt)
            return perr(P, CC_ENOMEM, line, key, "out of memory%s", "");
        ax->text = nt;
        double *nn = realloc(ax->num, (ax->n + 1) * sizeof *nn);
        if (!nn)
            return perr(P, CC_ENOMEM, line, key, "out of memory%s", "");
        ax->num = nn;
        ax->text[ax->n] = strdup(item);
        if (!ax->text[ax->n])
            return perr(P, CC_ENOMEM, line, key, "out of memory%s", "");
        ax->num[ax->n] = NAN;
        ax->n++;
        /* check the value */
        uint64_t u;
        int r;
        switch (axis) {
        case CC_SWEEP_TRACE: break;
        case CC_SWEEP_BLOCK_SIZE:
            if (!strcmp(item, "trace")) {
                ax->num[ax->n - 1] = 0;
                break;
            }
            if ((r = parse_u64(item, 1u << 20, &u)) != 0 || u == 0)
                return perr(P, r == -1 ? CC_EFORMAT : CC_ERANGE, line, key,
                            "expected 'trace' or a number of tokens in 1..1048576, got '%s'",
                            item);
            ax->num[ax->n - 1] = (double)u;
            break;
        case CC_SWEEP_POLICY: {
            const cc_policy_ops *ops;
            cc_policy_params pp;
            cc_err e = {0};
            cc_policy pol;
            if (cc_policy_parse(item, &ops, &pp, &e) != CC_OK ||
                cc_policy_create(ops, &pp, 1, &pol, &e) != CC_OK) /* checks the parameters */
                return perr(P, CC_EFORMAT, line, key, "%s", e.msg);
            cc_policy_destroy(&pol);
            break;
        }
        case CC_SWEEP_CAPACITY:
            if (!strcmp(item, "inf") || (line == 0 && !strcmp(item, "-"))) {
                /* "-": the default when tiers gives the layouts */
                ax->num[ax->n - 1] = 0;
                break;
            }
            if ((r = parse_u64(item, CC_PC_MAX_TIER_BLOCKS, &u)) != 0 || u == 0)
                return perr(P, r == -1 ? CC_EFORMAT : CC_ERANGE, line, key,
                            "expected a number of blocks in 1..268435455 or inf, got '%s'",
                            item);
            ax->num[ax->n - 1] = (double)u;
            break;
        case CC_SWEEP_TTL: {
            if (!strcmp(item, "none"))
                break;
            char *end;
            errno = 0;
            double d = strtod(item, &end);
            if (end == item || *end || errno)
                return perr(P, CC_EFORMAT, line, key,
                            "expected a time to live in seconds or none, got '%s'", item);
            if (!(d >= 0 && d <= 1e9))
                return perr(P, CC_ERANGE, line, key,
                            "expected a time to live in 0..1e9 seconds, got '%s'", item);
            ax->num[ax->n - 1] = d;
            break;
        }
        case CC_SWEEP_PRICING:
            if (strcmp(item, "none")) {
                /* a preset name or a pricing file (policies/pricing.h),
                 * checked now so that a bad one fails before any point runs */
                cc_pricing model;
                size_t nm = 0;
                cc_err pe = {0};
                if (cc_pricing_parse_list(item, &model, 1, &nm, &pe) != CC_OK)
                    return cc_err_set(P->err, pe.code == CC_EIO ? CC_EIO : CC_EFORMAT, P->file,
                                      line, key, "pricing '%s': %s", item, pe.msg);
            }
            break;
        case CC_SWEEP_TIERS: break; /* checked once the spec is read (kv_bytes_per_token) */
        case CC_SWEEP_CONCURRENCY: {
            cc_concurrency cv;
            cc_err e = {0};
            if (!strcmp(item, "auto"))
                break; /* NaN */
            if (cc_concurrency_parse(item, &cv, &e) != CC_OK)
                return perr(P, CC_EFORMAT, line, key, "%s (or auto)", e.msg);
            ax->num[ax->n - 1] = (double)cv;
            break;
        }
        case CC_SWEEP_INSTANCES:
            if ((r = parse_u64(item, 65536, &u)) != 0 || u == 0)
                return perr(P, r == -1 ? CC_EFORMAT : CC_ERANGE, line, key,
                            "expected a number of instances in 1..65536, got '%s'", item);
            ax->num[ax->n - 1] = (double)u;
            break;
        case CC_SWEEP_TP: /* whether the model's heads divide: at the point (its model) */
            if ((r = parse_u64(item, 64, &u)) != 0 || u == 0)
                return perr(P, r == -1 ? CC_EFORMAT : CC_ERANGE, line, key,
                            "expected a tensor-parallel degree in 1..64, got '%s'", item);
            ax->num[ax->n - 1] = (double)u;
            break;
        case CC_SWEEP_HARDWARE:
        case CC_SWEEP_MODEL: {
            cc_err e = {0};
            cc_sim_hw hw;
            cc_sim_model m;
            if ((axis == CC_SWEEP_HARDWARE ? cc_sim_hw_load(item, &hw, &e)
                                           : cc_sim_model_load(item, &m, &e)) != CC_OK)
                return perr(P, CC_EFORMAT, line, key, "%s", e.msg);
            break;
        }
        case CC_SWEEP_ROUTER:
        case CC_SWEEP_SCHEDULER: {
            cc_err e = {0};
            cc_sim_router ro;
            cc_sim_sched sd;
            if ((axis == CC_SWEEP_ROUTER ? cc_sim_router_parse(item, &ro, &e)
                                         : cc_sim_sched_parse(item, &sd, &e)) != CC_OK)
                return perr(P, CC_EFORMAT, line, key, "%s", e.msg);
            ax->num[ax->n - 1] = axis == CC_SWEEP_ROUTER ? (double)ro : (double)sd;
            break;
        }
        }
        if (last)
            break;
        start = p + 1;
    }
    return CC_OK;
}

static int set_scalar(parser *P, long line, int k, char *v)
{
    const char *key = scalar_key[k - K_MODE];
    cc_sweep_spec *S = P->spec;
    int depth = 0;
    for (char *p = v; *p; p++) {
        depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
        if (*p == ',' && depth == 0)
            return perr(P, CC_EFORMAT, line, key, "takes one value, got a list '%s'", v);
    }
    uint64_t u;
    int r;
    switch (k) {
    case K_MODE:
        if (!strcmp(v, "prefix"))
            S->mode = CC_PC_PREFIX;
        else if (!strcmp(v, "independent"))
            S->mode = CC_PC_INDEPENDENT;
        else
            return perr(P, CC_EFORMAT, line, key, "expected prefix or independent, got '%s'", v);
        break;
    case K_BACKEND:
        if (!strcmp(v, "sim"))
            S->sim = true;
        else if (strcmp(v, "cache"))
            return perr(P, CC_EFORMAT, line, key,
                        "expected cache (cache figures only) or sim (the serving simulator), "
                        "got '%s'", v);
        break;
    case K_SEED:
        if ((r = parse_u64(v, UINT64_MAX, &u)) != 0)
            return perr(P, r == -1 ? CC_EFORMAT : CC_ERANGE, line, key,
                        "expected a non-negative integer, got '%s'", v);
        S->seed = u;
        break;
    case K_THREADS:
        if ((r = parse_u64(v, 4096, &u)) != 0)
            return perr(P, r == -1 ? CC_EFORMAT : CC_ERANGE, line, key,
                        "expected a number of threads in 0..4096 (0 = one per CPU), got '%s'", v);
        S->threads = (uint32_t)u;
        break;
    case K_OUTPUT:
        if (strlen(v) >= sizeof S->output)
            return perr(P, CC_ERANGE, line, key, "path too long: '%.80s'", v);
        strcpy(S->output, v);
        break;
    case K_KVB:
        if ((r = parse_u64(v, UINT64_C(1) << 40, &u)) != 0 || u == 0)
            return perr(P, r == -1 ? CC_EFORMAT : CC_ERANGE, line, key,
                        "expected KV bytes per token in 1..2^40, got '%s'", v);
        S->kv_bytes_per_token = u;
        S->kv_given = true;
        break;
    }
    return CC_OK;
}

static int parse_line(parser *P, long line, char *s)
{
    /* a comment starts at '#' or ';' at the start or after a blank */
    for (char *p = s; *p; p++)
        if ((*p == '#' || *p == ';') && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            break;
        }
    s = trim(s);
    if (!*s)
        return CC_OK;
    if (*s == '[')
        return perr(P, CC_EFORMAT, line, NULL,
                    "sections are not used in a sweep spec (expected key = value), got '%.60s'", s);
    char *eq = strchr(s, '=');
    if (!eq)
        return perr(P, CC_EFORMAT, line, NULL, "expected key = value, got '%.60s'", s);
    *eq = '\0';
    char *key = trim(s), *val = trim(eq + 1);
    int k = -1;
    for (int i = 0; i < CC_SWEEP_N_AXES; i++)
        if (!strcmp(key, axis_key[i]))
            k = i;
    for (int i = K_MODE; i < K_END; i++)
        if (!strcmp(key, scalar_key[i - K_MODE]))
            k = i;
    if (k < 0)
        return perr(P, CC_EFORMAT, line, key,
                    "unknown key '%.60s' (expected trace, block_size, policy, capacity_blocks, "
                    "ttl_s, pricing, tiers, concurrency, instances, hardware, model, router, "
                    "scheduler, mode, backend, seed, threads, output, kv_bytes_per_token)",
                    key);
    if (P->seen[k]) {
        char prev[32];
        snprintf(prev, sizeof prev, "%ld", P->seen[k]);
        return perr(P, CC_EFORMAT, line, key, "given twice (first on line %s)", prev);
    }
    P->seen[k] = line;
    if (!*val)
        return perr(P, CC_EFORMAT, line, key, "expected a value after '='%s", "");
    if (k < CC_SWEEP_N_AXES) {
        P->spec->axes[k].line = line;
        return add_values(P, line, k, val);
    }
    return set_scalar(P, line, k, val);
}

/* Each tier layout parses as replay --tiers would take it (bytes need
 * kv_bytes_per_token in the spec, as replay's --model-kv-bytes-per-token). */
static int check_tiers(parser *P)
{
    cc_sweep_values *ax = &P->spec->axes[CC_SWEEP_TIERS];
    for (uint32_t k = 0; k < ax->n; k++) {
        cc_pc_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cc_err e = {0};
        if (!strcmp(ax->text[k], "-") ||
            cc_pc_parse_tiers(ax->text[k], cc_policy_find("lru"), NULL,
                              P->spec->kv_given ? P->spec->kv_bytes_per_token : 0, &cfg,
                              &e) != CC_OK)
            return cc_err_set(P->err, CC_EFORMAT, P->file, ax->line, "tiers",
                              "layout '%s': %s", ax->text[k],
                              e.msg[0] ? e.msg : "expected NAME:CAPACITY[:key=value...],...");
    }
    return CC_OK;
}

/* backend: sim when a serving axis is given (unless backend = cache says
 * otherwise, which is then an error: those axes mean nothing to the cache
 * alone). */
static int check_backend(parser *P)
{
    cc_sweep_spec *S = P->spec;
    for (int a = CC_SWEEP_INSTANCES; a <= CC_SWEEP_TP; a++) {
        if (!P->seen[a])
            continue;
        if (P->seen[K_BACKEND] && !S->sim)
            return perr(P, CC_EFORMAT, P->seen[a], axis_key[a],
                        "a serving axis needs backend = sim (the serving simulator), not "
                        "backend = cache%s", "");
        S->sim = true;
    }
    if (!S->sim)
        return CC_OK;
    const cc_sweep_values *cv = &S->axes[CC_SWEEP_CONCURRENCY], *in = &S->axes[CC_SWEEP_INSTANCES];
    for (uint32_t k = 0; k < cv->n; k++)
        for (uint32_t j = 0; j < in->n; j++)
            if (cv->num[k] == CC_CONCURRENCY_NONE && in->num[j] > 1)
                return perr(P, CC_EFORMAT, P->seen[CC_SWEEP_CONCURRENCY], "concurrency",
                            "concurrency none runs one request at a time on one instance, "
                            "and instances gives %s (use immediate or after-complete)",
                            in->text[j]);
    return CC_OK;
}

/* Fills an axis the spec did not give with its default. */
static int default_axis(parser *P, int axis, const char *value)
{
    if (P->spec->axes[axis].n)
        return CC_OK;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", value);
    return add_values(P, 0, axis, buf);
}

int cc_sweep_spec_parse_string(const char *text, const char *name, cc_sweep_spec *spec,
                               cc_err *err)
{
    memset(spec, 0, sizeof *spec);
    spec->seed = 1;
    spec->kv_bytes_per_token = 131072;
    snprintf(spec->path, sizeof spec->path, "%s", name ? name : "");
    parser P = {.file = spec->path, .spec = spec, .err = err};
    size_t n = strlen(text);
    if (!clean_text((const unsigned char *)text, n)) {
        /* name the first bad line */
        long line = 1;
        size_t i = 0, ls = 0;
        for (; i < n; i++) {
            if (text[i] == '\n') {
                if (!clean_text((const unsigned char *)text + ls, i - ls))
                    break;
                line++;
                ls = i + 1;
            }
        }
        return cc_err_set(err, CC_EFORMAT, spec->path, line, NULL,
                          "not text: invalid UTF-8 or a control character (is this a binary "
                          "file?)");
    }
    char *buf = strdup(text);
    if (!buf)
        return cc_err_set(err, CC_ENOMEM, spec->path, 0, NULL, "out of memory");
    int rc = CC_OK;
    long line = 1;
    for (char *s = buf; rc == CC_OK && s; line++) {
        char *nl = strchr(s, '\n');
        if (nl)
            *nl = '\0';
        rc = parse_line(&P, line, s);
        s = nl ? nl + 1 : NULL;
    }
    free(buf);
    if (rc == CC_OK && !spec->axes[CC_SWEEP_TRACE].n)
        rc = cc_err_set(err, CC_EFORMAT, spec->path, 0, "trace",
                        "missing key: expected trace = default or trace = FILE[, FILE...]");
    if (rc == CC_OK && spec->axes[CC_SWEEP_CAPACITY].n && spec->axes[CC_SWEEP_TIERS].n)
        rc = cc_err_set(err, CC_EFORMAT, spec->path, P.seen[CC_SWEEP_TIERS], "tiers",
                        "give capacity_blocks (one tier) or tiers (layouts), not both");
    if (rc == CC_OK && !spec->axes[CC_SWEEP_CAPACITY].n && !spec->axes[CC_SWEEP_TIERS].n)
        rc = cc_err_set(err, CC_EFORMAT, spec->path, 0, "capacity_blocks",
                        "missing key: expected capacity_blocks = N[, N...] (or inf), or "
                        "tiers = LAYOUT[ | LAYOUT...]");
    if (rc == CC_OK && spec->axes[CC_SWEEP_TIERS].n)
        rc = check_tiers(&P);
    if (rc == CC_OK)
        rc = default_axis(&P, CC_SWEEP_CAPACITY, "-");
    if (rc == CC_OK)
        rc = default_axis(&P, CC_SWEEP_TIERS, "-");
    if (rc == CC_OK)
        rc = default_axis(&P, CC_SWEEP_CONCURRENCY, "auto");
    if (rc == CC_OK)
        rc = default_axis(&P, CC_SWEEP_INSTANCES, "1");
    if (rc == CC_OK)
        rc = default_axis(&P, CC_SWEEP_HARDWARE, "h100-sxm");
    if (rc == CC_OK)
        rc = default_axis(&P, CC_SWEEP_MODEL, "llama-3-8b");
    if (rc == CC_OK)
        rc = default_axis(&P, CC_SWEEP_ROUTER, "rr");
    if (rc == CC_OK)
        rc = default_axis(&P, CC_SWEEP_SCHEDULER, "batch");
    if (rc == CC_OK)
        rc = default_axis(&P, CC_SWEEP_TP, "1");
    if (rc == CC_OK)
        rc = check_backend(&P);
    if (rc == CC_OK)
        rc = default_axis(&P, CC_SWEEP_BLOCK_SIZE, "trace");
    if (rc == CC_OK)
        rc = default_axis(&P, CC_SWEEP_POLICY, "lru");
    if (rc == CC_OK)
        rc = default_axis(&P, CC_SWEEP_TTL, "none");
    if (rc == CC_OK)
        rc = default_axis(&P, CC_SWEEP_PRICING, "none");
    for (uint32_t k = 0; rc == CC_OK && k < spec->axes[CC_SWEEP_CONCURRENCY].n; k++) {
        double cv = spec->axes[CC_SWEEP_CONCURRENCY].num[k];
        if (spec->mode == CC_PC_INDEPENDENT && !isnan(cv) && cv != CC_CONCURRENCY_NONE)
            rc = cc_err_set(err, CC_EFORMAT, spec->path, P.seen[CC_SWEEP_CONCURRENCY],
                            "concurrency", "concurrency %s needs mode = prefix",
                            spec->axes[CC_SWEEP_CONCURRENCY].text[k]);
    }
    if (rc == CC_OK) {
        uint64_t np = 1;
        for (int a = 0; a < CC_SWEEP_N_AXES; a++) {
            np *= spec->axes[a].n;
            if (np > MAX_POINTS) {
                rc = cc_err_set(err, CC_ERANGE, spec->path, spec->axes[a].line, axis_key[a],
                                "the grid has more than %llu points",
                                (unsigned long long)MAX_POINTS);
                break;
            }
        }
    }
    if (rc != CC_OK)
        cc_sweep_spec_free(spec);
    return rc;
}

int cc_sweep_spec_parse_file(const char *path, cc_sweep_spec *spec, cc_err *err)
{
    memset(spec, 0, sizeof *spec);
    FILE *f = fopen(path, "rb");
    if (!f)
        return cc_err_set(err, CC_EIO, path, 0, NULL, "cannot open: %s", strerror(errno));
    char *buf = malloc(MAX_SPEC_BYTES + 1);
    if (!buf) {
        fclose(f);
        return cc_err_set(err, CC_ENOMEM, path, 0, NULL, "out of memory");
    }
    size_t n = fread(buf, 1, MAX_SPEC_BYTES + 1, f);
    int bad = ferror(f);
    fclose(f);
    int rc;
    if (bad)
        rc = cc_err_set(err, CC_EIO, path, 0, NULL, "read error");
    else if (n > MAX_SPEC_BYTES)
        rc = cc_err_set(err, CC_ERANGE, path, 0, NULL, "spec larger than 1 MiB");
    else if (memchr(buf, '\0', n)) {
        long line = 1;
        for (const char *p = buf; *p; p++)
            line += *p == '\n';
        rc = cc_err_set(err, CC_EFORMAT, path, line, NULL,
                        "not text: a NUL byte (is this a binary file?)");
    }
    else if (n == 0)
        rc = cc_err_set(err, CC_EFORMAT, path, 0, NULL,
                        "empty spec: expected trace = ... and capacity_blocks = ...");
    else {
        buf[n] = '\0';
        rc = cc_sweep_spec_parse_string(buf, path, spec, err);
    }
    free(buf);
    return rc;
}

void cc_sweep_spec_free(cc_sweep_spec *spec)
{
    for (int a = 0; a < CC_SWEEP_N_AXES; a++) {
        for (uint32_t i = 0; i < spec->axes[a].n; i++)
            free(spec->axes[a].text[i]);
        free(spec->axes[a].text);
        free(spec->axes[a].num);
        spec->axes[a].text = NULL;
        spec->axes[a].num = NULL;
        spec->axes[a].n = 0;
    }
}

/* ---- the grid ----------------------------------------------------------- */

uint64_t cc_sweep_n_points(const cc_sweep_spec *spec)
{
    uint64_t n = 1;
    for (int a = 0; a < CC_SWEEP_N_AXES; a++)
        n *= spec->axes[a].n;
    return n;
}

void cc_sweep_point_coords(const cc_sweep_spec *spec, uint64_t i, uint32_t coords[CC_SWEEP_N_AXES])
{
    for (int a = CC_SWEEP_N_AXES - 1; a >= 0; a--) {
        uint32_t n = spec->axes[a].n ? spec->axes[a].n : 1;
        coords[a] = (uint32_t)(i % n);
        i /= n;
    }
}

/* ---- traces ------------------------------------------------------------- */

static int point_cfg(const cc_sweep_spec *spec, const cc_trace *t, const uint32_t *c,
                     const cc_sim_model *model, cc_pc_config *cfg, double *ttl_applied,
                     cc_err *err);
static cc_concurrency point_concurrency(const cc_sweep_spec *spec, const uint32_t *c,
                                        const cc_pc_config *cfg);

/* Whether every point on trace i with block size j can replay it streamed
 * (sweep.h, cc_sweep_data.streamed). */
static int points_stream(const cc_sweep_spec *spec, uint32_t i, uint32_t j, uint32_t *max_tiers)
{
    *max_tiers = 0;
    const cc_sweep_values *tr = &spec->axes[CC_SWEEP_TRACE], *bs = &spec->axes[CC_SWEEP_BLOCK_SIZE];
    if (spec->sim || !strcmp(tr->text[i], "default") || bs->num[j] != 0)
        return 0;
    cc_trace probe; /* the block size does not change what a point needs */
    cc_trace_init(&probe);
    probe.block_size = 16;
    uint64_t np = cc_sweep_n_points(spec);
    for (uint64_t p = 0; p < np; p++) {
        uint32_t c[CC_SWEEP_N_AXES];
        cc_sweep_point_coords(spec, p, c);
        if (c[CC_SWEEP_TRACE] != i || c[CC_SWEEP_BLOCK_SIZE] != j)
            continue;
        if (strcmp(spec->axes[CC_SWEEP_PRICING].text[c[CC_SWEEP_PRICING]], "none"))
            return 0;
        cc_pc_config cfg;
        double ta;
        cc_err e = {0};
        if (point_cfg(spec, &probe, c, NULL, &cfg, &ta, &e) != CC_OK ||
            point_concurrency(spec, c, &cfg) != CC_CONCURRENCY_NONE)
            return 0; /* (a point error: the whole path reports it) */
        if (cfg.n_tiers > *max_tiers)
            *max_tiers = cfg.n_tiers;
        for (uint32_t k = 0; k < cfg.n_tiers; k++) {
            const cc_policy_ops *ops = cfg.tiers[k].policy ? cfg.tiers[k].policy
                                                           : cc_policy_find("lru");
            if (!cfg.tiers[k].capacity_blocks || !ops ||
                (ops->flags & CC_POLICY_NEEDS_NEXT_USE) || !strcmp(ops->name, "gdsf"))
                return 0;
        }
    }
    return 1;
}

/* Reads a streamed trace through once: every record's checks (so a bad
 * file fails here, as the whole read would), and its block size. */
static int stream_probe(const char *path, cc_trace *t, int *ok, int *any, cc_err *err)
{
    *ok = *any = 0;
    cc_trace_stream *ts;
    cc_err se = {0};
    if (cc_trace_stream_open(path, NULL, NULL, 0, &ts, &se) != CC_OK)
        return CC_OK; /* read whole: that reader reports any error */
    *any = cc_trace_stream_block_size(ts) == CC_STREAM_BLOCK_TOKENS_ANY;
    int rc;
    for (;;) {
        const cc_trace *w;
        if ((rc = cc_trace_stream_next(ts, &w, err)) != CC_OK || w->n == 0)
            break;
    }
    if (rc == CC_OK) {
        cc_trace_init(t);
        t->block_size = cc_trace_stream_block_size(ts);
        t->timed = true;
        snprintf(t->source, sizeof t->source, "%s", cc_trace_stream_label_source(ts));
        snprintf(t->source_format, sizeof t->source_format, "%s",
                 cc_trace_stream_label_format(ts));
        *ok = 1;
    }
    cc_trace_stream_close(ts);
    return rc;
}

int cc_sweep_load(const cc_sweep_spec *spec, cc_sweep_data *data, cc_err *err)
{
    memset(data, 0, sizeof *data);
    const cc_sweep_values *tr = &spec->axes[CC_SWEEP_TRACE], *bs = &spec->axes[CC_SWEEP_BLOCK_SIZE];
    data->n_traces = tr->n;
    data->n_block_sizes = bs->n;
    data->traces = calloc((size_t)tr->n * bs->n, sizeof *data->traces);
    data->streamed = calloc((size_t)tr->n * bs->n + 1, 1);
    if (!data->traces || !data->streamed) {
        cc_sweep_data_free(data);
        return cc_err_set(err, CC_ENOMEM, spec->path, 0, NULL, "out of memory");
    }
    int rc = CC_OK;
    for (uint32_t i = 0; rc == CC_OK && i < tr->n; i++)
        for (uint32_t j = 0; rc == CC_OK && j < bs->n; j++) {
            size_t k = (size_t)i * bs->n + j;
            cc_trace *t = &data->traces[k];
            uint32_t want = (uint32_t)bs->num[j];
            uint32_t max_tiers;
            if (points_stream(spec, i, j, &max_tiers)) {
                int ok, any;
                rc = stream_probe(tr->text[i], t, &ok, &any, err);
                if (rc != CC_OK)
                    break;
                /* a block size known only at the end streams through one tier */
                if (ok && t->block_size && t->block_size != CC_STREAM_BLOCK_TOKENS_ANY &&
                    (!any || max_tiers == 1)) {
                    data->streamed[k] = 1;
                    continue;
                }
                if (ok)
                    cc_trace_free(t);
            }
            if (!strcmp(tr->text[i], "default")) {
                rc = cc_gen_from_spec_string(cc_gen_default_spec, "default", spec->seed, t, err);
            } else {
                cc_read_opts ro = {0};
                ro.block_size = want;
                rc = cc_trace_read(tr->text[i], NULL, &ro, t, err);
            }
            if (rc == CC_OK && want && t->block_size != want)
                rc = cc_trace_reblock(t, want, err);
            if (rc == CC_OK && t->block_size == 0)
                rc = cc_err_set(err, CC_EUNSUP, tr->text[i], 0, "block_size",
                                "the trace has no block hashes; give block_size = N to build "
                                "them from its tokens");
        }
    if (rc != CC_OK)
        cc_sweep_data_free(data);
    return rc;
}

/* cc_replay of a streamed trace (cc_sweep_data.streamed): the same cache
 * calls and figures (sim/driver.h's streamed replay: the service-time
 * model's times too), the file read again window by window.  A libCacheSim
 * file's windows carry CC_STREAM_BLOCK_TOKENS_ANY (traces.h): its one-block
 * requests count their whole input, as the block size found at load does. */
static int replay_streamed(const char *path, const cc_pc_config *cfg_in, const cc_replay_opts *ro,
                           cc_replay_result *r, cc_err *err)
{
    cc_trace_stream *ts;
    int rc = cc_trace_stream_open(path, NULL, NULL, 0, &ts, err);
    if (rc != CC_OK)
        return rc;
    cc_pc_config cfg = *cfg_in;
    if (cc_trace_stream_block_size(ts) == CC_STREAM_BLOCK_TOKENS_ANY)
        cfg.block_tokens = CC_STREAM_BLOCK_TOKENS_ANY;
    rc = cc_sim_replay_stream(ts, &cfg, ro, r, err);
    cc_trace_stream_close(ts);
    return rc;
}

void cc_sweep_data_free(cc_sweep_data *data)
{
    if (data->traces)
        for (size_t k = 0; k < (size_t)data->n_traces * data->n_block_sizes; k++)
            if (data->traces[k].n || data->traces[k].block_off)
                cc_trace_free(&data->traces[k]);
    free(data->traces);
    free(data->streamed);
    memset(data, 0, sizeof *data);
}

/* ---- one point ---------------------------------------------------------- */

/* policy spec with ttl_s=X added to its parameters. */
static void with_ttl(const char *policy, double ttl, char *out, size_t len)
{
    size_t n = strlen(policy);
    if (n && policy[n - 1] == ')')
        snprintf(out, len, "%.*s,ttl_s=%.17g)", (int)(n - 1), policy, ttl);
    else
        snprintf(out, len, "%s(ttl_s=%.17g)", policy, ttl);
}

static int point_run(const cc_sweep_spec *spec, const cc_sweep_data *data, uint64_t i,
                     double *row, cc_err *err);

int cc_sweep_point_run(const cc_sweep_spec *spec, const cc_sweep_data *data, uint64_t i,
                       double *row, cc_err *err)
{
    int rc = point_run(spec, data, i, row, err);
    if (rc != CC_OK && err) {
        /* say which point */
        uint32_t c[CC_SWEEP_N_AXES];
        cc_sweep_point_coords(spec, i, c);
        char msg[sizeof err->msg];
        const char *tiers = spec->axes[CC_SWEEP_TIERS].text[c[CC_SWEEP_TIERS]];
        snprintf(msg, sizeof msg, "point %llu (trace %s, policy %s, %s %s, ttl_s %s): %s",
                 (unsigned long long)i, spec->axes[CC_SWEEP_TRACE].text[c[CC_SWEEP_TRACE]],
                 spec->axes[CC_SWEEP_POLICY].text[c[CC_SWEEP_POLICY]],
                 strcmp(tiers, "-") ? "tiers" : "capacity",
                 strcmp(tiers, "-") ? tiers : spec->axes[CC_SWEEP_CAPACITY].text[c[CC_SWEEP_CAPACITY]],
                 spec->axes[CC_SWEEP_TTL].text[c[CC_SWEEP_TTL]], err->msg);
        memcpy(err->msg, msg, sizeof msg);
    }
    return rc;
}

/* The cache configuration of the point with coordinates c on trace t: one
 * tier of capacity_blocks or the point's tier layout, the policy (with the
 * TTL when it takes one: *ttl_applied), KV bytes per token as replay takes
 * them (the spec's kv_bytes_per_token, else the model's when the spec names
 * models and runs the simulator, else 131072). */
static int point_cfg(const cc_sweep_spec *spec, const cc_trace *t, const uint32_t *c,
                     const cc_sim_model *model, cc_pc_config *cfg, double *ttl_applied,
                     cc_err *err)
{
    const char *policy = spec->axes[CC_SWEEP_POLICY].text[c[CC_SWEEP_POLICY]];
    double ttl = spec->axes[CC_SWEEP_TTL].num[c[CC_SWEEP_TTL]];
    uint64_t kvb = spec->kv_bytes_per_token;
    if (!spec->kv_given && model && spec->axes[CC_SWEEP_MODEL].line)
        kvb = (uint64_t)cc_sim_model_kv_bytes_per_token(model);
    memset(cfg, 0, sizeof *cfg);
    cfg->mode = spec->mode;
    cfg->block_tokens = t->block_size;
    cfg->kv_bytes_per_block = kvb * t->block_size;
    cfg->seed = spec->seed;
    const cc_policy_ops *ops;
    cc_policy_params pp;
    int rc = cc_policy_parse(policy, &ops, &pp, err);
    if (rc != CC_OK)
        return rc;
    *ttl_applied = 0;
    if (!isnan(ttl)) {
        /* the TTL goes to policies that take a ttl_s parameter; the others
         * run as they are (ttl_applied = 0) */
        char spec_ttl[sizeof pp.spec + 40];
        with_ttl(policy, ttl, spec_ttl, sizeof spec_ttl);
        const cc_policy_ops *ops2;
        cc_policy_params pp2;
        cc_policy pol;
        cc_err e = {0};
        if (strlen(spec_ttl) < sizeof pp.spec &&
            cc_policy_parse(spec_ttl, &ops2, &pp2, &e) == CC_OK &&
            cc_policy_create(ops2, &pp2, 1, &pol, &e) == CC_OK) {
            cc_policy_destroy(&pol);
            ops = ops2;
            pp = pp2;
            *ttl_applied = 1;
        }
    }
    const char *layout = spec->axes[CC_SWEEP_TIERS].text[c[CC_SWEEP_TIERS]];
    if (strcmp(layout, "-"))
        return cc_pc_parse_tiers(layout, ops, &pp, spec->kv_given ? cfg->kv_bytes_per_block : 0,
                                 cfg, err);
    cfg->n_tiers = 1;
    snprintf(cfg->tiers[0].name, sizeof cfg->tiers[0].name, "hbm");
    cfg->tiers[0].capacity_blocks =
        (uint64_t)spec->axes[CC_SWEEP_CAPACITY].num[c[CC_SWEEP_CAPACITY]];
    cfg->tiers[0].policy = ops;
    cfg->tiers[0].policy_params = pp;
    return CC_OK;
}

/* The concurrency a point runs with: as written, or for auto replay's
 * default: immediate under the simulator (prefix mode, no policy that needs
 * next uses), else none -- so that a spec without serving keys keeps the
 * cache-only figures it always had. */
static cc_concurrency point_concurrency(const cc_sweep_spec *spec, const uint32_t *c,
                                        const cc_pc_config *cfg)
{
    double v = spec->axes[CC_SWEEP_CONCURRENCY].num[c[CC_SWEEP_CONCURRENCY]];
    if (!isnan(v))
        return (cc_concurrency)v;
    if (!spec->sim || cfg->mode != CC_PC_PREFIX)
        return CC_CONCURRENCY_NONE;
    for (uint32_t k = 0; k < cfg->n_tiers; k++) {
        const cc_policy_ops *ops = cfg->tiers[k].policy ? cfg->tiers[k].policy
                                                        : cc_policy_find("lru");
        if (ops && (ops->flags & CC_POLICY_NEEDS_NEXT_USE))
            return CC_CONCURRENCY_NONE;
    }
    return CC_CONCURRENCY_IMMEDIATE;
}

int cc_sweep_point_concurrency(const cc_sweep_spec *spec, const cc_sweep_data *data, uint64_t i,
                               cc_concurrency *out, cc_err *err)
{
    uint32_t c[CC_SWEEP_N_AXES];
    cc_sweep_point_coords(spec, i, c);
    const cc_trace *t = &data->traces[(size_t)c[CC_SWEEP_TRACE] * data->n_block_sizes +
                                      c[CC_SWEEP_BLOCK_SIZE]];
    cc_pc_config cfg;
    double ta;
    int rc = point_cfg(spec, t, c, NULL, &cfg, &ta, err); /* kv bytes do not matter here */
    if (rc == CC_OK)
        *out = point_concurrency(spec, c, &cfg);
    return rc;
}

/* Which simulator tier (sim.h's CC_SIM_TIER_*) a cache tier is, by its name
 * and else its place: the rule of replay --tiers (cli/cmd_replay.c). */

/* HBM share of the device for weights + KV (replay's --hbm-fraction default) */
#define SIM_HBM_FRACTION 0.9

/* The point on the serving simulator, configured as `ctxcache replay
 * --backend sim` with the point's hardware, model, instances, router and
 * scheduler and replay's defaults for everything else.  Fills r (the cache
 * figures) and S (the serving figures). */
static int point_sim(const cc_sweep_spec *spec, const cc_trace *t, const uint32_t *c,
                     const cc_sim_hw *hw, const cc_sim_model *model, cc_pc_config *cfg,
                     cc_concurrency conc, cc_replay_result *r, cc_sim_summary *S, cc_err *err)
{
    cc_sim_config sc;
    cc_sim_config_default(&sc);
    sc.seed = spec->seed;
    sc.concurrency = conc;
    sc.instances = (uint32_t)spec->axes[CC_SWEEP_INSTANCES].num[c[CC_SWEEP_INSTANCES]];
    sc.router = (cc_sim_router)spec->axes[CC_SWEEP_ROUTER].num[c[CC_SWEEP_ROUTER]];
    sc.scheduler = (cc_sim_sched)spec->axes[CC_SWEEP_SCHEDULER].num[c[CC_SWEEP_SCHEDULER]];
    if (sc.instances > 1 && conc == CC_CONCURRENCY_NONE)
        return cc_err_set(err, CC_EARG, NULL, 0, "instances",
                          "%u instances: concurrency none (auto with mode independent or an "
                          "offline policy) runs one request at a time on one instance",
                          sc.instances);
    /* the rule of replay's timed runs: bounded HBM tiers share the GPU with
     * the weights and the running requests' KV; a point that does not fit is
     * a point error naming the GB short (sim/deploy.c).  tp devices per
     * instance: their HBM together, the weights and KV heads split among them
     * (sim.h's fit, as replay --tp) */
    int tp = (int)spec->axes[CC_SWEEP_TP].num[c[CC_SWEEP_TP]];
    double hbm_cache_bytes = 0;
    for (uint32_t k = 0; k < cfg->n_tiers; k++) {
        sc.tier_kind[k] = cc_sim_tier_kind_of(cfg->tiers[k].name, k);
        if (sc.tier_kind[k] == CC_SIM_TIER_HBM)
            hbm_cache_bytes += (double)cfg->tiers[k].capacity_blocks * cfg->kv_bytes_per_block;
    }
    cc_sim_fit fit;
    int rc = cc_sim_fit_compute(hw, model, tp, SIM_HBM_FRACTION, hbm_cache_bytes, 0, &fit, err);
    if (rc == CC_ERANGE) { /* the spec's error, as replay's usage error (exit 2) */
        rc = CC_EARG;
        if (err)
            err->code = rc;
    }
    if (rc != CC_OK)
        return rc;
    sc.kv_bytes_per_token = cc_sim_model_kv_bytes_per_token(model);
    sc.n_layers = (uint32_t)model->n_layers;
    sc.hbm_kv_tokens = fit.kv_tokens;
    cc_executor ex = {0};
    cc_costmodel_opts copts;
    cc_costmodel_opts_default(&copts);
    copts.tp = tp;
    rc = cc_costmodel_create(hw, model, &copts, &ex, err);
    if (rc != CC_OK)
        return rc;
    cc_replay_opts ro = {.concurrency = conc};
    cc_sim_result sr;
    rc = cc_sim_run(t, cfg, &ro, &sc, &ex, 1, &sr, err);
    cc_executor_free(&ex);
    if (rc != CC_OK)
        return rc;
    *r = sr.cache;
    memset(&sr.cache, 0, sizeof sr.cache);
    *S = sr.summary;
    cc_sim_result_free(&sr);
    return CC_OK;
}

static int point_run(const cc_sweep_spec *spec, const cc_sweep_data *data, uint64_t i,
                     double *row, cc_err *err)
{
    uint32_t c[CC_SWEEP_N_AXES];
    cc_sweep_point_coords(spec, i, c);
    const cc_trace *t = &data->traces[(size_t)c[CC_SWEEP_TRACE] * data->n_block_sizes +
                                      c[CC_SWEEP_BLOCK_SIZE]];
    double ttl = spec->axes[CC_SWEEP_TTL].num[c[CC_SWEEP_TTL]];
    cc_sim_hw hw;
    cc_sim_model model;
    int rc;
    if (spec->sim &&
        ((rc = cc_sim_hw_load(spec->axes[CC_SWEEP_HARDWARE].text[c[CC_SWEEP_HARDWARE]], &hw,
                              err)) != CC_OK ||
         (rc = cc_sim_model_load(spec->axes[CC_SWEEP_MODEL].text[c[CC_SWEEP_MODEL]], &model,
                                 err)) != CC_OK))
        return rc;
    cc_pc_config cfg;
    double ttl_applied;
    if ((rc = point_cfg(spec, t, c, spec->sim ? &model : NULL, &cfg, &ttl_applied, err)) != CC_OK)
        return rc;
    cc_concurrency conc = point_concurrency(spec, c, &cfg);
    cc_replay_result r;
    cc_sim_summary S;
    double nan_sim = NAN; /* 0 under the simulator: NaN + x is NaN */
    memset(&S, 0, sizeof S);
    if (spec->sim) {
        if ((rc = point_sim(spec, t, c, &hw, &model, &cfg, conc, &r, &S, err)) != CC_OK)
            return rc;
        nan_sim = 0;
    } else {
        cc_replay_opts ro = {.concurrency = conc};
        /* overlapping modes: the simulator's loop with the fixed-rate executor */
        size_t k = (size_t)c[CC_SWEEP_TRACE] * data->n_block_sizes + c[CC_SWEEP_BLOCK_SIZE];
        rc = data->streamed && data->streamed[k]
                 ? replay_streamed(spec->axes[CC_SWEEP_TRACE].text[c[CC_SWEEP_TRACE]], &cfg,
                                   &ro, &r, err)
             : conc == CC_CONCURRENCY_NONE ? cc_replay(t, &cfg, &ro, &r, err)
                                           : cc_sim_replay(t, &cfg, &ro, &r, err);
        if (rc != CC_OK)
            return rc;
    }
    /* The bill: the provider cache the pricing model implies (its TTL, or
     * the point's ttl_s when given; no capacity bound; one request at a
     * time; the cacheable prefix as replay's --cacheable auto), replayed on
     * the same trace and billed (policies/pricing.h). */
    const char *pricing = spec->axes[CC_SWEEP_PRICING].text[c[CC_SWEEP_PRICING]];
    cc_bill bill;
    memset(&bill, 0, sizeof bill);
    double nan_or_0 = NAN;
    if (strcmp(pricing, "none")) {
        cc_pricing pm;
        size_t nm = 0;
        cc_pricing_run run = {.cacheable = CC_CACHEABLE_AUTO, .ttl_s = isnan(ttl) ? 0 : ttl};
        if ((rc = cc_pricing_parse_list(pricing, &pm, 1, &nm, err)) != CC_OK ||
            (rc = cc_pricing_replay(t, &pm, &run, &bill, NULL, err)) != CC_OK) {
            cc_replay_result_free(&r);
            return rc;
        }
        nan_or_0 = 0;
    }
    double v[] = {
        (double)r.requests, (double)r.block_accesses, (double)r.input_tokens,
        (double)r.hit_blocks, (double)r.hit_tokens, r.block_hit_ratio, r.token_hit_ratio,
        r.request_hit_ratio_mean, (double)r.evictions, (double)r.expirations,
        (double)r.blocks_moved, (double)r.bytes_moved, (double)r.no_room_blocks,
        (double)r.computed_tokens, (double)r.capacity_blocks[0], ttl_applied,
        cc_ns_sum_double(r.queue_wait_ns), (double)r.last_finish_ns, (double)r.max_in_flight,
        nan_or_0 + bill.total_usd, nan_or_0 + bill.cache_read_usd,
        nan_or_0 + bill.cache_write_usd, nan_or_0 + bill.storage_usd,
        nan_or_0 + (double)bill.read_tokens,
        nan_sim + S.ttft_s.p50.value, nan_sim + S.ttft_s.p99.value, nan_sim + S.ttft_s.mean,
        nan_sim + S.tpot_s.p50.value, nan_sim + S.tpot_s.p99.value, nan_sim + S.tpot_s.mean,
        nan_sim + S.throughput_tokens_per_s, nan_sim + S.requests_per_s,
        nan_sim + S.makespan_s, nan_sim + S.prefill_gpu_s_saved, nan_sim + S.busy_s,
        nan_sim + (double)S.preemptions,
    };
    _Static_assert(sizeof v / sizeof v[0] == N_METRICS, "one value per metric name");
    memcpy(row, v, sizeof v);
    cc_replay_result_free(&r);
    return CC_OK;
}

/* ---- many points on threads --------------------------------------------- */

typedef struct pool {
    const cc_sweep_spec *spec;
    const cc_sweep_data *data;
    uint64_t first, step, count;
    double *rows;
    bool progress;
    atomic_uint_fast64_t next;
    pthread_mutex_t mu;
    uint64_t err_index; /* lowest failing point, UINT64_MAX = none */
    int rc;
    cc_err err;
} pool;

static void *worker(void *arg)
{
    pool *P = arg;
    cc_err e;
    for (;;) {
        uint64_t j = atomic_fetch_add(&P->next, 1);
        if (j >= P->count)
            break;
        uint64_t i = P->first + j * P->step;
        memset(&e, 0, sizeof e);
        int rc = cc_sweep_point_run(P->spec, P->data, i, P->rows + j * N_METRICS, &e);
        if (rc != CC_OK) {
            pthread_mutex_lock(&P->mu);
            if (i < P->err_index) {
                P->err_index = i;
                P->rc = rc;
                P->err = e;
            }
            pthread_mutex_unlock(&P->mu);
        }
        if (P->progress)
            cc_progress_add(1);
    }
    return NULL;
}

int cc_sweep_run(const cc_sweep_spec *spec, const cc_sweep_data *data, uint64_t first,
                 uint64_t step, uint32_t threads, bool progress, double *rows, cc_err *err)
{
    uint64_t np = cc_sweep_n_points(spec);
    if (step == 0)
        step = 1;
    pool P = {.spec = spec, .data = data, .first = first, .step = step, .rows = rows,
              .progress = progress, .err_index = UINT64_MAX, .rc = CC_OK};
    P.count = first < np ? (np - first + step - 1) / step : 0;
    atomic_init(&P.next, 0);
    pthread_mutex_init(&P.mu, NULL);
    if (threads == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (uint32_t)c : 1;
    }
    if (threads > P.count)
        threads = P.count ? (uint32_t)P.count : 1;
    pthread_t *tid = calloc(threads, sizeof *tid);
    if (!tid) {
        pthread_mutex_destroy(&P.mu);
        return cc_err_set(err, CC_ENOMEM, spec->path, 0, NULL, "out of memory");
    }
    uint32_t started = 0;
    for (uint32_t k = 1; k < threads; k++, started++)
        if (pthread_create(&tid[k], NULL, worker, &P) != 0)
            break;
    worker(&P);
    for (uint32_t k = 1; k <= started; k++)
        pthread_join(tid[k], NULL);
    free(tid);
    pthread_mutex_destroy(&P.mu);
    if (P.rc != CC_OK) {
        if (err) {
            *err = P.err;
            if (!err->field[0])
                snprintf(err->field, sizeof err->field, "point %llu",
                         (unsigned long long)P.err_index);
        }
        return P.rc;
    }
    return CC_OK;
}
