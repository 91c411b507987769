/*
 * plan.h -- the SLO planner (`ctxcache plan`): which deployment is the
 * cheapest that serves a trace within its latency objectives, at each of
 * several arrival rates.
 *
 * A deployment is (hardware x tensor-parallel degree x cache tiers x
 * eviction policy x router) -- a "configuration" -- times a number of
 * identical instances.  Each deployment is timed by the serving simulator
 * (sim/driver.h: requests overlap, continuous batching, the cost model on
 * tp devices) on the trace with its arrival times divided by the rate
 * scale.  Its price per hour is
 *
 *   usd_per_hour = instances * (tp * hw.usd_per_hour
 *                               + dram_GB * dram_usd_per_GB_hour
 *                               + ssd_GB * ssd_usd_per_GB_hour)
 *
 * (the GPU rent from the hardware profile; the memory tiers priced as in
 * the operator economics, policies/pricing.h cc_econ_tier_find; the HBM
 * tier lives in the GPU's memory and costs nothing more), and its price per
 * million tokens is usd_per_hour / (3600 * tokens per second served / 1e6).
 *
 * The search (Vidur-Search's, with the cache tiers and the policy added):
 * for each configuration and each rate (ascending), the fewest instances
 * that meet every SLO.  It prunes: instance counts are tried upwards and
 * the search stops at the first that meets the SLOs (more instances are not
 * simulated), and a higher rate starts at the count the lower one needed
 * (a higher rate never needs fewer); so a (configuration, rate) costs
 * answer - previous answer + 1 simulations instead of max_instances.  It
 * does not bisect: latency is only roughly monotone in the instances (more
 * instances split each cache's traffic), and a bisection can skip the
 * first count that meets a target.  Then,
 * at each rate, the cheapest deployment found that meets the SLOs (ties:
 * the lower TTFT p99, then the lower configuration index); when none does,
 * the closest: the smallest worst ratio value / target over the SLOs.
 *
 * Traces without block hashes (Azure: arrival and lengths only) are run
 * with every token new: each request gets an empty block chain, so nothing
 * is ever cached and its whole input is computed.
 *
 * Determinism: configurations run on threads in any order; points are kept
 * in configuration order, so results do not depend on the threads.
 */
#ifndef CC_PLAN_H
#define CC_PLAN_H

#include "../sim/driver.h"
#include "../traces/traces.h"

/* ---- service-level objectives ------------------------------------------- */
typedef enum cc_slo_metric { CC_SLO_TTFT = 0, CC_SLO_TPOT, CC_SLO_E2E, CC_SLO_QUEUE } cc_slo_metric;
typedef struct cc_plan_slo {
    cc_slo_metric metric;
    int pct;           /* 50, 90 or 99 */
    double target_s;   /* > 0 */
} cc_plan_slo;
#define CC_PLAN_MAX_SLOS 12

/* "ttft_p99=1s,tpot_p99=50ms": METRIC_pQ=VALUE[unit] with METRIC ttft,
 * tpot, e2e, queue; Q 50, 90, 99; unit s (default), ms, us.  CC_EARG
 * (field "slo") naming the bad part: unknown metric or percentile, a
 * missing, zero, negative or unparsable value, a repeated metric. */
int cc_plan_slo_parse(const char *text, cc_plan_slo *out, size_t *n, cc_err *err);
/* "ttft_p99" into buf. */
const char *cc_plan_slo_name(const cc_plan_slo *s, char *buf, size_t len);
/* The figure s constrains in a simulator summary. */
double cc_plan_slo_value(const cc_plan_slo *s, const cc_sim_summary *sum);

/* ---- the grid -------------------------------------------------------------- */
/* One combination of cache tier sizes, bytes per instance (0 = no such
 * tier; at least one is non-zero). */
typedef struct cc_plan_tiers {
    double hbm_bytes, dram_bytes, ssd_bytes;
} cc_plan_tiers;

/* "hbm=8GiB|16GiB,dram=0|64GiB,ssd=0|1TB": the product of the lists
 * (tiers not named: 0); units B KB MB GB TB KiB MiB GiB TiB.  *out is
 * malloc'd (free it).  CC_EARG (field "tiers-grid") for bad syntax, an
 * unknown tier, a combination with no tier at all. */
int cc_plan_tiers_parse(const char *text, cc_plan_tiers **out, size_t *n, cc_err *err);
/* "hbm:8GiB,dram:64GiB" (a --tiers spec, sizes in bytes) into buf. */
const char *cc_plan_tiers_spec(const cc_plan_tiers *t, char *buf, size_t len);

#define CC_PLAN_MAX_LIST 16
typedef struct cc_plan_spec {
    cc_plan_slo slos[CC_PLAN_MAX_SLOS];
    size_t n_slos;
    cc_sim_hw hw[CC_PLAN_MAX_LIST];       /* each with usd_per_hour > 0 */
    size_t n_hw;
    cc_sim_model model;
    int tp[CC_PLAN_MAX_LIST];             /* degrees tried; n_tp = 0: for each hardware
                                             and tiers, the smallest of 1, 2, 4, 8 that
                                             divides the heads and fits */
    size_t n_tp;
    double rates[CC_PLAN_MAX_LIST];       /* rate scales (> 0), as given */
    size_t n_rates;
    const cc_plan_tiers *tiers;           /* n_tiers combinations */
    size_t n_tiers;
    char policies[CC_PLAN_MAX_LIST][64];  /* policy specs ("lru", "s3fifo") */
    size_t n_policies;
    cc_sim_router routers[CC_PLAN_MAX_LIST];
    size_t n_routers;
    uint32_t max_instances;               /* search bound, >= 1 */
    double hbm_fraction;                  /* (0, 1]: share of HBM usable */
    cc_sim_config sim;                    /* scheduler knobs (cc_sim_config_default);
                                             the plan sets instances, router,
                                             concurrency immediate, HBM budget, tiers */
    uint64_t seed;
    uint32_t threads;                     /* 0 = one per CPU */
    uint32_t rank, ranks;                 /* MPI: this process searches configurations
                                             c with c % ranks == rank (ranks 0 = 1) */
} cc_plan_spec;

/* Defaults: no SLO, no hardware; tp auto; rate 1; policy lru; router
 * least-loaded; 64 instances at most; hbm_fraction 0.9; batch scheduler
 * (cc_sim_config_default) with 100 bootstrap resamples; seed 1. */
void cc_plan_spec_default(cc_plan_spec *s);

/* Upper bound of the simulations an exhaustive search would run:
 * configurations (tp auto counts one) x rates x max_instances. */
uint64_t cc_plan_grid_points(const cc_plan_spec *s);

/* ---- results ----------------------------------------------------------------- */
typedef struct cc_plan_config {
    uint32_t hw, tiers, policy, router; /* indices into the spec's lists */
    int tp;
    int fits;                  /* 0: skipped; why in reason */
    char reason[320];
    uint64_t hbm_kv_tokens;    /* running requests' KV budget per instance */
    double usd_per_instance_hour;
} cc_plan_config;

/* One simulated deployment. */
typedef struct cc_plan_point {
    uint32_t config, rate;      /* indices: configs[], spec rates[] */
    uint32_t instances;
    int meets;                  /* every SLO met */
    double worst_ratio;         /* max over SLOs of value / target (<= 1: met) */
    double slo_value[CC_PLAN_MAX_SLOS];
    double ttft_p50_s, ttft_p99_s, tpot_p50_s, tpot_p99_s, e2e_p99_s;
    double throughput_tokens_per_s;
    double token_hit_ratio;     /* cached tokens / input tokens */
    double usd_per_hour, usd_per_mtok;
} cc_plan_point;

typedef struct cc_plan_answer {
    int met;             /* 1: points[point] is the cheapest that meets the SLOs;
                            0: none does and points[point] is the closest */
    size_t point;
    size_t *pareto;      /* points on the cost x TTFT p99 front at this rate,
                            cost ascending */
    size_t n_pareto;
} cc_plan_answer;

typedef struct cc_plan_result {
    cc_plan_config *configs;
    size_t n_configs;
    cc_plan_point *points;   /* configuration order, then rate, then instances as run */
    size_t n_points;
    cc_plan_answer answers[CC_PLAN_MAX_LIST]; /* one per spec rate */
    uint64_t grid_points;    /* cc_plan_grid_points */
    int content_less;        /* 1: the trace had no block hashes (every token new) */
    double elapsed_s;        /* wall clock: timing only */
} cc_plan_result;

/* Runs the search over t.  Errors: CC_EARG for a bad spec (field named);
 * CC_ERANGE (field "hbm") when no configuration fits, with the first one's
 * shortfall; CC_EUNSUP for a trace whose blocks the cache cannot use; the
 * simulator's errors; CC_ENOMEM. */
int cc_plan_run(const cc_trace *t, const cc_plan_spec *s, cc_plan_result *res, cc_err *err);
void cc_plan_result_free(cc_plan_result *res);
/* Across processes: res from this rank's cc_plan_run, pts[0..n) every
 * rank's points (each rank's in its order; ownership passes to res).  The
 * points are put in configuration order (stable) and the answers and fronts
 * recomputed, so the result is the single-process one. */
int cc_plan_merge(cc_plan_result *res, const cc_plan_spec *s, cc_plan_point *pts, size_t n,
                  cc_err *err);

/* Writes the plan (spec, configurations, every point, answers, Pareto
 * fronts) as HDF5, atomically and deterministically (no wall clock).
 * Schema: docs/plan.md. */
int cc_plan_write_h5(const char *path, const cc_plan_spec *s, const cc_plan_result *res,
                     const char *trace_path, cc_err *err);

#endif
