/*
 * results_h5.c -- a replay's results as one HDF5 file: root attributes with
 * the run's configuration and summary, /config the command line as given and
 * every option as resolved, /requests/... one dataset per column of the
 * per-request table, /tiers/... one dataset per per-tier figure.  The
 * schema is documented in docs/results-format.md; the names below are its
 * single source in code.
 *
 * Writing follows traces/trace_h5.c: the file is created as PATH.tmp,
 * closed (flushed) and renamed to PATH only when every write succeeded; any
 * failure removes PATH.tmp, so PATH is the complete new file or untouched.
 * Object timestamps are off and nothing wall-clock is written, so the same
 * run gives byte-identical files.  Per-request columns are chunked and
 * compressed (shuffle + deflate 3, as the trace writer's default); per-tier
 * datasets and strings are small and stored contiguous.  HDF5 1.10 format.
 *
 * Cost: linear in requests; one scratch column (8 bytes per request).
 */
#include "results.h"

#include "../core/h5io.h"

#include <hdf5.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RESULTS_FORMAT "ctxcache-results"
#define SCHEMA_MAJOR 1
#define SCHEMA_MINOR 3 /* 1: /config; 2: serial_service; 3: /semantic, /blend, /cost,
                         * /sim@gpu_busy_s, /sim/requests/prefill_alone_s */

typedef struct w {
    cc_h5w h;      /* core/h5io.h: quiet errors, atomic rename, deterministic bytes */
    void *scratch;
} w;

static int attr_u64(w *W, const char *name, uint64_t v)
{
    return cc_h5w_attr_u64(&W->h, "/", name, v);
}
static int attr_i64(w *W, const char *name, int64_t v)
{
    return cc_h5w_attr_i64(&W->h, "/", name, v);
}
static int attr_f64(w *W, const char *name, double v)
{
    return cc_h5w_attr_f64(&W->h, "/", name, v);
}
static int attr_str(w *W, const char *name, const char *s)
{
    return cc_h5w_attr_str(&W->h, "/", name, s);
}

static int group(w *W, const char *path)
{
    return cc_h5w_group(&W->h, path);
}

/* rank 1 (cols 0) or 2 (rows x cols); chunked + compressed when chunk. */
static int dataset(w *W, const char *path, hid_t ftype, hid_t mtype, size_t rows, size_t cols,
                   const void *data, bool chunk)
{
    hsize_t dims[2] = {rows, cols};
    return cc_h5w_dataset(&W->h, path, ftype, mtype, cols ? 2 : 1, dims, data,
                          chunk ? CC_H5_COMPRESS : CC_H5_PLAIN);
}

/* Per-request columns gathered from the records into the scratch array. */
#define REC_COL(W, r, path, type, ftype, mtype, expr)                                    \
    do {                                                                                 \
        type *col_ = (W)->scratch;                                                       \
        for (size_t i_ = 0; i_ < (r)->requests; i_++) {                                  \
            const cc_replay_record *rec = &(r)->records[i_];                             \
            col_[i_] = (type)(expr);                                                     \
        }                                                                                \
        if ((rc = dataset(W, path, ftype, mtype, (r)->requests, 0, col_, true)) != CC_OK) \
            return rc;                                                                   \
    } while (0)
#define U32_COL(path, expr) REC_COL(W, r, path, uint32_t, H5T_STD_U32LE, H5T_NATIVE_UINT32, expr)
#define U64_COL(path, expr) REC_COL(W, r, path, uint64_t, H5T_STD_U64LE, H5T_NATIVE_UINT64, expr)
#define I64_COL(path, expr) REC_COL(W, r, path, int64_t, H5T_STD_I64LE, H5T_NATIVE_INT64, expr)

/* Per-tier columns (n_tiers entries). */
#define TIER_U64(path, expr)                                                             \
    do {                                                                                 \
        uint64_t v_[CC_PC_MAX_TIERS];                                                    \
        for (uint32_t k = 0; k < T; k++)                                                 \
            v_[k] = (expr);                                                              \
        if ((rc = dataset(W, path, H5T_STD_U64LE, H5T_NATIVE_UINT64, T, 0, v_, false)) != \
            CC_OK)                                                                       \
            return rc;                                                                   \
    } while (0)
#define TIER_F64(path, expr)                                                             \
    do {                                                                                 \
        double v_[CC_PC_MAX_TIERS];                                                      \
        for (uint32_t k = 0; k < T; k++)                                                 \
            v_[k] = (expr);                                                              \
        if ((rc = dataset(W, path, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, T, 0, v_, false)) != \
            CC_OK)                                                                       \
            return rc;                                                                   \
    } while (0)

static const char *tier_policy(const cc_tier_config *tc)
{
    if (tc->policy_params.spec[0])
        return tc->policy_params.spec;
    return tc->policy ? tc->policy->name : "lru";
}

static int tier_strings(w *W, const char *path, uint32_t T, const char *const *s)
{
    return cc_h5w_strings(&W->h, path, s, T);
}

/* The simulator's per-request columns (/sim/requests/...) and its
 * configuration and summary (attributes of /sim). */
#define SIM_COL(path, type, ftype, mtype, expr)                                          \
    do {                                                                                 \
        type *col_ = W->scratch;                                                         \
        for (size_t i_ = 0; i_ < sr->n; i_++) {                                          \
            const cc_sim_record *rec = &sr->records[i_];                                 \
            col_[i_] = (type)(expr);                                                     \
        }                                                                                \
        if ((rc = dataset(W, path, ftype, mtype, sr->n, 0, col_, true)) != CC_OK)        \
            return rc;                                                                   \
    } while (0)
#define SIM_I64(path, expr) SIM_COL(path, int64_t, H5T_STD_I64LE, H5T_NATIVE_INT64, expr)
#define SIM_U32(path, expr) SIM_COL(path, uint32_t, H5T_STD_U32LE, H5T_NATIVE_UINT32, expr)
#define SIM_F64(path, expr) SIM_COL(path, double, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, expr)

static int sim_attr_f64(w *W, const char *name, double v)
{
    return cc_h5w_attr_f64(&W->h, "/sim", name, v);
}

static int sim_attr_str(w *W, const char *name, const char *s)
{
    return cc_h5w_attr_str(&W->h, "/sim", name, s);
}

static int write_sim(w *W, const cc_results_run *run)
{
    const cc_sim_result *sr = run->sim;
    const cc_sim_config *sc = run->sim_config;
    const cc_sim_summary *S = &sr->summary;
    int rc;
    if ((rc = group(W, "/sim")) != CC_OK || (rc = group(W, "/sim/requests")) != CC_OK)
        return rc;
    SIM_I64("/sim/requests/arrival_ns", rec->arrival_ns);
    SIM_I64("/sim/requests/start_ns", rec->start_ns);
    SIM_I64("/sim/requests/first_token_ns", rec->first_token_ns);
    SIM_I64("/sim/requests/finish_ns", rec->finish_ns);
    SIM_F64("/sim/requests/queue_s", (rec->start_ns - rec->arrival_ns) * 1e-9);
    SIM_F64("/sim/requests/ttft_s", (rec->first_token_ns - rec->arrival_ns) * 1e-9);
    SIM_F64("/sim/requests/tpot_s", rec->output_tokens > 1
                                        ? (rec->finish_ns - rec->first_token_ns) * 1e-9 /
                                              (rec->output_tokens - 1)
                                        : 0.0);
    SIM_F64("/sim/requests/e2e_s", (rec->finish_ns - rec->arrival_ns) * 1e-9);
    SIM_U32("/sim/requests/instance", rec->instance);
    SIM_U32("/sim/requests/cached_tokens", rec->cached_tokens);
    SIM_U32("/sim/requests/computed_tokens", rec->computed_tokens);
    SIM_U32("/sim/requests/preemptions", rec->preemptions);
    SIM_F64("/sim/requests/prefill_s", rec->prefill_s);
    SIM_F64("/sim/requests/prefill_full_s", rec->prefill_full_s);
    SIM_F64("/sim/requests/prefill_alone_s", rec->prefill_alone_s);
    if ((rc = dataset(W, "/sim/requests/cached_tokens_by_tier", H5T_STD_U32LE,
                      H5T_NATIVE_UINT32, sr->n, sr->n_tiers, sr->record_tier_tokens, true)) !=
        CC_OK)
        return rc;
    const struct { const char *name; double v; } nums[] = {
        {"instances", sc ? sc->instances : 0},
        {"max_batch_tokens", sc ? sc->max_batch_tokens : 0},
        {"max_seqs", sc ? sc->max_seqs : 0},
        {"chunk_tokens", sc ? sc->chunk_tokens : 0},
        {"hbm_kv_tokens", sc ? (double)sc->hbm_kv_tokens : 0},
        {"ttft_p50_s", S->ttft_s.p50.value}, {"ttft_p90_s", S->ttft_s.p90.value},
        {"ttft_p99_s", S->ttft_s.p99.value},
        {"ttft_p50_s_ci_lo", S->ttft_s.p50.ci_lo}, {"ttft_p50_s_ci_hi", S->ttft_s.p50.ci_hi},
        {"ttft_p99_s_ci_lo", S->ttft_s.p99.ci_lo}, {"ttft_p99_s_ci_hi", S->ttft_s.p99.ci_hi},
        {"tpot_p50_s", S->tpot_s.p50.value}, {"tpot_p90_s", S->tpot_s.p90.value},
        {"tpot_p99_s", S->tpot_s.p99.value},
        {"e2e_p50_s", S->e2e_s.p50.value}, {"e2e_p99_s", S->e2e_s.p99.value},
        {"queue_p50_s", S->queue_s.p50.value}, {"queue_p99_s", S->queue_s.p99.value},
        {"throughput_tokens_per_s", S->throughput_tokens_per_s},
        {"requests_per_s", S->requests_per_s}, {"makespan_s", S->makespan_s},
        {"prefill_gpu_s_saved", S->prefill_gpu_s_saved}, {"gpu_busy_s", S->busy_s},
        {"preemptions", (double)S->preemptions}, {"steps", (double)S->steps},
    };
    for (size_t i = 0; rc == CC_OK && i < sizeof nums / sizeof nums[0]; i++)
        rc = sim_attr_f64(W, nums[i].name, nums[i].v);
    if (rc == CC_OK)
        rc = sim_attr_str(W, "hardware", run->hardware ? run->hardware : "");
    if (rc == CC_OK)
        rc = sim_attr_str(W, "model", run->model ? run->model : "");
    if (rc == CC_OK && sc)
        rc = sim_attr_str(W, "router", cc_sim_router_name(sc->router));
    if (rc == CC_OK && sc)
        rc = sim_attr_str(W, "scheduler", cc_sim_sched_name(sc->scheduler));
    if (rc == CC_OK && sc)
        rc = sim_attr_str(W, "preempt", cc_sim_preempt_name(sc->preempt));
    if (rc == CC_OK && sc)
        rc = sim_attr_str(W, "kv_overlap",
                          sc->kv_overlap == CC_SIM_XFER_LAYERWISE ? "layerwise" : "serial");
    return rc;
}

/* f64 attributes of one object from a table. */
typedef struct num { const char *name; double v; } num;
static int nums_f64(w *W, const char *obj, const num *n, size_t k)
{
    int rc = CC_OK;
    for (size_t i = 0; rc == CC_OK && i < k; i++)
        rc = cc_h5w_attr_f64(&W->h, obj, n[i].name, n[i].v);
    return rc;
}

/* /semantic: the semantic tier's settings and outcome (--semantic). */
static int write_semantic(w *W, const cc_results_run *run)
{
    const cc_sim_result *sr = run->sim;
    const cc_sim_summary *S = &sr->summary;
    int rc;
    if ((rc = group(W, "/semantic")) != CC_OK)
        return rc;
    uint64_t hit_in = 0, hit_out = 0;
    for (size_t i = 0; i < sr->n; i++)
        if (sr->records[i].semantic >= CC_SIM_SEM_HIT) {
            hit_in += sr->records[i].input_tokens;
            hit_out += sr->records[i].output_tokens;
        }
    double q = (double)S->semantic_queries;
    const num n[] = {
        {"threshold", run->semantic_threshold}, {"lookup_ms", run->semantic_lookup_ms},
        {"hit_ratio", q > 0 ? (double)S->semantic_hits / q : 0},
        {"false_hit_ratio", !run->semantic_judged ? NAN
                            : q > 0 ? (double)S->semantic_false_hits / q : 0},
        {"ttft_hit_p50_s", S->ttft_semantic_hit_s.p50.value},
        {"ttft_hit_p99_s", S->ttft_semantic_hit_s.p99.value},
        {"ttft_hit_mean_s", S->ttft_semantic_hit_s.mean},
        {"ttft_miss_p50_s", S->ttft_semantic_miss_s.p50.value},
        {"ttft_miss_p99_s", S->ttft_semantic_miss_s.p99.value},
        {"ttft_miss_mean_s", S->ttft_semantic_miss_s.mean},
    };
    const struct { const char *name; uint64_t v; } u[] = {
        {"queries", S->semantic_queries}, {"hits", S->semantic_hits},
        {"false_hits", S->semantic_false_hits}, {"judged", run->semantic_judged ? 1 : 0},
        {"hit_input_tokens", hit_in}, {"hit_output_tokens", hit_out},
    };
    rc = cc_h5w_attr_str(&W->h, "/semantic", "embedder",
                         run->semantic_embedder ? run->semantic_embedder : "");
    for (size_t i = 0; rc == CC_OK && i < sizeof u / sizeof u[0]; i++)
        rc = cc_h5w_attr_u64(&W->h, "/semantic", u[i].name, u[i].v);
    if (rc == CC_OK)
        rc = nums_f64(W, "/semantic", n, sizeof n / sizeof n[0]);
    if (rc != CC_OK)
        return rc;
    SIM_COL("/semantic/outcome", uint8_t, H5T_STD_U8LE, H5T_NATIVE_UINT8, rec->semantic);
    return CC_OK;
}

/* /blend: blend's settings and outcome, and the same run without blend
 * beside it (--blend). */
static int write_blend(w *W, const cc_results_run *run)
{
    const cc_sim_result *sr = run->sim, *po = run->prefix_only;
    const cc_sim_config *sc = run->sim_config;
    const cc_sim_summary *S = &sr->summary;
    int rc;
    if ((rc = group(W, "/blend")) != CC_OK)
        return rc;
    const num n[] = {
        {"recompute_ratio", sc->blend_recompute_ratio},
        {"blend_token_hit_ratio", S->blend_token_hit_ratio},
        {"prefix_only_ttft_p50_s", po ? po->summary.ttft_s.p50.value : NAN},
        {"prefix_only_ttft_p99_s", po ? po->summary.ttft_s.p99.value : NAN},
        {"prefix_only_ttft_mean_s", po ? po->summary.ttft_s.mean : NAN},
        {"prefix_only_gpu_busy_s", po ? po->summary.busy_s : NAN},
        {"prefix_only_prefill_gpu_s_saved", po ? po->summary.prefill_gpu_s_saved : NAN},
        {"prefix_only_token_hit_ratio", po ? po->cache.token_hit_ratio : NAN},
    };
    if ((rc = cc_h5w_attr_u64(&W->h, "/blend", "chunk_tokens", sc->blend_chunk_tokens)) ||
        (rc = cc_h5w_attr_u64(&W->h, "/blend", "blend_tokens", S->blend_tokens)) ||
        (rc = cc_h5w_attr_u64(&W->h, "/blend", "recompute_tokens", S->blend_recompute_tokens)) ||
        (rc = nums_f64(W, "/blend", n, sizeof n / sizeof n[0])))
        return rc;
    SIM_U32("/blend/blend_tokens", rec->blend_tokens);
    SIM_U32("/blend/recompute_tokens", rec->blend_recompute_tokens);
    return CC_OK;
}

/* /cost: one row per pricing model (--pricing). */
static int write_cost(w *W, const cc_results_run *run)
{
    size_t n = run->n_bills;
    const cc_bill *b = run->bills;
    const char *names[64];
    double v[64];
    uint64_t c[64];
    if (n > 64)
        n = 64;
    int rc = group(W, "/cost");
    for (size_t i = 0; i < n; i++)
        names[i] = b[i].name;
    if (rc == CC_OK)
        rc = cc_h5w_strings(&W->h, "/cost/pricing", names, n);
#define COST_F64(path, expr)                                                             \
    do {                                                                                 \
        for (size_t i = 0; i < n; i++)                                                   \
            v[i] = (expr);                                                               \
        if (rc == CC_OK)                                                                 \
            rc = dataset(W, path, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, n, 0, v, false);     \
    } while (0)
#define COST_U64(path, expr)                                                             \
    do {                                                                                 \
        for (size_t i = 0; i < n; i++)                                                   \
            c[i] = (expr);                                                               \
        if (rc == CC_OK)                                                                 \
            rc = dataset(W, path, H5T_STD_U64LE, H5T_NATIVE_UINT64, n, 0, c, false);      \
    } while (0)
    COST_F64("/cost/total_usd", b[i].total_usd);
    COST_F64("/cost/no_cache_usd", run->no_cache_usd ? run->no_cache_usd[i] : NAN);
    COST_F64("/cost/input_uncached_usd", b[i].input_uncached_usd);
    COST_F64("/cost/cache_write_usd", b[i].cache_write_usd);
    COST_F64("/cost/cache_read_usd", b[i].cache_read_usd);
    COST_F64("/cost/storage_usd", b[i].storage_usd);
    COST_F64("/cost/fees_usd", b[i].creation_fee_usd + b[i].hit_fee_usd);
    COST_F64("/cost/output_usd", b[i].output_usd);
    COST_U64("/cost/requests", b[i].requests);
    COST_U64("/cost/uncached_tokens", b[i].uncached_tokens);
    COST_U64("/cost/written_tokens", b[i].written_tokens);
    COST_U64("/cost/read_tokens", b[i].read_tokens);
    if (run->blend_bills) { /* the same bills with blend counted (replay --blend) */
        const cc_bill *bb = run->blend_bills;
        COST_F64("/cost/blend_total_usd", bb[i].total_usd);
        COST_U64("/cost/blend_read_tokens", bb[i].blend_read_tokens);
        COST_U64("/cost/blend_recompute_tokens", bb[i].blend_recompute_tokens);
    }
#undef COST_F64
#undef COST_U64
    return rc;
}

/* /config: argv (strings, as given) and one string attribute per option as
 * resolved. */
static int write_config(w *W, const cc_results_run *run)
{
    if (!run->n_config && run->argc <= 0)
        return CC_OK;
    int rc = group(W, "/config");
    if (rc == CC_OK && run->argc > 0)
        rc = cc_h5w_strings(&W->h, "/config/argv", run->argv, (size_t)run->argc);
    for (size_t i = 0; rc == CC_OK && i < run->n_config; i++)
        rc = cc_h5w_attr_str(&W->h, "/config", run->config_names[i], run->config_values[i]);
    return rc;
}

static int write_all(w *W, const cc_results_run *run)
{
    const cc_replay_result *r = run->res;
    const cc_pc_config *cfg = run->cfg;
    const cc_trace *t = run->trace;
    const uint32_t T = r->n_tiers;
    int rc;
#define TRY(x)                                                                           \
    do {                                                                                 \
        if ((rc = (x)) != CC_OK)                                                         \
            return rc;                                                                   \
    } while (0)
    /* configuration */
    TRY(attr_str(W, "format", RESULTS_FORMAT));
    TRY(cc_h5w_attr(&W->h, "/", "schema_version", H5T_STD_U32LE, H5T_NATIVE_UINT32, &(uint32_t){SCHEMA_MAJOR}));
    TRY(cc_h5w_attr(&W->h, "/", "schema_minor", H5T_STD_U32LE, H5T_NATIVE_UINT32, &(uint32_t){SCHEMA_MINOR}));
    TRY(attr_str(W, "ctxcache_version", CC_VERSION));
    TRY(attr_str(W, "trace", run->trace_path ? run->trace_path : t->source));
    TRY(attr_str(W, "trace_format", t->source_format));
    TRY(attr_u64(W, "trace_seed", t->seed));
    TRY(attr_str(W, "mode", cfg->mode == CC_PC_PREFIX ? "prefix" : "independent"));
    TRY(attr_str(W, "concurrency", cc_concurrency_name(r->concurrency)));
    TRY(attr_str(W, "backend", run->backend ? run->backend : "rates"));
    TRY(attr_u64(W, "block_size", t->block_size));
    TRY(attr_u64(W, "seed", cfg->seed));
    TRY(attr_u64(W, "kv_bytes_per_token", run->kv_bytes_per_token));
    TRY(attr_u64(W, "kv_bytes_per_block", cfg->kv_bytes_per_block));
    TRY(attr_str(W, "policy", run->policy ? run->policy : ""));
    TRY(attr_str(W, "tiers_spec", run->tiers_spec ? run->tiers_spec : ""));
    TRY(attr_u64(W, "n_tiers", T));
    TRY(attr_f64(W, "prefill_tokens_per_s", r->prefill_tokens_per_s));
    TRY(attr_f64(W, "decode_tokens_per_s", r->decode_tokens_per_s));
    TRY(attr_u64(W, "servers", r->servers));
    TRY(attr_u64(W, "serial_service", run->serial_service ? 1 : 0));
    /* summary */
    TRY(attr_u64(W, "requests", r->requests));
    TRY(attr_u64(W, "block_accesses", r->block_accesses));
    TRY(attr_u64(W, "input_tokens", r->input_tokens));
    TRY(attr_u64(W, "hit_blocks", r->hit_blocks));
    TRY(attr_u64(W, "hit_tokens", r->hit_tokens));
    TRY(attr_u64(W, "computed_tokens", r->computed_tokens));
    TRY(attr_f64(W, "block_hit_ratio", r->block_hit_ratio));
    TRY(attr_f64(W, "token_hit_ratio", r->token_hit_ratio));
    TRY(attr_f64(W, "request_hit_ratio_mean", r->request_hit_ratio_mean));
    TRY(attr_f64(W, "ideal_block_hit_ratio", run->ideal_block_hit_ratio));
    TRY(attr_f64(W, "ideal_token_hit_ratio", run->ideal_token_hit_ratio));
    TRY(attr_u64(W, "evictions", r->evictions));
    TRY(attr_u64(W, "expirations", r->expirations));
    TRY(attr_u64(W, "blocks_moved", r->blocks_moved));
    TRY(attr_u64(W, "bytes_moved", r->bytes_moved));
    TRY(attr_u64(W, "no_room_blocks", r->no_room_blocks));
    TRY(attr_u64(W, "dedup_blocks", r->dedup_blocks));
    TRY(attr_u64(W, "dedup_tokens", r->dedup_tokens));
    /* the sums over requests: int64 ns while exact, f64 seconds always */
    int64_t wait_ns;
    if (cc_ns_sum_i64(r->dedup_wait_ns, &wait_ns))
        TRY(attr_i64(W, "dedup_wait_ns", wait_ns));
    if (cc_ns_sum_i64(r->queue_wait_ns, &wait_ns))
        TRY(attr_i64(W, "queue_wait_ns", wait_ns));
    TRY(attr_f64(W, "dedup_wait_s", cc_ns_sum_double(r->dedup_wait_ns) * 1e-9));
    TRY(attr_f64(W, "queue_wait_s", cc_ns_sum_double(r->queue_wait_ns) * 1e-9));
    TRY(attr_i64(W, "last_finish_ns", r->last_finish_ns));
    TRY(attr_u64(W, "max_in_flight", r->max_in_flight));
    TRY(attr_f64(W, "metadata_bytes_per_block", r->metadata_bytes_per_block));

    TRY(group(W, "/requests"));
    U64_COL("/requests/index", rec->request);
    I64_COL("/requests/arrival_ns", rec->arrival_ns);
    I64_COL("/requests/start_ns", rec->start_ns);
    I64_COL("/requests/first_token_ns", rec->first_token_ns);
    I64_COL("/requests/finish_ns", rec->finish_ns);
    I64_COL("/requests/queue_wait_ns", rec->start_ns - rec->arrival_ns);
    I64_COL("/requests/dedup_wait_ns", rec->dedup_wait_ns);
    U32_COL("/requests/input_tokens", rec->input_tokens);
    U32_COL("/requests/output_tokens", rec->output_tokens);
    U32_COL("/requests/n_blocks", rec->n_blocks);
    U32_COL("/requests/hit_blocks", rec->hit_blocks);
    U32_COL("/requests/hit_tokens", rec->hit_tokens);
    U32_COL("/requests/computed_tokens", rec->computed_tokens);
    U32_COL("/requests/inserted_blocks", rec->inserted_blocks);
    U32_COL("/requests/dedup_blocks", rec->dedup_blocks);
    U32_COL("/requests/dedup_tokens", rec->dedup_tokens);
    TRY(dataset(W, "/requests/hit_blocks_by_tier", H5T_STD_U32LE, H5T_NATIVE_UINT32, r->requests,
                T, r->record_tier_blocks, true));

    TRY(group(W, "/tiers"));
    const char *names[CC_PC_MAX_TIERS], *policies[CC_PC_MAX_TIERS];
    for (uint32_t k = 0; k < T; k++) {
        names[k] = cfg->tiers[k].name;
        policies[k] = tier_policy(&cfg->tiers[k]);
    }
    TRY(tier_strings(W, "/tiers/name", T, names));
    TRY(tier_strings(W, "/tiers/policy", T, policies));
    TIER_U64("/tiers/capacity_blocks", r->capacity_blocks[k]);
    TIER_F64("/tiers/bandwidth_bytes_per_s", cfg->tiers[k].bandwidth_bytes_per_s);
    TIER_F64("/tiers/latency_s", cfg->tiers[k].latency_s);
    TIER_U64("/tiers/hit_blocks", r->tiers[k].hit_blocks);
    TIER_U64("/tiers/hit_tokens", r->tiers[k].hit_tokens);
    TIER_U64("/tiers/inserted_blocks", r->tiers[k].inserted_blocks);
    TIER_U64("/tiers/promoted_blocks", r->tiers[k].promoted_blocks);
    TIER_U64("/tiers/demoted_in_blocks", r->tiers[k].demoted_in_blocks);
    TIER_U64("/tiers/evicted_blocks", r->tiers[k].evicted_blocks);
    TIER_U64("/tiers/dropped_blocks", r->tiers[k].dropped_blocks);
    TIER_U64("/tiers/expired_blocks", r->tiers[k].expired_blocks);
    TIER_U64("/tiers/rejected_blocks", r->tiers[k].rejected_blocks);
    TIER_U64("/tiers/bytes_up", r->tiers[k].bytes_up);
    TIER_U64("/tiers/bytes_down", r->tiers[k].bytes_down);

    /* tier occupancy over time (empty when the replay took no samples) */
    TRY(group(W, "/occupancy"));
    static const uint64_t none_u64[1];
    static const int64_t none_i64[1];
    size_t ns = r->n_occupancy;
    TRY(dataset(W, "/occupancy/request", H5T_STD_U64LE, H5T_NATIVE_UINT64, ns, 0,
                ns ? r->occupancy_request : none_u64, false));
    TRY(dataset(W, "/occupancy/time_ns", H5T_STD_I64LE, H5T_NATIVE_INT64, ns, 0,
                ns ? r->occupancy_time_ns : none_i64, false));
    TRY(dataset(W, "/occupancy/used_blocks", H5T_STD_U64LE, H5T_NATIVE_UINT64, ns, T,
                ns ? r->occupancy_used_blocks : none_u64, false));
    TRY(write_config(W, run));
    if (run->sim)
        TRY(write_sim(W, run));
    if (run->sim && run->semantic)
        TRY(write_semantic(W, run));
    if (run->sim && run->sim_config && run->sim_config->blend)
        TRY(write_blend(W, run));
    if (run->n_bills)
        TRY(write_cost(W, run));
#undef TRY
    return CC_OK;
}

int cc_results_write_h5(const char *path, const cc_results_run *run, cc_err *err)
{
    const cc_replay_result *r = run->res;
    if (r->requests && (!r->records || !r->record_tier_blocks))
        return cc_err_set(err, CC_EARG, path, 0, "records",
                          "the replay kept no per-request records (keep_records)");
    if (run->n_bills > 64)
        return cc_err_set(err, CC_EARG, path, 0, "bills", "at most 64 pricing models, got %zu",
                          run->n_bills);
    if (r->n_tiers < 1 || r->n_tiers > CC_PC_MAX_TIERS)
        return cc_err_set(err, CC_EARG, path, 0, "n_tiers", "expected 1..%d tiers, got %u",
                          CC_PC_MAX_TIERS, r->n_tiers);
    w W = {0};
    W.scratch = malloc((r->requests ? r->requests : 1) * sizeof(uint64_t));
    if (!W.scratch)
        return cc_err_set(err, CC_ENOMEM, path, 0, NULL, "out of memory");
    int rc = cc_h5w_open(&W.h, path, err);
    if (rc == CC_OK)
        rc = cc_h5w_close(&W.h, write_all(&W, run));
    free(W.scratch);
    return rc;
}
