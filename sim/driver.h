/*
 * driver.h -- the serving-simulator driver: one discrete-event loop (virtual
 * time, sim/event_queue.c) over one or many serving instances, shared by the
 * simulated and the real backend.  Only the executor differs (sim.h): the
 * cost model predicts each step's duration, a real engine measures it.
 *
 *   arrival (trace order) -> router -> instance: waiting queue -> scheduler
 *   -> step (mixed chunked prefill + decode) -> executor -> step done
 *
 * Per instance: a prefix cache (core/prefix_cache.h) with the configured
 * tiers, a waiting queue, a running batch, a KV budget in HBM for running
 * requests.  Semantics, schedulers, routers and figures: docs/simulator.md.
 * The lanes scheduler serves each request alone instead (the fixed-rate
 * service-time model of `--backend rates`, cc_sim_replay): this is the one
 * event loop of ctxcache; core/ only holds the caches.
 *
 * Times are int64 ns of virtual time; executor durations are double seconds
 * rounded with llround(s * 1e9).  Costs: O(steps * batch) executor calls and
 * O(requests log instances) events; decode-only stretches between events run
 * in a tight loop without queue traffic.  Memory per request of the trace:
 * its record (cc_sim_record, 96 bytes, plus 4 per tier of cached tokens),
 * the slot number of its state in flight (4) and a heap key while it waits
 * (8), or the summary's sorted copy (8) after the loop: 112 + 4 x n_tiers
 * bytes (116 with one tier); per request in flight (admitted, or started
 * in lanes, until it finishes; a preempted one keeps it), a slot of about
 * 100 bytes and its cache node ids (4 bytes a block), reused by later
 * requests.  Results files (keep_records) add cc_replay's records (112 +
 * 4 x n_tiers), as concurrency none does.  cc_sim_result.state_bytes says
 * what a run took.
 */
#ifndef CC_SIM_DRIVER_H
#define CC_SIM_DRIVER_H

#include "../core/replay.h"
#include "../core/chunk_store.h"
#include "sim.h"

typedef enum cc_sim_router {
    CC_SIM_ROUTER_RR = 0,            /* round-robin over instances */
    CC_SIM_ROUTER_LEAST_LOADED = 1,  /* fewest running + waiting requests (ties: lowest index) */
    CC_SIM_ROUTER_PREFIX_AFFINITY = 2/* longest cached prefix (cc_pc_match), ties: least loaded */
} cc_sim_router;

typedef enum cc_sim_sched {
    CC_SIM_SCHED_FCFS = 0,  /* one request at a time per instance, arrival order,
                               prefill then decode to the end */
    CC_SIM_SCHED_BATCH = 1, /* continuous batching: token budget, chunked prefill,
                               waiting queue in arrival order */
    CC_SIM_SCHED_LPF = 2,   /* as batch, waiting queue ordered by longest cached
                               prefix first (ties: arrival order) */
    CC_SIM_SCHED_LANES = 3  /* no batching: every running request is served
                               alone, in parallel with the others (one lane
                               each, at most `servers`, the rest wait in FIFO
                               order); one instance; the replay's service-time
                               model (see "Lanes" below; cc_sim_replay) */
} cc_sim_sched;

typedef enum cc_sim_preempt {
    CC_SIM_PREEMPT_RECOMPUTE = 0, /* admit while the current KV fits; when decode
                                     growth overflows, the latest admitted request is
                                     evicted and later recomputed (vLLM) */
    CC_SIM_PREEMPT_QUEUE = 1      /* admit only when input+output KV fits: no preemption */
} cc_sim_preempt;

/* "rr", "least-loaded", "prefix-affinity" / "fcfs", "batch", "lpf",
 * "lanes" / "recompute", "queue"; parse: CC_OK or CC_EARG naming `field`
 * (the scheduler parse takes fcfs, batch, lpf: lanes is chosen by
 * cc_sim_replay, not by name). */
const char *cc_sim_router_name(cc_sim_router r);
const char *cc_sim_sched_name(cc_sim_sched s);
const char *cc_sim_preempt_name(cc_sim_preempt p);
int cc_sim_router_parse(const char *s, cc_sim_router *out, cc_err *err);
int cc_sim_sched_parse(const char *s, cc_sim_sched *out, cc_err *err);
int cc_sim_preempt_parse(const char *s, cc_sim_preempt *out, cc_err *err);

/* Optional hook at each admission (first or after a preemption), before
 * the request's first step is priced: a real backend learns which prefix of
 * the request the instance's cache serves (cached_tokens, per tier in
 * tier_tokens[0..n_tiers)) and, in the overlapping modes, the cache and the
 * request's pinned node ids (nodes[0..n_blocks), CC_NODE_NONE past the hit;
 * cc_pc_node_place gives their slots, stable until the request finishes or
 * is preempted, both reported by the executor's finish()).  In mode none pc
 * and nodes are NULL (cc_replay holds the cache).  Non-zero return: the run
 * stops with CC_EIO and that status in err->msg. */
typedef int (*cc_sim_admit_fn)(void *user, uint32_t instance, uint64_t req,
                               uint32_t cached_tokens, const uint32_t *tier_tokens,
                               uint32_t n_tiers, const cc_prefix_cache *pc,
                               const uint32_t *nodes, uint32_t n_blocks);

/* The semantic tier in front of the prefix tier (cli/cmd_replay.c fills it
 * with core/semantic_cache.h; the driver knows no embedder and no cache).
 * At its arrival a query request (role != seed) is looked up: lookup()
 * returns 1 on a hit with *served_req the request whose answer the hit
 * serves, 0 on a miss, or a negative status.  A hit is done at arrival +
 * lookup_ns (start, first token and finish: TTFT = lookup_ns), touches no
 * prefix cache and no executor.  A miss (and a seed, never looked up) is
 * routed lookup_ns after its arrival and served as without the tier; at
 * its finish insert() writes its answer back.  Overlapping modes with the
 * batch schedulers only (CC_EUNSUP otherwise).
 * write_back_on_arrival: insert() right after a miss's lookup (and at a
 * seed's arrival) instead of at its finish, as if each answer were written
 * back before the next request arrives: for untimed traces (every arrival
 * 0; datasets of prompts), which the loop takes in file order, and where a
 * write-back at finish would come after every lookup (no hit ever). */
typedef struct cc_sim_semantic {
    int (*lookup)(void *user, uint64_t req, int64_t now_ns, uint64_t *served_req, cc_err *err);
    int (*insert)(void *user, uint64_t req, int64_t now_ns, cc_err *err);
    void *user;
    int64_t lookup_ns;           /* embedding + search time charged per lookup */
    int write_back_on_arrival;   /* 0: at finish (the default); 1: see above */
} cc_sim_semantic;

typedef struct cc_sim_config {
    uint32_t instances;          /* >= 1 (concurrency none: must be 1) */
    cc_sim_router router;
    cc_sim_sched scheduler;
    uint32_t max_batch_tokens;   /* tokens per step (prefill + decode), >= 1 */
    uint32_t max_seqs;           /* running requests per instance, >= 1 */
    uint32_t chunk_tokens;       /* most prefill tokens of one request per step;
                                    0 = no limit but the budget */
    uint64_t hbm_kv_tokens;      /* KV tokens of running requests per instance;
                                    0 = unlimited */
    cc_sim_preempt preempt;
    int kv_overlap;              /* CC_SIM_XFER_SERIAL or CC_SIM_XFER_LAYERWISE */
    double kv_bytes_per_token;   /* to size KV loads from lower tiers */
    int tier_kind[CC_PC_MAX_TIERS]; /* cache tier k -> CC_SIM_TIER_* (0 = HBM; see
                                     * cc_sim_tier_kind_of) */
    uint32_t n_layers;           /* for layerwise loads priced by the driver: a tier
                                    whose cc_tier_config has bandwidth_bytes_per_s > 0
                                    (--tiers ...:bw=RATE:lat=TIME) is priced with those
                                    numbers (the executor's kv_transfer formulas, L =
                                    n_layers, tp 1); other tiers by the executor */
    cc_concurrency concurrency;  /* prefix-tier semantics (core/replay.h) */
    uint64_t seed;               /* bootstrap resampling */
    uint32_t bootstrap;          /* resamples for the CIs (0 = 1000) */
    cc_executor *reference;      /* prices prefill_full_s (a request's whole input
                                    alone, nothing cached); NULL = the instance's
                                    executor.  A real backend passes the cost model
                                    here so that it runs no extra prefills. */
    cc_sim_admit_fn on_admit;    /* NULL: none */
    void *on_admit_user;
    uint32_t servers;            /* scheduler lanes: requests served at once
                                    (0 = unlimited); other schedulers ignore it */
    const cc_sim_semantic *semantic; /* NULL: no semantic tier */
    /* Blend (docs/blend.md, "In the simulator"): 0 = off (every figure as
     * without it).  On: at admission, the request's chunks (trace chunks, or
     * windows of blend_chunk_tokens tokens of them) that start at or after
     * the cached prefix are looked up in a chunk store (core/chunk_store.h);
     * the tokens they serve are blended, a share blend_recompute_ratio of
     * them recomputed; loads from lower tiers as prefix hits'.  Batch, fcfs
     * and lpf schedulers only. */
    int blend;
    double blend_recompute_ratio;   /* 0..1 (default 0.15) */
    uint32_t blend_chunk_tokens;    /* 0 = the trace's chunks whole; else windows
                                       of this many tokens (needs token ids) */
} cc_sim_config;

/* batch, 8192 tokens, 256 seqs, chunk 0 (budget only), unlimited HBM,
 * recompute, serial, 131072 bytes/token, tier 0 HBM / 1 DRAM / 2 SSD / 3+
 * REMOTE, 32 layers, concurrency none, rr, 1 instance, seed 1, 1000
 * resamples. */
void cc_sim_config_default(cc_sim_config *c);
/* Checks every field; CC_EARG naming it ("instances", "max_batch_tokens", ...). */
int cc_sim_config_validate(const cc_sim_config *c, cc_err *err);

/* One request's outcome.  TTFT = first_token - arrival; queue = start -
 * arrival; TPOT = (finish - first_token) / (output_tokens - 1) (0 when
 * output_tokens <= 1); e2e = finish - arrival. */
typedef struct cc_sim_record {
    int64_t arrival_ns;
    int64_t start_ns;          /* first scheduled into a step (after the first
                                  admission; preemption does not reset it) */
    int64_t first_token_ns;    /* end of the step that completed its prefill */
    int64_t finish_ns;         /* end of the step that produced its last token */
    uint32_t instance;
    uint32_t input_tokens, output_tokens;
    uint32_t cached_tokens;    /* prefix hits, all tiers (per tier: tier_tokens) */
    uint32_t computed_tokens;  /* input - cached (recomputation after preemption
                                  not included; see prefill_s) */
    uint32_t preemptions;
    double prefill_s;          /* executor seconds charged to its prefill chunks
                                  (its share of each step, by tokens), loads incl. */
    double prefill_full_s;     /* cost of its whole input with nothing cached
                                  (alone, one step) */
    double prefill_alone_s;    /* cost of its first admission's prefill alone in
                                  one step: computed over cached tokens, loads
                                  incl. (0: never prefilled, a semantic hit);
                                  prefill_full_s - this = what caching saved */
    uint8_t semantic;          /* CC_SIM_SEM_*: the semantic tier's outcome */
    uint32_t blend_tokens;     /* blend: tokens served by reused chunks beyond
                                  the prefix hit (first admission) */
    uint32_t blend_recompute_tokens; /* of those, recomputed */
} cc_sim_record;

enum {
    CC_SIM_SEM_NONE = 0,       /* not looked up (no tier, or a seed) */
    CC_SIM_SEM_MISS = 1,
    CC_SIM_SEM_HIT = 2,        /* served from the semantic cache */
    CC_SIM_SEM_FALSE_HIT = 3   /* a hit whose answer belongs to another group */
};

/* A percentile with a bootstrap 95 % interval (percentile method). */
typedef struct cc_sim_pct {
    double value, ci_lo, ci_hi;
} cc_sim_pct;

typedef struct cc_sim_dist {
    cc_sim_pct p50, p90, p99;
    double mean;
} cc_sim_dist;

typedef struct cc_sim_summary {
    cc_sim_dist ttft_s, tpot_s, e2e_s, queue_s;
    double makespan_s;               /* last finish - first arrival */
    double throughput_tokens_per_s;  /* (input + output tokens) / makespan */
    double output_tokens_per_s;
    double requests_per_s;           /* requests / makespan */
    double prefill_gpu_s_saved;      /* sum of prefill_full_s - prefill_alone_s:
                                        caching's saving, each request priced alone
                                        both ways (0 with nothing cached) */
    double busy_s;                   /* sum over instances of their steps' durations:
                                        the seconds the GPUs were busy (x TP) */
    uint64_t preemptions;
    uint64_t steps;                  /* executor calls for forward steps */
    uint64_t cached_tokens_tier[CC_PC_MAX_TIERS];
    /* the semantic tier (sc.semantic): lookups (queries, seeds excluded),
     * hits, false hits (hit and query both have a group_id and they
     * differ), hits whose two groups are both known; TTFT of hits and of
     * looked-up misses apart (TPOT leaves hits out) */
    uint64_t semantic_queries, semantic_hits, semantic_false_hits, semantic_judged_hits;
    cc_sim_dist ttft_semantic_hit_s, ttft_semantic_miss_s;
    uint64_t blend_tokens;           /* blend: sum of records' blend_tokens */
    uint64_t blend_recompute_tokens;
    double blend_token_hit_ratio;    /* blend_tokens / input tokens */
} cc_sim_summary;

typedef struct cc_sim_result {
    cc_replay_result cache;    /* the prefix tier's figures, as cc_replay fills them
                                  (records / record_tier_blocks when keep_records) */
    cc_sim_record *records;    /* one per request, trace order */
    uint32_t *record_tier_tokens; /* requests * n_tiers: cached tokens per tier */
    size_t n;
    uint32_t n_tiers;
    cc_sim_summary summary;
    double elapsed_s;          /* wall clock of the run: timing only, not a result */
    uint64_t state_bytes;      /* the simulator's own memory at its largest, as
                                  allocated (the trace, the caches and the
                                  executors not counted): the per-request arrays
                                  (these records, cc_replay's when kept, next
                                  uses) and the larger of the loop's state (slot
                                  numbers, flights, heaps, step buffers, event
                                  queue) and the summary's sorted copy */
    uint64_t cache_bytes;      /* the caches' metadata at the end of the run
                                  (cc_pc_memory_bytes, every instance; 0 in
                                  concurrency none, where cc_replay holds it) */
} cc_sim_result;

/* Replays t through cfg.instances instances, each with a prefix cache built
 * from pc_cfg (as cc_replay: capacity 0 = unbounded), timing every step with
 * executors[i % n_executors] for instance i (n_executors >= 1; one executor
 * may serve all instances).  ropts: the cache options of cc_replay
 * (context_cache, keep_records; its service-time fields are ignored);
 * concurrency comes from sc.  Concurrency none: requests one at a time in
 * arrival order, each finished before the next, the cache figures exactly
 * cc_replay's (it does the cache accounting).  Errors: CC_EARG naming the
 * option, the executor's errors, CC_ENOMEM. */
int cc_sim_run(const cc_trace *t, const cc_pc_config *pc_cfg, const cc_replay_opts *ropts,
               const cc_sim_config *sc, cc_executor *executors, size_t n_executors,
               cc_sim_result *res, cc_err *err);
void cc_sim_result_free(cc_sim_result *res);

/* Lanes (scheduler CC_SIM_SCHED_LANES): the replay's concurrency modes
 * (core/replay.h) with each request served alone, as `--backend rates`
 * does with the fixed-rate executor (sim.h, cc_rates_executor_create).
 * A request starts when it arrives and fewer than `servers` run (else it
 * waits in FIFO order); it looks the cache up once at start.
 * immediate, dedup: it computes its blocks after the served run one after
 *   another; within a stretch of computation that starts at s with its
 *   first c0 tokens present, the block that brings the stretch's tokens to
 *   c is done at s + prefill({c, c0}) (one executor call for the stretch so
 *   far; a stretch ends when a dedup request waits), inserted (pinned) at
 *   that instant.  dedup: before computing a block a request checks whether
 *   another running request is computing it; if so it waits for it
 *   (dedup_wait_ns) and then takes it from the cache (dedup_blocks, counted
 *   as hits); a block that could not be cached is computed by the first
 *   waiter that resumes.
 * after-complete: first token at start + prefill of every block after the
 *   served run; its blocks are inserted, and all pins released, at finish.
 * none (one server): cc_replay's cache pass, timed the same way.
 * first_token_ns = when the last block is obtained (start when everything
 * hit); finish_ns = first_token_ns + the executor's decode_run of
 * output_tokens tokens (sum of one-item decode steps without it).  Events
 * at one instant: blocks computed, requests finishing (releasing pins and
 * servers), waiting requests resuming, arrivals; among equals, in the order
 * they were scheduled.  A policy that needs next uses (belady) gets them.
 * No tier occupancy samples (the batch schedulers take them). */

/* cc_replay's figures for every concurrency mode, timed by the fixed-rate
 * executor (opts->prefill_tokens_per_s, decode_tokens_per_s, servers; 0 =
 * CC_REPLAY_DEFAULT_*): one instance, scheduler lanes, res filled as
 * cc_replay fills it (records when keep_records; its rates and servers as
 * run).  `ctxcache replay --backend rates` and sweeps run this.  Errors as
 * cc_replay's and cc_sim_run's. */
int cc_sim_replay(const cc_trace *t, const cc_pc_config *cfg, const cc_replay_opts *opts,
                  cc_replay_result *res, cc_err *err);

/* Percentile q (0..1) of x[0..n) by linear interpolation between order
 * statistics (x sorted ascending; numpy's default).  0 for n = 0. */
double cc_sim_percentile_sorted(const double *x, size_t n, double q);
/* The distribution of x[0..n) (x is reordered): p50/p90/p99 with bootstrap
 * 95 % intervals from `resamples` resamples drawn with a gsl_rng (mt19937)
 * seeded with seed; deterministic. */
int cc_sim_dist_compute(double *x, size_t n, uint64_t seed, uint32_t resamples,
                        cc_sim_dist *out, cc_err *err);

/* The same for the multiset whose values are the doubles (>= 0) with bit
 * patterns counts->keys, each counts->vals times: identical figures to
 * cc_sim_dist_compute on the values laid out (the mean summed in ascending
 * order).  O(distinct log distinct), the mean's additions included
 * (cc_fp_add_repeated). */
int cc_sim_dist_compute_counts(const cc_u64map *counts, uint64_t seed, uint32_t resamples,
                               cc_sim_dist *out, cc_err *err);

/* s + v + v + ... (c additions, each rounded to nearest, ties to even): the
 * bits the loop gives, in O(binades of s crossed) steps for s, v >= 0
 * finite (any other input takes the loop).  Within one binade of s, of ulp
 * u, adding v adds exactly d = RN(s + v) - s while no addition is a tie (v
 * a multiple of u plus u/2), so runs of additions are one multiplication
 * of integers below 2^53; a tie, a v above s or a subnormal s is added one
 * by one. */
double cc_fp_add_repeated(double s, double v, uint64_t c);

/* cc_sim_run for concurrency none, the trace read window by window from ts
 * (traces.h) instead of held whole: the same figures (cache, summary,
 * distributions), no records (res->records NULL, res->n 0).  One instance,
 * no semantic or blend tier, no admission hook, an executor that prices a
 * step from its items alone (the cost model, the fixed rates; not a real
 * engine); the cache as cc_replay_stream_begin takes it (CC_EUNSUP
 * otherwise).  How: driver.c, "streamed replays". */
int cc_sim_run_stream(cc_trace_stream *ts, const cc_pc_config *pc_cfg,
                      const cc_replay_opts *ropts, const cc_sim_config *sc, cc_executor *ex,
                      cc_sim_result *res, cc_err *err);
/* cc_sim_replay (concurrency none) streamed the same way. */
int cc_sim_replay_stream(cc_trace_stream *ts, const cc_pc_config *cfg,
                         const cc_replay_opts *opts, cc_replay_result *res, cc_err *err);

/* The storage kind (CC_SIM_TIER_*) of a cache tier from its name's start
 * (hbm/gpu, dram/cpu/host/mem, ssd/nvme/disk, remote/net, peer/nvlink), else
 * from its place k in the chain (HBM, DRAM, SSD, then remote): the rule of
 * `replay --tiers`, the sweep and the plan. */
int cc_sim_tier_kind_of(const char *name, uint32_t k);

#endif
