/*
 * plan.c -- the SLO planner: the cheapest deployment that serves a trace
 * within its latency objectives at each rate (plan.h has the model, the
 * price formula and the search).
 *
 * How it runs: the spec's lists expand into configurations (hardware, tp,
 * tiers, policy, router; hardware outermost, router innermost), each
 * checked for fit first (sim/deploy.c: weights + HBM tier + the KV of the
 * longest request in tp devices' HBM; DRAM and SSD tiers within the host
 * share of the tp devices).  One pthread per CPU takes configurations in
 * turn; for each it walks the rates in ascending order and searches the
 * instance count (upwards from the count the previous rate needed, up to
 * the first that meets the SLOs), keeping every simulated deployment as a
 * point.  Points are
 * gathered in configuration order, then the answers and Pareto fronts are
 * computed from them, so nothing depends on the threads.
 *
 * Each rate gets one view of the trace: the same columns with its own
 * arrival array (arrival_ns / scale, rounded down; the first arrival stays
 * where it was), and for a trace without block hashes an empty block chain
 * per request (block_off all 0), which the driver serves by computing every
 * token.
 *
 * Costs: per configuration, (largest answer + number of rates) simulations
 * at most, each O(trace) (sim/driver.h); memory: one arrival array per rate, one point
 * (~200 bytes) per simulation.
 */
#include "plan.h"

#include "../policies/policy.h"
#include "../policies/pricing.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CONTENT_LESS_BLOCK_TOKENS 16 /* block size given to a trace without hashes
                                        (nothing is cached, so it only sizes tiers) */

/* ---- SLOs ------------------------------------------------------------------ */
static const char *const metric_names[] = {"ttft", "tpot", "e2e", "queue"};

const char *cc_plan_slo_name(const cc_plan_slo *s, char *buf, size_t len)
{
    snprintf(buf, len, "%s_p%d", metric_names[s->metric], s->pct);
    return buf;
}

double cc_plan_slo_value(const cc_plan_slo *s, const cc_sim_summary *sum)
{
    const cc_sim_dist *d = s->metric == CC_SLO_TTFT   ? &sum->ttft_s
                           : s->metric == CC_SLO_TPOT ? &sum->tpot_s
                           : s->metric == CC_SLO_E2E  ? &sum->e2e_s
                                                      : &sum->queue_s;
    return s->pct == 50 ? d->p50.value : s->pct == 90 ? d->p90.value : d->p99.value;
}

/* VALUE[s|ms|us] -> seconds; -1 when malformed. */
static double parse_seconds(const char *v)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || errno || !isfinite(x))
        return NAN;
    if (!*end || !strcmp(end, "s"))
        return x;
    if (!strcmp(end, "ms"))
        return x * 1e-3;
    if (!strcmp(end, "us"))
        return x * 1e-6;
    return NAN;
}

int cc_plan_slo_parse(const char *text, cc_plan_slo *out, size_t *n, cc_err *err)
{
    *n = 0;
    if (!text || !*text)
        return cc_err_set(err, CC_EARG, NULL, 0, "slo", "empty SLO list (e.g. ttft_p99=1s)");
    char buf[1024];
    if (strlen(text) >= sizeof buf)
        return cc_err_set(err, CC_EARG, NULL, 0, "slo", "SLO list too long");
    strcpy(buf, text);
    char *save = NULL;
    for (char *part = strtok_r(buf, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(part, '=');
        if (!eq)
            return cc_err_set(err, CC_EARG, NULL, 0, "slo",
                              "'%s': expected METRIC_pQ=VALUE, e.g. ttft_p99=1s", part);
        *eq = '\0';
        cc_plan_slo s = {0};
        char *us = strrchr(part, '_');
        int m = -1;
        for (int k = 0; us && k < 4; k++)
            if ((size_t)(us - part) == strlen(metric_names[k]) &&
                !strncmp(part, metric_names[k], strlen(metric_names[k])))
                m = k;
        if (m < 0)
            return cc_err_set(err, CC_EARG, NULL, 0, "slo",
                              "unknown SLO metric '%s': expected ttft, tpot, e2e or queue with "
                              "a percentile p50, p90 or p99 (e.g. ttft_p99)", part);
        if (!strcmp(us, "_p50"))
            s.pct = 50;
        else if (!strcmp(us, "_p90"))
            s.pct = 90;
        else if (!strcmp(us, "_p99"))
            s.pct = 99;
        else
            return cc_err_set(err, CC_EARG, NULL, 0, "slo",
                              "unknown SLO metric '%s': the percentile must be p50, p90 or p99",
                              part);
        s.metric = (cc_slo_metric)m;
        s.target_s = parse_seconds(eq + 1);
        if (!(s.target_s > 0))
            return cc_err_set(err, CC_EARG, NULL, 0, "slo",
                              "%s=%s: expected a positive time (1s, 50ms, 200us)", part, eq + 1);
        for (size_t k = 0; k < *n; k++)
            if (out[k].metric == s.metric && out[k].pct == s.pct)
                return cc_err_set(err, CC_EARG, NULL, 0, "slo", "%s given twice", part);
        if (*n == CC_PLAN_MAX_SLOS)
            return cc_err_set(err, CC_EARG, NULL, 0, "slo", "at most %d SLOs",
                              CC_PLAN_MAX_SLOS);
        out[(*n)++] = s;
    }
    if (!*n)
        return cc_err_set(err, CC_EARG, NULL, 0, "slo", "empty SLO list (e.g. ttft_p99=1s)");
    return CC_OK;
}

/* ---- tier grids ---------------------------------------------------------- */
static int parse_bytes(const char *s, double *out)
{
    static const struct { const char *u; double m; } units[] = {
        {"", 1},   {"B", 1},    {"KB", 1e3},       {"MB", 1e6},          {"GB", 1e9},
        {"TB", 1e12}, {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0},
        {"TiB", 1099511627776.0},
    };
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0)
        return -1;
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (!strcmp(end, units[k].u)) {
            *out = v * units[k].m;
            return 0;
        }
    return -1;
}

int cc_plan_tiers_parse(const char *text, cc_plan_tiers **out, size_t *n, cc_err *err)
{
    *out = NULL;
    *n = 0;
    double sizes[3][CC_PLAN_MAX_LIST];
    size_t cnt[3] = {1, 1, 1};
    sizes[0][0] = sizes[1][0] = sizes[2][0] = 0;
    int seen[3] = {0, 0, 0};
    static const char *const names[3] = {"hbm", "dram", "ssd"};
    char buf[1024];
    if (!text || !*text || strlen(text) >= sizeof buf)
        return cc_err_set(err, CC_EARG, NULL, 0, "tiers-grid",
                          "expected e.g. hbm=8GiB|16GiB,dram=0|64GiB,ssd=0|1TB");
    strcpy(buf, text);
    char *save = NULL;
    for (char *part = strtok_r(buf, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(part, '=');
        if (!eq)
            return cc_err_set(err, CC_EARG, NULL, 0, "tiers-grid",
                              "'%s': expected TIER=SIZE|SIZE... (TIER hbm, dram or ssd)", part);
        *eq = '\0';
        int k = -1;
        for (int j = 0; j < 3; j++)
            if (!strcmp(part, names[j]))
                k = j;
        if (k < 0)
            return cc_err_set(err, CC_EARG, NULL, 0, "tiers-grid",
                              "unknown tier '%s': expected hbm, dram or ssd", part);
        if (seen[k])
            return cc_err_set(err, CC_EARG, NULL, 0, "tiers-grid", "tier %s given twice", part);
        seen[k] = 1;
        cnt[k] = 0;
        char *save2 = NULL;
        for (char *v = strtok_r(eq + 1, "|", &save2); v; v = strtok_r(NULL, "|", &save2)) {
            if (cnt[k] == CC_PLAN_MAX_LIST)
                return cc_err_set(err, CC_EARG, NULL, 0, "tiers-grid",
                                  "tier %s: at most %d sizes", part, CC_PLAN_MAX_LIST);
            if (parse_bytes(v, &sizes[k][cnt[k]]))
                return cc_err_set(err, CC_EARG, NULL, 0, "tiers-grid",
                                  "tier %s: '%s' is not a size (bytes with a unit: B, KB, MB, "
                                  "GB, TB, KiB, MiB, GiB, TiB)", part, v);
            cnt[k]++;
        }
        if (!cnt[k])
            return cc_err_set(err, CC_EARG, NULL, 0, "tiers-grid", "tier %s: no size", part);
    }
    size_t total = cnt[0] * cnt[1] * cnt[2];
    cc_plan_tiers *t = calloc(total, sizeof *t);
    if (!t)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "tiers-grid", "out of memory");
    size_t m = 0;
    for (size_t a = 0; a < cnt[0]; a++)
        for (size_t b = 0; b < cnt[1]; b++)
            for (size_t c = 0; c < cnt[2]; c++) {
                cc_plan_tiers x = {sizes[0][a], sizes[1][b], sizes[2][c]};
                if (x.hbm_bytes == 0 && x.dram_bytes == 0 && x.ssd_bytes == 0) {
                    free(t);
                    return cc_err_set(err, CC_EARG, NULL, 0, "tiers-grid",
                                      "a combination with no tier at all (every size 0); give "
                                      "one tier a size");
                }
                t[m++] = x;
            }
    *out = t;
    *n = m;
    return CC_OK;
}

/* Bytes in the largest unit that divides them exactly (GB before GiB). */
static void size_text(double b, char *buf, size_t len)
{
    static const struct { const char *u; double m; } units[] = {
        {"TB", 1e12}, {"TiB", 1099511627776.0}, {"GB", 1e9}, {"GiB", 1073741824.0},
        {"MB", 1e6}, {"MiB", 1048576.0}, {"KB", 1e3}, {"KiB", 1024.0},
    };
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (b >= units[k].m && fmod(b, units[k].m) == 0) {
            snprintf(buf, len, "%.0f%s", b / units[k].m, units[k].u);
            return;
        }
    snprintf(buf, len, "%.0fB", b);
}

const char *cc_plan_tiers_spec(const cc_plan_tiers *t, char *buf, size_t len)
{
    const double v[3] = {t->hbm_bytes, t->dram_bytes, t->ssd_bytes};
    static const char *const names[3] = {"hbm", "dram", "ssd"};
    size_t at = 0;
    buf[0] = '\0';
    for (int k = 0; k < 3; k++) {
        if (v[k] <= 0)
            continue;
        char s[32];
        size_text(v[k], s, sizeof s);
        at += (size_t)snprintf(buf + at, at < len ? len - at : 0, "%s%s:%s", at ? "," : "",
                               names[k], s);
    }
    return buf;
}

/* ---- spec ------------------------------------------------------------------ */
void cc_plan_spec_default(cc_plan_spec *s)
{
    memset(s, 0, sizeof *s);
    s->rates[0] = 1;
    s->n_rates = 1;
    snprintf(s->policies[0], sizeof s->policies[0], "lru");
    s->n_policies = 1;
    s->routers[0] = CC_SIM_ROUTER_LEAST_LOADED;
    s->n_routers = 1;
    s->max_instances = 64;
    s->hbm_fraction = 0.9;
    cc_sim_config_default(&s->sim);
    s->sim.bootstrap = 100;
    s->seed = 1;
}

uint64_t cc_plan_grid_points(const cc_plan_spec *s)
{
    uint64_t tp = s->n_tp ? s->n_tp : 1;
    return (uint64_t)s->n_hw * tp * s->n_tiers * s->n_policies * s->n_routers * s->n_rates *
           s->max_instances;
}

/* ---- the run ------------------------------------------------------------- */
typedef struct cfg_run {
    cc_pc_config pc;
    int tier_kind[CC_PC_MAX_TIERS];
    cc_plan_point *pts;  /* this configuration's points, in the order run */
    size_t n, cap;
    int rc;
    cc_err err;
} cfg_run;

typedef struct plan_ctx {
    const cc_plan_spec *s;
    cc_trace *views;     /* one per spec rate */
    cc_plan_config *cfgs;
    cfg_run *runs;
    size_t n_cfgs;
    uint32_t order[CC_PLAN_MAX_LIST]; /* rate indices, ascending rate */
    size_t next;         /* next configuration to take (under mu) */
    pthread_mutex_t mu;
} plan_ctx;

static int add_point(cfg_run *R, const cc_plan_point *p)
{
    if (R->n == R->cap) {
        size_t nc = R->cap ? 2 * R->cap : 16;
        cc_plan_point *q = realloc(R->pts, nc * sizeof *q);
        if (!q)
            return cc_err_set(&R->err, CC_ENOMEM, NULL, 0, "plan", "out of memory for points");
        R->pts = q;
        R->cap = nc;
    }
    R->pts[R->n++] = *p;
    return CC_OK;
}

/* Simulates configuration c with n instances at rate r into *p. */
static int run_point(const plan_ctx *C, size_t c, uint32_t r, uint32_t n, cc_plan_point *p,
                     cc_err *err)
{
    const cc_plan_spec *s = C->s;
    const cc_plan_config *cf = &C->cfgs[c];
    const cfg_run *R = &C->runs[c];
    const cc_sim_hw *hw = &s->hw[cf->hw];
    cc_sim_config sc = s->sim;
    sc.instances = n;
    sc.router = s->routers[cf->router];
    sc.concurrency = CC_CONCURRENCY_IMMEDIATE; /* requests overlap, whatever the defaults */
    sc.hbm_kv_tokens = cf->hbm_kv_tokens;
    sc.kv_bytes_per_token = cc_sim_model_kv_bytes_per_token(&s->model);
    sc.n_layers = (uint32_t)s->model.n_layers;
    sc.seed = s->seed;
    for (int k = 0; k < CC_PC_MAX_TIERS; k++)
        sc.tier_kind[k] = R->tier_kind[k];
    cc_costmodel_opts o;
    cc_costmodel_opts_default(&o);
    o.tp = cf->tp;
    cc_executor ex = {0};
    int rc = cc_costmodel_create(hw, &s->model, &o, &ex, err);
    if (rc)
        return rc;
    cc_replay_opts ro = {.concurrency = CC_CONCURRENCY_IMMEDIATE};
    cc_sim_result res;
    rc = cc_sim_run(&C->views[r], &R->pc, &ro, &sc, &ex, 1, &res, err);
    cc_executor_free(&ex);
    if (rc)
        return rc;
    const cc_sim_summary *S = &res.summary;
    memset(p, 0, sizeof *p);
    p->config = (uint32_t)c;
    p->rate = r;
    p->instances = n;
    p->worst_ratio = 0;
    for (size_t k = 0; k < s->n_slos; k++) {
        p->slo_value[k] = cc_plan_slo_value(&s->slos[k], S);
        double ratio = p->slo_value[k] / s->slos[k].target_s;
        if (ratio > p->worst_ratio)
            p->worst_ratio = ratio;
    }
    p->meets = p->worst_ratio <= 1;
    p->ttft_p50_s = S->ttft_s.p50.value;
    p->ttft_p99_s = S->ttft_s.p99.value;
    p->tpot_p50_s = S->tpot_s.p50.value;
    p->tpot_p99_s = S->tpot_s.p99.value;
    p->e2e_p99_s = S->e2e_s.p99.value;
    p->throughput_tokens_per_s = S->throughput_tokens_per_s;
    uint64_t cached = 0, input = 0;
    for (uint32_t k = 0; k < res.n_tiers && k < CC_PC_MAX_TIERS; k++)
        cached += S->cached_tokens_tier[k];
    for (size_t i = 0; i < res.n; i++)
        input += res.records[i].input_tokens;
    p->token_hit_ratio = input ? (double)cached / (double)input : 0;
    p->usd_per_hour = n * cf->usd_per_instance_hour;
    p->usd_per_mtok = p->throughput_tokens_per_s > 0
                          ? p->usd_per_hour / (3600.0 * p->throughput_tokens_per_s / 1e6)
                          : INFINITY;
    cc_sim_result_free(&res);
    return CC_OK;
}

/* The search for configuration c: every rate, ascending.  At each rate the
 * instance counts from lo up, stopping at the first that meets the SLOs;
 * lo is the count the previous (lower) rate needed (a higher rate does not
 * need fewer).  Not a bisection: TTFT is only roughly monotone in the
 * instances (more instances split the cache's traffic; on the generated
 * workload p99 goes 0.142, 0.147, 0.114 s at 3, 4, 5 instances), and a
 * bisection would then miss the first count that meets a target. */
static int search_config(plan_ctx *C, size_t c)
{
    const cc_plan_spec *s = C->s;
    cfg_run *R = &C->runs[c];
    uint32_t lo = 1;
    for (size_t oi = 0; oi < s->n_rates; oi++) {
        uint32_t r = C->order[oi], n;
        for (n = lo; n <= s->max_instances; n++) {
            cc_plan_point p;
            int rc = run_point(C, c, r, n, &p, &R->err);
            if (rc || (rc = add_point(R, &p)))
                return rc;
            if (p.meets)
                break;
        }
        lo = n <= s->max_instances ? n : s->max_instances;
    }
    return CC_OK;
}

static void *worker(void *arg)
{
    plan_ctx *C = arg;
    for (;;) {
        pthread_mutex_lock(&C->mu);
        size_t c = C->next < C->n_cfgs ? C->next++ : C->n_cfgs;
        pthread_mutex_unlock(&C->mu);
        if (c == C->n_cfgs)
            return NULL;
        uint32_t ranks = C->s->ranks ? C->s->ranks : 1;
        if (C->cfgs[c].fits && c % ranks == C->s->rank)
            C->runs[c].rc = search_config(C, c);
    }
}

/* The prefix-cache configuration of tiers t for policy spec pol. */
static int build_pc(const cc_plan_spec *s, const cc_plan_tiers *t, const char *pol,
                    uint32_t block_tokens, cfg_run *R, char *why, size_t why_len, cc_err *err)
{
    const cc_policy_ops *ops;
    cc_policy_params pp;
    int rc = cc_policy_parse(pol, &ops, &pp, err);
    if (rc)
        return rc;
    memset(&R->pc, 0, sizeof R->pc);
    R->pc.mode = CC_PC_PREFIX;
    R->pc.block_tokens = block_tokens;
    R->pc.kv_bytes_per_block =
        (uint64_t)(cc_sim_model_kv_bytes_per_token(&s->model) * block_tokens);
    R->pc.seed = s->seed;
    const double bytes[3] = {t->hbm_bytes, t->dram_bytes, t->ssd_bytes};
    static const char *const names[3] = {"hbm", "dram", "ssd"};
    static const int kinds[3] = {CC_SIM_TIER_HBM, CC_SIM_TIER_DRAM, CC_SIM_TIER_SSD};
    why[0] = '\0';
    for (int k = 0; k < 3; k++) {
        if (bytes[k] <= 0)
            continue;
        uint64_t blocks = (uint64_t)(bytes[k] / (double)R->pc.kv_bytes_per_block);
        if (blocks == 0) {
            snprintf(why, why_len, "the %s tier (%.3g bytes) holds less than one block of %llu "
                     "bytes", names[k], bytes[k], (unsigned long long)R->pc.kv_bytes_per_block);
            return CC_OK;
        }
        cc_tier_config *tc = &R->pc.tiers[R->pc.n_tiers];
        snprintf(tc->name, sizeof tc->name, "%s", names[k]);
        tc->capacity_blocks = blocks;
        tc->policy = ops;
        tc->policy_params = pp;
        R->tier_kind[R->pc.n_tiers] = kinds[k];
        R->pc.n_tiers++;
    }
    return CC_OK;
}

/* Fit of configuration cf (its tp set); 1 when it fits, else 0 with why. */
static int config_fits(const cc_plan_spec *s, const cc_plan_tiers *t, double max_request_tokens,
                       cc_plan_config *cf)
{
    const cc_sim_hw *hw = &s->hw[cf->hw];
    cc_sim_fit fit;
    cc_err e = {0};
    double min_kv = max_request_tokens * cc_sim_model_kv_bytes_per_token(&s->model);
    if (cc_sim_fit_compute(hw, &s->model, cf->tp, s->hbm_fraction, t->hbm_bytes, min_kv, &fit,
                           &e) != CC_OK) {
        snprintf(cf->reason, sizeof cf->reason, "%s", e.msg);
        return 0;
    }
    if (t->dram_bytes > cf->tp * hw->dram_bytes) {
        snprintf(cf->reason, sizeof cf->reason,
                 "the DRAM tier (%.3g GB) exceeds the host memory of %d x %s (%.3g GB)",
                 t->dram_bytes / 1e9, cf->tp, hw->name, cf->tp * hw->dram_bytes / 1e9);
        return 0;
    }
    if (t->ssd_bytes > cf->tp * hw->nvme_bytes) {
        snprintf(cf->reason, sizeof cf->reason,
                 "the SSD tier (%.3g GB) exceeds the NVMe of %d x %s (%.3g GB)",
                 t->ssd_bytes / 1e9, cf->tp, hw->name, cf->tp * hw->nvme_bytes / 1e9);
        return 0;
    }
    cf->hbm_kv_tokens = fit.kv_tokens;
    return 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Pareto front and answer of rate r over all points. */
static int answer_rate(cc_plan_result *res, uint32_t r, cc_err *err)
{
    cc_plan_answer *A = &res->answers[r];
    size_t m = 0;
    size_t *idx = malloc((res->n_points ? res->n_points : 1) * sizeof *idx);
    if (!idx)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "plan", "out of memory");
    for (size_t i = 0; i < res->n_points; i++)
        if (res->points[i].rate == r)
            idx[m++] = i;
    /* insertion sort by (cost, TTFT p99, index): points are few (hundreds) */
    for (size_t i = 1; i < m; i++) {
        size_t v = idx[i], j = i;
        const cc_plan_point *pv = &res->points[v];
        while (j > 0) {
            const cc_plan_point *pu = &res->points[idx[j - 1]];
            int before = pv->usd_per_hour < pu->usd_per_hour ||
                         (pv->usd_per_hour == pu->usd_per_hour &&
                          (pv->ttft_p99_s < pu->ttft_p99_s ||
                           (pv->ttft_p99_s == pu->ttft_p99_s && v < idx[j - 1])));
            if (!before)
                break;
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
    A->met = 0;
    A->point = SIZE_MAX;
    for (size_t i = 0; i < m; i++)
        if (res->points[idx[i]].meets) {
            A->met = 1;
            A->point = idx[i];
            break;
        }
    if (!A->met)
        for (size_t i = 0; i < m; i++)
            if (A->point == SIZE_MAX ||
                res->points[idx[i]].worst_ratio < res->points[A->point].worst_ratio)
                A->point = idx[i];
    size_t np = 0;
    double best = INFINITY;
    for (size_t i = 0; i < m; i++)
        if (res->points[idx[i]].ttft_p99_s < best) {
            best = res->points[idx[i]].ttft_p99_s;
            idx[np++] = idx[i];
        }
    A->pareto = idx;
    A->n_pareto = np;
    return CC_OK;
}

int cc_plan_run(const cc_trace *t, const cc_plan_spec *s, cc_plan_result *res, cc_err *err)
{
    memset(res, 0, sizeof *res);
    double t0 = now_s();
    if (!s->n_slos)
        return cc_err_set(err, CC_EARG, NULL, 0, "slo", "no SLO given");
    if (!s->n_hw)
        return cc_err_set(err, CC_EARG, NULL, 0, "hardware", "no hardware given");
    if (!s->n_rates || !s->n_tiers || !s->n_policies || !s->n_routers)
        return cc_err_set(err, CC_EARG, NULL, 0, "plan", "an empty list in the grid");
    if (s->max_instances < 1)
        return cc_err_set(err, CC_EARG, NULL, 0, "max_instances", "expected at least 1");
    if (!t->n)
        return cc_err_set(err, CC_EARG, t->source, 0, "requests", "the trace has no requests");
    for (size_t i = 0; i < s->n_hw; i++)
        if (!(s->hw[i].usd_per_hour > 0))
            return cc_err_set(err, CC_EARG, NULL, 0, "hardware",
                              "%s has no price: add usd_per_hour (USD per device-hour, with its "
                              "source) to its profile", s->hw[i].name);
    for (size_t i = 0; i < s->n_rates; i++)
        if (!(s->rates[i] > 0) || !isfinite(s->rates[i]))
            return cc_err_set(err, CC_EARG, NULL, 0, "rate_scale",
                              "expected positive rate scales, got %g", s->rates[i]);
    for (size_t i = 0; i < s->n_tp; i++) {
        int rc = cc_sim_tp_check(&s->model, s->tp[i], err);
        if (rc)
            return rc;
    }
    const cc_econ_tier *dram = cc_econ_tier_find("dram"), *ssd = cc_econ_tier_find("ssd");
    res->grid_points = cc_plan_grid_points(s);
    res->content_less = t->block_size == 0 || !t->blocks || !t->block_off;
    uint32_t block_tokens = res->content_less ? CONTENT_LESS_BLOCK_TOKENS : t->block_size;
    double max_req = 0;
    for (size_t i = 0; i < t->n; i++)
        max_req = fmax(max_req, (double)t->input_tokens[i] + t->output_tokens[i]);

    plan_ctx C = {.s = s};
    size_t n_tp = s->n_tp ? s->n_tp : 1;
    C.n_cfgs = s->n_hw * n_tp * s->n_tiers * s->n_policies * s->n_routers;
    C.cfgs = calloc(C.n_cfgs, sizeof *C.cfgs);
    C.runs = calloc(C.n_cfgs, sizeof *C.runs);
    C.views = calloc(s->n_rates, sizeof *C.views);
    uint64_t *zeros = res->content_less ? calloc(t->n + 1, sizeof *zeros) : NULL;
    int rc = CC_OK;
    if (!C.cfgs || !C.runs || !C.views || (res->content_less && !zeros)) {
        rc = cc_err_set(err, CC_ENOMEM, NULL, 0, "plan", "out of memory");
        goto out;
    }
    /* one view of the trace per rate */
    for (size_t r = 0; r < s->n_rates; r++) {
        cc_trace *v = &C.views[r];
        *v = *t;
        v->arrival_ns = malloc(t->n * sizeof *v->arrival_ns);
        if (!v->arrival_ns) {
            rc = cc_err_set(err, CC_ENOMEM, NULL, 0, "plan", "out of memory");
            goto out;
        }
        int64_t a0 = t->arrival_ns[0];
        for (size_t i = 0; i < t->n; i++)
            v->arrival_ns[i] = a0 + (int64_t)((double)(t->arrival_ns[i] - a0) / s->rates[r]);
        if (res->content_less) {
            v->block_size = block_tokens;
            v->block_off = zeros;
            v->blocks = zeros; /* never read: every chain is empty */
        }
    }
    /* rates ascending (stable: equal rates keep their order) */
    for (size_t r = 0; r < s->n_rates; r++)
        C.order[r] = (uint32_t)r;
    for (size_t i = 1; i < s->n_rates; i++)
        for (size_t j = i; j > 0 && s->rates[C.order[j]] < s->rates[C.order[j - 1]]; j--) {
            uint32_t x = C.order[j];
            C.order[j] = C.order[j - 1];
            C.order[j - 1] = x;
        }
    /* configurations: hardware, tp, tiers, policy, router (router innermost) */
    size_t c = 0, n_fit = 0;
    for (size_t h = 0; h < s->n_hw; h++)
        for (size_t p = 0; p < n_tp; p++)
            for (size_t ti = 0; ti < s->n_tiers; ti++)
                for (size_t po = 0; po < s->n_policies; po++)
                    for (size_t ro = 0; ro < s->n_routers; ro++, c++) {
                        cc_plan_config *cf = &C.cfgs[c];
                        cfg_run *R = &C.runs[c];
                        const cc_plan_tiers *tt = &s->tiers[ti];
                        cf->hw = (uint32_t)h;
                        cf->tiers = (uint32_t)ti;
                        cf->policy = (uint32_t)po;
                        cf->router = (uint32_t)ro;
                        char why[320];
                        if ((rc = build_pc(s, tt, s->policies[po], block_tokens, R, why,
                                           sizeof why, err)))
                            goto out;
                        if (why[0]) {
                            cf->tp = s->n_tp ? s->tp[p] : 1;
                            snprintf(cf->reason, sizeof cf->reason, "%s", why);
                            continue;
                        }
                        if (s->n_tp) {
                            cf->tp = s->tp[p];
                            cf->fits = config_fits(s, tt, max_req, cf);
                        } else { /* auto: the smallest degree that fits */
                            static const int auto_tp[] = {1, 2, 4, 8};
                            for (size_t k = 0; k < 4 && !cf->fits; k++) {
                                cc_err e = {0};
                                cf->tp = auto_tp[k];
                                if (cc_sim_tp_check(&s->model, cf->tp, &e) == CC_OK)
                                    cf->fits = config_fits(s, tt, max_req, cf);
                            }
                        }
                        const cc_sim_hw *hw = &s->hw[h];
                        cf->usd_per_instance_hour =
                            cf->tp * hw->usd_per_hour +
                            tt->dram_bytes / 1e9 * (dram ? dram->usd_per_gb_hour : 0) +
                            tt->ssd_bytes / 1e9 * (ssd ? ssd->usd_per_gb_hour : 0);
                        n_fit += cf->fits != 0;
                    }
    if (!n_fit) {
        rc = cc_err_set(err, CC_ERANGE, NULL, 0, "hbm", "no configuration fits; the first: %s",
                        C.cfgs[0].reason);
        goto out;
    }
    uint32_t threads = s->threads;
    if (!threads) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = nc > 0 ? (uint32_t)nc : 1;
    }
    size_t n_mine = 0; /* configurations this process searches */
    for (c = 0; c < C.n_cfgs; c++)
        n_mine += C.cfgs[c].fits && c % (s->ranks ? s->ranks : 1) == s->rank;
    if (threads > n_mine)
        threads = n_mine ? (uint32_t)n_mine : 1;
    pthread_mutex_init(&C.mu, NULL);
    pthread_t *tid = calloc(threads, sizeof *tid);
    uint32_t started = 0;
    for (; tid && started < threads; started++)
        if (pthread_create(&tid[started], NULL, worker, &C) != 0)
            break;
    if (!started)
        worker(&C); /* no thread could start: run here */
    for (uint32_t k = 0; k < started; k++)
        pthread_join(tid[k], NULL);
    free(tid);
    pthread_mutex_destroy(&C.mu);
    for (c = 0; c < C.n_cfgs; c++)
        if (C.runs[c].rc) {
            *err = C.runs[c].err;
            rc = C.runs[c].rc;
            goto out;
        }
    /* gather in configuration order */
    size_t total = 0;
    for (c = 0; c < C.n_cfgs; c++)
        total += C.runs[c].n;
    res->points = malloc((total ? total : 1) * sizeof *res->points);
    if (!res->points) {
        rc = cc_err_set(err, CC_ENOMEM, NULL, 0, "plan", "out of memory");
        goto out;
    }
    for (c = 0; c < C.n_cfgs; c++) {
        if (C.runs[c].n)
            memcpy(res->points + res->n_points, C.runs[c].pts,
                   C.runs[c].n * sizeof *res->points);
        res->n_points += C.runs[c].n;
    }
    res->configs = C.cfgs;
    res->n_configs = C.n_cfgs;
    C.cfgs = NULL;
    for (uint32_t r = 0; r < s->n_rates; r++)
        if ((rc = answer_rate(res, r, err)))
            goto out;
    res->elapsed_s = now_s() - t0;
out:
    if (C.runs)
        for (c = 0; c < C.n_cfgs; c++)
            free(C.runs[c].pts);
    free(C.runs);
    free(C.cfgs);
    if (C.views)
        for (size_t r = 0; r < s->n_rates; r++)
            free(C.views[r].arrival_ns);
    free(C.views);
    free(zeros);
    if (rc)
        cc_plan_result_free(res);
    return rc;
}

int cc_plan_merge(cc_plan_result *res, const cc_plan_spec *s, cc_plan_point *pts, size_t n,
                  cc_err *err)
{
    /* a counting sort on the configuration, stable: each configuration's
     * points come from one rank, contiguous and in the order run */
    size_t nc = res->n_configs;
    cc_plan_point *tmp = malloc((n ? n : 1) * sizeof *tmp);
    size_t *start = calloc(nc + 1, sizeof *start);
    if (!tmp || !start) {
        free(tmp);
        free(start);
        free(pts);
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "plan", "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        if (pts[i].config >= nc || pts[i].rate >= s->n_rates) {
            uint32_t bad = pts[i].config; /* read before pts is freed */
            free(tmp);
            free(start);
            free(pts);
            return cc_err_set(err, CC_EFORMAT, NULL, 0, "plan",
                              "a gathered point names configuration %u of %zu", bad, nc);
        }
    for (size_t i = 0; i < n; i++)
        start[pts[i].config + 1]++;
    for (size_t c = 0; c < nc; c++)
        start[c + 1] += start[c];
    for (size_t i = 0; i < n; i++)
        tmp[start[pts[i].config]++] = pts[i];
    free(start);
    free(pts);
    free(res->points);
    res->points = tmp;
    res->n_points = n;
    for (size_t r = 0; r < CC_PLAN_MAX_LIST; r++) {
        free(res->answers[r].pareto);
        memset(&res->answers[r], 0, sizeof res->answers[r]);
    }
    for (uint32_t r = 0; r < s->n_rates; r++) {
        int rc = answer_rate(res, r, err);
        if (rc)
            return rc;
    }
    return CC_OK;
}

void cc_plan_result_free(cc_plan_result *res)
{
    free(res->configs);
    free(res->points);
    for (size_t r = 0; r < CC_PLAN_MAX_LIST; r++)
        free(res->answers[r].pareto);
    memset(res, 0, sizeof *res);
}
