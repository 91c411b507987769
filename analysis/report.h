/*
 * report.h -- reading results for plots and reports (analysis/report.c,
 * analysis/plot.c): results files of replays, sweep files, miss-ratio-curve
 * CSVs (`ctxcache mrc -o`) and cost-against-TTL CSVs (`ctxcache cost --csv`),
 * and the self-contained HTML report `ctxcache report` writes from them.
 * Plots and reports read these files only, never a live run.
 */
#ifndef CC_REPORT_H
#define CC_REPORT_H

#include "../core/core.h"

#include <stddef.h>
#include <stdint.h>

/* One replay's results file (docs/results-format.md), the parts a report
 * shows. */
typedef struct cc_rep_run {
    char path[512];
    char trace[256], policy[128], tiers_spec[256], mode[32], concurrency[32], version[64];
    uint64_t block_size, seed, requests, input_tokens, evictions, bytes_moved, n_tiers;
    double block_hit_ratio, token_hit_ratio, request_hit_ratio_mean, ideal_block_hit_ratio;
    double *ttft_s;            /* requests entries: first_token - arrival, seconds */
    double ttft_p50_s, ttft_p90_s, ttft_p99_s;
    int serial_service;        /* @serial_service (schema 1.2; before: concurrency none):
                                * TTFT is a serial queue, labelled wherever shown */
    char (*tier_name)[32];     /* n_tiers */
    uint64_t *tier_capacity;   /* n_tiers: capacity_blocks */
    uint64_t *tier_hit_tokens; /* n_tiers */
    size_t n_occ;              /* occupancy samples */
    int64_t *occ_time_ns;      /* n_occ */
    uint64_t *occ_used;        /* n_occ x n_tiers */
    uint64_t instances;        /* /config@instances (1 when absent or ""): occupancy is
                                * summed over instances */
    size_t n_cfg;              /* /config attributes (schema 1.1; 0 before), by name */
    char (*cfg_name)[48];
    char (*cfg_value)[256];
    char backend[16];          /* /@backend: sim, rates, cpu, cuda */
    int serial;                /* = serial_service: its TTFTs are a queue, labelled so
                                * everywhere */
    int has_sim;               /* /sim attributes read: */
    double throughput_tokens_per_s, requests_per_s, makespan_s, prefill_gpu_s_saved;
    size_t n_bills;            /* /cost (optional): a bill per pricing model */
    char (*bill_name)[48];
    double *bill_usd;
    double *bill_no_cache_usd; /* n_bills: every input token uncached (NaN: before 1.3) */
    double *bill_blend_usd;    /* n_bills: with blend counted (NULL: not a blend run) */
    uint64_t bill_requests;    /* requests billed (semantic hits are not; 0: unknown) */
    double gpu_busy_s;         /* /sim@gpu_busy_s (schema 1.3; NaN before) */
    uint64_t computed_tokens;  /* /@computed_tokens: prefilled (prefix misses) */
    /* /semantic (schema 1.3; --semantic runs) */
    int has_semantic;
    uint64_t sem_queries, sem_hits, sem_hit_input_tokens;
    double sem_hit_ratio, sem_false_hit_ratio; /* NaN: no group ids to judge by */
    double sem_ttft_hit_p50_s, sem_ttft_hit_p99_s, sem_ttft_miss_p50_s, sem_ttft_miss_p99_s;
    /* /blend (schema 1.3; --blend runs), with the run without blend beside it */
    int has_blend;
    uint64_t blend_tokens, blend_recompute_tokens;
    double blend_token_hit_ratio, prefix_only_ttft_p50_s, prefix_only_ttft_p99_s;
    double prefix_only_token_hit_ratio;
    /* set by cc_report_label_runs: what tells this run from the others
     * (the /config fields that differ), and the same without the top tier's
     * capacity (runs of one group differ only in that: a curve) */
    char label[200], group[200];
    int dup;                   /* its configuration equals another run's */
} cc_rep_run;

/* A sweep file (docs/sweep.md): the columns hit-ratio-against-capacity plots use. */
#define CC_REP_SWEEP_VARY 9
typedef struct cc_rep_sweep {
    char path[512];
    size_t n;
    char (*policy)[128];
    char (*pricing)[64];
    double *capacity, *block_size, *ttl_s, *block_hit_ratio, *token_hit_ratio;
    double *cost_usd; /* the point's bill under its pricing model (NaN: none) */
    /* the other axes whose values differ between points (trace, tiers,
     * concurrency, instances, hardware, model, router, scheduler, tp), each a
     * column of the table: n_vary names, a value per point and axis */
    size_t n_vary;
    char vary_name[CC_REP_SWEEP_VARY][16];
    char (*vary_val)[CC_REP_SWEEP_VARY][96];
    double *ttft_p99_s; /* backend sim (NaN: cache points); NULL: before schema 1.1 */
} cc_rep_sweep;

/* Rows of an mrc CSV: capacity_blocks,miss_ratio,token_hit_ratio,policy,mode,method,... */
typedef struct cc_rep_mrc {
    char path[512];
    size_t n;
    double *capacity, *miss_ratio;
    char (*series)[96]; /* "policy method" */
} cc_rep_mrc;

/* Rows of a cost CSV: pricing,ttl_s,total_usd,...,operator_usd */
typedef struct cc_rep_cost {
    char path[512];
    size_t n;
    char (*pricing)[32];
    double *ttl_s, *total_usd, *operator_usd;
} cc_rep_cost;

/* A plan file (docs/plan.md): its Pareto fronts (/pareto) and answers
 * (/answers), one table each: rows of rate, deployment, price, TTFT p99. */
typedef struct cc_rep_plan_rows {
    size_t n;
    double *rate_scale, *usd_per_hour, *usd_per_mtok, *ttft_p99_s, *instances, *tp, *meets;
    char (*hardware)[64];
    char (*tiers)[128];
} cc_rep_plan_rows;
typedef struct cc_rep_plan {
    char path[512];
    char slo[256];
    cc_rep_plan_rows pareto, answers;
} cc_rep_plan;

typedef struct cc_report_inputs {
    cc_rep_run *runs;
    size_t n_runs;
    cc_rep_sweep *sweeps;
    size_t n_sweeps;
    cc_rep_mrc *mrcs;
    size_t n_mrcs;
    cc_rep_cost *costs;
    size_t n_costs;
    cc_rep_plan *plans;
    size_t n_plans;
} cc_report_inputs;

/* Reads path, detected by content: an HDF5 file whose root attribute
 * `format` is ctxcache-results, ctxcache-sweep or ctxcache-plan, or a CSV whose header is
 * an mrc or cost table.  Errors name the file and the HDF5 path (attributes
 * as PATH@NAME) or the CSV line and column: CC_EIO (missing/unreadable),
 * CC_EFORMAT (anything else it is not). */
int cc_report_add(cc_report_inputs *in, const char *path, cc_err *err);
/* Labels every run by what differs between the runs (report.h label and
 * group); returns how many labels were not unique (those get " (#N)"). */
size_t cc_report_label_runs(cc_report_inputs *in);
/* Human units for tables and cards: "14.2 ms", "3.40 s", "2.5 min";
 * "716 GiB"; "6.29 M".  Exact values stay in the results files. */
void cc_fmt_seconds(double s, char *buf, size_t len);
void cc_fmt_bytes(double b, char *buf, size_t len);
void cc_fmt_count(double n, char *buf, size_t len);
void cc_report_inputs_free(cc_report_inputs *in);

/* Linear-interpolated quantile of the sorted x[0..n) (numpy's default);
 * NaN for n == 0. */
double cc_quantile_sorted(const double *x, size_t n, double q);

/* Plots (plot.c): each draws one figure with gnuplot into DIR/NAME.svg and
 * DIR/NAME.png.  CC_EUNSUP when gnuplot is not installed; CC_EIO when it
 * fails (its message quoted). */
int cc_plot_available(void);

typedef struct cc_report_opts {
    int plots;            /* 0: tables only (--no-plots) */
    const char *plot_dir; /* where the PNG and SVG files go (made if missing) */
    const char *title;
} cc_report_opts;

/* Writes the HTML report to out (atomically: OUT.tmp renamed): tables of
 * the runs, their differences, tiers, sweeps, curves and costs, and (with
 * plots) the figures inlined as SVG.  The same inputs give the same bytes. */
int cc_report_write(const cc_report_inputs *in, const cc_report_opts *o, const char *out,
                    cc_err *err);

/* One row per run (the runs table: file, trace, policy, tiers, mode,
 * concurrency, requests, hit ratios, evictions, bytes moved, TTFT
 * percentiles) as CSV or JSON (an array of objects), written atomically. */
int cc_report_summary_csv(const cc_report_inputs *in, const char *out, cc_err *err);
int cc_report_summary_json(const cc_report_inputs *in, const char *out, cc_err *err);

/* The figures (plot.c), used by cc_report_write; each returns CC_OK and the
 * SVG text in *svg (malloc'd) or an error.  name: file stem in o->plot_dir. */
int cc_plot_mrc(const cc_report_inputs *in, const char *dir, char **svg, cc_err *err);
int cc_plot_sweep_capacity(const cc_report_inputs *in, const char *dir, char **svg, cc_err *err);
int cc_plot_ttft_cdf(const cc_report_inputs *in, const char *dir, char **svg, cc_err *err);
int cc_plot_cost_ttl(const cc_report_inputs *in, const char *dir, char **svg, cc_err *err);
int cc_plot_occupancy(const cc_report_inputs *in, const char *dir, char **svg, cc_err *err);
/* Plan files: price per hour against TTFT p99 of each Pareto front, one
 * series per (file, rate). */
int cc_plot_plan_pareto(const cc_report_inputs *in, const char *dir, char **svg, cc_err *err);

#endif
