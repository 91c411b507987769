/*
 * report_read.c -- reads the files a report is made from (report.h): replay
 * results and sweep files (HDF5, checked by their `format` attribute), mrc
 * and cost CSVs (checked by their header).  Every missing or mistyped piece
 * is an error naming the file and the HDF5 path (PATH@ATTRIBUTE) or the CSV
 * line; HDF5's own error printing is silenced (core/h5io.h).
 * Cost: linear in the file; a results file's per-request TTFTs are sorted
 * once (n log n) for the percentiles.
 */
#include "report.h"
#include "../core/h5io.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

double cc_quantile_sorted(const double *x, size_t n, double q)
{
    if (n == 0)
        return NAN;
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo + 1 >= n)
        return x[n - 1];
    double f = pos - (double)lo;
    return x[lo] + (x[lo + 1] - x[lo]) * f;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- HDF5 helpers ---------------------------------------------------------- */

typedef struct rd {
    cc_h5_quiet q;
    hid_t f;
} rd;

static int attr_read(rd *r, const char *name, hid_t mtype, void *out, size_t str_cap)
{
    char where[160];
    snprintf(where, sizeof where, "/@%s", name);
    htri_t ex = H5Aexists(r->f, name);
    if (ex <= 0)
        return cc_h5_fail(&r->q, false, CC_EFORMAT, 0, where,
                          "missing attribute; expected a ctxcache results or sweep file");
    hid_t a = H5Aopen(r->f, name, H5P_DEFAULT);
    hid_t t = a < 0 ? -1 : H5Aget_type(a);
    int rc = CC_OK;
    if (t < 0) {
        rc = cc_h5_fail(&r->q, true, CC_EFORMAT, 0, where, "cannot open the attribute");
    } else if (str_cap) {
        if (H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) > 0) {
            rc = cc_h5_fail(&r->q, false, CC_EFORMAT, 0, where, "expected a fixed-length string");
        } else {
            size_t sz = H5Tget_size(t);
            char *buf = calloc(sz + 1, 1);
            if (!buf || H5Aread(a, t, buf) < 0)
                rc = cc_h5_fail(&r->q, true, CC_EFORMAT, 0, where, "cannot read the string");
            else
                snprintf(out, str_cap, "%s", buf);
            free(buf);
        }
    } else {
        H5T_class_t want = H5Tget_class(mtype), got = H5Tget_class(t);
        if (got != H5T_INTEGER && got != H5T_FLOAT)
            rc = cc_h5_fail(&r->q, false, CC_EFORMAT, 0, where, "expected a number");
        else if (want == H5T_INTEGER && got != H5T_INTEGER)
            rc = cc_h5_fail(&r->q, false, CC_EFORMAT, 0, where, "expected an integer");
        else if (H5Aread(a, mtype, out) < 0)
            rc = cc_h5_fail(&r->q, true, CC_EFORMAT, 0, where, "cannot read the value");
    }
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

/* A rank-1 (or rank-2 with `cols` columns when cols > 0) numeric dataset
 * read whole as mtype; *n gets the rows.  want_rows (SIZE_MAX = any). */
static int ds_read(rd *r, const char *path, hid_t mtype, size_t elem, size_t cols,
                   size_t want_rows, void **out, size_t *n)
{
    *out = NULL;
    htri_t ex = H5Lexists(r->f, path, H5P_DEFAULT);
    if (ex <= 0) {
        /* the parent group may be missing too */
        return cc_h5_fail(&r->q, false, CC_EFORMAT, 0, path, "missing dataset");
    }
    hid_t d = H5Dopen2(r->f, path, H5P_DEFAULT);
    if (d < 0)
        return cc_h5_fail(&r->q, true, CC_EFORMAT, 0, path, "cannot open the dataset");
    hid_t s = H5Dget_space(d), t = H5Dget_type(d);
    hsize_t dims[2] = {0, 0};
    int rank = s < 0 ? -1 : H5Sget_simple_extent_ndims(s);
    int rc = CC_OK;
    H5T_class_t cls = t < 0 ? H5T_NO_CLASS : H5Tget_class(t);
    if (rank != (cols ? 2 : 1) || H5Sget_simple_extent_dims(s, dims, NULL) < 0 ||
        (cols && dims[1] != cols)) {
        rc = cc_h5_fail(&r->q, false, CC_EFORMAT, 0, path,
                        "expected a %s dataset%s", cols ? "2-D" : "1-D",
                        cols ? " with one column per tier" : "");
    } else if (cls != H5T_INTEGER && cls != H5T_FLOAT) {
        rc = cc_h5_fail(&r->q, false, CC_EFORMAT, 0, path, "expected numbers");
    } else if (want_rows != SIZE_MAX && dims[0] != want_rows) {
        rc = cc_h5_fail(&r->q, false, CC_EFORMAT, 0, path, "expected %zu rows, found %llu",
                        want_rows, (unsigned long long)dims[0]);
    } else {
        size_t cnt = (size_t)dims[0] * (cols ? cols : 1);
        *out = malloc(cnt ? cnt * elem : 1);
        if (!*out)
            rc = cc_h5_fail(&r->q, false, CC_ENOMEM, 0, path, "out of memory");
        else if (cnt && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0)
            rc = cc_h5_fail(&r->q, true, CC_EFORMAT, 0, path, "cannot read the dataset");
        *n = (size_t)dims[0];
    }
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    H5Dclose(d);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* Fixed-length strings dataset -> rows of width w (truncated). */
static int ds_strings(rd *r, const char *path, size_t want_rows, char *rows, size_t w)
{
    hid_t d = H5Lexists(r->f, path, H5P_DEFAULT) > 0 ? H5Dopen2(r->f, path, H5P_DEFAULT) : -1;
    if (d < 0)
        return cc_h5_fail(&r->q, false, CC_EFORMAT, 0, path, "missing dataset");
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    hsize_t dims[1] = {0};
    int rc = CC_OK;
    if (t < 0 || H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) > 0 ||
        H5Sget_simple_extent_ndims(s) != 1 || H5Sget_simple_extent_dims(s, dims, NULL) < 0 ||
        dims[0] != want_rows) {
        rc = cc_h5_fail(&r->q, false, CC_EFORMAT, 0, path,
                        "expected %zu fixed-length strings", want_rows);
    } else {
        size_t sz = H5Tget_size(t);
        char *buf = calloc(want_rows * sz + 1, 1);
        if (!buf || (want_rows && H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)) {
            rc = cc_h5_fail(&r->q, true, CC_EFORMAT, 0, path, "cannot read the strings");
        } else {
            for (size_t i = 0; i < want_rows; i++) {
                size_t len = strnlen(buf + i * sz, sz);
                if (len >= w)
                    len = w - 1;
                memcpy(rows + i * w, buf + i * sz, len);
                rows[i * w + len] = '\0';
            }
        }
        free(buf);
    }
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    H5Dclose(d);
    return rc;
}

static int grow_one(void **arr, size_t n, size_t size)
{
    void *p = realloc(*arr, (n + 1) * size);
    if (!p)
        return CC_ENOMEM;
    *arr = p;
    memset((char *)p + n * size, 0, size);
    return CC_OK;
}

/* ---- results and sweep files ----------------------------------------------- */

static int read_config(rd *r, cc_rep_run *u);

/* A float64 attribute of obj (NaN when absent). */
static double opt_f64(hid_t obj, const char *name)
{
    double v = NAN;
    if (H5Aexists(obj, name) <= 0)
        return v;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a >= 0) {
        if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0)
            v = NAN;
        H5Aclose(a);
    }
    return v;
}

/* A uint64 attribute of obj (0 when absent). */
static uint64_t opt_u64(hid_t obj, const char *name)
{
    uint64_t v = 0;
    if (H5Aexists(obj, name) <= 0)
        return v;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a >= 0) {
        if (H5Aread(a, H5T_NATIVE_UINT64, &v) < 0)
            v = 0;
        H5Aclose(a);
    }
    return v;
}

/* /semantic and /blend (schema 1.3, optional). */
static void read_tiers_outcome(rd *r, cc_rep_run *u)
{
    u->sem_hit_ratio = u->sem_false_hit_ratio = NAN;
    u->sem_ttft_hit_p50_s = u->sem_ttft_hit_p99_s = NAN;
    u->sem_ttft_miss_p50_s = u->sem_ttft_miss_p99_s = NAN;
    u->blend_token_hit_ratio = u->prefix_only_ttft_p50_s = u->prefix_only_ttft_p99_s = NAN;
    u->prefix_only_token_hit_ratio = NAN;
    hid_t g;
    if (H5Lexists(r->f, "/semantic", H5P_DEFAULT) > 0 &&
        (g = H5Gopen2(r->f, "/semantic", H5P_DEFAULT)) >= 0) {
        u->has_semantic = 1;
        u->sem_queries = opt_u64(g, "queries");
        u->sem_hits = opt_u64(g, "hits");
        u->sem_hit_input_tokens = opt_u64(g, "hit_input_tokens");
        u->sem_hit_ratio = opt_f64(g, "hit_ratio");
        u->sem_false_hit_ratio = opt_f64(g, "false_hit_ratio");
        u->sem_ttft_hit_p50_s = opt_f64(g, "ttft_hit_p50_s");
        u->sem_ttft_hit_p99_s = opt_f64(g, "ttft_hit_p99_s");
        u->sem_ttft_miss_p50_s = opt_f64(g, "ttft_miss_p50_s");
        u->sem_ttft_miss_p99_s = opt_f64(g, "ttft_miss_p99_s");
        H5Gclose(g);
    }
    if (H5Lexists(r->f, "/blend", H5P_DEFAULT) > 0 &&
        (g = H5Gopen2(r->f, "/blend", H5P_DEFAULT)) >= 0) {
        u->has_blend = 1;
        u->blend_tokens = opt_u64(g, "blend_tokens");
        u->blend_recompute_tokens = opt_u64(g, "recompute_tokens");
        u->blend_token_hit_ratio = opt_f64(g, "blend_token_hit_ratio");
        u->prefix_only_ttft_p50_s = opt_f64(g, "prefix_only_ttft_p50_s");
        u->prefix_only_ttft_p99_s = opt_f64(g, "prefix_only_ttft_p99_s");
        u->prefix_only_token_hit_ratio = opt_f64(g, "prefix_only_token_hit_ratio");
        H5Gclose(g);
    }
}

/* /sim's summary attributes and /cost's bills, both optional. */
static int read_sim_and_bills(rd *r, cc_rep_run *u)
{
    u->throughput_tokens_per_s = u->requests_per_s = u->makespan_s = NAN;
    u->prefill_gpu_s_saved = u->gpu_busy_s = NAN;
    if (H5Lexists(r->f, "/sim", H5P_DEFAULT) > 0) {
        hid_t g = H5Gopen2(r->f, "/sim", H5P_DEFAULT);
        if (g >= 0) {
            u->has_sim = 1;
            u->throughput_tokens_per_s = opt_f64(g, "throughput_tokens_per_s");
            u->requests_per_s = opt_f64(g, "requests_per_s");
            u->makespan_s = opt_f64(g, "makespan_s");
            u->prefill_gpu_s_saved = opt_f64(g, "prefill_gpu_s_saved");
            u->gpu_busy_s = opt_f64(g, "gpu_busy_s");
            H5Gclose(g);
        }
    }
    read_tiers_outcome(r, u);
    if (H5Lexists(r->f, "/cost", H5P_DEFAULT) > 0) {
        size_t n = 0;
        int rc = ds_read(r, "/cost/total_usd", H5T_NATIVE_DOUBLE, 8, 0, SIZE_MAX,
                         (void **)&u->bill_usd, &n);
        if (rc)
            return rc;
        u->bill_name = calloc(n ? n : 1, sizeof *u->bill_name);
        if (!u->bill_name)
            return cc_h5_fail(&r->q, false, CC_ENOMEM, 0, "/cost", "out of memory");
        if ((rc = ds_strings(r, "/cost/pricing", n, (char *)u->bill_name, sizeof *u->bill_name)))
            return rc;
        u->n_bills = n;
        size_t k = 0;
        if (H5Lexists(r->f, "/cost/no_cache_usd", H5P_DEFAULT) > 0) {
            if ((rc = ds_read(r, "/cost/no_cache_usd", H5T_NATIVE_DOUBLE, 8, 0, n,
                              (void **)&u->bill_no_cache_usd, &k)))
                return rc;
        } else { /* before schema 1.3 */
            if (!(u->bill_no_cache_usd = malloc((n ? n : 1) * sizeof(double))))
                return cc_h5_fail(&r->q, false, CC_ENOMEM, 0, "/cost", "out of memory");
            for (size_t i = 0; i < n; i++)
                u->bill_no_cache_usd[i] = NAN;
        }
        if (H5Lexists(r->f, "/cost/blend_total_usd", H5P_DEFAULT) > 0 &&
            (rc = ds_read(r, "/cost/blend_total_usd", H5T_NATIVE_DOUBLE, 8, 0, n,
                          (void **)&u->bill_blend_usd, &k)))
            return rc;
        if (H5Lexists(r->f, "/cost/requests", H5P_DEFAULT) > 0) {
            uint64_t *req = NULL;
            if ((rc = ds_read(r, "/cost/requests", H5T_NATIVE_UINT64, 8, 0, n, (void **)&req,
                              &k)))
                return rc;
            u->bill_requests = n ? req[0] : 0;
            free(req);
        }
    }
    u->serial = u->serial_service;
    return CC_OK;
}

static int read_run(rd *r, cc_rep_run *u)
{
    int rc;
#define A_STR(name, field) if ((rc = attr_read(r, name, H5T_C_S1, u->field, sizeof u->field))) return rc
#define A_U64(name, field) if ((rc = attr_read(r, name, H5T_NATIVE_UINT64, &u->field, 0))) return rc
#define A_F64(name, field) if ((rc = attr_read(r, name, H5T_NATIVE_DOUBLE, &u->field, 0))) return rc
    A_STR("trace", trace);
    A_STR("policy", policy);
    A_STR("tiers_spec", tiers_spec);
    A_STR("mode", mode);
    A_STR("concurrency", concurrency);
    A_STR("ctxcache_version", version);
    A_U64("block_size", block_size);
    A_U64("seed", seed);
    A_U64("requests", requests);
    A_U64("input_tokens", input_tokens);
    A_U64("computed_tokens", computed_tokens);
    A_U64("evictions", evictions);
    A_U64("bytes_moved", bytes_moved);
    A_U64("n_tiers", n_tiers);
    A_F64("block_hit_ratio", block_hit_ratio);
    A_F64("token_hit_ratio", token_hit_ratio);
    A_F64("request_hit_ratio_mean", request_hit_ratio_mean);
    A_F64("ideal_block_hit_ratio", ideal_block_hit_ratio);
    if (H5Aexists(r->f, "backend") > 0) {
        A_STR("backend", backend);
    } else {
        snprintf(u->backend, sizeof u->backend, "rates");
    }
#undef A_STR
#undef A_U64
#undef A_F64
    u->serial_service = !strcmp(u->concurrency, "none"); /* files before schema 1.2 */
    if (H5Aexists(r->f, "serial_service") > 0) {
        uint64_t serial = 0;
        if ((rc = attr_read(r, "serial_service", H5T_NATIVE_UINT64, &serial, 0)))
            return rc;
        u->serial_service = serial != 0;
    }
    if (u->n_tiers == 0 || u->n_tiers > 64)
        return cc_h5_fail(&r->q, false, CC_EFORMAT, 0, "/@n_tiers", "expected 1..64 tiers");
    size_t n = 0, m = 0;
    int64_t *arr = NULL, *first = NULL;
    if ((rc = ds_read(r, "/requests/arrival_ns", H5T_NATIVE_INT64, 8, 0, u->requests,
                      (void **)&arr, &n)) ||
        (rc = ds_read(r, "/requests/first_token_ns", H5T_NATIVE_INT64, 8, 0, u->requests,
                      (void **)&first, &m))) {
        free(arr);
        return rc;
    }
    u->ttft_s = malloc((n ? n : 1) * sizeof *u->ttft_s);
    if (!u->ttft_s) {
        free(arr);
        free(first);
        return cc_h5_fail(&r->q, false, CC_ENOMEM, 0, "/requests", "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        u->ttft_s[i] = (double)(first[i] - arr[i]) / 1e9;
    free(arr);
    free(first);
    qsort(u->ttft_s, n, sizeof *u->ttft_s, cmp_double);
    u->ttft_p50_s = cc_quantile_sorted(u->ttft_s, n, 0.50);
    u->ttft_p90_s = cc_quantile_sorted(u->ttft_s, n, 0.90);
    u->ttft_p99_s = cc_quantile_sorted(u->ttft_s, n, 0.99);

    size_t T = (size_t)u->n_tiers, k;
    u->tier_name = calloc(T, sizeof *u->tier_name);
    if (!u->tier_name)
        return cc_h5_fail(&r->q, false, CC_ENOMEM, 0, "/tiers", "out of memory");
    if ((rc = ds_strings(r, "/tiers/name", T, (char *)u->tier_name, sizeof *u->tier_name)) ||
        (rc = ds_read(r, "/tiers/capacity_blocks", H5T_NATIVE_UINT64, 8, 0, T,
                      (void **)&u->tier_capacity, &k)) ||
        (rc = ds_read(r, "/tiers/hit_tokens", H5T_NATIVE_UINT64, 8, 0, T,
                      (void **)&u->tier_hit_tokens, &k)))
        return rc;
    /* occupancy: optional (files written before it existed have none) */
    if (H5Lexists(r->f, "/occupancy", H5P_DEFAULT) > 0) {
        size_t a = 0, b = 0;
        if ((rc = ds_read(r, "/occupancy/time_ns", H5T_NATIVE_INT64, 8, 0, SIZE_MAX,
                          (void **)&u->occ_time_ns, &a)) ||
            (rc = ds_read(r, "/occupancy/used_blocks", H5T_NATIVE_UINT64, 8, T, a,
                          (void **)&u->occ_used, &b)))
            return rc;
        u->n_occ = a;
    }
    if ((rc = read_sim_and_bills(r, u)))
        return rc;
    return read_config(r, u);
}

/* /config's attributes (optional: files of schema 1.0 have none), in name
 * order (HDF5's name index), as strings. */
typedef struct cfg_it {
    rd *r;
    cc_rep_run *u;
    int rc;
} cfg_it;

static herr_t cfg_attr(hid_t obj, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    cfg_it *it = data;
    cc_rep_run *u = it->u;
    char where[160];
    snprintf(where, sizeof where, "/config@%s", name);
    if (grow_one((void **)&u->cfg_name, u->n_cfg, sizeof *u->cfg_name) ||
        grow_one((void **)&u->cfg_value, u->n_cfg, sizeof *u->cfg_value)) {
        it->rc = cc_h5_fail(&it->r->q, false, CC_ENOMEM, 0, where, "out of memory");
        return -1;
    }
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a < 0 ? -1 : H5Aget_type(a);
    if (t < 0 || H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) > 0) {
        it->rc = cc_h5_fail(&it->r->q, t < 0, CC_EFORMAT, 0, where,
                            "expected a fixed-length string");
    } else {
        size_t sz = H5Tget_size(t);
        char *buf = calloc(sz + 1, 1);
        if (!buf || H5Aread(a, t, buf) < 0) {
            it->rc = cc_h5_fail(&it->r->q, true, CC_EFORMAT, 0, where, "cannot read the string");
        } else {
            snprintf(u->cfg_name[u->n_cfg], sizeof *u->cfg_name, "%s", name);
            snprintf(u->cfg_value[u->n_cfg], sizeof *u->cfg_value, "%s", buf);
            u->n_cfg++;
        }
        free(buf);
    }
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return it->rc ? -1 : 0;
}

static int read_config(rd *r, cc_rep_run *u)
{
    u->instances = 1;
    if (H5Lexists(r->f, "/config", H5P_DEFAULT) <= 0)
        return CC_OK;
    hid_t g = H5Gopen2(r->f, "/config", H5P_DEFAULT);
    if (g < 0)
        return cc_h5_fail(&r->q, true, CC_EFORMAT, 0, "/config", "expected a group");
    cfg_it it = {r, u, CC_OK};
    hsize_t idx = 0;
    herr_t e = H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, &idx, cfg_attr, &it);
    H5Gclose(g);
    if (it.rc)
        return it.rc;
    if (e < 0)
        return cc_h5_fail(&r->q, true, CC_EFORMAT, 0, "/config", "cannot list the attributes");
    for (size_t j = 0; j < u->n_cfg; j++)
        if (!strcmp(u->cfg_name[j], "instances") && u->cfg_value[j][0]) {
            char *end;
            unsigned long long v = strtoull(u->cfg_value[j], &end, 10);
            if (*end || v == 0)
                return cc_h5_fail(&r->q, false, CC_EFORMAT, 0, "/config@instances",
                                  "expected a positive integer, found '%s'", u->cfg_value[j]);
            u->instances = v;
        }
    return CC_OK;
}

static int read_sweep(rd *r, cc_rep_sweep *s)
{
    uint64_t points = 0;
    int rc = attr_read(r, "points", H5T_NATIVE_UINT64, &points, 0);
    if (rc)
        return rc;
    size_t n = (size_t)points, k;
    s->n = n;
    s->policy = calloc(n ? n : 1, sizeof *s->policy);
    s->pricing = calloc(n ? n : 1, sizeof *s->pricing);
    if (!s->policy || !s->pricing)
        return cc_h5_fail(&r->q, false, CC_ENOMEM, 0, "/points", "out of memory");
    if ((rc = ds_strings(r, "/points/policy", n, (char *)s->policy, sizeof *s->policy)) ||
        (rc = ds_strings(r, "/points/pricing", n, (char *)s->pricing, sizeof *s->pricing)) ||
        (rc = ds_read(r, "/points/capacity_blocks_run", H5T_NATIVE_DOUBLE, 8, 0, n,
                      (void **)&s->capacity, &k)) ||
        (rc = ds_read(r, "/points/block_size", H5T_NATIVE_DOUBLE, 8, 0, n,
                      (void **)&s->block_size, &k)) ||
        (rc = ds_read(r, "/points/ttl_s", H5T_NATIVE_DOUBLE, 8, 0, n, (void **)&s->ttl_s, &k)) ||
        (rc = ds_read(r, "/points/block_hit_ratio", H5T_NATIVE_DOUBLE, 8, 0, n,
                      (void **)&s->block_hit_ratio, &k)) ||
        (rc = ds_read(r, "/points/token_hit_ratio", H5T_NATIVE_DOUBLE, 8, 0, n,
                      (void **)&s->token_hit_ratio, &k)))
        return rc;
    if (H5Lexists(r->f, "/points/cost_usd", H5P_DEFAULT) > 0) {
        if ((rc = ds_read(r, "/points/cost_usd", H5T_NATIVE_DOUBLE, 8, 0, n,
                          (void **)&s->cost_usd, &k)))
            return rc;
    }
    if (H5Lexists(r->f, "/points/ttft_p99_s", H5P_DEFAULT) > 0 &&
        (rc = ds_read(r, "/points/ttft_p99_s", H5T_NATIVE_DOUBLE, 8, 0, n,
                      (void **)&s->ttft_p99_s, &k)))
        return rc;
    /* the other axes (those of the file's schema; older files have fewer):
     * a column each where the points differ, so that no two points that
     * differ in them are shown as one */
    static const char *const axes[CC_REP_SWEEP_VARY] = {
        "trace", "tiers", "concurrency", "instances", "hardware", "model", "router",
        "scheduler", "tp"};
    s->vary_val = calloc(n ? n : 1, sizeof *s->vary_val);
    char(*col)[96] = calloc(n ? n : 1, 96);
    if (!s->vary_val || !col) {
        free(col);
        return cc_h5_fail(&r->q, false, CC_ENOMEM, 0, "/points", "out of memory");
    }
    for (size_t a = 0; a < CC_REP_SWEEP_VARY && rc == CC_OK; a++) {
        char path[64];
        snprintf(path, sizeof path, "/points/%s", axes[a]);
        if (H5Lexists(r->f, path, H5P_DEFAULT) <= 0)
            continue;
        hid_t d = H5Dopen2(r->f, path, H5P_DEFAULT);
        hid_t ty = d >= 0 ? H5Dget_type(d) : -1;
        int is_str = ty >= 0 && H5Tget_class(ty) == H5T_STRING;
        if (ty >= 0)
            H5Tclose(ty);
        if (d >= 0)
            H5Dclose(d);
        if (is_str) {
            rc = ds_strings(r, path, n, (char *)col, sizeof *col);
        } else {
            double *v = NULL;
            if ((rc = ds_read(r, path, H5T_NATIVE_DOUBLE, 8, 0, n, (void **)&v, &k)) == CC_OK)
                for (size_t i = 0; i < n; i++)
                    snprintf(col[i], sizeof col[i], "%.0f", v[i]);
            free(v);
        }
        if (rc != CC_OK)
            break;
        int varies = 0;
        for (size_t i = 1; i < n && !varies; i++)
            varies = strcmp(col[i], col[0]) != 0;
        if (!varies)
            continue;
        snprintf(s->vary_name[s->n_vary], sizeof s->vary_name[0], "%s", axes[a]);
        for (size_t i = 0; i < n; i++)
            memcpy(s->vary_val[i][s->n_vary], col[i], sizeof col[i]);
        s->n_vary++;
    }
    free(col);
    return rc;
}

static int read_plan_rows(rd *r, const char *g, cc_rep_plan_rows *p)
{
    char path[128];
    size_t n = 0, k;
    snprintf(path, sizeof path, "%s/rate_scale", g);
    int rc = ds_read(r, path, H5T_NATIVE_DOUBLE, 8, 0, SIZE_MAX, (void **)&p->rate_scale, &n);
    if (rc)
        return rc;
    p->n = n;
    static const char *const cols[] = {"usd_per_hour", "usd_per_mtok", "ttft_p99_s",
                                       "instances", "tp", "meets_slo"};
    double **dst[] = {&p->usd_per_hour, &p->usd_per_mtok, &p->ttft_p99_s, &p->instances, &p->tp,
                      &p->meets};
    for (size_t c = 0; c < 6; c++) {
        snprintf(path, sizeof path, "%s/%s", g, cols[c]);
        if ((rc = ds_read(r, path, H5T_NATIVE_DOUBLE, 8, 0, n, (void **)dst[c], &k)))
            return rc;
    }
    p->hardware = calloc(n ? n : 1, sizeof *p->hardware);
    p->tiers = calloc(n ? n : 1, sizeof *p->tiers);
    if (!p->hardware || !p->tiers)
        return cc_h5_fail(&r->q, false, CC_ENOMEM, 0, g, "out of memory");
    snprintf(path, sizeof path, "%s/hardware", g);
    if ((rc = ds_strings(r, path, n, (char *)p->hardware, sizeof *p->hardware)))
        return rc;
    snprintf(path, sizeof path, "%s/tiers", g);
    return ds_strings(r, path, n, (char *)p->tiers, sizeof *p->tiers);
}

static void free_plan_rows(cc_rep_plan_rows *p)
{
    free(p->rate_scale);
    free(p->usd_per_hour);
    free(p->usd_per_mtok);
    free(p->ttft_p99_s);
    free(p->instances);
    free(p->tp);
    free(p->meets);
    free(p->hardware);
    free(p->tiers);
}

static int add_h5(cc_report_inputs *in, const char *path, cc_err *err)
{
    rd r = {.f = -1};
    cc_h5_quiet_begin(&r.q, path, err);
    int rc;
    r.f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (r.f < 0) {
        rc = cc_h5_fail(&r.q, true, CC_EFORMAT, 0, NULL, "cannot open as HDF5");
        goto out;
    }
    char format[64] = "";
    if ((rc = attr_read(&r, "format", H5T_C_S1, format, sizeof format)))
        goto out;
    /* a newer major schema may rename or drop what is read below */
    if (!strcmp(format, "ctxcache-results") || !strcmp(format, "ctxcache-sweep")) {
        uint64_t major = 0;
        if ((rc = attr_read(&r, "schema_version", H5T_NATIVE_UINT64, &major, 0)))
            goto out;
        if (major != 1) {
            rc = cc_h5_fail(&r.q, false, CC_EFORMAT, 0, "/@schema_version",
                            "the file has schema %llu; this ctxcache (%s) reads schema 1 "
                            "(a newer ctxcache wrote it: report it with that version)",
                            (unsigned long long)major, CC_VERSION);
            goto out;
        }
    }
    if (!strcmp(format, "ctxcache-results")) {
        if ((rc = grow_one((void **)&in->runs, in->n_runs, sizeof *in->runs))) {
            rc = cc_h5_fail(&r.q, false, CC_ENOMEM, 0, NULL, "out of memory");
            goto out;
        }
        cc_rep_run *u = &in->runs[in->n_runs++];
        snprintf(u->path, sizeof u->path, "%s", path);
        rc = read_run(&r, u);
    } else if (!strcmp(format, "ctxcache-sweep")) {
        if ((rc = grow_one((void **)&in->sweeps, in->n_sweeps, sizeof *in->sweeps))) {
            rc = cc_h5_fail(&r.q, false, CC_ENOMEM, 0, NULL, "out of memory");
            goto out;
        }
        cc_rep_sweep *s = &in->sweeps[in->n_sweeps++];
        snprintf(s->path, sizeof s->path, "%s", path);
        rc = read_sweep(&r, s);
    } else if (!strcmp(format, "ctxcache-plan")) {
        if ((rc = grow_one((void **)&in->plans, in->n_plans, sizeof *in->plans))) {
            rc = cc_h5_fail(&r.q, false, CC_ENOMEM, 0, NULL, "out of memory");
            goto out;
        }
        cc_rep_plan *p = &in->plans[in->n_plans++];
        snprintf(p->path, sizeof p->path, "%s", path);
        if (!(rc = attr_read(&r, "slo", H5T_C_S1, p->slo, sizeof p->slo)) &&
            !(rc = read_plan_rows(&r, "/pareto", &p->pareto)))
            rc = read_plan_rows(&r, "/answers", &p->answers);
    } else {
        rc = cc_h5_fail(&r.q, false, CC_EFORMAT, 0, "/@format",
                        "found '%s'; expected ctxcache-results (replay -o), ctxcache-sweep "
                        "(sweep -o) or ctxcache-plan (plan -o)", format);
    }
out:
    if (r.f >= 0)
        H5Fclose(r.f);
    cc_h5_quiet_end(&r.q);
    return rc;
}

/* ---- CSVs -------------------------------------------------------------------- */

#define MRC_HEADER "capacity_blocks,miss_ratio,token_hit_ratio,policy,mode,method"
#define COST_HEADER "pricing,ttl_s,total_usd,"

/* Splits a CSV line (no quotes inside fields; surrounding quotes removed)
 * into at most max fields; returns the count. */
static size_t split(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        char *c = strchr(p, ',');
        if (c)
            *c = '\0';
        size_t len = strlen(p);
        if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
            p[len - 1] = '\0';
            p++;
        }
        f[n++] = p;
        if (!c)
            break;
        p = c + 1;
    }
    return n;
}

static int num(const char *path, long line, const char *col, const char *s, double *out,
               cc_err *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v))
        return cc_err_set(err, CC_EFORMAT, path, line, col, "expected a number, found '%s'", s);
    *out = v;
    return CC_OK;
}

static int add_csv(cc_report_inputs *in, const char *path, FILE *f, cc_err *err)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long ln = 0;
    int kind = 0, rc = CC_OK;
    cc_rep_mrc *m = NULL;
    cc_rep_cost *c = NULL;
    while ((len = getline(&line, &cap, f)) != -1) {
        ln++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (memchr(line, '\0', (size_t)len)) {
            rc = cc_err_set(err, CC_EFORMAT, path, ln, NULL, "binary data; expected CSV text");
            break;
        }
        if (ln == 1) {
            if (!strncmp(line, MRC_HEADER, strlen(MRC_HEADER))) {
                kind = 1;
                if (grow_one((void **)&in->mrcs, in->n_mrcs, sizeof *in->mrcs)) {
                    rc = cc_err_set(err, CC_ENOMEM, path, 0, NULL, "out of memory");
                    break;
                }
                m = &in->mrcs[in->n_mrcs++];
                snprintf(m->path, sizeof m->path, "%s", path);
            } else if (!strncmp(line, COST_HEADER, strlen(COST_HEADER)) &&
                       strstr(line, ",operator_usd")) {
                kind = 2;
                if (grow_one((void **)&in->costs, in->n_costs, sizeof *in->costs)) {
                    rc = cc_err_set(err, CC_ENOMEM, path, 0, NULL, "out of memory");
                    break;
                }
                c = &in->costs[in->n_costs++];
                snprintf(c->path, sizeof c->path, "%s", path);
            } else {
                rc = cc_err_set(err, CC_EFORMAT, path, 1, "header",
                                "expected an HDF5 results/sweep file, or a CSV with the header "
                                "of `ctxcache mrc -o` (" MRC_HEADER ",...) or of `ctxcache cost "
                                "--csv` (" COST_HEADER "...,operator_usd)");
                break;
            }
            continue;
        }
        if (len == 0)
            continue;
        char *fl[32];
        size_t nf = split(line, fl, 32);
        if (kind == 1) {
            if (nf < 6) {
                rc = cc_err_set(err, CC_EFORMAT, path, ln, "method",
                                "expected 6 or more columns, found %zu", nf);
                break;
            }
            double cap_b, mr;
            if ((rc = num(path, ln, "capacity_blocks", fl[0], &cap_b, err)) ||
                (rc = num(path, ln, "miss_ratio", fl[1], &mr, err)))
                break;
            size_t i = m->n;
            if (grow_one((void **)&m->capacity, i, sizeof *m->capacity) ||
                grow_one((void **)&m->miss_ratio, i, sizeof *m->miss_ratio) ||
                grow_one((void **)&m->series, i, sizeof *m->series)) {
                rc = cc_err_set(err, CC_ENOMEM, path, ln, NULL, "out of memory");
                break;
            }
            m->capacity[i] = cap_b;
            m->miss_ratio[i] = mr;
            snprintf(m->series[i], sizeof m->series[i], "%.40s %.20s (%.20s)", fl[3], fl[5],
                     fl[4]);
            m->n++;
        } else {
            if (nf < 17) {
                rc = cc_err_set(err, CC_EFORMAT, path, ln, "operator_usd",
                                "expected 17 columns, found %zu", nf);
                break;
            }
            double ttl, tot, op;
            if ((rc = num(path, ln, "ttl_s", fl[1], &ttl, err)) ||
                (rc = num(path, ln, "total_usd", fl[2], &tot, err)) ||
                (rc = num(path, ln, "operator_usd", fl[16], &op, err)))
                break;
            size_t i = c->n;
            if (grow_one((void **)&c->ttl_s, i, sizeof *c->ttl_s) ||
                grow_one((void **)&c->total_usd, i, sizeof *c->total_usd) ||
                grow_one((void **)&c->operator_usd, i, sizeof *c->operator_usd) ||
                grow_one((void **)&c->pricing, i, sizeof *c->pricing)) {
                rc = cc_err_set(err, CC_ENOMEM, path, ln, NULL, "out of memory");
                break;
            }
            c->ttl_s[i] = ttl;
            c->total_usd[i] = tot;
            c->operator_usd[i] = op;
            snprintf(c->pricing[i], sizeof c->pricing[i], "%s", fl[0]);
            c->n++;
        }
    }
    if (rc == CC_OK && ln == 0)
        rc = cc_err_set(err, CC_EFORMAT, path, 1, "header", "file is empty; expected an HDF5 "
                        "results/sweep file or an mrc/cost CSV");
    if (rc == CC_OK && ((kind == 1 && m->n == 0) || (kind == 2 && c->n == 0)))
        rc = cc_err_set(err, CC_EFORMAT, path, 2, NULL, "no rows after the header");
    free(line);
    return rc;
}

int cc_report_add(cc_report_inputs *in, const char *path, cc_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cc_err_set(err, CC_EIO, path, 0, NULL, "cannot open: %s", strerror(errno));
    unsigned char sig[8] = {0};
    size_t got = fread(sig, 1, 8, f);
    int rc;
    if (got == 8 && !memcmp(sig, "\x89HDF\r\n\x1a\n", 8)) {
        fclose(f);
        rc = add_h5(in, path, err);
        if (rc == CC_OK)
            cc_report_label_runs(in); /* what tells the runs apart changes with each run */
        return rc;
    }
    rewind(f);
    rc = add_csv(in, path, f, err);
    fclose(f);
    return rc;
}

void cc_report_inputs_free(cc_report_inputs *in)
{
    for (size_t i = 0; i < in->n_runs; i++) {
        cc_rep_run *u = &in->runs[i];
        free(u->ttft_s);
        free(u->tier_name);
        free(u->tier_capacity);
        free(u->tier_hit_tokens);
        free(u->occ_time_ns);
        free(u->occ_used);
        free(u->cfg_name);
        free(u->cfg_value);
        free(u->bill_name);
        free(u->bill_usd);
        free(u->bill_no_cache_usd);
        free(u->bill_blend_usd);
    }
    for (size_t i = 0; i < in->n_sweeps; i++) {
        cc_rep_sweep *s = &in->sweeps[i];
        free(s->policy);
        free(s->pricing);
        free(s->capacity);
        free(s->block_size);
        free(s->ttl_s);
        free(s->block_hit_ratio);
        free(s->token_hit_ratio);
        free(s->cost_usd);
        free(s->vary_val);
        free(s->ttft_p99_s);
    }
    for (size_t i = 0; i < in->n_mrcs; i++) {
        free(in->mrcs[i].capacity);
        free(in->mrcs[i].miss_ratio);
        free(in->mrcs[i].series);
    }
    for (size_t i = 0; i < in->n_costs; i++) {
        free(in->costs[i].pricing);
        free(in->costs[i].ttl_s);
        free(in->costs[i].total_usd);
        free(in->costs[i].operator_usd);
    }
    for (size_t i = 0; i < in->n_plans; i++) {
        free_plan_rows(&in->plans[i].pareto);
        free_plan_rows(&in->plans[i].answers);
    }
    free(in->plans);
    free(in->runs);
    free(in->sweeps);
    free(in->mrcs);
    free(in->costs);
    memset(in, 0, sizeof *in);
}
