/*
 * plan_h5.c -- writes a plan (analysis/plan.h) as one HDF5 file: root
 * attributes with the run's settings, /points/<column> one 1-D dataset per
 * figure (row i = the i-th simulated deployment, configuration order),
 * /answers/<column> one row per rate (the cheapest deployment meeting the
 * SLOs, or the closest), /pareto/<column> the cost x TTFT p99 front of
 * every rate, /configs/<column> every configuration with whether it fits.
 * Schema: docs/plan.md.
 *
 * As sweep_h5.c: written to PATH.tmp and renamed on success, deterministic
 * bytes (no wall-clock figure, no timestamps).  Cost: linear in points.
 */
#include "plan.h"

#include "../core/h5io.h"

#include <hdf5.h>

#include <stdlib.h>
#include <string.h>

#define PLAN_FORMAT "ctxcache-plan"
#define SCHEMA_VERSION 1

typedef cc_h5w w;

static int col_f64(w *W, const char *path, const double *d, size_t n)
{
    hsize_t dims[1] = {n};
    return cc_h5w_dataset(W, path, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, dims, d, CC_H5_PLAIN);
}

static int col_u64(w *W, const char *path, const uint64_t *u, size_t n)
{
    hsize_t dims[1] = {n};
    return cc_h5w_dataset(W, path, H5T_STD_U64LE, H5T_NATIVE_UINT64, 1, dims, u, CC_H5_PLAIN);
}

/* Text of configuration c's field k into buf (k: 0 hardware, 1 tiers,
 * 2 policy, 3 router). */
static const char *cfg_text(const cc_plan_spec *s, const cc_plan_config *c, int k, char *buf,
                            size_t len)
{
    switch (k) {
    case 0: return s->hw[c->hw].name;
    case 1: return cc_plan_tiers_spec(&s->tiers[c->tiers], buf, len);
    case 2: return s->policies[c->policy];
    default: return cc_sim_router_name(s->routers[c->router]);
    }
}

/* The columns describing rows whose configurations are cfg_of[i]. */
static int config_columns(w *W, const char *group, const cc_plan_spec *s,
                          const cc_plan_result *r, const uint32_t *cfg_of, size_t n,
                          uint64_t *u, const char **strs, char (*bufs)[128])
{
    static const char *const names[4] = {"hardware", "tiers", "policy", "router"};
    char path[256];
    int rc = CC_OK;
    for (int k = 0; rc == CC_OK && k < 4; k++) {
        for (size_t i = 0; i < n; i++)
            strs[i] = cfg_text(s, &r->configs[cfg_of[i]], k, bufs[i], sizeof bufs[i]);
        snprintf(path, sizeof path, "%s/%s", group, names[k]);
        rc = cc_h5w_strings(W, path, strs, n);
    }
    for (size_t i = 0; i < n; i++)
        u[i] = (uint64_t)r->configs[cfg_of[i]].tp;
    snprintf(path, sizeof path, "%s/tp", group);
    return rc ? rc : col_u64(W, path, u, n);
}

static int write_all(w *W, const cc_plan_spec *s, const cc_plan_result *r, const char *trace)
{
    int rc;
    char slo[512] = "", name[64];
    size_t at = 0;
    for (size_t k = 0; k < s->n_slos; k++)
        at += (size_t)snprintf(slo + at, sizeof slo - at, "%s%s=%.9gs", k ? "," : "",
                               cc_plan_slo_name(&s->slos[k], name, sizeof name),
                               s->slos[k].target_s);
    uint64_t runs = r->n_points;
    if ((rc = cc_h5w_attr_str(W, "/", "format", PLAN_FORMAT)) ||
        (rc = cc_h5w_attr_u64(W, "/", "schema_version", SCHEMA_VERSION)) ||
        (rc = cc_h5w_attr_str(W, "/", "trace", trace ? trace : "")) ||
        (rc = cc_h5w_attr_str(W, "/", "model", s->model.name)) ||
        (rc = cc_h5w_attr_str(W, "/", "slo", slo)) ||
        (rc = cc_h5w_attr_u64(W, "/", "max_instances", s->max_instances)) ||
        (rc = cc_h5w_attr_f64(W, "/", "hbm_fraction", s->hbm_fraction)) ||
        (rc = cc_h5w_attr_u64(W, "/", "content_less", (uint64_t)r->content_less)) ||
        (rc = cc_h5w_attr_u64(W, "/", "grid_points", r->grid_points)) ||
        (rc = cc_h5w_attr_u64(W, "/", "runs", runs)) ||
        (rc = cc_h5w_attr_str(W, "/", "ctxcache_version", CC_VERSION)))
        return rc;
    if ((rc = cc_h5w_group(W, "/points")) || (rc = cc_h5w_group(W, "/answers")) ||
        (rc = cc_h5w_group(W, "/pareto")) || (rc = cc_h5w_group(W, "/configs")))
        return rc;
    size_t n_pareto = 0;
    for (size_t k = 0; k < s->n_rates; k++)
        n_pareto += r->answers[k].n_pareto;
    size_t cap = r->n_points;
    if (cap < r->n_configs)
        cap = r->n_configs;
    if (cap < n_pareto)
        cap = n_pareto;
    if (cap < 1)
        cap = 1;
    double *d = malloc(cap * sizeof *d);
    uint64_t *u = malloc(cap * sizeof *u);
    uint32_t *cf = malloc(cap * sizeof *cf);
    const char **strs = malloc(cap * sizeof *strs);
    char (*bufs)[128] = malloc(cap * sizeof *bufs);
    const cc_plan_point **P = malloc(cap * sizeof *P);
    if (!d || !u || !cf || !strs || !bufs || !P) {
        rc = cc_err_set(W->q.err, CC_ENOMEM, W->q.path, 0, NULL, "out of memory");
        goto out;
    }
    /* three tables of points: every point, the answers, the fronts */
    for (int table = 0; table < 3 && rc == CC_OK; table++) {
        const char *g = table == 0 ? "/points" : table == 1 ? "/answers" : "/pareto";
        size_t n = 0;
        if (table == 0)
            for (size_t i = 0; i < r->n_points; i++)
                P[n++] = &r->points[i];
        else
            for (size_t k = 0; k < s->n_rates; k++) {
                const cc_plan_answer *A = &r->answers[k];
                if (table == 1 && A->point < r->n_points)
                    P[n++] = &r->points[A->point];
                for (size_t j = 0; table == 2 && j < A->n_pareto; j++)
                    P[n++] = &r->points[A->pareto[j]];
            }
        char path[256];
        for (size_t i = 0; i < n; i++)
            cf[i] = P[i]->config;
        if ((rc = config_columns(W, g, s, r, cf, n, u, strs, bufs)))
            break;
#define U64COL(NAME, EXPR)                                                                   \
    do {                                                                                     \
        for (size_t i = 0; i < n; i++)                                                       \
            u[i] = (uint64_t)(EXPR);                                                         \
        snprintf(path, sizeof path, "%s/%s", g, NAME);                                       \
        if (rc == CC_OK)                                                                     \
            rc = col_u64(W, path, u, n);                                                     \
    } while (0)
#define F64COL(NAME, EXPR)                                                                   \
    do {                                                                                     \
        for (size_t i = 0; i < n; i++)                                                       \
            d[i] = (EXPR);                                                                   \
        snprintf(path, sizeof path, "%s/%s", g, NAME);                                       \
        if (rc == CC_OK)                                                                     \
            rc = col_f64(W, path, d, n);                                                     \
    } while (0)
        U64COL("config", P[i]->config);
        F64COL("rate_scale", s->rates[P[i]->rate]);
        U64COL("instances", P[i]->instances);
        U64COL("meets_slo", P[i]->meets);
        F64COL("worst_slo_ratio", P[i]->worst_ratio);
        F64COL("ttft_p50_s", P[i]->ttft_p50_s);
        F64COL("ttft_p99_s", P[i]->ttft_p99_s);
        F64COL("tpot_p50_s", P[i]->tpot_p50_s);
        F64COL("tpot_p99_s", P[i]->tpot_p99_s);
        F64COL("e2e_p99_s", P[i]->e2e_p99_s);
        F64COL("throughput_tokens_per_s", P[i]->throughput_tokens_per_s);
        F64COL("token_hit_ratio", P[i]->token_hit_ratio);
        F64COL("usd_per_hour", P[i]->usd_per_hour);
        F64COL("usd_per_mtok", P[i]->usd_per_mtok);
        for (size_t k = 0; k < s->n_slos; k++) {
            char col[80];
            snprintf(col, sizeof col, "slo_%s",
                     cc_plan_slo_name(&s->slos[k], name, sizeof name));
            F64COL(col, P[i]->slo_value[k]);
        }
#undef U64COL
#undef F64COL
    }
    if (rc == CC_OK) { /* every configuration */
        size_t n = r->n_configs;
        for (size_t i = 0; i < n; i++)
            cf[i] = (uint32_t)i;
        rc = config_columns(W, "/configs", s, r, cf, n, u, strs, bufs);
        for (size_t i = 0; i < n; i++)
            u[i] = (uint64_t)r->configs[i].fits;
        if (rc == CC_OK)
            rc = col_u64(W, "/configs/fits", u, n);
        for (size_t i = 0; i < n; i++)
            strs[i] = r->configs[i].reason;
        if (rc == CC_OK)
            rc = cc_h5w_strings(W, "/configs/reason", strs, n);
        for (size_t i = 0; i < n; i++)
            d[i] = r->configs[i].usd_per_instance_hour;
        if (rc == CC_OK)
            rc = col_f64(W, "/configs/usd_per_instance_hour", d, n);
    }
out:
    free(d);
    free(u);
    free(cf);
    free(strs);
    free(bufs);
    free(P);
    return rc;
}

int cc_plan_write_h5(const char *path, const cc_plan_spec *s, const cc_plan_result *res,
                     const char *trace_path, cc_err *err)
{
    w W;
    int rc = cc_h5w_open(&W, path, err);
    if (rc != CC_OK)
        return rc;
    return cc_h5w_close(&W, write_all(&W, s, res, trace_path));
}
