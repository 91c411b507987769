/*
 * driver.c -- the serving-simulator driver (driver.h): one event loop in
 * virtual time over arrivals and instance steps, a router, one scheduler
 * and one prefix cache per instance, an executor that prices (cost model)
 * or measures (real engine) each step.  Semantics: docs/simulator.md.
 *
 * How it works.  The event queue (event_queue.c) holds at most one pending
 * arrival (the next request's) and one "step done" per busy instance.  An
 * arrival is routed, its request joins the instance's waiting heap (keys:
 * preempted first, then arrival order, or cached prefix then arrival order
 * for lpf), and an idle instance forms a step.  Forming a step: every
 * decoding request gets one token, prefilling requests get chunks (at most
 * chunk_tokens each) while the token budget lasts, then waiting requests are
 * admitted (cache lookup, pins, KV reservation, loads from lower tiers)
 * while the budget, max_seqs and the HBM KV budget allow.  The executor
 * prices the step (prefill() when it holds a prefill chunk, decode()
 * otherwise); loads from lower tiers are kv_transfer() paired with that
 * compute (serial or layerwise), the step lasting the longest of them.
 * When the step ends before the next queued event, nothing else can happen
 * in between, so it is applied at once and the next step formed in a tight
 * loop without queue traffic (decode stretches cost O(batch) per step and
 * nothing per event); otherwise a "step done" event is pushed.
 *
 * Concurrency none: cc_replay does the cache accounting (requests one at a
 * time, so the cache sees exactly the same calls); the driver then times
 * the requests on one instance that admits one request at a time, with the
 * hits cc_replay found.  Other modes: the driver drives the caches itself:
 * lookup at admission, inserts after each prefill chunk (immediate, dedup)
 * or at finish (after-complete), release at finish or preemption; dedup
 * keeps a hash -> request map of the blocks running requests are computing
 * (claims), so that no block is computed twice at once on an instance.
 *
 * Lanes (the scheduler of `--backend rates`, driver.h): no steps and no
 * batch; each running request is served alone and pushes its own events
 * (a block computed, its finish, a dedup wait ending) into the same queue,
 * one shared cache, the replay's service-time semantics (docs/replay.md).
 * That was core/replay_events.c, a loop of its own; it is one more kind of
 * event here, so ctxcache has one event loop.
 *
 * The semantic tier (sc->semantic, driver.h): a query is looked up at its
 * arrival through the hooks; a hit is done then (TTFT = the lookup time)
 * and never reaches a router, a cache or the executor; a miss is routed
 * by an EV_SEM_ROUTE event the lookup time later, and finish() writes its
 * answer back (or the arrival does, write_back_on_arrival: untimed traces).
 *
 * Costs: O(steps x batch) executor calls and step work, O(arrivals x
 * log instances) queue work, cache operations O(block accesses); memory per
 * request: a cc_sim_record (96 bytes) + 4 bytes per tier (cached tokens),
 * allocated before the loop, + the slot number of its flight (4) and a
 * waiting heap key (8); per request in flight, a flight (104 bytes) and its
 * node ids (4 bytes a block, overlapping modes), from a pool whose slots
 * later requests reuse (it held a node id per block access of the trace and
 * 24 bytes of progress per request, 4.4 times as much on the default
 * workload).  res->state_bytes counts it.
 */
#include "driver.h"
#include "../core/progress.h"

#include <gsl/gsl_randist.h>
#include <inttypes.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- names --------------------------------------------------------------------- */

static const char *const router_names[] = {"rr", "least-loaded", "prefix-affinity"};
static const char *const sched_names[] = {"fcfs", "batch", "lpf", "lanes"};
static const char *const preempt_names[] = {"recompute", "queue"};

const char *cc_sim_router_name(cc_sim_router r)
{
    return (unsigned)r < 3 ? router_names[r] : NULL;
}
const char *cc_sim_sched_name(cc_sim_sched s)
{
    return (unsigned)s < 4 ? sched_names[s] : NULL;
}
const char *cc_sim_preempt_name(cc_sim_preempt p)
{
    return (unsigned)p < 2 ? preempt_names[p] : NULL;
}

static int parse_name(const char *s, const char *const *names, int n, const char *field,
                      int *out, cc_err *err)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return CC_OK;
        }
    char list[128] = "";
    for (int i = 0; i < n; i++) {
        strncat(list, names[i], sizeof list - strlen(list) - 1);
        if (i + 1 < n)
            strncat(list, i + 2 < n ? ", " : " or ", sizeof list - strlen(list) - 1);
    }
    return cc_err_set(err, CC_EARG, NULL, 0, field, "expected %s, got '%s'", list, s);
}

int cc_sim_router_parse(const char *s, cc_sim_router *out, cc_err *err)
{
    int v, rc = parse_name(s, router_names, 3, "router", &v, err);
    if (rc == CC_OK)
        *out = (cc_sim_router)v;
    return rc;
}
int cc_sim_sched_parse(const char *s, cc_sim_sched *out, cc_err *err)
{
    int v, rc = parse_name(s, sched_names, 3, "scheduler", &v, err);
    if (rc == CC_OK)
        *out = (cc_sim_sched)v;
    return rc;
}
int cc_sim_preempt_parse(const char *s, cc_sim_preempt *out, cc_err *err)
{
    int v, rc = parse_name(s, preempt_names, 2, "preempt", &v, err);
    if (rc == CC_OK)
        *out = (cc_sim_preempt)v;
    return rc;
}

void cc_sim_config_default(cc_sim_config *c)
{
    memset(c, 0, sizeof *c);
    c->instances = 1;
    c->router = CC_SIM_ROUTER_RR;
    c->scheduler = CC_SIM_SCHED_BATCH;
    c->max_batch_tokens = 8192;
    c->max_seqs = 256;
    c->preempt = CC_SIM_PREEMPT_RECOMPUTE;
    c->kv_overlap = CC_SIM_XFER_SERIAL;
    c->kv_bytes_per_token = 131072;
    c->tier_kind[0] = CC_SIM_TIER_HBM;
    c->tier_kind[1] = CC_SIM_TIER_DRAM;
    c->tier_kind[2] = CC_SIM_TIER_SSD;
    for (int k = 3; k < CC_PC_MAX_TIERS; k++)
        c->tier_kind[k] = CC_SIM_TIER_REMOTE;
    c->n_layers = 32;
    c->concurrency = CC_CONCURRENCY_NONE;
    c->seed = 1;
    c->bootstrap = 1000;
    c->blend_recompute_ratio = 0.15;
}

int cc_sim_config_validate(const cc_sim_config *c, cc_err *err)
{
    if (c->instances < 1 || c->instances > 65536)
        return cc_err_set(err, CC_EARG, NULL, 0, "instances", "expected 1..65536, got %u",
                          c->instances);
    if (!cc_sim_router_name(c->router))
        return cc_err_set(err, CC_EARG, NULL, 0, "router", "unknown router %d", (int)c->router);
    if (!cc_sim_sched_name(c->scheduler))
        return cc_err_set(err, CC_EARG, NULL, 0, "scheduler", "unknown scheduler %d",
                          (int)c->scheduler);
    if (!cc_sim_preempt_name(c->preempt))
        return cc_err_set(err, CC_EARG, NULL, 0, "preempt", "unknown preemption %d",
                          (int)c->preempt);
    if (c->max_batch_tokens < 1)
        return cc_err_set(err, CC_EARG, NULL, 0, "max_batch_tokens", "expected >= 1, got 0");
    if (c->max_seqs < 1 || c->max_seqs > (1u << 20))
        return cc_err_set(err, CC_EARG, NULL, 0, "max_seqs", "expected 1..1048576, got %u",
                          c->max_seqs);
    if (c->kv_overlap != CC_SIM_XFER_SERIAL && c->kv_overlap != CC_SIM_XFER_LAYERWISE)
        return cc_err_set(err, CC_EARG, NULL, 0, "kv_overlap",
                          "expected serial (0) or layerwise (1), got %d", c->kv_overlap);
    if (!(c->kv_bytes_per_token >= 0) || isinf(c->kv_bytes_per_token))
        return cc_err_set(err, CC_EARG, NULL, 0, "kv_bytes_per_token",
                          "expected a finite number >= 0, got %g", c->kv_bytes_per_token);
    for (int k = 0; k < CC_PC_MAX_TIERS; k++)
        if (c->tier_kind[k] < 0 || c->tier_kind[k] >= CC_SIM_TIER_COUNT)
            return cc_err_set(err, CC_EARG, NULL, 0, "tier_kind", "tier %d: unknown kind %d", k,
                              c->tier_kind[k]);
    if (!cc_concurrency_name(c->concurrency))
        return cc_err_set(err, CC_EARG, NULL, 0, "concurrency", "unknown mode %d",
                          (int)c->concurrency);
    if (c->scheduler == CC_SIM_SCHED_LANES && c->instances != 1)
        return cc_err_set(err, CC_EARG, NULL, 0, "instances",
                          "scheduler lanes serves every request from one cache on one "
                          "instance; got %u instances", c->instances);
    if (c->concurrency == CC_CONCURRENCY_NONE && c->instances != 1)
        return cc_err_set(err, CC_EARG, NULL, 0, "instances",
                          "concurrency none runs one request at a time on one instance; "
                          "got %u instances", c->instances);
    if (!(c->blend_recompute_ratio >= 0 && c->blend_recompute_ratio <= 1))
        return cc_err_set(err, CC_EARG, NULL, 0, "recompute_ratio",
                          "expected a share 0..1 of the blended tokens, got %g",
                          c->blend_recompute_ratio);
    if (c->blend && c->scheduler == CC_SIM_SCHED_LANES)
        return cc_err_set(err, CC_EUNSUP, NULL, 0, "blend",
                          "blend needs the batch, fcfs or lpf scheduler (not lanes, the "
                          "rates backend)");
    return CC_OK;
}

/* ---- statistics ---------------------------------------------------------------- */

double cc_sim_percentile_sorted(const double *x, size_t n, double q)
{
    if (!n)
        return 0;
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo >= n - 1)
        return x[n - 1];
    double f = pos - (double)lo;
    return x[lo] + f * (x[lo + 1] - x[lo]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorted values, as an array (x) or as runs: distinct vals[k] ascending,
 * cum[k] = elements in runs 0..k (streamed replays keep counts, not values). */
typedef struct sorted_view {
    const double *x;
    const double *vals;
    const uint64_t *cum;
    size_t d, n;
} sorted_view;

static double sv_at(const sorted_view *v, size_t i)
{
    if (v->x)
        return v->x[i];
    size_t lo = 0, hi = v->d - 1; /* the first run with cum > i */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->cum[mid] > i)
            hi = mid;
        else
            lo = mid + 1;
    }
    return v->vals[lo];
}

static double sv_percentile(const sorted_view *v, double q)
{
    size_t n = v->n;
    if (!n)
        return 0;
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo >= n - 1)
        return sv_at(v, n - 1);
    double f = pos - (double)lo;
    double a = sv_at(v, lo);
    return a + f * (sv_at(v, lo + 1) - a);
}

/* One bootstrap replicate of the q-quantile of sorted x without drawing n
 * values: resampling with replacement takes x[floor(n U_i)] for n uniforms,
 * so the resample's k-th order statistic is x[floor(n U_(k))], where the
 * k-th uniform order statistic U_(k) ~ Beta(k, n + 1 - k) and, given it,
 * U_(k+1) = U_(k) + (1 - U_(k)) Beta(1, n - k).  Exact in distribution, O(1). */
static double boot_quantile(const gsl_rng *rng, const sorted_view *x, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo > n - 1)
        lo = n - 1;
    double f = pos - (double)lo;
    size_t k = lo + 1; /* 1-based order statistic */
    double u = gsl_ran_beta(rng, (double)k, (double)(n + 1 - k));
    size_t i = (size_t)(u * (double)n);
    if (i >= n)
        i = n - 1;
    double v = sv_at(x, i);
    if (f > 0 && k < n) {
        double u2 = u + (1 - u) * gsl_ran_beta(rng, 1.0, (double)(n - k));
        size_t i2 = (size_t)(u2 * (double)n);
        if (i2 >= n)
            i2 = n - 1;
        v += f * (sv_at(x, i2) - v);
    }
    return v;
}

/* The distribution of the sorted values in v; sum: their sum in ascending
 * order (computed by the caller, which knows the representation). */
static int dist_of_sorted(const sorted_view *v, double sum, uint64_t seed, uint32_t resamples,
                          cc_sim_dist *out, cc_err *err)
{
    size_t n = v->n;
    out->mean = sum / (double)n;
    if (!resamples)
        resamples = 1000;
    static const double qs[3] = {0.5, 0.9, 0.99};
    cc_sim_pct *p[3] = {&out->p50, &out->p90, &out->p99};
    double *rep = malloc(resamples * sizeof *rep);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rep || !rng) {
        free(rep);
        if (rng)
            gsl_rng_free(rng);
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory for the bootstrap");
    }
    for (int j = 0; j < 3; j++) {
        gsl_rng_set(rng, (unsigned long)(seed * 3 + (uint64_t)j + 1));
        p[j]->value = sv_percentile(v, qs[j]);
        for (uint32_t b = 0; b < resamples; b++)
            rep[b] = boot_quantile(rng, v, n, qs[j]);
        qsort(rep, resamples, sizeof *rep, cmp_double);
        p[j]->ci_lo = cc_sim_percentile_sorted(rep, resamples, 0.025);
        p[j]->ci_hi = cc_sim_percentile_sorted(rep, resamples, 0.975);
    }
    free(rep);
    gsl_rng_free(rng);
    return CC_OK;
}

int cc_sim_dist_compute(double *x, size_t n, uint64_t seed, uint32_t resamples,
                        cc_sim_dist *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    if (!n)
        return CC_OK;
    qsort(x, n, sizeof *x, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    sorted_view v = {.x = x, .n = n};
    return dist_of_sorted(&v, sum, seed, resamples, out, err);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

double cc_fp_add_repeated(double s, double v, uint64_t c)
{
    if (!(s >= 0 && v >= 0 && isfinite(s) && isfinite(v))) {
        for (; c; c--)
            s += v;
        return s;
    }
    const uint64_t two53 = UINT64_C(1) << 53;
    while (c) {
        if (v == 0) /* s + 0 = s (s >= +0) */
            return s;
        int x;
        frexp(s, &x); /* s in [2^(x-1), 2^x) */
        if (s < 0x1p-1000 || v >= ldexp(1.0, x - 1)) {
            s += v; /* tiny s, or v not below s's binade: one at a time */
            c--;
            continue;
        }
        double t = s + v, d = t - s; /* exact: s <= t <= 2s */
        double r = v - d;            /* exact: d is 0, or within [v/2, 2v] */
        double u = ldexp(1.0, x - 53); /* ulp of s */
        if (fabs(r) == u / 2) { /* a tie: its rounding follows s's last bit */
            s = t;
            c--;
            continue;
        }
        if (d == 0) /* v below half an ulp: no addition changes s */
            return s;
        /* in units of u: S + j D stays below 2^53 - D - 1, so that every
         * exact s_j + v is below 2^x and rounds on the grid u to s_j + d */
        uint64_t S = (uint64_t)ldexp(s, 53 - x), D = (uint64_t)ldexp(d, 53 - x);
        uint64_t m = 0;
        if (S + D + 1 < two53)
            m = (two53 - D - 1 - S + D - 1) / D;
        if (m > c)
            m = c;
        if (m == 0) {
            s = t;
            c--;
            continue;
        }
        s = ldexp((double)(S + m * D), x - 53);
        c -= m;
    }
    return s;
}

int cc_sim_dist_compute_counts(const cc_u64map *counts, uint64_t seed, uint32_t resamples,
                               cc_sim_dist *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    size_t d = counts->count;
    if (!d)
        return CC_OK;
    /* keys are the bit patterns of doubles >= 0 (and +0): their order is
     * the values' order */
    uint64_t *keys = malloc(d * sizeof *keys);
    double *vals = malloc(d * sizeof *vals);
    uint64_t *cum = malloc(d * sizeof *cum);
    if (!keys || !vals || !cum) {
        free(keys);
        free(vals);
        free(cum);
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory for the percentiles");
    }
    size_t m = 0;
    for (size_t k = 0; k < counts->cap; k++)
        if (counts->keys[k] != CC_U64MAP_EMPTY)
            keys[m++] = counts->keys[k];
    if (counts->has_empty_key)
        keys[m++] = CC_U64MAP_EMPTY;
    qsort(keys, m, sizeof *keys, cmp_u64);
    double sum = 0;
    uint64_t n = 0;
    for (size_t k = 0; k < m; k++) {
        memcpy(&vals[k], &keys[k], sizeof vals[k]);
        uint64_t c = *cc_u64map_get(counts, keys[k]);
        sum = cc_fp_add_repeated(sum, vals[k], c); /* the array's order of additions */
        n += c;
        cum[k] = n;
    }
    sorted_view v = {.vals = vals, .cum = cum, .d = m, .n = (size_t)n};
    int rc = dist_of_sorted(&v, sum, seed, resamples, out, err);
    free(keys);
    free(vals);
    free(cum);
    return rc;
}

/* ---- the loop ------------------------------------------------------------------ */

enum { PH_WAIT = 0, PH_PREFILL, PH_DECODE, PH_DONE };

typedef struct rstate {
    uint32_t done;     /* tokens of the prefill target whose KV exists */
    uint32_t target;   /* prefill target: input (+ tokens generated before a preemption) */
    uint32_t decoded;  /* output tokens produced */
    uint32_t kv;       /* KV tokens reserved in HBM */
    uint32_t inserted; /* immediate: leading blocks inserted so far */
    uint8_t phase;
    uint8_t admitted;  /* admitted at least once */
} rstate;

typedef struct xfer {
    int kind;
    uint32_t tier;
    double bytes;
} xfer;

/* Lanes: a running request's progress (see "lanes" below). */
typedef struct lane {
    uint32_t next_block;     /* blocks [0, next_block) obtained */
    uint32_t waiters_head;   /* requests waiting for the block this one computes */
    uint32_t waiters_tail;
    uint32_t next_waiter;    /* link in the list of the request waited on */
    int64_t stretch_start;   /* start of the current stretch of computation */
    uint64_t stretch_base;   /* tokens present when it started */
    uint64_t stretch_tokens; /* tokens computed in it so far (incl. the current block) */
    double stretch_s;        /* the executor's price of those */
    int64_t wait_since;
} lane;

/* A request in flight: what the loop keeps of it from its first admission
 * (batch schedulers; a preempted request keeps it while it waits) or its
 * start (lanes) to its finish, in a pool of such slots reused by later
 * requests, so that the loop's state per request of the trace is one slot
 * number.  nodes: its cache node ids (overlapping modes), CC_NODE_NONE past
 * its pinned run, n_blocks of them in a buffer that keeps its size for the
 * slot's next request. */
typedef struct flight {
    rstate st;         /* batch schedulers */
    lane ln;           /* lanes */
    uint32_t *nodes;
    size_t cap_nodes;
    uint32_t next_free;
} flight;

#define NO_SLOT UINT32_MAX
#define NO_REQ UINT32_MAX

typedef struct inst {
    cc_prefix_cache *pc;
    cc_executor *ex;
    uint32_t *run;     /* running requests, admission order */
    uint32_t n_run;
    uint64_t *heap;    /* waiting: binary min-heap of keys (low 32 bits: request) */
    size_t n_heap, cap_heap;
    cc_sim_item *items;/* the current step */
    uint8_t *is_prefill;
    size_t n_items;
    xfer *loads;
    size_t n_loads, cap_loads;
    double step_s;
    uint64_t step_tokens;
    cc_prefix_cache *cpc; /* blend: the cache holding chunk blocks (pc, or its own
                             in concurrency none, where cc_replay holds pc) */
    cc_chunk_store cs;    /* blend: over cpc */
    uint32_t *cnodes;     /* blend: scratch node ids of one chunk */
    size_t cap_cnodes;
    cc_u64map claims;  /* dedup: block hash -> request computing it now */
    int busy;
    uint64_t kv_used;
    uint32_t load;     /* running + waiting */
} inst;

typedef struct loop {
    const cc_trace *t;
    const cc_sim_config *sc;
    const cc_pc_config *pcfg;
    cc_sim_result *res;
    const cc_replay_result *pre; /* concurrency none: cc_replay's records */
    uint32_t *slot;              /* per request: its flight, NO_SLOT when not in flight */
    flight *fl;                  /* the pool of flights: [0, n_fl) used at least once */
    size_t n_fl, cap_fl;
    uint32_t free_fl;            /* first free flight (a list through next_free) */
    uint64_t nodes_bytes;        /* the flights' node buffers, bytes */
    inst *in;
    cc_evq q;
    uint64_t rr;
    uint32_t in_flight;
    uint32_t T;
    size_t occ_every;            /* overlapping modes, records kept: occupancy sampling */
    const uint64_t *next;        /* lanes: next-use positions (policies that need them) */
    uint32_t busy;               /* lanes: requests started and not finished */
    size_t arrived, next_start;  /* lanes: FIFO of waiting requests [next_start, arrived) */
    bool progress;               /* arrivals counted on core/progress.h */
    double *steplog;             /* serial timing: every step's seconds, in order */
    size_t n_steplog, cap_steplog;
    bool log_steps;
    cc_err *err;
} loop;

static cc_pc_request request_view(const loop *L, size_t i, uint32_t n_blocks, int64_t now)
{
    return cc_replay_request_view(L->t, i, n_blocks, now, L->next);
}

static uint32_t n_blocks_of(const cc_trace *t, size_t i)
{
    return (uint32_t)(t->block_off[i + 1] - t->block_off[i]);
}

static int oom(loop *L)
{
    return cc_err_set(L->err, CC_ENOMEM, L->t->source, 0, NULL, "out of memory in the simulator");
}

/* r's flight; r must be in flight. */
static inline flight *fl_of(const loop *L, uint32_t r)
{
    return &L->fl[L->slot[r]];
}
static inline rstate *st_of(const loop *L, uint32_t r)
{
    return &fl_of(L, r)->st;
}
static inline lane *lane_of(const loop *L, uint32_t r)
{
    return &fl_of(L, r)->ln;
}
static inline uint32_t *nodes_of(const loop *L, uint32_t r)
{
    return fl_of(L, r)->nodes;
}

/* Puts r in flight (nothing when it is): a free slot, or a new one, with
 * its progress zeroed and its node ids all CC_NODE_NONE.  The pool may
 * move: no flight pointer is held across this call. */
static int flight_take(loop *L, uint32_t r)
{
    if (L->slot[r] != NO_SLOT)
        return CC_OK;
    uint32_t f = L->free_fl;
    if (f != NO_SLOT) {
        L->free_fl = L->fl[f].next_free;
    } else {
        if (L->n_fl == L->cap_fl) {
            size_t old = L->cap_fl;
            if (cc_grow((void **)&L->fl, &L->cap_fl, L->n_fl + 1, sizeof *L->fl) != CC_OK)
                return oom(L);
            memset(L->fl + old, 0, (L->cap_fl - old) * sizeof *L->fl);
        }
        f = (uint32_t)L->n_fl++;
    }
    flight *F = &L->fl[f];
    memset(&F->st, 0, sizeof F->st);
    F->ln = (lane){.waiters_head = NO_REQ, .waiters_tail = NO_REQ, .next_waiter = NO_REQ};
    if (!L->pre) {
        uint32_t n = n_blocks_of(L->t, r);
        size_t cap = F->cap_nodes;
        if (cc_grow((void **)&F->nodes, &F->cap_nodes, n ? n : 1, sizeof *F->nodes) != CC_OK) {
            F->next_free = L->free_fl; /* back to the free list */
            L->free_fl = f;
            return oom(L);
        }
        L->nodes_bytes += (F->cap_nodes - cap) * sizeof *F->nodes;
        for (uint32_t j = 0; j < n; j++)
            F->nodes[j] = CC_NODE_NONE;
    }
    L->slot[r] = f;
    return CC_OK;
}

/* r has finished: its slot goes back to the pool. */
static void flight_give_back(loop *L, uint32_t r)
{
    uint32_t f = L->slot[r];
    L->fl[f].next_free = L->free_fl;
    L->free_fl = f;
    L->slot[r] = NO_SLOT;
}

static void flights_free(loop *L)
{
    for (size_t f = 0; f < L->cap_fl; f++)
        free(L->fl[f].nodes);
    free(L->fl);
    L->fl = NULL;
    L->n_fl = L->cap_fl = 0;
    L->free_fl = NO_SLOT;
    L->nodes_bytes = 0;
}

static int heap_push(loop *L, inst *I, uint64_t key)
{
    if (I->n_heap == I->cap_heap &&
        cc_grow((void **)&I->heap, &I->cap_heap, I->n_heap + 1, sizeof *I->heap) != CC_OK)
        return oom(L);
    size_t i = I->n_heap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (I->heap[p] <= key)
            break;
        I->heap[i] = I->heap[p];
        i = p;
    }
    I->heap[i] = key;
    return CC_OK;
}

static void heap_pop(inst *I)
{
    uint64_t last = I->heap[--I->n_heap];
    size_t i = 0, n = I->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && I->heap[c + 1] < I->heap[c])
            c++;
        if (last <= I->heap[c])
            break;
        I->heap[i] = I->heap[c];
        i = c;
    }
    if (n)
        I->heap[i] = last;
}

/* Waiting key: class 0 (preempted) before class 1; lpf: more cached tokens
 * first; then arrival order. */
static uint64_t wait_key(const loop *L, uint32_t r, int preempted, uint32_t cached)
{
    uint64_t k = (uint64_t)r;
    if (!preempted)
        k |= UINT64_C(1) << 63;
    if (L->sc->scheduler == CC_SIM_SCHED_LPF && !preempted) {
        uint64_t c = cached > 0x7fffffffu ? 0x7fffffffu : cached;
        k |= (UINT64_C(0x7fffffff) - c) << 32;
    }
    return k;
}

static void unclaim(loop *L, inst *I, uint32_t r, uint32_t from, uint32_t to);

static void release_pins(loop *L, inst *I, uint32_t r)
{
    if (L->pre)
        return;
    uint32_t n = n_blocks_of(L->t, r);
    if (L->sc->concurrency == CC_CONCURRENCY_DEDUP)
        unclaim(L, I, r, 0, n);
    uint32_t *nodes = nodes_of(L, r);
    cc_pc_release(I->pc, nodes, n);
    for (uint32_t j = 0; j < n; j++)
        nodes[j] = CC_NODE_NONE;
}

static uint32_t max_seqs_of(const loop *L)
{
    if (L->sc->concurrency == CC_CONCURRENCY_NONE || L->sc->scheduler == CC_SIM_SCHED_FCFS ||
        L->sc->scheduler == CC_SIM_SCHED_LANES)
        return 1; /* (lanes keep no batch) */
    return L->sc->max_seqs;
}

static int add_load(loop *L, inst *I, uint32_t tier, int kind, double bytes)
{
    if (bytes <= 0)
        return CC_OK;
    if (I->n_loads == I->cap_loads &&
        cc_grow((void **)&I->loads, &I->cap_loads, I->n_loads + 1, sizeof *I->loads) != CC_OK)
        return oom(L);
    I->loads[I->n_loads++] = (xfer){kind, tier, bytes};
    return CC_OK;
}

/* ---- blend ------------------------------------------------------------------ */

#define BLEND_WINDOW_SEED UINT64_C(0x626c656e64) /* "blend": window hashes */

/* Visits the blend units of request r that start at or after token `from`
 * and end within the input: the trace's chunks whole (blend_chunk_tokens 0)
 * or windows of blend_chunk_tokens tokens from each chunk's start (the last
 * one shorter), keyed by the chunk's text hash or the window's token ids.
 * lookup != 0: cc_cs_lookup (served tokens added to *served, lower-tier
 * tokens to tier_tok), else cc_cs_insert.  Pins are released at once (a
 * stated limit: a chunk block can be evicted while a request uses it). */
static int blend_units(loop *L, inst *I, uint32_t r, uint32_t from, int64_t now, int lookup,
                       uint32_t *served, uint32_t *tier_tok)
{
    const cc_trace *t = L->t;
    uint32_t in = t->input_tokens[r], C = L->sc->blend_chunk_tokens;
    if (!t->chunk_off)
        return CC_OK;
    for (uint64_t ci = t->chunk_off[r]; ci < t->chunk_off[r + 1]; ci++) {
        const cc_chunk *c = &t->chunks[ci];
        uint32_t w = C ? C : c->token_len;
        for (uint32_t off = 0; c->token_len && off < c->token_len; off += w) {
            uint32_t len = c->token_len - off < w ? c->token_len - off : w;
            uint32_t start = c->token_start + off;
            if (start < from)
                continue;
            if ((uint64_t)start + len > in)
                return CC_OK;
            cc_chunk_ref ref = {c->chunk_hash, len, t->tenant[r]};
            if (C) {
                if (!t->token_ids)
                    return cc_err_set(L->err, CC_EUNSUP, t->source, 0, "blend_chunk_tokens",
                                      "windows of %u tokens need the trace's token ids", C);
                ref.content_hash = cc_hash_bytes(t->token_ids + t->token_off[r] + start,
                                                 (size_t)len * sizeof *t->token_ids,
                                                 BLEND_WINDOW_SEED);
            }
            uint32_t nb = cc_cs_n_blocks(&I->cs, &ref);
            if (nb > I->cap_cnodes &&
                cc_grow((void **)&I->cnodes, &I->cap_cnodes, nb, sizeof *I->cnodes) != CC_OK)
                return oom(L);
            for (uint32_t j = 0; j < nb; j++)
                I->cnodes[j] = CC_NODE_NONE;
            int rc;
            if (lookup) {
                cc_pc_hits h;
                rc = cc_cs_lookup(&I->cs, &ref, r, now, I->cnodes, &h, L->err);
                if (rc == CC_OK) {
                    *served += h.tokens;
                    for (uint32_t k = 0; k < L->T; k++)
                        tier_tok[k] += h.tier_tokens[k];
                }
            } else {
                uint32_t added = 0;
                rc = cc_cs_insert(&I->cs, &ref, r, now, I->cnodes, &added, L->err);
            }
            if (rc != CC_OK)
                return rc;
            cc_cs_release(&I->cs, I->cnodes, nb);
        }
    }
    return CC_OK;
}

static double spec_transfer_s(const cc_tier_config *tc, double bytes, int mode, uint32_t layers,
                              double c);

/* What request r's prefill costs alone in one step: n_new tokens computed
 * over n_present ones (cached, or blended and not recomputed), its loads of
 * tok[k] tokens from tiers k >= 1 paired with that compute as form() pairs
 * them.  Priced by the reference executor when there is one (a real
 * backend: the cost model, so no extra prefill runs), else by the
 * instance's.  prefill_full_s is the same price with nothing cached, so the
 * difference is what caching saved, free of what batching saved (a step of
 * many requests reads the weights once: its per-token share is below a
 * request's price alone, cached tokens or not). */
static int alone_price(loop *L, inst *I, uint32_t r, uint32_t n_new, uint32_t n_present,
                       const uint32_t *tok, double *out)
{
    const cc_sim_config *sc = L->sc;
    cc_executor *x = sc->reference ? sc->reference : I->ex;
    cc_sim_item it = {n_new ? n_new : 1, n_present, r};
    double s_compute = 0;
    int rc = cc_executor_prefill(x, &it, 1, &s_compute, L->err);
    if (rc != CC_OK)
        return rc;
    if (!sc->reference)
        cc_executor_finish(x, r);
    double s_step = s_compute;
    for (uint32_t k = 1; k < L->T; k++) {
        double bytes = (double)tok[k] * sc->kv_bytes_per_token, s_x = 0;
        if (bytes <= 0)
            continue;
        const cc_tier_config *tc = &L->pcfg->tiers[k];
        if (tc->bandwidth_bytes_per_s > 0) {
            s_x = spec_transfer_s(tc, bytes, sc->kv_overlap, sc->n_layers ? sc->n_layers : 1,
                                  s_compute);
        } else if ((rc = cc_executor_kv_transfer(x, bytes, sc->tier_kind[k], CC_SIM_TIER_HBM,
                                                 sc->kv_overlap, s_compute, &s_x, L->err)) !=
                   CC_OK) {
            return rc;
        }
        if (s_x > s_step)
            s_step = s_x;
    }
    *out = s_step;
    return CC_OK;
}

/* Admission: cache lookup (or cc_replay's hits), pins, reservation, loads. */
static int admit(loop *L, inst *I, uint32_t r, int64_t now)
{
    const cc_trace *t = L->t;
    rstate *s = st_of(L, r);
    const int first = !s->admitted; /* its first admission: prefill_alone_s */
    cc_sim_record *rec = &L->res->records[r];
    uint32_t *tier_tok = L->res->record_tier_tokens + (size_t)r * L->T;
    uint32_t in = t->input_tokens[r];
    uint32_t cached;
    uint32_t tok[CC_PC_MAX_TIERS] = {0};
    if (L->pre) {
        memcpy(tok, tier_tok, L->T * sizeof *tok);
        cached = rec->cached_tokens;
    } else {
        cc_pc_request rq = request_view(L, r, n_blocks_of(t, r), now);
        cc_pc_hits h;
        cc_pc_lookup(I->pc, &rq, nodes_of(L, r), &h);
        memcpy(tok, h.tier_tokens, L->T * sizeof *tok);
        cached = h.tokens;
        if (!s->admitted) {
            memcpy(tier_tok, h.tier_tokens, L->T * sizeof *tok);
            rec->cached_tokens = h.tokens;
            rec->computed_tokens = in - h.tokens;
            cc_replay_result *cr = &L->res->cache;
            cr->hit_blocks += h.blocks;
            cr->hit_tokens += h.tokens;
            if (cr->records) {
                cr->records[r].hit_blocks = h.blocks;
                cr->records[r].hit_tokens = h.tokens;
                memcpy(cr->record_tier_blocks + (size_t)r * L->T, h.tier_blocks,
                       L->T * sizeof(uint32_t));
            }
        }
        s->inserted = h.blocks;
    }
    if (!s->admitted)
        rec->start_ns = now;
    s->admitted = 1;
    if (L->sc->on_admit) {
        uint32_t ix = (uint32_t)(I - L->in);
        int hr = L->sc->on_admit(L->sc->on_admit_user, ix, r, cached, tok, L->T,
                                 L->pre ? NULL : I->pc,
                                 L->pre ? NULL : nodes_of(L, r), n_blocks_of(t, r));
        if (hr)
            return cc_err_set(L->err, CC_EIO, t->source, 0, "on_admit",
                              "the admission hook failed for request %u (status %d)", r, hr);
    }
    s->target = in + s->decoded;
    if (s->target == 0)
        s->target = 1; /* an empty prompt still runs one token to produce logits */
    s->done = cached < s->target ? cached : s->target - 1;
    if (L->sc->blend) {
        /* blended tokens count as present KV, except the recomputed share:
         * the step computes (new + recomputed) tokens over the whole context */
        uint32_t served = 0, btok[CC_PC_MAX_TIERS] = {0};
        int rc = blend_units(L, I, r, cached, now, 1, &served, btok);
        if (rc != CC_OK)
            return rc;
        uint32_t recompute = (uint32_t)floor(L->sc->blend_recompute_ratio * served + 0.5);
        if (!rec->preemptions) { /* the first admission's figures */
            rec->blend_tokens = served;
            rec->blend_recompute_tokens = recompute;
        }
        uint64_t d = (uint64_t)s->done + served - recompute;
        s->done = d < s->target ? (uint32_t)d : s->target - 1;
        for (uint32_t k = 1; k < L->T; k++)
            tok[k] += btok[k]; /* one load per tier: prefix and chunk blocks together */
    }
    s->phase = PH_PREFILL;
    s->kv = L->sc->preempt == CC_SIM_PREEMPT_QUEUE ? in + t->output_tokens[r] : s->target;
    I->kv_used += s->kv;
    L->in_flight++;
    if (L->in_flight > L->res->cache.max_in_flight)
        L->res->cache.max_in_flight = L->in_flight;
    for (uint32_t k = 1; k < L->T; k++) {
        int rc = add_load(L, I, k, L->sc->tier_kind[k], (double)tok[k] * L->sc->kv_bytes_per_token);
        if (rc != CC_OK)
            return rc;
    }
    if (first)
        return alone_price(L, I, r, s->target - s->done, s->done, tok, &rec->prefill_alone_s);
    return CC_OK;
}

static int preempt_last(loop *L, inst *I)
{
    uint32_t r = I->run[--I->n_run];
    rstate *s = st_of(L, r);
    I->kv_used -= s->kv;
    s->kv = 0;
    s->done = 0;
    s->phase = PH_WAIT;
    release_pins(L, I, r);
    cc_executor_finish(I->ex, r);
    L->res->records[r].preemptions++;
    L->res->summary.preemptions++;
    L->in_flight--;
    return heap_push(L, I, wait_key(L, r, 1, 0));
}

static int push_item(inst *I, uint32_t r, uint32_t n_new, uint32_t n_cached, int prefill)
{
    I->items[I->n_items] = (cc_sim_item){n_new, n_cached, r};
    I->is_prefill[I->n_items] = (uint8_t)prefill;
    I->n_items++;
    I->step_tokens += n_new;
    return CC_OK;
}

static uint32_t chunk_of(const loop *L, const rstate *s, uint32_t budget)
{
    uint32_t take = s->target - s->done;
    if (L->sc->chunk_tokens && take > L->sc->chunk_tokens)
        take = L->sc->chunk_tokens;
    return take < budget ? take : budget;
}

/* Dedup: the request's claims on blocks it was computing are dropped
 * (finished, preempted, or blocks [from, to) completed). */
static void unclaim(loop *L, inst *I, uint32_t r, uint32_t from, uint32_t to)
{
    const uint64_t *b = L->t->blocks + L->t->block_off[r];
    for (uint32_t j = from; j < to; j++) {
        uint64_t *o = cc_u64map_get(&I->claims, b[j]);
        if (o && *o == r)
            cc_u64map_del(&I->claims, b[j]);
    }
}

/* Dedup: before r computes from s->done on, blocks another request stored
 * meanwhile are taken from the cache (hits, counted as dedup), and the
 * chunk stops before a block another running request is computing; with
 * nothing to compute before it, r waits (0).  r claims the blocks its chunk
 * starts.  Returns the chunk's tokens. */
/* Request r found tok tokens (one block, in tier) that another request had
 * just stored (dedup): a hit of the record, of the cache figures and of the
 * dedup counts. */
static void count_dedup_hit(loop *L, uint32_t r, uint32_t tok, uint32_t tier)
{
    cc_sim_record *rec = &L->res->records[r];
    cc_replay_result *cr = &L->res->cache;
    rec->cached_tokens += tok;
    rec->computed_tokens -= tok;
    L->res->record_tier_tokens[(size_t)r * L->T + tier] += tok;
    cr->hit_blocks++;
    cr->hit_tokens += tok;
    cr->dedup_blocks++;
    cr->dedup_tokens += tok;
    if (cr->records) {
        cr->records[r].hit_blocks++;
        cr->records[r].hit_tokens += tok;
        cr->records[r].dedup_blocks++;
        cr->records[r].dedup_tokens += tok;
        cr->record_tier_blocks[(size_t)r * L->T + tier]++;
    }
}

static int dedup_chunk(loop *L, inst *I, uint32_t r, uint32_t budget, int64_t now,
                       uint32_t *take_out)
{
    const cc_trace *t = L->t;
    rstate *s = st_of(L, r);
    const uint32_t bs = t->block_size, n = n_blocks_of(t, r), in = t->input_tokens[r];
    const uint64_t off = t->block_off[r];
    uint32_t *nodes = nodes_of(L, r);
    *take_out = 0;
    for (;;) {
        uint32_t j = s->done / bs;
        if (j >= n || s->done % bs || s->done >= in)
            break; /* inside a block it computes, or past the prompt */
        if (s->done + 1 >= s->target)
            break; /* only the token of the logits is left, which it computes (taking
                      block j again would leave done where it is: the loop never
                      ended when a prompt of k blocks and one token was cached) */
        uint64_t h = t->blocks[off + j];
        if (cc_pc_find(I->pc, h) != CC_NODE_NONE) {
            cc_pc_request rq = request_view(L, r, j + 1, now);
            uint32_t ins = 0;
            cc_pc_insert(I->pc, &rq, nodes, &ins);
            if (nodes[j] != CC_NODE_NONE) {
                uint32_t tok = cc_pc_block_tokens(in, bs, j), tier = 0;
                cc_pc_node_place(I->pc, nodes[j], &tier);
                count_dedup_hit(L, r, tok, tier);
                s->inserted = j + 1;
                s->done = j * bs + tok;
                if (s->done >= s->target)
                    s->done = s->target - 1; /* the logits need one token computed */
                continue;
            }
        }
        uint64_t *o = cc_u64map_get(&I->claims, h);
        if (o && *o != r)
            return CC_OK; /* waits for that block */
        break;
    }
    uint32_t take = chunk_of(L, s, budget);
    /* claim the blocks the chunk starts; stop before one that is another's
     * or already cached (taken from the cache next step) */
    uint32_t first = (s->done + bs - 1) / bs; /* blocks starting at or after done */
    if (s->done % bs == 0)
        first = s->done / bs;
    for (uint32_t j = first; j < n && (uint64_t)j * bs < (uint64_t)s->done + take; j++) {
        uint64_t h = t->blocks[off + j];
        uint64_t *o = cc_u64map_get(&I->claims, h);
        if ((o && *o != r) || (j * bs > s->done && cc_pc_find(I->pc, h) != CC_NODE_NONE)) {
            take = j * bs - s->done;
            break;
        }
        if (!o && cc_u64map_put(&I->claims, h, r, NULL) < 0)
            return oom(L);
    }
    *take_out = take;
    return CC_OK;
}

/* The chunk r computes in the step being formed (dedup may shorten it). */
static int next_chunk(loop *L, inst *I, uint32_t r, uint32_t budget, int64_t now,
                      uint32_t *take)
{
    if (L->sc->concurrency == CC_CONCURRENCY_DEDUP)
        return dedup_chunk(L, I, r, budget, now, take);
    *take = chunk_of(L, st_of(L, r), budget);
    return CC_OK;
}

/* A load from a tier with its own rate (--tiers ...:bw=:lat=), priced as
 * the cost model prices kv_transfer: tau = bytes / bw; serial: lat + tau +
 * c; layerwise over L layers: lat + tau/L + c/L + (L-1) max(tau, c) / L. */
static double spec_transfer_s(const cc_tier_config *tc, double bytes, int mode, uint32_t layers,
                              double c)
{
    if (bytes <= 0)
        return c;
    double tau = bytes / tc->bandwidth_bytes_per_s, n = (double)layers;
    if (mode == CC_SIM_XFER_SERIAL)
        return tc->latency_s + tau + c;
    return tc->latency_s + tau / n + c / n + (n - 1) * (tau > c ? tau : c) / n;
}

/* Forms the next step of I at now and prices it.  *any = 0 when idle. */
static int form(loop *L, inst *I, int64_t now, int *any)
{
    const cc_sim_config *sc = L->sc;
    const cc_trace *t = L->t;
    I->n_items = 0;
    I->n_loads = 0;
    I->step_tokens = 0;
    int rc;
    uint32_t budget = sc->max_batch_tokens;
    if (sc->hbm_kv_tokens && sc->preempt == CC_SIM_PREEMPT_RECOMPUTE) {
        for (;;) {
            uint32_t n_dec = 0;
            for (uint32_t a = 0; a < I->n_run; a++)
                n_dec += st_of(L, I->run[a])->phase == PH_DECODE;
            if (I->n_run <= 1 || I->kv_used + n_dec <= sc->hbm_kv_tokens)
                break;
            if ((rc = preempt_last(L, I)) != CC_OK)
                return rc;
        }
    }
    for (uint32_t a = 0; a < I->n_run && budget; a++) {
        uint32_t r = I->run[a];
        rstate *s = st_of(L, r);
        if (s->phase != PH_DECODE)
            continue;
        push_item(I, r, 1, t->input_tokens[r] + s->decoded - 1, 0);
        budget--;
        if (sc->preempt == CC_SIM_PREEMPT_RECOMPUTE) {
            s->kv++;
            I->kv_used++;
        }
    }
    for (uint32_t a = 0; a < I->n_run && budget; a++) {
        uint32_t r = I->run[a];
        rstate *s = st_of(L, r);
        if (s->phase != PH_PREFILL)
            continue;
        uint32_t take;
        if ((rc = next_chunk(L, I, r, budget, now, &take)) != CC_OK)
            return rc;
        if (!take)
            continue;
        push_item(I, r, take, s->done, 1);
        budget -= take;
    }
    uint32_t max_seqs = max_seqs_of(L);
    while (I->n_heap && I->n_run < max_seqs && budget) {
        uint32_t r = (uint32_t)I->heap[0];
        if ((rc = flight_take(L, r)) != CC_OK) /* (a preempted request has its own) */
            return rc;
        rstate *s = st_of(L, r);
        uint64_t need = sc->preempt == CC_SIM_PREEMPT_QUEUE
                            ? (uint64_t)t->input_tokens[r] + t->output_tokens[r]
                            : (uint64_t)t->input_tokens[r] + s->decoded;
        if (sc->hbm_kv_tokens && I->n_run && I->kv_used + need > sc->hbm_kv_tokens)
            break; /* head of line waits for room (a lone request always runs) */
        heap_pop(I);
        if ((rc = admit(L, I, r, now)) != CC_OK)
            return rc;
        I->run[I->n_run++] = r;
        uint32_t take;
        if ((rc = next_chunk(L, I, r, budget, now, &take)) != CC_OK)
            return rc;
        if (!take)
            continue;
        push_item(I, r, take, s->done, 1);
        budget -= take;
    }
    *any = I->n_items > 0;
    if (!*any)
        return CC_OK;
    int prefill = 0;
    for (size_t k = 0; k < I->n_items; k++)
        prefill |= I->is_prefill[k];
    double s_compute = 0;
    rc = prefill ? cc_executor_prefill(I->ex, I->items, I->n_items, &s_compute, L->err)
                 : cc_executor_decode(I->ex, I->items, I->n_items, &s_compute, L->err);
    if (rc != CC_OK)
        return rc;
    double s_step = s_compute;
    for (size_t k = 0; k < I->n_loads; k++) {
        double s_x = 0;
        const cc_tier_config *tc = &L->pcfg->tiers[I->loads[k].tier];
        if (tc->bandwidth_bytes_per_s > 0) {
            s_x = spec_transfer_s(tc, I->loads[k].bytes, sc->kv_overlap,
                                  sc->n_layers ? sc->n_layers : 1, s_compute);
        } else {
            rc = cc_executor_kv_transfer(I->ex, I->loads[k].bytes, I->loads[k].kind,
                                         CC_SIM_TIER_HBM, sc->kv_overlap, s_compute, &s_x, L->err);
            if (rc != CC_OK)
                return rc;
        }
        if (s_x > s_step)
            s_step = s_x;
    }
    I->step_s = s_step;
    L->res->summary.steps++;
    L->res->summary.busy_s += s_step;
    if (L->log_steps) {
        if (L->n_steplog == L->cap_steplog &&
            cc_grow((void **)&L->steplog, &L->cap_steplog, L->n_steplog + 1,
                    sizeof *L->steplog) != CC_OK)
            return oom(L);
        L->steplog[L->n_steplog++] = s_step;
    }
    return CC_OK;
}

static int finish(loop *L, inst *I, uint32_t r, int64_t end)
{
    rstate *s = st_of(L, r);
    cc_sim_record *rec = &L->res->records[r];
    if (!L->pre) {
        uint32_t n = n_blocks_of(L->t, r);
        uint32_t *nodes = nodes_of(L, r);
        uint32_t ins = 0;
        if (L->sc->concurrency == CC_CONCURRENCY_AFTER_COMPLETE) {
            cc_pc_request rq = request_view(L, r, n, end);
            cc_pc_insert(I->pc, &rq, nodes, &ins);
            if (L->res->cache.records)
                L->res->cache.records[r].inserted_blocks += ins;
        }
        release_pins(L, I, r);
    }
    const cc_sim_semantic *sem = L->sc->semantic;
    if (sem && !sem->write_back_on_arrival) { /* write-back of the model's answer */
        int rc = sem->insert(sem->user, r, end, L->err);
        if (rc < 0)
            return rc;
    }
    rec->finish_ns = end;
    s->phase = PH_DONE;
    I->kv_used -= s->kv;
    s->kv = 0;
    I->load--;
    L->in_flight--;
    cc_executor_finish(I->ex, r);
    flight_give_back(L, r);
    return CC_OK;
}

/* Applies I's current step, which ends at `end`. */
static int apply(loop *L, inst *I, int64_t end)
{
    const cc_trace *t = L->t;
    int finished = 0;
    for (size_t k = 0; k < I->n_items; k++) {
        uint32_t r = (uint32_t)I->items[k].req;
        rstate *s = st_of(L, r);
        cc_sim_record *rec = &L->res->records[r];
        if (I->is_prefill[k]) {
            s->done += (uint32_t)I->items[k].n_new;
            rec->prefill_s += I->step_s * (double)I->items[k].n_new / (double)I->step_tokens;
            if (!L->pre && (L->sc->concurrency == CC_CONCURRENCY_IMMEDIATE ||
                            L->sc->concurrency == CC_CONCURRENCY_DEDUP)) {
                uint32_t n = n_blocks_of(t, r);
                uint32_t in = t->input_tokens[r];
                uint32_t nb = s->done >= in ? n : s->done / t->block_size;
                if (nb > n) /* a chain shorter than the input (none: every token new) */
                    nb = n;
                if (nb > s->inserted) {
                    cc_pc_request rq = request_view(L, r, nb, end);
                    uint32_t ins = 0;
                    cc_pc_insert(I->pc, &rq, nodes_of(L, r), &ins);
                    if (L->res->cache.records)
                        L->res->cache.records[r].inserted_blocks += ins;
                    if (L->sc->concurrency == CC_CONCURRENCY_DEDUP)
                        unclaim(L, I, r, s->inserted, nb);
                    s->inserted = nb;
                }
            }
            if (s->done < s->target)
                continue;
            if (s->decoded == 0) {
                rec->first_token_ns = end;
                s->decoded = 1;
                if (L->sc->blend) { /* the prompt's chunks now have KV: store them */
                    int rc = blend_units(L, I, r, rec->cached_tokens, end, 0, NULL, NULL);
                    if (rc != CC_OK)
                        return rc;
                }
            }
            s->phase = PH_DECODE;
        } else {
            s->decoded++;
        }
        if (s->decoded >= t->output_tokens[r]) {
            int rc = finish(L, I, r, end);
            if (rc != CC_OK)
                return rc;
            finished = 1;
        }
    }
    if (finished) {
        uint32_t w = 0;
        for (uint32_t a = 0; a < I->n_run; a++)
            if (L->slot[I->run[a]] != NO_SLOT) /* (finish() gave the slot back) */
                I->run[w++] = I->run[a];
        I->n_run = w;
    }
    return CC_OK;
}

static int64_t dur_ns(double s)
{
    return s > 0 ? llround(s * 1e9) : 0;
}

/* Runs I from now: steps that end before the next queued event are applied
 * at once; the first that does not is queued. */
static int kick(loop *L, uint32_t ix, int64_t now)
{
    inst *I = &L->in[ix];
    for (;;) {
        int any, rc = form(L, I, now, &any);
        if (rc != CC_OK)
            return rc;
        if (!any) {
            I->busy = 0;
            return CC_OK;
        }
        int64_t end = now + dur_ns(I->step_s);
        const cc_event *nx = cc_evq_peek(&L->q);
        if (nx && nx->time_ns <= end) {
            I->busy = 1;
            if (cc_evq_push(&L->q, end, CC_EV_STEP_DONE, ix, 0) != CC_OK)
                return oom(L);
            return CC_OK;
        }
        if ((rc = apply(L, I, end)) != CC_OK)
            return rc;
        now = end;
    }
}

static uint32_t route(loop *L, uint32_t r, int64_t now, uint32_t *match_tokens)
{
    const cc_sim_config *sc = L->sc;
    uint32_t n = sc->instances, best = 0;
    int matched = 0;
    *match_tokens = 0;
    cc_pc_request rq = request_view(L, r, n_blocks_of(L->t, r), now);
    if (n > 1 && sc->router == CC_SIM_ROUTER_RR) {
        best = (uint32_t)(L->rr++ % n);
    } else if (n > 1 && sc->router == CC_SIM_ROUTER_LEAST_LOADED) {
        for (uint32_t i = 1; i < n; i++)
            if (L->in[i].load < L->in[best].load)
                best = i;
    } else if (n > 1) {
        uint32_t best_tok = 0;
        for (uint32_t i = 0; i < n; i++) {
            cc_pc_hits h;
            cc_pc_match(L->in[i].pc, &rq, &h);
            if (i == 0 || h.tokens > best_tok ||
                (h.tokens == best_tok && L->in[i].load < L->in[best].load)) {
                best = i;
                best_tok = h.tokens;
            }
        }
        *match_tokens = best_tok;
        matched = 1;
    }
    if (sc->scheduler == CC_SIM_SCHED_LPF && !matched) {
        cc_pc_hits h;
        cc_pc_match(L->in[best].pc, &rq, &h);
        *match_tokens = h.tokens;
    }
    return best;
}

/* Tier occupancy over time (results files, overlapping modes): the blocks
 * tier k of every instance holds, summed, as request r arrives at now. */
static void occ_sample(loop *L, uint32_t r, int64_t now)
{
    cc_replay_result *cr = &L->res->cache;
    size_t s = cr->n_occupancy++;
    cr->occupancy_request[s] = r;
    cr->occupancy_time_ns[s] = now;
    for (uint32_t k = 0; k < L->T; k++) {
        uint64_t u = 0;
        for (uint32_t i = 0; i < L->sc->instances; i++)
            u += cc_pc_tier_used(L->in[i].pc, k);
        cr->occupancy_used_blocks[s * L->T + k] = u;
    }
}

/* ---- lanes (CC_SIM_SCHED_LANES; driver.h) ------------------------------------------
 *
 * Each running request is served alone.  Its progress: the next block to
 * obtain, the current stretch of computation (start time, tokens present
 * before it, tokens computed in it so far, and their price) and, in dedup
 * mode, the list of requests waiting for the block it computes.  Waiting
 * requests form the index range [next_start, arrived), since arrivals come
 * in trace order.  A started request's progress and cache node ids live in
 * its flight until it finishes.  A request never waits while it has
 * a claim (dedup), so waits cannot form a cycle.  Event kinds give the
 * order at one instant: blocks, finishes, resumes, arrivals. */

enum { EV_LANE_BLOCK = CC_EV_USER, EV_LANE_FINISH, EV_LANE_RESUME, EV_LANE_ARRIVAL,
       EV_SEM_ROUTE /* a semantic miss, routed after its lookup */ };

static int lane_push(loop *L, int64_t at, uint32_t kind, uint32_t r)
{
    if (cc_evq_push(&L->q, at, kind, 0, r) != CC_OK)
        return oom(L);
    return CC_OK;
}

/* Prices `tokens` computed after `base` present ones (0 tokens: 0 s). */
static int lane_prefill(loop *L, inst *I, uint32_t r, uint64_t tokens, uint64_t base,
                        double *s)
{
    *s = 0;
    if (!tokens)
        return CC_OK;
    cc_sim_item it = {(int64_t)tokens, (int64_t)base, r};
    return cc_executor_prefill(I->ex, &it, 1, s, L->err);
}

/* Prefill of r done at now: first token, then the whole decode alone. */
static int lane_prefill_done(loop *L, inst *I, uint32_t r, int64_t now)
{
    const cc_trace *t = L->t;
    cc_sim_record *rec = &L->res->records[r];
    rec->first_token_ns = now;
    rec->prefill_s += lane_of(L, r)->stretch_s;
    lane_of(L, r)->stretch_s = 0;
    int64_t out = t->output_tokens[r], in = t->input_tokens[r], dec = 0;
    double sec = 0;
    int rc;
    if (I->ex->ops->decode_run) {
        if ((rc = I->ex->ops->decode_run(I->ex->self, r, in, out, &sec, L->err)) != CC_OK)
            return rc;
        dec = dur_ns(sec);
    } else {
        for (int64_t j = 0; j < out; j++) {
            cc_sim_item it = {1, in + j, r};
            if ((rc = cc_executor_decode(I->ex, &it, 1, &sec, L->err)) != CC_OK)
                return rc;
            dec += dur_ns(sec);
        }
    }
    return lane_push(L, now + dec, EV_LANE_FINISH, r);
}

/* Dedup: r took block j of its chain from the cache, stored by another. */
static void lane_dedup_hit(loop *L, inst *I, uint32_t r, uint32_t j)
{
    const cc_trace *t = L->t;
    uint32_t tok = cc_pc_block_tokens(t->input_tokens[r], t->block_size, j), tier = 0;
    cc_pc_node_place(I->pc, nodes_of(L, r)[j], &tier);
    count_dedup_hit(L, r, tok, tier);
}

/* Obtains blocks of r from next_block on until it must compute one (its
 * "block done" event is pushed), must wait (dedup), or has them all. */
static int lane_advance(loop *L, inst *I, uint32_t r, int64_t now)
{
    const cc_trace *t = L->t;
    lane *s = lane_of(L, r);
    const uint32_t n = n_blocks_of(t, r);
    const uint64_t off = t->block_off[r];
    uint32_t *nodes = nodes_of(L, r);
    cc_replay_result *cr = &L->res->cache;
    const bool dedup = L->sc->concurrency == CC_CONCURRENCY_DEDUP;
    while (s->next_block < n) {
        uint32_t j = s->next_block;
        uint64_t hash = t->blocks[off + j];
        uint32_t tok = cc_pc_block_tokens(t->input_tokens[r], t->block_size, j);
        if (dedup) {
            if (cc_pc_find(I->pc, hash) != CC_NODE_NONE) {
                /* computed by the request waited on: take it from the cache */
                cc_pc_request rq = request_view(L, r, j + 1, now);
                uint32_t ins = 0;
                cc_pc_insert(I->pc, &rq, nodes, &ins);
                if (cr->records)
                    cr->records[r].inserted_blocks += ins;
                if (nodes[j] != CC_NODE_NONE) {
                    lane_dedup_hit(L, I, r, j);
                    s->next_block++;
                    continue;
                }
                /* cached but it cannot be chained to ours (our parent was not
                 * cached): compute it, as without the cache */
            }
            uint64_t *owner = cc_u64map_get(&I->claims, hash);
            if (owner && *owner != r) {
                lane *o = lane_of(L, (uint32_t)*owner);
                s->next_waiter = NO_REQ;
                if (o->waiters_head == NO_REQ)
                    o->waiters_head = r;
                else
                    lane_of(L, o->waiters_tail)->next_waiter = r;
                o->waiters_tail = r;
                s->wait_since = now;
                L->res->records[r].prefill_s += s->stretch_s;
                s->stretch_s = 0;
                return CC_OK;
            }
            if (!owner && cc_u64map_put(&I->claims, hash, r, NULL) < 0)
                return oom(L);
        }
        s->stretch_tokens += tok;
        int rc = lane_prefill(L, I, r, s->stretch_tokens, s->stretch_base, &s->stretch_s);
        if (rc != CC_OK)
            return rc;
        int64_t at = s->stretch_start + dur_ns(s->stretch_s);
        return lane_push(L, at > now ? at : now, EV_LANE_BLOCK, r);
    }
    return lane_prefill_done(L, I, r, now);
}

static int lane_start(loop *L, uint32_t r, int64_t now)
{
    const cc_trace *t = L->t;
    inst *I = &L->in[0];
    int rc0 = flight_take(L, r);
    if (rc0 != CC_OK)
        return rc0;
    lane *s = lane_of(L, r);
    cc_sim_record *rec = &L->res->records[r];
    cc_replay_result *cr = &L->res->cache;
    const uint32_t n = n_blocks_of(t, r);
    uint32_t *nodes = L->pre ? NULL : nodes_of(L, r);
    L->busy++;
    L->in_flight++;
    if (!L->pre && L->busy > cr->max_in_flight)
        cr->max_in_flight = L->busy;
    rec->start_ns = now;
    rec->instance = 0;
    I->load++;
    uint64_t present = rec->cached_tokens; /* mode none: cc_replay's hits */
    uint32_t hit_blocks = 0, input = t->input_tokens[r];
    if (!L->pre) {
        cc_pc_request rq = request_view(L, r, n, now);
        cc_pc_hits h;
        cc_pc_lookup(I->pc, &rq, nodes, &h);
        rec->cached_tokens = h.tokens;
        rec->computed_tokens = t->input_tokens[r] - h.tokens;
        memcpy(L->res->record_tier_tokens + (size_t)r * L->T, h.tier_tokens,
               L->T * sizeof(uint32_t));
        cr->hit_blocks += h.blocks;
        cr->hit_tokens += h.tokens;
        if (cr->records) {
            cr->records[r].hit_blocks = h.blocks;
            cr->records[r].hit_tokens = h.tokens;
            memcpy(cr->record_tier_blocks + (size_t)r * L->T, h.tier_blocks,
                   L->T * sizeof(uint32_t));
        }
        present = h.tokens;
        hit_blocks = h.blocks;
        input = rq.input_tokens;
    }
    if (L->sc->on_admit) {
        int hr = L->sc->on_admit(L->sc->on_admit_user, 0, r, rec->cached_tokens,
                                 L->res->record_tier_tokens + (size_t)r * L->T, L->T,
                                 L->pre ? NULL : I->pc, nodes, n);
        if (hr)
            return cc_err_set(L->err, CC_EIO, t->source, 0, "on_admit",
                              "the admission hook failed for request %u (status %d)", r, hr);
    }
    s->stretch_start = now;
    s->stretch_base = present;
    s->stretch_tokens = 0;
    if (L->pre || L->sc->concurrency == CC_CONCURRENCY_AFTER_COMPLETE) {
        uint64_t todo = input > present ? input - present : 0;
        int rc = lane_prefill(L, I, r, todo, present, &s->stretch_s);
        if (rc != CC_OK)
            return rc;
        return lane_prefill_done(L, I, r, now + dur_ns(s->stretch_s));
    }
    s->next_block = hit_blocks; /* prefix mode: the served run is the leading one */
    return lane_advance(L, I, r, now);
}

static int lane_block(loop *L, uint32_t r, int64_t now)
{
    const cc_trace *t = L->t;
    inst *I = &L->in[0];
    lane *s = lane_of(L, r);
    uint32_t j = s->next_block;
    uint64_t off = t->block_off[r];
    if (L->sc->concurrency == CC_CONCURRENCY_DEDUP)
        cc_u64map_del(&I->claims, t->blocks[off + j]);
    cc_pc_request rq = request_view(L, r, j + 1, now);
    uint32_t ins = 0;
    cc_pc_insert(I->pc, &rq, nodes_of(L, r), &ins);
    if (L->res->cache.records)
        L->res->cache.records[r].inserted_blocks += ins;
    s->next_block++;
    int rc;
    for (uint32_t w = s->waiters_head; w != NO_REQ; w = lane_of(L, w)->next_waiter)
        if ((rc = lane_push(L, now, EV_LANE_RESUME, w)) != CC_OK)
            return rc;
    s->waiters_head = s->waiters_tail = NO_REQ;
    return lane_advance(L, I, r, now);
}

static int lane_resume(loop *L, uint32_t r, int64_t now)
{
    lane *s = lane_of(L, r);
    cc_replay_result *cr = &L->res->cache;
    cc_ns_sum_add(&cr->dedup_wait_ns, now - s->wait_since);
    if (cr->records)
        cr->records[r].dedup_wait_ns += now - s->wait_since;
    s->stretch_start = now;
    uint64_t upto = (uint64_t)s->next_block * L->t->block_size, in = L->t->input_tokens[r];
    s->stretch_base = upto < in ? upto : in;
    s->stretch_tokens = 0;
    return lane_advance(L, &L->in[0], r, now);
}

static int lane_finish(loop *L, uint32_t r, int64_t now)
{
    const cc_trace *t = L->t;
    inst *I = &L->in[0];
    if (!L->pre) {
        const uint32_t n = n_blocks_of(t, r);
        uint32_t *nodes = nodes_of(L, r);
        if (L->sc->concurrency == CC_CONCURRENCY_AFTER_COMPLETE) {
            cc_pc_request rq = request_view(L, r, n, now);
            uint32_t ins = 0;
            cc_pc_insert(I->pc, &rq, nodes, &ins);
            if (L->res->cache.records)
                L->res->cache.records[r].inserted_blocks += ins;
        }
        cc_pc_release(I->pc, nodes, n);
    }
    L->res->records[r].finish_ns = now;
    L->busy--;
    L->in_flight--;
    I->load--;
    cc_executor_finish(I->ex, r);
    flight_give_back(L, r);
    if (L->next_start < L->arrived)
        return lane_start(L, (uint32_t)L->next_start++, now);
    return CC_OK;
}

static int lane_arrival(loop *L, uint32_t r, int64_t now)
{
    L->arrived = (size_t)r + 1;
    if (L->sc->servers == 0 || L->busy < L->sc->servers)
        return lane_start(L, (uint32_t)L->next_start++, now);
    return CC_OK;
}

static int semantic_arrival(loop *L, const cc_sim_semantic *sem, uint32_t r, int64_t now);
static int route_request(loop *L, uint32_t r, int64_t now);

static int on_arrival(loop *L, uint32_t r, int64_t now)
{
    const cc_trace *t = L->t;
    if (r + 1 < t->n && t->arrival_ns[r + 1] < now)
        return cc_err_set(L->err, CC_EFORMAT, t->source, (long)r + 2, "arrival_ns",
                          "requests must come in arrival order: request %u arrives at %lld ns, "
                          "before request %u (%lld ns)", r + 1,
                          (long long)t->arrival_ns[r + 1], r, (long long)now);
    const bool lanes = L->sc->scheduler == CC_SIM_SCHED_LANES;
    if (r + 1 < t->n && cc_evq_push(&L->q, t->arrival_ns[r + 1],
                                    lanes ? EV_LANE_ARRIVAL : CC_EV_ARRIVAL, 0, r + 1) != CC_OK)
        return oom(L);
    if (L->progress && (r & 4095) == 0)
        cc_progress_update(r);
    if (lanes)
        return lane_arrival(L, r, now);
    if (L->occ_every && (r + 1) % L->occ_every == 0)
        occ_sample(L, r, now); /* before r is routed */
    const cc_sim_semantic *sem = L->sc->semantic;
    if (sem)
        return semantic_arrival(L, sem, r, now);
    return route_request(L, r, now);
}

/* The semantic tier at r's arrival (driver.h, cc_sim_semantic). */
static int semantic_arrival(loop *L, const cc_sim_semantic *sem, uint32_t r, int64_t now)
{
    const cc_trace *t = L->t;
    cc_sim_record *rec = &L->res->records[r];
    int64_t done = now + sem->lookup_ns;
    if (t->role && t->role[r] == CC_ROLE_SEED) { /* seeds only fill the cache */
        int rc = sem->write_back_on_arrival ? sem->insert(sem->user, r, now, L->err) : CC_OK;
        return rc < 0 ? rc : route_request(L, r, now);
    }
    uint64_t served = UINT64_MAX;
    int hit = sem->lookup(sem->user, r, now, &served, L->err);
    if (hit < 0)
        return hit;
    L->res->summary.semantic_queries++;
    if (!hit) {
        rec->semantic = CC_SIM_SEM_MISS;
        if (sem->write_back_on_arrival) {
            int rc = sem->insert(sem->user, r, now, L->err);
            if (rc < 0)
                return rc;
        }
        if (sem->lookup_ns <= 0)
            return route_request(L, r, now);
        return cc_evq_push(&L->q, done, EV_SEM_ROUTE, 0, r) == CC_OK ? CC_OK : oom(L);
    }
    L->res->summary.semantic_hits++;
    rec->semantic = CC_SIM_SEM_HIT;
    if (t->group_id && served < t->n && t->group_id[r] != CC_NO_GROUP &&
        t->group_id[served] != CC_NO_GROUP) {
        L->res->summary.semantic_judged_hits++;
        if (t->group_id[served] != t->group_id[r]) {
            L->res->summary.semantic_false_hits++;
            rec->semantic = CC_SIM_SEM_FALSE_HIT;
        }
    }
    /* answered from the cache: no prefix tier, no step, no executor */
    rec->start_ns = rec->first_token_ns = rec->finish_ns = done;
    rec->computed_tokens = 0;
    L->res->cache.block_accesses -= n_blocks_of(t, r);
    L->res->cache.input_tokens -= t->input_tokens[r];
    return CC_OK;
}

static int route_request(loop *L, uint32_t r, int64_t now)
{
    uint32_t match = 0;
    uint32_t ix = L->pre ? 0 : route(L, r, now, &match);
    if (L->pre && L->sc->scheduler == CC_SIM_SCHED_LPF)
        match = L->res->records[r].cached_tokens;
    inst *I = &L->in[ix];
    L->res->records[r].instance = ix;
    I->load++;
    int rc = heap_push(L, I, wait_key(L, r, 0, match));
    if (rc != CC_OK || I->busy)
        return rc;
    return kick(L, ix, now);
}

static int run_loop(loop *L)
{
    const cc_trace *t = L->t;
    const bool lanes = L->sc->scheduler == CC_SIM_SCHED_LANES;
    if (t->n && cc_evq_push(&L->q, t->arrival_ns[0], lanes ? EV_LANE_ARRIVAL : CC_EV_ARRIVAL, 0,
                            0) != CC_OK)
        return oom(L);
    cc_event e;
    int rc = CC_OK;
    while (rc == CC_OK && cc_evq_pop(&L->q, &e)) {
        uint32_t r = (uint32_t)e.id;
        if (e.kind == CC_EV_ARRIVAL || e.kind == EV_LANE_ARRIVAL) {
            rc = on_arrival(L, r, e.time_ns);
        } else if (e.kind == EV_LANE_BLOCK) {
            rc = lane_block(L, r, e.time_ns);
        } else if (e.kind == EV_LANE_FINISH) {
            rc = lane_finish(L, r, e.time_ns);
        } else if (e.kind == EV_LANE_RESUME) {
            rc = lane_resume(L, r, e.time_ns);
        } else if (e.kind == EV_SEM_ROUTE) {
            rc = route_request(L, r, e.time_ns);
        } else {
            inst *I = &L->in[e.target];
            rc = apply(L, I, e.time_ns);
            I->busy = 0;
            if (rc == CC_OK)
                rc = kick(L, e.target, e.time_ns);
        }
    }
    return rc;
}

/* ---- set-up -------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Blocks the chunk store may hold at most: every blend unit of every
 * request (whole chunks, or windows of C tokens), each its own chain of
 * B-token blocks.  An unbounded tier holds these beside the prefix blocks,
 * so that "inf" stays a cache that never evicts. */
static uint64_t chunk_blocks_bound(const cc_trace *t, uint32_t C, uint32_t B)
{
    uint64_t n = 0;
    for (size_t c = 0; t->chunk_off && B && c < t->chunk_off[t->n]; c++) {
        uint64_t len = t->chunks[c].token_len;
        if (C)
            n += len / C * ((C + B - 1) / B) + (len % C + B - 1) / B;
        else
            n += (len + B - 1) / B;
    }
    return n;
}

/* The distinct block hashes of t, counted in a map grown with them: 32 to
 * 64 bytes a distinct block, 96 at the moment it doubles (sized for every
 * access, it took 32 to 64 bytes a block access: 4.3 GB for the 106M
 * accesses, 16M distinct, of the 1M-request default workload). */
static int count_distinct(const cc_trace *t, uint64_t *out, cc_err *err)
{
    cc_u64map m;
    if (cc_u64map_init(&m, 1024) != CC_OK)
        return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL, "out of memory");
    for (size_t i = 0; i < cc_trace_n_blocks_total(t); i++)
        if (cc_u64map_put(&m, t->blocks[i], 0, NULL) < 0) {
            cc_u64map_free(&m);
            return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL, "out of memory");
        }
    *out = m.count ? m.count : 1;
    cc_u64map_free(&m);
    return CC_OK;
}

/* Cached tokens per tier of a prefix-mode hit of tier_blocks (the served run
 * is tier 0's blocks, then tier 1's, ...). */
static void tier_tokens_of(uint32_t in, uint32_t bs, const uint32_t *tier_blocks, uint32_t T,
                           uint32_t *out)
{
    /* blocks 0 .. j-1 hold min(in, j * bs) tokens (cc_pc_block_tokens
     * summed), so tier k's share is a difference of two of those: no loop
     * over blocks and no branch on a hit (which a hit ratio between 0 and 1
     * makes unpredictable) */
    uint64_t j = 0, before = 0;
    for (uint32_t k = 0; k < T; k++) {
        j += tier_blocks[k];
        uint64_t upto = j * bs < in ? j * bs : in;
        out[k] = (uint32_t)(upto - before);
        before = upto;
    }
}

static int summarize(loop *L)
{
    cc_sim_result *res = L->res;
    const cc_trace *t = L->t;
    cc_sim_summary *S = &res->summary;
    size_t n = t->n;
    double *x = malloc((n ? n : 1) * sizeof *x);
    if (!x)
        return oom(L);
    int64_t first = n ? t->arrival_ns[0] : 0, last = first;
    uint64_t tokens = 0, out_tokens = 0;
    for (size_t i = 0; i < n; i++) {
        const cc_sim_record *r = &res->records[i];
        if (r->finish_ns > last)
            last = r->finish_ns;
        tokens += r->input_tokens + r->output_tokens;
        out_tokens += r->output_tokens;
        S->prefill_gpu_s_saved += r->prefill_full_s - r->prefill_alone_s;
        S->blend_tokens += r->blend_tokens;
        S->blend_recompute_tokens += r->blend_recompute_tokens;
        for (uint32_t k = 0; k < L->T; k++)
            S->cached_tokens_tier[k] += res->record_tier_tokens[i * L->T + k];
    }
    uint64_t in_tokens = 0;
    for (size_t i = 0; i < n; i++)
        in_tokens += res->records[i].input_tokens;
    S->blend_token_hit_ratio = in_tokens ? (double)S->blend_tokens / (double)in_tokens : 0;
    S->makespan_s = (double)(last - first) * 1e-9;
    if (S->makespan_s > 0) {
        S->throughput_tokens_per_s = (double)tokens / S->makespan_s;
        S->output_tokens_per_s = (double)out_tokens / S->makespan_s;
        S->requests_per_s = (double)n / S->makespan_s;
    }
    uint32_t B = L->sc->bootstrap ? L->sc->bootstrap : 1000;
    uint64_t seed = L->sc->seed;
    int rc;
    for (size_t i = 0; i < n; i++)
        x[i] = (double)(res->records[i].first_token_ns - res->records[i].arrival_ns) * 1e-9;
    if ((rc = cc_sim_dist_compute(x, n, seed, B, &S->ttft_s, L->err)) != CC_OK)
        goto out;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const cc_sim_record *r = &res->records[i];
        if (r->output_tokens > 1 && r->semantic < CC_SIM_SEM_HIT)
            x[m++] = (double)(r->finish_ns - r->first_token_ns) * 1e-9 / (r->output_tokens - 1);
    }
    if ((rc = cc_sim_dist_compute(x, m, seed + 1, B, &S->tpot_s, L->err)) != CC_OK)
        goto out;
    for (size_t i = 0; i < n; i++)
        x[i] = (double)(res->records[i].finish_ns - res->records[i].arrival_ns) * 1e-9;
    if ((rc = cc_sim_dist_compute(x, n, seed + 2, B, &S->e2e_s, L->err)) != CC_OK)
        goto out;
    for (size_t i = 0; i < n; i++)
        x[i] = (double)(res->records[i].start_ns - res->records[i].arrival_ns) * 1e-9;
    if ((rc = cc_sim_dist_compute(x, n, seed + 3, B, &S->queue_s, L->err)) != CC_OK)
        goto out;
    if (L->sc->semantic) { /* TTFT of semantic hits and of looked-up misses apart */
        for (int want_hit = 1; want_hit >= 0; want_hit--) {
            m = 0;
            for (size_t i = 0; i < n; i++) {
                const cc_sim_record *r = &res->records[i];
                if (r->semantic != CC_SIM_SEM_NONE && (r->semantic >= CC_SIM_SEM_HIT) == want_hit)
                    x[m++] = (double)(r->first_token_ns - r->arrival_ns) * 1e-9;
            }
            if ((rc = cc_sim_dist_compute(x, m, seed + 5 - want_hit, B,
                                          want_hit ? &S->ttft_semantic_hit_s
                                                   : &S->ttft_semantic_miss_s, L->err)) != CC_OK)
                goto out;
        }
    }
out:
    free(x);
    return rc;
}

static void free_insts(loop *L)
{
    if (!L->in)
        return;
    for (uint32_t i = 0; i < L->sc->instances; i++) {
        inst *I = &L->in[i];
        if (I->cpc) {
            cc_cs_free(&I->cs);
            if (I->cpc != I->pc)
                cc_pc_destroy(I->cpc);
        }
        free(I->cnodes);
        if (!L->pre)
            cc_pc_destroy(I->pc);
        if (I->claims.cap)
            cc_u64map_free(&I->claims);
        free(I->run);
        free(I->heap);
        free(I->items);
        free(I->is_prefill);
        free(I->loads);
    }
    free(L->in);
    L->in = NULL;
}

int cc_sim_run(const cc_trace *t, const cc_pc_config *pc_cfg, const cc_replay_opts *ropts,
               const cc_sim_config *sc, cc_executor *executors, size_t n_executors,
               cc_sim_result *res, cc_err *err)
{
    memset(res, 0, sizeof *res);
    int rc = cc_sim_config_validate(sc, err);
    if (rc != CC_OK)
        return rc;
    if (!executors || n_executors < 1)
        return cc_err_set(err, CC_EARG, NULL, 0, "executor", "expected at least one executor");
    if (t->n > UINT32_MAX - 1)
        return cc_err_set(err, CC_ERANGE, t->source, 0, "requests",
                          "the simulator takes at most %u requests, got %zu", UINT32_MAX - 1,
                          t->n);
    if (sc->semantic && (sc->scheduler == CC_SIM_SCHED_LANES ||
                         sc->concurrency == CC_CONCURRENCY_NONE))
        return cc_err_set(err, CC_EUNSUP, NULL, 0, "semantic",
                          "the semantic tier runs in the overlapping modes (concurrency "
                          "immediate, dedup or after-complete) of the simulator's batch "
                          "schedulers");
    if (sc->semantic && (!sc->semantic->lookup || !sc->semantic->insert ||
                         sc->semantic->lookup_ns < 0))
        return cc_err_set(err, CC_EARG, NULL, 0, "semantic",
                          "expected lookup and insert hooks and a lookup time >= 0");
    cc_replay_opts ro = {0};
    if (ropts)
        ro = *ropts;
    ro.concurrency = sc->concurrency;
    bool keep = ro.keep_records;
    const bool lanes = sc->scheduler == CC_SIM_SCHED_LANES;
    uint64_t *next = NULL; /* lanes: next uses, when a policy needs them */
    loop L = {.t = t, .sc = sc, .res = res, .err = err};
    double t0 = now_s();
    cc_pc_config cfg = *pc_cfg;
    if (sc->concurrency == CC_CONCURRENCY_NONE) {
        ro.keep_records = true;
        if ((rc = cc_replay(t, pc_cfg, &ro, &res->cache, err)) != CC_OK)
            return rc;
        L.pre = &res->cache;
        if (cfg.block_tokens == 0)
            cfg.block_tokens = t->block_size;
    } else {
        if (cfg.mode != CC_PC_PREFIX)
            return cc_err_set(err, CC_EUNSUP, NULL, 0, "concurrency",
                              "concurrency '%s' needs prefix mode",
                              cc_concurrency_name(sc->concurrency));
        if (ro.context_cache)
            return cc_err_set(err, CC_EUNSUP, NULL, 0, "context_cache",
                              "explicit context caches need concurrency none");
        if (t->block_size == 0 || (t->n && !t->blocks))
            return cc_err_set(err, CC_EUNSUP, t->source, 0, "blocks",
                              "the trace has no block hashes to replay");
        if (cfg.block_tokens == 0)
            cfg.block_tokens = t->block_size;
        else if (cfg.block_tokens != t->block_size)
            return cc_err_set(err, CC_EARG, t->source, 0, "block_size",
                              "cache blocks of %u tokens but the trace's blocks hold %u",
                              cfg.block_tokens, t->block_size);
        uint64_t distinct = 0;
        for (uint32_t k = 0; k < cfg.n_tiers && k < CC_PC_MAX_TIERS; k++) {
            const cc_policy_ops *ops = cfg.tiers[k].policy ? cfg.tiers[k].policy
                                                            : cc_policy_find("lru");
            if (ops && (ops->flags & CC_POLICY_NEEDS_NEXT_USE) && !lanes)
                return cc_err_set(err, CC_EUNSUP, NULL, 0, "policy",
                                  "policy '%s' needs next uses, which overlapping modes do "
                                  "not provide", ops->name);
            if (ops && (ops->flags & CC_POLICY_NEEDS_NEXT_USE) && !next &&
                (rc = cc_replay_next_uses(t, &next, err)) != CC_OK)
                return rc;
            if (cfg.tiers[k].capacity_blocks)
                continue;
            if (!distinct && (rc = count_distinct(t, &distinct, err)) != CC_OK) {
                free(next);
                return rc;
            }
            cfg.tiers[k].capacity_blocks = distinct;
            if (sc->blend) /* chunk blocks share this cache (the twin is below) */
                cfg.tiers[k].capacity_blocks +=
                    chunk_blocks_bound(t, sc->blend_chunk_tokens, cfg.block_tokens);
        }
    }
    L.next = next;
    L.progress = ro.progress && !L.pre;
    L.pcfg = &cfg;
    L.T = cfg.n_tiers;
    size_t n = t->n, nb = cc_trace_n_blocks_total(t);
    res->n = n;
    res->n_tiers = L.T;
    /* the memory bound (core/replay.h): the trace, what cc_replay keeps in
     * res->cache, and this loop's per-request arrays: a record, its cached
     * tokens per tier, its flight's slot number and a waiting request's heap
     * key (after the loop the summary's sorted copy of 8 bytes a request
     * takes the place of the last two) */
    uint64_t per_request = sizeof *res->records + L.T * sizeof *res->record_tier_tokens;
    uint64_t state = (uint64_t)n * (per_request + sizeof *L.slot + sizeof(uint64_t));
    if (L.pre)
        state += cc_replay_state_bytes(t, L.T, true, false);
    else
        state += cc_replay_state_bytes(t, L.T, keep, next != NULL);
    if ((rc = cc_replay_check_bound(t, state, ro.max_bytes, err)) != CC_OK)
        goto fail;
    res->records = calloc(n ? n : 1, sizeof *res->records);
    res->record_tier_tokens = calloc((n ? n : 1) * L.T, sizeof *res->record_tier_tokens);
    L.slot = malloc((n ? n : 1) * sizeof *L.slot);
    L.free_fl = NO_SLOT;
    for (size_t i = 0; L.slot && i < n; i++)
        L.slot[i] = NO_SLOT;
    L.in = calloc(sc->instances, sizeof *L.in);
    size_t n_occ = 0;
    if (!L.pre) {
        if (keep && n) {
            res->cache.records = calloc(n, sizeof *res->cache.records);
            res->cache.record_tier_blocks = calloc(n * L.T, sizeof(uint32_t));
        }
        if (keep && n && !lanes) {
            /* occupancy: at every occ_every-th arrival and once at the end */
            L.occ_every = n / CC_REPLAY_OCCUPANCY_SAMPLES + (n % CC_REPLAY_OCCUPANCY_SAMPLES != 0);
            size_t ns = n / L.occ_every + 1;
            n_occ = ns;
            res->cache.occupancy_request = malloc(ns * sizeof *res->cache.occupancy_request);
            res->cache.occupancy_time_ns = malloc(ns * sizeof *res->cache.occupancy_time_ns);
            res->cache.occupancy_used_blocks =
                malloc(ns * L.T * sizeof *res->cache.occupancy_used_blocks);
            if (!res->cache.occupancy_request || !res->cache.occupancy_time_ns ||
                !res->cache.occupancy_used_blocks) {
                rc = oom(&L);
                goto fail;
            }
        }
    }
    if (!res->records || !res->record_tier_tokens || !L.slot || !L.in ||
        (!L.pre && keep && n && (!res->cache.records || !res->cache.record_tier_blocks))) {
        rc = oom(&L);
        goto fail;
    }
    uint32_t ms = max_seqs_of(&L);
    for (uint32_t i = 0; i < sc->instances; i++) {
        inst *I = &L.in[i];
        I->ex = &executors[i % n_executors];
        I->run = malloc(ms * sizeof *I->run);
        I->items = malloc(ms * sizeof *I->items);
        I->is_prefill = malloc(ms);
        if (!I->run || !I->items || !I->is_prefill) {
            rc = oom(&L);
            goto fail;
        }
        if (!L.pre && (rc = cc_pc_create(&cfg, &I->pc, err)) != CC_OK)
            goto fail;
        if (!L.pre && cc_u64map_init(&I->claims, 64) != CC_OK) {
            rc = oom(&L);
            goto fail;
        }
        if (sc->blend) {
            if (L.pre) { /* cc_replay holds the prefix cache: chunks get a twin */
                cc_pc_config cc = cfg;
                cc.mode = CC_PC_PREFIX;
                uint64_t cap = chunk_blocks_bound(t, sc->blend_chunk_tokens, cfg.block_tokens);
                for (uint32_t k = 0; k < cc.n_tiers && k < CC_PC_MAX_TIERS; k++)
                    if (!cc.tiers[k].capacity_blocks)
                        cc.tiers[k].capacity_blocks = cap ? cap : 1;
                if ((rc = cc_pc_create(&cc, &I->cpc, err)) != CC_OK)
                    goto fail;
            } else {
                I->cpc = I->pc;
            }
            if ((rc = cc_cs_init(&I->cs, I->cpc, err)) != CC_OK) {
                if (I->cpc != I->pc)
                    cc_pc_destroy(I->cpc);
                I->cpc = NULL;
                goto fail;
            }
        }
    }
    if (cc_evq_init(&L.q, sc->instances + 2) != CC_OK) {
        rc = oom(&L);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        cc_sim_record *r = &res->records[i];
        r->arrival_ns = t->arrival_ns[i];
        r->input_tokens = t->input_tokens[i];
        r->output_tokens = t->output_tokens[i];
        if (L.pre) {
            const cc_replay_record *pr = &res->cache.records[i];
            r->cached_tokens = pr->hit_tokens;
            r->computed_tokens = pr->input_tokens - pr->hit_tokens;
            tier_tokens_of(pr->input_tokens, cfg.block_tokens,
                           res->cache.record_tier_blocks + i * L.T, L.T,
                           res->record_tier_tokens + i * L.T);
        } else {
            r->computed_tokens = r->input_tokens;
            res->cache.block_accesses += n_blocks_of(t, i);
            res->cache.input_tokens += t->input_tokens[i];
            if (res->cache.records) {
                cc_replay_record *cr = &res->cache.records[i];
                cr->request = i;
                cr->input_tokens = t->input_tokens[i];
                cr->output_tokens = t->output_tokens[i];
                cr->n_blocks = n_blocks_of(t, i);
                cr->arrival_ns = t->arrival_ns[i];
            }
        }
    }
    if (!L.pre)
        res->cache.max_in_flight = 0;
    rc = run_loop(&L);
    /* the state at its largest (every array below only grows): the
     * per-request arrays (cc_replay's records in res->cache, or the results
     * file's, and next uses included) and what the loop holds per request in
     * flight and per instance, or, in the summary, the per-request arrays
     * and the sorted copy of one distribution with qsort's scratch */
    uint64_t kept = (uint64_t)n * per_request +
                    (res->cache.records ? (uint64_t)n * (sizeof *res->cache.records +
                                                         L.T * sizeof(uint32_t)) : 0) +
                    n_occ * (sizeof *res->cache.occupancy_request +
                             sizeof *res->cache.occupancy_time_ns +
                             L.T * sizeof *res->cache.occupancy_used_blocks) +
                    (next ? nb * sizeof *next : 0);
    uint64_t in_loop = (uint64_t)n * sizeof *L.slot + L.cap_fl * sizeof *L.fl + L.nodes_bytes +
                       L.q.cap * sizeof *L.q.heap + sc->instances * sizeof *L.in;
    for (uint32_t i = 0; i < sc->instances; i++) {
        const inst *I = &L.in[i];
        in_loop += ms * (sizeof *I->run + sizeof *I->items + sizeof *I->is_prefill) +
                   I->cap_heap * sizeof *I->heap + I->cap_loads * sizeof *I->loads +
                   I->cap_cnodes * sizeof *I->cnodes +
                   I->claims.cap * (sizeof *I->claims.keys + sizeof *I->claims.vals);
    }
    uint64_t in_summary = 2 * (uint64_t)n * sizeof(double); /* a copy, and the scratch
                                                                of glibc's qsort (a merge sort) */
    res->state_bytes = kept + (in_loop > in_summary ? in_loop : in_summary);
    cc_evq_free(&L.q);
    if (rc != CC_OK)
        goto fail;
    /* the cost of each whole input with nothing cached, alone */
    for (size_t i = 0; i < n; i++) {
        cc_executor *x = sc->reference ? sc->reference : L.in[res->records[i].instance].ex;
        cc_sim_item it = {t->input_tokens[i] ? t->input_tokens[i] : 1, 0, i};
        if ((rc = cc_executor_prefill(x, &it, 1, &res->records[i].prefill_full_s, err)) != CC_OK)
            goto fail;
        if (lanes) /* a lane computes alone: what it was charged is its price alone */
            res->records[i].prefill_alone_s = res->records[i].prefill_s;
        if (!sc->reference)
            cc_executor_finish(x, i);
    }
    /* the cache's figures: times from the driver */
    cc_replay_result *cr = &res->cache;
    cr->queue_wait_ns = (cc_ns_sum){0, 0};
    cr->last_finish_ns = 0;
    for (size_t i = 0; i < n; i++) {
        const cc_sim_record *r = &res->records[i];
        cc_ns_sum_add(&cr->queue_wait_ns, r->start_ns - r->arrival_ns);
        if (r->finish_ns > cr->last_finish_ns)
            cr->last_finish_ns = r->finish_ns;
        if (cr->records) {
            cr->records[i].start_ns = r->start_ns;
            cr->records[i].first_token_ns = r->first_token_ns;
            cr->records[i].finish_ns = r->finish_ns;
        }
    }
    if (L.occ_every && n)
        occ_sample(&L, (uint32_t)(n - 1), cr->last_finish_ns); /* the run's end */
    if (!L.pre) {
        cr->requests = n;
        cr->concurrency = sc->concurrency;
        cr->computed_tokens = cr->input_tokens - cr->hit_tokens;
        cr->block_hit_ratio = cr->block_accesses ? (double)cr->hit_blocks / cr->block_accesses : 0;
        cr->token_hit_ratio = cr->input_tokens ? (double)cr->hit_tokens / cr->input_tokens : 0;
        double ratio_sum = 0;
        size_t ratio_n = 0;
        for (size_t i = 0; i < n; i++)
            if (t->input_tokens[i] && res->records[i].semantic < CC_SIM_SEM_HIT) {
                ratio_sum += (double)res->records[i].cached_tokens / t->input_tokens[i];
                ratio_n++;
            }
        cr->request_hit_ratio_mean = ratio_n ? ratio_sum / ratio_n : 0;
        cr->n_tiers = L.T;
        for (uint32_t i = 0; i < sc->instances; i++) {
            const cc_pc_stats *st = cc_pc_get_stats(L.in[i].pc);
            cr->no_room_blocks += st->no_room_blocks;
            for (uint32_t k = 0; k < L.T; k++) {
                const cc_tier_stats *a = &st->tier[k];
                cc_tier_stats *b = &cr->tiers[k];
                b->hit_blocks += a->hit_blocks;
                b->hit_tokens += a->hit_tokens;
                b->inserted_blocks += a->inserted_blocks;
                b->promoted_blocks += a->promoted_blocks;
                b->demoted_in_blocks += a->demoted_in_blocks;
                b->evicted_blocks += a->evicted_blocks;
                b->dropped_blocks += a->dropped_blocks;
                b->expired_blocks += a->expired_blocks;
                b->rejected_blocks += a->rejected_blocks;
                b->bytes_up += a->bytes_up;
                b->bytes_down += a->bytes_down;
            }
        }
        for (uint32_t k = 0; k < L.T; k++) {
            cr->capacity_blocks[k] = cfg.tiers[k].capacity_blocks;
            cr->blocks_moved += cr->tiers[k].promoted_blocks + cr->tiers[k].demoted_in_blocks;
            cr->bytes_moved += cr->tiers[k].bytes_up + cr->tiers[k].bytes_down;
            cr->evictions += cr->tiers[k].dropped_blocks;
            cr->expirations += cr->tiers[k].expired_blocks;
        }
        cr->metadata_bytes_per_block = cc_pc_bytes_per_block(L.in[0].pc);
        cr->implicit_hit_tokens = cr->hit_tokens;
        if (cr->records)
            for (size_t i = 0; i < n; i++)
                cr->records[i].computed_tokens =
                    res->records[i].semantic >= CC_SIM_SEM_HIT /* answered by the semantic tier */
                        ? 0 : cr->records[i].input_tokens - cr->records[i].hit_tokens;
    }
    for (uint32_t i = 0; i < sc->instances; i++) {
        if (!L.pre)
            res->cache_bytes += cc_pc_memory_bytes(L.in[i].pc);
        if (L.in[i].cpc && L.in[i].cpc != L.in[i].pc)
            res->cache_bytes += cc_pc_memory_bytes(L.in[i].cpc);
    }
    /* the loop's state goes before the summary takes its copy */
    free_insts(&L);
    flights_free(&L);
    free(L.slot);
    L.slot = NULL;
    if ((rc = summarize(&L)) != CC_OK)
        goto fail;
    res->elapsed_s = now_s() - t0;
    cr->elapsed_s = res->elapsed_s;
    if (!keep) {
        free(cr->records);
        free(cr->record_tier_blocks);
        cr->records = NULL;
        cr->record_tier_blocks = NULL;
    }
    free(next);
    return CC_OK;
fail:
    free_insts(&L);
    flights_free(&L);
    free(L.slot);
    free(next);
    cc_sim_result_free(res);
    return rc;
}

static int rates_replay(const cc_trace *t, cc_trace_stream *ts, const cc_pc_config *cfg,
                        const cc_replay_opts *opts, cc_replay_result *res, cc_err *err);

int cc_sim_replay(const cc_trace *t, const cc_pc_config *cfg, const cc_replay_opts *opts,
                  cc_replay_result *res, cc_err *err)
{
    return rates_replay(t, NULL, cfg, opts, res, err);
}

void cc_sim_result_free(cc_sim_result *res)
{
    cc_replay_result_free(&res->cache);
    free(res->records);
    free(res->record_tier_tokens);
    res->records = NULL;
    res->record_tier_tokens = NULL;
}

int cc_sim_tier_kind_of(const char *name, uint32_t k)
{
    static const struct {
        const char *name;
        int kind;
    } kinds[] = {
        {"hbm", CC_SIM_TIER_HBM},       {"gpu", CC_SIM_TIER_HBM},     {"dram", CC_SIM_TIER_DRAM},
        {"cpu", CC_SIM_TIER_DRAM},      {"host", CC_SIM_TIER_DRAM},   {"mem", CC_SIM_TIER_DRAM},
        {"ssd", CC_SIM_TIER_SSD},       {"nvme", CC_SIM_TIER_SSD},    {"disk", CC_SIM_TIER_SSD},
        {"remote", CC_SIM_TIER_REMOTE}, {"net", CC_SIM_TIER_REMOTE},
        {"peer", CC_SIM_TIER_PEER},     {"nvlink", CC_SIM_TIER_PEER},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strncmp(name, kinds[i].name, strlen(kinds[i].name)))
            return kinds[i].kind;
    return k == 0 ? CC_SIM_TIER_HBM : k == 1 ? CC_SIM_TIER_DRAM : k == 2 ? CC_SIM_TIER_SSD
                                                                       : CC_SIM_TIER_REMOTE;
}

/* ---- streamed replays (driver.h: cc_sim_run_stream) ----------------------------
 *
 * Concurrency none serves one request at a time on one instance: a request
 * starts at max(its arrival, the previous finish) and from there its steps
 * depend only on its input and output lengths, its hit tokens and its cached
 * tokens per tier (the executors streamed runs take price steps from those
 * alone).  So
 * the driver's loop runs once per distinct (input, output, hits, tier tokens) on a
 * one-request trace starting at 0 -- the same code, so the same steps --
 * and the outcome, shifted to the start, is reused for every request of
 * that shape (memo: a u64 map of the shape's hash to its entry, the shape
 * compared in full; a colliding shape is timed afresh).  The summary sums
 * what summarize() sums, in the same order (each step's seconds included),
 * and the distributions come from value counts (cc_sim_dist_compute_counts).
 * Memory: the cache, one window of the trace (and 12 bytes for each of its
 * requests: shape index and wait), the memo (104 bytes per shape plus 8 per
 * step of its run) and the counts of distinct TTFT, TPOT, end-to-end and
 * queue times (32 bytes each at most); nothing per request of the trace. */

typedef struct shape {
    uint32_t in, out, cached, tier[CC_PC_MAX_TIERS]; /* cached: the hit tokens (the
                                                        tiers' share counts the leading run) */
    int64_t first_ns, finish_ns; /* after the start */
    double prefill_s, prefill_full_s;
    double saved_s;              /* prefill_full_s - prefill_s */
    double step1;                /* the step's seconds when n_steps = 1 */
    uint32_t preemptions;
    uint32_t n_steps;
    size_t step_off;             /* in serial.steps */
    uint64_t uses;               /* requests of this shape so far (the integer sums
                                    are uses x the shape's figures, at the end) */
} shape;

typedef struct serial {
    cc_sim_config sc;
    uint32_t T;
    cc_trace t1;                 /* the one-request trace */
    int64_t arr;
    uint32_t in, out;
    uint64_t boff[2];
    cc_sim_result r1;
    cc_sim_record rec;
    uint32_t ttok[CC_PC_MAX_TIERS];
    uint32_t slot1;              /* the request's flight */
    inst I;
    uint32_t run1;
    cc_sim_item item1;
    uint8_t isp1;
    loop L;
    cc_u64map memo;              /* shape hash -> index in shapes */
    size_t recent[16];           /* shapes by shape_slot (indices + 1; 0 = none) */
    shape *shapes;
    size_t n_shapes, cap_shapes;
    double *steps;
    size_t n_steps, cap_steps;
} serial;

static void serial_free(serial *S)
{
    cc_evq_free(&S->L.q);
    flights_free(&S->L);
    free(S->L.steplog);
    free(S->I.heap);
    free(S->I.loads);
    cc_u64map_free(&S->memo);
    free(S->shapes);
    free(S->steps);
}

static int serial_init(serial *S, const cc_pc_config *cfg, const cc_sim_config *sc,
                       cc_executor *ex, cc_err *err)
{
    memset(S, 0, sizeof *S);
    S->sc = *sc;
    S->T = cfg->n_tiers;
    cc_trace *t = &S->t1;
    t->n = 1;
    t->block_size = cfg->block_tokens;
    t->arrival_ns = &S->arr;
    t->input_tokens = &S->in;
    t->output_tokens = &S->out;
    t->block_off = S->boff;
    S->r1.records = &S->rec;
    S->r1.record_tier_tokens = S->ttok;
    S->r1.n = 1;
    S->r1.n_tiers = S->T;
    S->I.ex = ex;
    S->I.run = &S->run1;
    S->I.items = &S->item1;
    S->I.is_prefill = &S->isp1;
    loop *L = &S->L;
    L->t = t;
    L->sc = &S->sc;
    L->pcfg = cfg;
    L->res = &S->r1;
    L->pre = &S->r1.cache; /* the hits are given */
    L->slot = &S->slot1;
    L->free_fl = NO_SLOT;
    L->in = &S->I;
    L->T = S->T;
    L->log_steps = true;
    L->err = err;
    if (cc_evq_init(&L->q, 4) != CC_OK || cc_u64map_init(&S->memo, 64) != CC_OK) {
        serial_free(S);
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory in the simulator");
    }
    return CC_OK;
}

static uint64_t shape_hash(uint32_t in, uint32_t out, uint32_t cached, const uint32_t *tier,
                           uint32_t T)
{
    uint64_t h = cc_mix64(((uint64_t)in << 32 | out) + 0x9e3779b97f4a7c15u);
    h = cc_mix64(h ^ cached);
    for (uint32_t k = 0; k < T; k++)
        h = cc_mix64(h ^ (tier[k] + ((uint64_t)k << 40)));
    return h;
}

/* Times one request of the shape from start 0 through the driver's loop. */
static int serial_time(serial *S, uint32_t in, uint32_t out, uint32_t cached,
                       const uint32_t *tier, shape *e)
{
    loop *L = &S->L;
    S->arr = 0;
    S->in = in;
    S->out = out;
    S->boff[0] = S->boff[1] = 0;
    memset(&S->rec, 0, sizeof S->rec);
    S->rec.input_tokens = in;
    S->rec.output_tokens = out;
    S->rec.cached_tokens = cached;
    S->rec.computed_tokens = in - cached;
    memcpy(S->ttok, tier, S->T * sizeof *tier);
    S->slot1 = NO_SLOT; /* (the pool's one flight is taken afresh) */
    L->n_fl = 0;
    L->free_fl = NO_SLOT;
    inst *I = &S->I;
    I->n_run = 0;
    I->n_heap = 0;
    I->n_items = 0;
    I->n_loads = 0;
    I->busy = 0;
    I->kv_used = 0;
    I->load = 0;
    memset(&S->r1.summary, 0, sizeof S->r1.summary);
    L->in_flight = 0;
    L->busy = 0;
    L->arrived = 0;
    L->next_start = 0;
    L->rr = 0;
    L->n_steplog = 0;
    cc_evq_clear(&L->q);
    int rc = run_loop(L);
    if (rc != CC_OK)
        return rc;
    e->in = in;
    e->out = out;
    e->cached = cached;
    memset(e->tier, 0, sizeof e->tier);
    memcpy(e->tier, tier, S->T * sizeof *tier);
    e->first_ns = S->rec.first_token_ns;
    e->finish_ns = S->rec.finish_ns;
    e->prefill_s = S->rec.prefill_alone_s; /* priced alone, as the whole-trace run */
    e->preemptions = S->rec.preemptions;
    /* the cost of the whole input with nothing cached, alone (as cc_sim_run) */
    cc_executor *x = S->sc.reference ? S->sc.reference : I->ex;
    cc_sim_item it = {in ? in : 1, 0, 0};
    if ((rc = cc_executor_prefill(x, &it, 1, &e->prefill_full_s, L->err)) != CC_OK)
        return rc;
    if (!S->sc.reference)
        cc_executor_finish(x, 0);
    if (S->n_steps + L->n_steplog > S->cap_steps &&
        cc_grow((void **)&S->steps, &S->cap_steps, S->n_steps + L->n_steplog,
                sizeof *S->steps) != CC_OK)
        return oom(L);
    e->n_steps = (uint32_t)L->n_steplog;
    e->step_off = S->n_steps;
    e->saved_s = e->prefill_full_s - e->prefill_s;
    e->step1 = L->n_steplog == 1 ? L->steplog[0] : 0;
    e->uses = 0;
    if (L->n_steplog) /* none (the rates backend logs no steps): steps may be NULL */
        memcpy(S->steps + S->n_steps, L->steplog, L->n_steplog * sizeof *L->steplog);
    S->n_steps += L->n_steplog;
    return CC_OK;
}

/* The shape's entry: memoized, or timed now. */
static int serial_shape_find(serial *S, uint32_t in, uint32_t out, uint32_t cached,
                             const uint32_t *tier, const shape **e);
static inline int shape_is(const shape *x, uint32_t in, uint32_t out, uint32_t cached,
                           const uint32_t *tier, uint32_t T)
{
    if (x->in != in || x->out != out || x->cached != cached)
        return 0;
    for (uint32_t k = 0; k < T; k++)
        if (x->tier[k] != tier[k])
            return 0;
    return 1;
}

/* The shape's entry in S->recent: a cheap hash, so that the shapes a run
 * cycles through (a hit's and a miss's, in random order) are found by an
 * index rather than by comparisons whose outcome follows the hits (branches
 * no predictor gets right). */
static inline size_t shape_slot(uint32_t in, uint32_t out, uint32_t cached, const uint32_t *tier,
                                uint32_t T)
{
    uint32_t x = in * 0x9e3779b1u + out * 0x85ebca77u + cached * 0xc2b2ae3du;
    for (uint32_t k = 0; k < T; k++)
        x += tier[k] * (0x27d4eb2fu + 2 * k);
    x ^= x >> 15;
    x *= 0x2c1b3c6du;
    return x >> 28;
}

static int serial_shape(serial *S, uint32_t in, uint32_t out, uint32_t cached,
                        const uint32_t *tier, const shape **e)
{
    size_t k = shape_slot(in, out, cached, tier, S->T);
    size_t r = S->recent[k];
    if (r && shape_is(&S->shapes[r - 1], in, out, cached, tier, S->T)) {
        *e = &S->shapes[r - 1];
        return CC_OK;
    }
    int rc = serial_shape_find(S, in, out, cached, tier, e);
    if (rc == CC_OK)
        S->recent[k] = (size_t)(*e - S->shapes) + 1;
    return rc;
}

static int serial_shape_find(serial *S, uint32_t in, uint32_t out, uint32_t cached,
                             const uint32_t *tier, const shape **e)
{
    uint64_t h = shape_hash(in, out, cached, tier, S->T);
    uint64_t *slot = cc_u64map_get(&S->memo, h);
    if (slot) {
        const shape *x = &S->shapes[*slot];
        if (shape_is(x, in, out, cached, tier, S->T)) {
            *e = x;
            return CC_OK;
        }
    }
    if (S->n_shapes == S->cap_shapes &&
        cc_grow((void **)&S->shapes, &S->cap_shapes, S->n_shapes + 1, sizeof *S->shapes) != CC_OK)
        return oom(&S->L);
    shape *x = &S->shapes[S->n_shapes];
    int rc = serial_time(S, in, out, cached, tier, x);
    if (rc != CC_OK)
        return rc;
    if (!slot && cc_u64map_put(&S->memo, h, S->n_shapes, NULL) < 0)
        return oom(&S->L);
    S->n_shapes++; /* (a colliding shape stays in the table, unreachable) */
    *e = x;
    return CC_OK;
}

/* Value counts of one distribution; a run of equal values is counted once
 * into the map (serial runs repeat values a lot). */
typedef struct counts {
    cc_u64map m;
    uint64_t last, run;
} counts;

static int count_flush(counts *c, cc_err *err)
{
    if (!c->run)
        return CC_OK;
    uint64_t *v;
    if (cc_u64map_put(&c->m, c->last, 0, &v) < 0)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory for the percentiles");
    *v += c->run;
    c->run = 0;
    return CC_OK;
}

static inline int count_value(counts *c, double v, cc_err *err)
{
    uint64_t key;
    memcpy(&key, &v, sizeof key);
    if (c->run && key == c->last) {
        c->run++;
        return CC_OK;
    }
    int rc = count_flush(c, err);
    c->last = key;
    c->run = 1;
    return rc;
}

/* rep more requests with the times the last count_value calls counted
 * (the TPOT only where the output was longer than one token). */
static inline void repeat_runs(counts *dist, uint64_t rep, uint32_t out)
{
    dist[0].run += rep;
    if (out > 1)
        dist[1].run += rep;
    dist[2].run += rep;
    dist[3].run += rep;
}

/* The running figures of a streamed serial run (the integer ones are summed
 * over the shapes at the end: serial_sums). */
typedef struct serial_acc {
    int64_t prev_finish, last;
    cc_ns_sum queue_wait;
    double busy, saved; /* summed in summarize()'s order */
} serial_acc;

/* The window's times and sums, request by request in order (each starts at
 * max(its arrival, the previous finish)): wait[i] = its queue wait.  A
 * function of its own with no calls, so that the running sums (two chains
 * of double additions among them) live in registers rather than in stack
 * slots that each request loads and stores; the integer figures are a count
 * of uses per shape. */
__attribute__((noinline)) static void serial_times(serial *S, const uint32_t *idx,
                                                   const int64_t *arrival_ns, size_t m,
                                                   int64_t *wait, serial_acc *acc)
{
    shape *sh = S->shapes;
    const double *steps = S->steps;
    int64_t prev_finish = acc->prev_finish, last = acc->last;
    cc_ns_sum qw = acc->queue_wait;
    double busy = acc->busy, saved = acc->saved;
    for (size_t i = 0; i < m; i++) {
        shape *e = &sh[idx[i]];
        int64_t arrival = arrival_ns[i];
        int64_t start = arrival > prev_finish ? arrival : prev_finish;
        int64_t finish = start + e->finish_ns;
        prev_finish = finish;
        if (e->n_steps == 1) {
            busy += e->step1;
        } else {
            for (uint32_t j = 0; j < e->n_steps; j++)
                busy += steps[e->step_off + j];
        }
        saved += e->saved_s;
        e->uses++;
        if (finish > last)
            last = finish;
        cc_ns_sum_add(&qw, start - arrival);
        wait[i] = start - arrival;
    }
    acc->prev_finish = prev_finish;
    acc->last = last;
    acc->queue_wait = qw;
    acc->busy = busy;
    acc->saved = saved;
}

/* One-block requests from i on: win_shape[j] = the last shape of request
 * j's tier (tier_shape, + 1) while that shape has its input and output
 * lengths; returns the first request where it does not (m: none). */
static size_t shapes_by_tier(const shape *sh, const size_t *tier_shape, const int8_t *tiers,
                             const uint32_t *in, const uint32_t *out, size_t i, size_t m,
                             uint32_t *win_shape)
{
    for (; i < m; i++) {
        size_t ks = tier_shape[((uint32_t)tiers[i] + 1) & (CC_PC_MAX_TIERS * 2 - 1)];
        if (!ks || sh[ks - 1].in != in[i] || sh[ks - 1].out != out[i])
            break;
        win_shape[i] = (uint32_t)(ks - 1);
    }
    return i;
}

/* The value counts' state across windows: the last request's times as
 * counted (a wait is never negative: -1 = none yet) and how many requests
 * since repeated them. */
typedef struct count_runs {
    int64_t prev_wait, prev_first, prev_fin;
    uint32_t prev_out;
    uint64_t rep;
} count_runs;

/* The window's TTFT, TPOT, end-to-end and queue times into the value
 * counts.  The four are functions of the wait and the shape's first and
 * finish times and output length: the same four as the previous request's
 * make count_value only lengthen each run, which `rep` does at once when the
 * run ends (or after the last window). */
static int count_window(counts *dist, const shape *sh, const uint32_t *idx, const int64_t *wait,
                        size_t m, count_runs *st, cc_err *err)
{
    count_runs r = *st;
    int rc = CC_OK;
    for (size_t i = 0; i < m; i++) {
        const shape *e = &sh[idx[i]];
        int64_t wt = wait[i];
        uint32_t out = e->out;
        if (wt == r.prev_wait && e->first_ns == r.prev_first && e->finish_ns == r.prev_fin &&
            out == r.prev_out) {
            r.rep++;
            continue;
        }
        repeat_runs(dist, r.rep, r.prev_out);
        r.rep = 0;
        /* (first - arrival = wait + first_ns, finish - arrival = wait +
         * finish_ns: the times as integers, then seconds) */
        if ((rc = count_value(&dist[0], (double)(wt + e->first_ns) * 1e-9, err)) != CC_OK ||
            (out > 1 && (rc = count_value(&dist[1], (double)(e->finish_ns - e->first_ns) *
                                                        1e-9 / (out - 1), err)) != CC_OK) ||
            (rc = count_value(&dist[2], (double)(wt + e->finish_ns) * 1e-9, err)) != CC_OK ||
            (rc = count_value(&dist[3], (double)wt * 1e-9, err)) != CC_OK)
            break;
        r.prev_wait = wt;
        r.prev_first = e->first_ns;
        r.prev_fin = e->finish_ns;
        r.prev_out = out;
    }
    *st = r;
    return rc;
}

/* The integer figures of the run: each shape's times its uses. */
static void serial_sums(const serial *S, cc_sim_summary *Sm, uint64_t *tokens,
                        uint64_t *out_tokens)
{
    uint64_t t = 0, o = 0, steps = 0, pre = 0, cached[CC_PC_MAX_TIERS] = {0};
    for (size_t j = 0; j < S->n_shapes; j++) {
        const shape *e = &S->shapes[j];
        t += e->uses * ((uint64_t)e->in + e->out);
        o += e->uses * e->out;
        steps += e->uses * e->n_steps;
        pre += e->uses * e->preemptions;
        for (uint32_t k = 0; k < S->T; k++)
            cached[k] += e->uses * e->tier[k];
    }
    *tokens = t;
    *out_tokens = o;
    Sm->steps += steps;
    Sm->preemptions += pre;
    for (uint32_t k = 0; k < S->T; k++)
        Sm->cached_tokens_tier[k] += cached[k];
}

int cc_sim_run_stream(cc_trace_stream *ts, const cc_pc_config *pc_cfg,
                      const cc_replay_opts *ropts, const cc_sim_config *sc, cc_executor *ex,
                      cc_sim_result *res, cc_err *err)
{
    memset(res, 0, sizeof *res);
    int rc = cc_sim_config_validate(sc, err);
    if (rc != CC_OK)
        return rc;
    if (sc->concurrency != CC_CONCURRENCY_NONE || sc->instances != 1 || sc->semantic ||
        sc->blend || sc->on_admit)
        return cc_err_set(err, CC_EUNSUP, NULL, 0, "concurrency",
                          "a streamed run serves one request at a time on one instance, "
                          "without semantic or blend tiers or admission hooks");
    if (!ex)
        return cc_err_set(err, CC_EARG, NULL, 0, "executor", "expected an executor");
    cc_replay_opts ro = {0};
    if (ropts)
        ro = *ropts;
    ro.concurrency = CC_CONCURRENCY_NONE;
    uint32_t bs = cc_trace_stream_block_size(ts);
    cc_pc_config cfg = *pc_cfg;
    if (cfg.block_tokens == 0)
        cfg.block_tokens = bs;
    double t0 = now_s();
    cc_replay_stream *rs;
    if ((rc = cc_replay_stream_begin(&cfg, &ro, bs, &rs, err)) != CC_OK)
        return rc;
    serial S;
    if ((rc = serial_init(&S, &cfg, sc, ex, err)) != CC_OK) {
        cc_replay_stream_free(rs);
        return rc;
    }
    const uint32_t T = cfg.n_tiers;
    cc_sim_summary *Sm = &res->summary;
    counts dist[4]; /* ttft, tpot, e2e, queue: value -> count */
    memset(dist, 0, sizeof dist);
    int have_dist = 0;
    for (; have_dist < 4; have_dist++)
        if (cc_u64map_init(&dist[have_dist].m, 64) != CC_OK)
            break;
    cc_pc_hits *hits = NULL;
    size_t cap_hits = 0;
    int64_t first_arrival = 0, prev_arrival = INT64_MIN;
    uint64_t n = 0;
    serial_acc acc = {.prev_finish = INT64_MIN};
    size_t tier_shape[CC_PC_MAX_TIERS * 2] = {0}; /* one-block requests: the last shape
                                                     of tier k at k + 1 (+ 1; 0 = none) */
    uint32_t *win_shape = NULL; /* the window's requests: shape index, wait */
    int64_t *win_wait = NULL;
    size_t cap_win = 0;
    count_runs runs = {.prev_wait = -1};
    if (have_dist < 4)
        rc = oom(&S.L);
    for (;;) {
        const cc_trace *w;
        if (rc != CC_OK || (rc = cc_trace_stream_next(ts, &w, err)) != CC_OK || w->n == 0)
            break;
        /* one-block requests in independent mode: the hits as one tier
         * byte a request (cc_replay_stream_tiers), not a struct */
        const int8_t *tiers = NULL;
        if (cc_replay_stream_singles(rs, w)) {
            if ((rc = cc_replay_stream_feed(rs, w, NULL, err)) != CC_OK)
                break;
            tiers = cc_replay_stream_tiers(rs);
        } else {
            if (w->n > cap_hits) {
                free(hits);
                cap_hits = w->n;
                hits = malloc(cap_hits * sizeof *hits);
                if (!hits) {
                    rc = oom(&S.L);
                    break;
                }
            }
            if ((rc = cc_replay_stream_feed(rs, w, hits, err)) != CC_OK)
                break;
        }
        /* three passes over the window: the shapes (calls on a new shape),
         * the times and sums (no calls: the running sums stay in
         * registers), the value counts (calls when a run of equal times
         * ends) */
        size_t m = w->n;
        if (m > cap_win) {
            free(win_shape);
            free(win_wait);
            cap_win = m;
            win_shape = malloc(m * sizeof *win_shape);
            win_wait = malloc(m * sizeof *win_wait);
            if (!win_shape || !win_wait) {
                rc = oom(&S.L);
                break;
            }
        }
        /* the requests' order and number first (a faulty window ends the
         * run, so nothing of it need be done before its error) */
        size_t bad = m, lim = n + m > UINT32_MAX - 1 ? (size_t)(UINT32_MAX - 1 - n) : m;
        int64_t pa = prev_arrival;
        for (size_t i = 0; i < m; i++) {
            if (w->arrival_ns[i] < pa) {
                bad = i;
                break;
            }
            pa = w->arrival_ns[i];
        }
        if (bad < m && bad <= lim) {
            uint64_t r = n + bad;
            int64_t prev = bad ? w->arrival_ns[bad - 1] : prev_arrival;
            rc = cc_err_set(err, CC_EFORMAT, w->source, (long)r + 1, "arrival_ns",
                            "requests must come in arrival order: request %" PRIu64
                            " arrives at %lld ns, before request %" PRIu64 " (%lld ns)", r,
                            (long long)w->arrival_ns[bad], r - 1, (long long)prev);
            break;
        }
        if (lim < m) {
            rc = cc_err_set(err, CC_ERANGE, w->source, 0, "requests",
                            "the simulator takes at most %u requests", UINT32_MAX - 1);
            break;
        }
        prev_arrival = w->arrival_ns[m - 1];
        if (n == 0)
            first_arrival = acc.last = w->arrival_ns[0];
        for (size_t i = 0; i < m; i++) {
            if (tiers) {
                /* one block: the shape follows from (input, output, tier),
                 * so the last shape of each tier (or of a miss) is checked
                 * first, for a run of requests at once */
                i = shapes_by_tier(S.shapes, tier_shape, tiers, w->input_tokens,
                                   w->output_tokens, i, m, win_shape);
                if (i == m)
                    break;
            }
            uint32_t in = w->input_tokens[i], out = w->output_tokens[i];
            uint32_t tier_tok[CC_PC_MAX_TIERS] = {0}, cached;
            if (tiers) {
                /* a hit's tokens (cc_pc_block_tokens(in, bt, 0)) in its
                 * tier; a miss (-1) writes its zero to the last entry */
                int k = tiers[i];
                cached = (in < cfg.block_tokens ? in : cfg.block_tokens) & (0u - (k >= 0));
                tier_tok[(unsigned)k & (CC_PC_MAX_TIERS - 1)] = cached;
            } else {
                tier_tokens_of(in, cfg.block_tokens, hits[i].tier_blocks, T, tier_tok);
                cached = hits[i].tokens;
            }
            const shape *e = NULL;
            if ((rc = serial_shape(&S, in, out, cached, tier_tok, &e)) != CC_OK)
                break;
            win_shape[i] = (uint32_t)(e - S.shapes);
            if (tiers)
                tier_shape[((uint32_t)tiers[i] + 1) & (CC_PC_MAX_TIERS * 2 - 1)] =
                    (size_t)(e - S.shapes) + 1;
        }
        if (rc != CC_OK)
            break;
        serial_times(&S, win_shape, w->arrival_ns, m, win_wait, &acc);
        if ((rc = count_window(dist, S.shapes, win_shape, win_wait, m, &runs, err)) != CC_OK)
            break;
        n += m;
    }
    repeat_runs(dist, runs.rep, runs.prev_out);
    free(hits);
    free(win_shape);
    free(win_wait);
    uint64_t tokens = 0, out_tokens = 0;
    serial_sums(&S, Sm, &tokens, &out_tokens);
    if (rc == CC_OK)
        rc = cc_replay_stream_end(rs, cc_trace_stream_source(ts), &res->cache, err);
    else
        cc_replay_stream_free(rs);
    if (rc == CC_OK) {
        cc_replay_result *cr = &res->cache;
        cr->queue_wait_ns = acc.queue_wait;
        cr->last_finish_ns = n ? acc.prev_finish : 0;
        res->n = 0; /* no records */
        Sm->busy_s = acc.busy;
        Sm->prefill_gpu_s_saved = acc.saved;
        res->n_tiers = T;
        Sm->blend_token_hit_ratio = 0;
        Sm->makespan_s = (double)(acc.last - first_arrival) * 1e-9;
        if (Sm->makespan_s > 0) {
            Sm->throughput_tokens_per_s = (double)tokens / Sm->makespan_s;
            Sm->output_tokens_per_s = (double)out_tokens / Sm->makespan_s;
            Sm->requests_per_s = (double)n / Sm->makespan_s;
        }
        uint32_t B = sc->bootstrap ? sc->bootstrap : 1000;
        cc_sim_dist *d[4] = {&Sm->ttft_s, &Sm->tpot_s, &Sm->e2e_s, &Sm->queue_s};
        for (int k = 0; k < 4 && rc == CC_OK; k++)
            if ((rc = count_flush(&dist[k], err)) == CC_OK)
                rc = cc_sim_dist_compute_counts(&dist[k].m, sc->seed + (uint64_t)k, B, d[k],
                                                err);
        res->elapsed_s = now_s() - t0;
        cr->elapsed_s = res->elapsed_s;
    }
    for (int k = 0; k < have_dist; k++)
        cc_u64map_free(&dist[k].m);
    serial_free(&S);
    if (rc != CC_OK)
        cc_sim_result_free(res);
    return rc;
}

/* The rates backend through the driver: t whole (any concurrency), or ts
 * streamed (concurrency none, one server). */
static int rates_replay(const cc_trace *t, cc_trace_stream *ts, const cc_pc_config *cfg,
                        const cc_replay_opts *opts, cc_replay_result *res, cc_err *err)
{
    memset(res, 0, sizeof *res);
    cc_replay_opts ro = {0};
    if (opts)
        ro = *opts;
    if (ts)
        ro.concurrency = CC_CONCURRENCY_NONE;
    double prefill_tps = ro.prefill_tokens_per_s ? ro.prefill_tokens_per_s
                                                 : CC_REPLAY_DEFAULT_PREFILL_TPS;
    double decode_tps = ro.decode_tokens_per_s ? ro.decode_tokens_per_s
                                               : CC_REPLAY_DEFAULT_DECODE_TPS;
    cc_executor ex;
    int rc = cc_rates_executor_create(prefill_tps, decode_tps, &ex, err);
    if (rc != CC_OK)
        return rc;
    cc_sim_config sc;
    cc_sim_config_default(&sc);
    sc.scheduler = CC_SIM_SCHED_LANES;
    sc.concurrency = ro.concurrency;
    sc.servers = ro.concurrency == CC_CONCURRENCY_NONE ? 1 : ro.servers;
    cc_sim_result sr;
    rc = ts ? cc_sim_run_stream(ts, cfg, &ro, &sc, &ex, &sr, err)
            : cc_sim_run(t, cfg, &ro, &sc, &ex, 1, &sr, err);
    cc_executor_free(&ex);
    if (rc != CC_OK)
        return rc;
    *res = sr.cache;
    memset(&sr.cache, 0, sizeof sr.cache);
    cc_sim_result_free(&sr);
    res->concurrency = ro.concurrency;
    res->prefill_tokens_per_s = prefill_tps;
    res->decode_tokens_per_s = decode_tps;
    res->servers = sc.servers;
    return CC_OK;
}

int cc_sim_replay_stream(cc_trace_stream *ts, const cc_pc_config *cfg,
                         const cc_replay_opts *opts, cc_replay_result *res, cc_err *err)
{
    return rates_replay(NULL, ts, cfg, opts, res, err);
}
