/*
 * results.h -- public surface of analysis/: results files.  A replay's
 * per-request table and its full configuration and summary go into one HDF5
 * file (schema: docs/results-format.md), readable by h5py/pandas without
 * ctxcache; plots and reports read results files only.
 */
#ifndef CC_RESULTS_H
#define CC_RESULTS_H

#include "../core/replay.h"
#include "../sim/driver.h"
#include "../policies/pricing.h"

/* What a results file records about a run. */
typedef struct cc_results_run {
    const cc_trace *trace;         /* the trace as replayed (format, block size) */
    const char *trace_path;        /* as given (NULL: trace->source) */
    const cc_pc_config *cfg;       /* the cache as configured */
    const cc_replay_result *res;   /* with records (keep_records) */
    const char *policy;            /* default policy spec (--policy), or NULL */
    const char *tiers_spec;        /* --tiers as given, or NULL */
    uint64_t kv_bytes_per_token;
    double ideal_block_hit_ratio;  /* from cc_trace_compute_stats; NaN if unknown */
    double ideal_token_hit_ratio;
    /* the simulator backend (NULL: none): per-request times, cached tokens by
     * tier, prefill seconds; its configuration and summary as attributes */
    const cc_sim_result *sim;
    const cc_sim_config *sim_config;
    const char *hardware, *model;  /* profile names */
    const char *backend;           /* "sim", "rates", "cpu", "cuda" (NULL: "rates") */
    int serial_service;            /* 1: one request at a time per instance (TTFT holds
                                      the wait behind every earlier request) */
    /* the semantic tier (sim_config->semantic ran; schema 1.3): /semantic.
     * semantic_judged: the trace has group ids (false hits are known) */
    int semantic;
    const char *semantic_embedder;
    double semantic_threshold, semantic_lookup_ms;
    int semantic_judged;
    /* blend (sim_config->blend; schema 1.3): /blend, with the same run
     * without blend beside it (prefix_only: NULL when not run) */
    const cc_sim_result *prefix_only;
    /* the bills per pricing model (schema 1.3; n_bills 0: none): /cost.
     * no_cache_usd[i]: model i's bill with every input token uncached */
    size_t n_bills;
    const cc_bill *bills;
    const double *no_cache_usd;
    /* --blend with --pricing: each bill again with blend counted
     * (cc_pricing_bill_blend), n_bills of them; NULL: none */
    const cc_bill *blend_bills;
    /* /config: the command line as given (argv[0..argc-1] before option
     * parsing; argc 0: none) and every option as resolved (defaults
     * applied), n_config name/value strings (0 and argc 0: no /config) */
    int argc;
    const char *const *argv;
    size_t n_config;
    const char *const *config_names;
    const char *const *config_values;
} cc_results_run;

/* Writes run to path atomically (PATH.tmp beside it, renamed on success,
 * removed on failure) and deterministically (no object timestamps, no
 * wall-clock figures): the same run gives a byte-identical file.  Errors:
 * CC_EARG when res has no records, CC_EIO (HDF5 path in err->field). */
int cc_results_write_h5(const char *path, const cc_results_run *run, cc_err *err);

/* The per-request table of the results file at path as CSV on out: the
 * columns of /requests, then those of /sim/requests that /requests lacks,
 * per-tier datasets as NAME.TIER columns, a header row, one row per request
 * (results_csv.c).  *rows (may be NULL) gets the row count.  CC_EIO when
 * the file cannot be opened, CC_EFORMAT (field: the attribute or HDF5 path)
 * when it is not a results file.  Write errors on out are the caller's to
 * check. */
int cc_results_export_csv(const char *path, FILE *out, uint64_t *rows, cc_err *err);

#endif
