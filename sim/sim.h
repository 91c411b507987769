/*
 * sim.h -- public surface of sim/: the pieces of the serving simulator that the
 * driver (event loop, router, schedulers; a later issue) is built from:
 *
 *   event_queue.c  the discrete-event queue: a 4-ary heap ordered by
 *                  (time, insertion number), so ties break in push order
 *   profile.c      hardware and model profiles: plain-text files under
 *                  sim/profiles/, their loader (errors name file, line, key)
 *                  and writer, and the NAME|PATH lookup rules
 *   costmodel.c    the executor interface (how long does a step take?) and
 *                  its cost-model implementation: a roofline over the FLOPs
 *                  and bytes of the step, with efficiency factors and
 *                  overheads from the hardware profile
 *   rates_executor.c  the fixed-rate executor (--backend rates)
 *   calibrate.c    the least-squares fit of those efficiency factors and
 *                  overheads from measured (new, cached, batch) -> seconds
 *                  points, and the profile file it writes
 *
 * The simulator and the real backend share one driver; only the executor
 * differs (ARCHITECTURE.md): the cost model predicts a step's duration, the
 * real engine (gpu/) measures it.  Both fill a cc_executor.
 *
 * Units: times in the event queue are int64 nanoseconds of virtual time;
 * durations returned by executors are double seconds (the driver rounds
 * with llround(s * 1e9)).  Sizes are bytes, rates bytes/s or FLOP/s.
 */
#ifndef CC_SIM_H
#define CC_SIM_H

#include "../core/core.h"

#include <stddef.h>
#include <stdint.h>

/* ==== the event queue (event_queue.c) ===================================== */

/* Event kinds the driver will use; the queue itself treats kind as opaque. */
enum {
    CC_EV_ARRIVAL = 1,       /* a request arrives (id = request index) */
    CC_EV_STEP_DONE = 2,     /* an instance finishes a step (target = instance) */
    CC_EV_TRANSFER_DONE = 3, /* a KV transfer completes */
    CC_EV_USER = 64          /* first kind free for other uses */
};

/* 32 bytes.  Order: time_ns, then kind (lower first: kinds double as
 * priority classes at one instant), then seq, set by push (the number of
 * pushes before this one): first pushed, first popped. */
typedef struct cc_event {
    int64_t time_ns;  /* virtual time */
    uint64_t seq;     /* insertion number (set by cc_evq_push) */
    uint32_t kind;    /* CC_EV_* or caller-defined */
    uint32_t target;  /* payload: instance / worker index */
    uint64_t id;      /* payload: request index, step or transfer id */
} cc_event;

typedef struct cc_evq {
    cc_event *heap;   /* 4-ary min-heap on (time_ns, kind, seq) */
    size_t size, cap;
    uint64_t next_seq;
    int64_t now_ns;   /* time of the last popped event (INT64_MIN before) */
} cc_evq;

/* Room for `expected` events (0 is fine); the array doubles when full. */
int cc_evq_init(cc_evq *q, size_t expected);
void cc_evq_free(cc_evq *q);
/* Empties the queue and resets now and the insertion counter; keeps memory. */
void cc_evq_clear(cc_evq *q);
/* O(log4 n).  CC_EARG for an event before the last popped one (the past
 * cannot be scheduled: a driver bug, reported to the driver, which names the
 * event in its own error); CC_ENOMEM when growth fails. */
int cc_evq_push(cc_evq *q, int64_t time_ns, uint32_t kind, uint32_t target, uint64_t id);
/* Removes the earliest event into *out (may be NULL) and advances now_ns.
 * Returns 1, or 0 when the queue is empty.  O(log4 n). */
int cc_evq_pop(cc_evq *q, cc_event *out);
/* The earliest event or NULL; valid until the next push or pop.  O(1). */
const cc_event *cc_evq_peek(const cc_evq *q);
size_t cc_evq_size(const cc_evq *q);

/* ==== profiles (profile.c) ================================================ */

/* Compute/storage types.  Bytes: fp32 4, tf32 4 (fp32 storage, tensor-core
 * math), fp16 2, bf16 2, fp8 1. */
enum { CC_SIM_FP32 = 0, CC_SIM_TF32, CC_SIM_FP16, CC_SIM_BF16, CC_SIM_FP8, CC_SIM_DTYPE_COUNT };
const char *cc_sim_dtype_name(int dtype);  /* "fp32", ... ; "?" when out of range */
int cc_sim_dtype_bytes(int dtype);         /* 0 when out of range */
int cc_sim_dtype_parse(const char *name);  /* CC_SIM_* or -1 */

/* The coefficients the calibration fits (see costmodel.c for the formula). */
typedef struct cc_sim_coeffs {
    double eff_linear;       /* fraction of peak FLOP/s the linear layers reach */
    double eff_attn;         /* fraction of peak FLOP/s attention reaches */
    double eff_mem;          /* fraction of memory bandwidth reached */
    double step_overhead_s;  /* fixed cost of one step (launches, scheduling) */
    double item_overhead_s;  /* extra cost per sequence in the step */
} cc_sim_coeffs;
#define CC_SIM_N_COEFFS 5
/* "eff_linear", "eff_attn", "eff_mem", "step_overhead_s", "item_overhead_s" */
extern const char *const cc_sim_coeff_names[CC_SIM_N_COEFFS];
double *cc_sim_coeff_ptr(cc_sim_coeffs *c, int i);

/* One accelerator and its share of the host it sits in (a node's DRAM,
 * NVMe and network divided by its GPUs).  A rate of 0 means "absent": no
 * NVLink, no SSD tier, ... */
typedef struct cc_sim_hw {
    char name[64];
    double peak_flop_per_s[CC_SIM_DTYPE_COUNT]; /* dense peak per dtype; 0 = unsupported */
    double hbm_bytes, hbm_bytes_per_s;          /* device memory (HBM or GDDR) */
    double pcie_bytes_per_s, pcie_latency_s;    /* host <-> device, one direction */
    double nvlink_bytes_per_s, nvlink_latency_s;/* device <-> device, one direction */
    double dram_bytes, dram_bytes_per_s;        /* host memory share */
    double nvme_bytes, nvme_bytes_per_s, nvme_latency_s;
    double net_bytes_per_s, net_latency_s;      /* to remote KV storage */
    double eff_link;                            /* fraction of a link's rate reached */
    cc_sim_coeffs coeffs;
    double usd_per_hour;                        /* rent of one device, USD per hour
                                                   (0 = unknown; `ctxcache plan` needs it) */
} cc_sim_hw;

/* A decoder-only transformer's shape (Hugging Face config.json fields). */
typedef struct cc_sim_model {
    char name[64];
    int n_layers, hidden, n_heads, n_kv_heads, head_dim, ffn, vocab;
    int dtype;          /* weights and activations: CC_SIM_* */
    int kv_dtype;       /* KV cache elements (default: dtype) */
    int qkv_bias;       /* 1: q/k/v projections have a bias (Qwen2) */
    int tie_embeddings; /* 1: lm_head shares the embedding table */
    double rope_theta, norm_eps; /* informational: not used by the cost model */
} cc_sim_model;

enum { CC_SIM_PROFILE_HARDWARE = 1, CC_SIM_PROFILE_MODEL = 2 };
typedef struct cc_sim_profile {
    int kind;  /* CC_SIM_PROFILE_* */
    cc_sim_hw hw;
    cc_sim_model model;
} cc_sim_profile;

/* Parses one profile file (format in profile.c's header).  CC_EIO when it
 * cannot be read; CC_EFORMAT / CC_ERANGE with err naming the file, the line
 * and the key.  Defaults are filled for optional keys. */
int cc_sim_profile_read(const char *path, cc_sim_profile *out, cc_err *err);
/* Finds the file for `name_or_path` of kind "hardware" or "model":
 *   - an argument holding '/' or ending in ".profile" is a path, used as is;
 *   - otherwise NAME ([A-Za-z0-9._-]) is looked up as
 *       DIR/<kind>/NAME.profile, then DIR/NAME.profile
 *     for each DIR of cc_sim_profile_dirs(), in order.
 * CC_EARG naming the directories searched when none exists. */
/* The profile directories, in search order: each of $CC_PROFILE_PATH
 * (':'-separated), $CTXCACHE_DATA/profiles, sim/profiles (relative to the
 * working directory: the repository root), next to the binary (BINDIR/
 * profiles, BINDIR/../share/ctxcache/profiles for an installed copy,
 * BINDIR/../sim/profiles for the build tree), then the compiled-in
 * CC_DATADIR/profiles (PREFIX/share/ctxcache of the build).  Returns how
 * many it wrote (at most max). */
int cc_sim_profile_dirs(char dirs[][512], size_t max);
int cc_sim_profile_find(const char *kind, const char *name_or_path, char *path, size_t len,
                        cc_err *err);
/* find + read + check the kind. */
int cc_sim_hw_load(const char *name_or_path, cc_sim_hw *out, cc_err *err);
int cc_sim_model_load(const char *name_or_path, cc_sim_model *out, cc_err *err);
/* Cross-field checks (the loader runs them; also for structs built in code). */
int cc_sim_hw_validate(const cc_sim_hw *hw, cc_err *err);
int cc_sim_model_validate(const cc_sim_model *m, cc_err *err);
/* Writes hw as a profile file: `comment` (may hold newlines; may be NULL)
 * as '#' lines, then every key.  Written to path.tmp and renamed: a failure
 * leaves no file. */
int cc_sim_hw_write(const char *path, const cc_sim_hw *hw, const char *comment, cc_err *err);

/* Sizes derived from a model (bytes in the given dtypes). */
double cc_sim_model_params(const cc_sim_model *m);          /* all parameters */
double cc_sim_model_weight_bytes(const cc_sim_model *m, int dtype);
double cc_sim_model_kv_bytes_per_token(const cc_sim_model *m);

/* ==== the executor interface and the cost model (costmodel.c) ============= */

/* One sequence of a forward step: n_new tokens appended after n_cached
 * tokens whose K/V are in device memory.  A decode step of a sequence of
 * length c is {1, c}; a mixed (chunked-prefill + decode) step is one prefill
 * call with both kinds of items.  req lets a real engine find the tokens. */
typedef struct cc_sim_item {
    int64_t n_new;
    int64_t n_cached;
    uint64_t req;
} cc_sim_item;

/* A blend step (CacheBlend-style): n_prefix tokens of exact prefix hit, then
 * n_chunk tokens of reused chunks loaded at new positions of which
 * n_recompute are recomputed, then n_new fresh tokens. */
typedef struct cc_sim_blend_item {
    int64_t n_prefix, n_chunk, n_recompute, n_new;
    uint64_t req;
} cc_sim_blend_item;

/* Where KV bytes live. PEER is another device's memory (NVLink, else PCIe). */
enum { CC_SIM_TIER_HBM = 0, CC_SIM_TIER_DRAM, CC_SIM_TIER_SSD, CC_SIM_TIER_REMOTE,
       CC_SIM_TIER_PEER, CC_SIM_TIER_COUNT };
const char *cc_sim_tier_name(int tier);
/* KV transfer modes: SERIAL = the transfer, then the compute; LAYERWISE =
 * pipelined layer by layer with the compute (LMCache): layer l computes
 * while layer l+1 moves. */
enum { CC_SIM_XFER_SERIAL = 0, CC_SIM_XFER_LAYERWISE = 1 };

typedef struct cc_executor_ops {
    const char *name;
    /* One forward over items[0..n).  n == 0 gives 0 s. */
    int (*prefill)(void *self, const cc_sim_item *items, size_t n, double *seconds,
                   cc_err *err);
    /* One decode step over items[0..n): item s adds one token (n_new must be
     * 1) after n_cached tokens of context; req names the sequence so that a
     * real engine finds its KV. */
    int (*decode)(void *self, const cc_sim_item *items, size_t n, double *seconds,
                  cc_err *err);
    /* Moving `bytes` of KV from one tier to another.  compute_s: the compute
     * it is paired with (0: none); the result is the time until both are
     * done, SERIAL or LAYERWISE. */
    int (*kv_transfer)(void *self, double bytes, int from_tier, int to_tier, int mode,
                       double compute_s, double *seconds, cc_err *err);
    /* One blend step over items[0..n). */
    int (*blend)(void *self, const cc_sim_blend_item *items, size_t n, double *seconds,
                 cc_err *err);
    /* Optional (NULL: nothing to do): request req has left the instance
     * (finished or preempted); a real engine frees its per-request state. */
    void (*finish)(void *self, uint64_t req);
    void (*destroy)(void *self);
    /* Optional (NULL: the sum of n_tokens one-item decode steps): one
     * sequence alone producing n_tokens tokens after n_cached tokens of
     * context, priced at once (the lanes scheduler of driver.h, where a
     * request decodes with no batch beside it). */
    int (*decode_run)(void *self, uint64_t req, int64_t n_cached, int64_t n_tokens,
                      double *seconds, cc_err *err);
} cc_executor_ops;

typedef struct cc_executor {
    const cc_executor_ops *ops;
    void *self;
} cc_executor;

static inline int cc_executor_prefill(cc_executor *x, const cc_sim_item *items, size_t n,
                                      double *s, cc_err *e)
{
    return x->ops->prefill(x->self, items, n, s, e);
}
static inline int cc_executor_decode(cc_executor *x, const cc_sim_item *items, size_t n,
                                     double *s, cc_err *e)
{
    return x->ops->decode(x->self, items, n, s, e);
}
static inline void cc_executor_finish(cc_executor *x, uint64_t req)
{
    if (x->ops->finish)
        x->ops->finish(x->self, req);
}
static inline int cc_executor_kv_transfer(cc_executor *x, double bytes, int from, int to,
                                          int mode, double compute_s, double *s, cc_err *e)
{
    return x->ops->kv_transfer(x->self, bytes, from, to, mode, compute_s, s, e);
}
static inline int cc_executor_blend(cc_executor *x, const cc_sim_blend_item *items, size_t n,
                                    double *s, cc_err *e)
{
    return x->ops->blend(x->self, items, n, s, e);
}
/* Calls destroy and clears *x (safe on a zeroed executor). */
void cc_executor_free(cc_executor *x);

typedef struct cc_costmodel_opts {
    int dtype;     /* weights/compute dtype: CC_SIM_*, or -1 for the model's */
    int kv_dtype;  /* KV cache dtype: CC_SIM_*, or -1 for the model's */
    int tp;        /* tensor-parallel degree (>= 1): devices per instance */
} cc_costmodel_opts;
void cc_costmodel_opts_default(cc_costmodel_opts *o); /* -1, -1, tp 1 */

/* The cost-model executor (copies hw and model).  CC_EUNSUP (field
 * "peak_<dtype>_flop_per_s") when hw has no peak for the dtype; CC_EARG for
 * bad options; validation errors of hw and model. */
int cc_costmodel_create(const cc_sim_hw *hw, const cc_sim_model *m, const cc_costmodel_opts *o,
                        cc_executor *out, cc_err *err);

/* The fixed-rate executor (rates_executor.c; `ctxcache replay --backend
 * rates`): n prefill tokens take round(n * 1e9 / prefill_tokens_per_s) ns,
 * n decoded tokens round(n * 1e9 / decode_tokens_per_s) ns (INFINITY: no
 * time), loads from lower tiers take no time; a step of several items costs
 * the sum of their tokens, as one server working through them.  Durations
 * are whole nanoseconds (so the driver's llround(s * 1e9) gives them back
 * exactly).  CC_EARG (field "prefill_tokens_per_s" / "decode_tokens_per_s")
 * for a rate that is not > 0. */
int cc_rates_executor_create(double prefill_tokens_per_s, double decode_tokens_per_s,
                             cc_executor *out, cc_err *err);

/* The work of a step, the quantities the formulas (costmodel.c) use. */
typedef struct cc_sim_work {
    double flops_linear;  /* projections, MLP, lm_head */
    double flops_attn;    /* QK^T and PV */
    double bytes_weights; /* weights read once per step */
    double bytes_kv;      /* cached K/V read + new K/V written */
    double n_items;       /* sequences */
    double n_tokens;      /* tokens that run through the linear layers */
} cc_sim_work;

/* Work of one forward over items (n_new >= 1, n_cached >= 0 each; checked
 * by the executor, not here) in the model's dtype and kv_dtype. */
void cc_sim_work_forward(const cc_sim_model *m, const cc_sim_item *items, size_t n,
                         cc_sim_work *w);
/* Work of a blend step. */
void cc_sim_work_blend(const cc_sim_model *m, const cc_sim_blend_item *items, size_t n,
                       cc_sim_work *w);
/* Seconds for work w of model m on tp devices of hw with coefficients c
 * (hw->coeffs normally; the calibration tries others).  The peak is hw's
 * for m->dtype (must be > 0). */
double cc_sim_work_seconds(const cc_sim_hw *hw, const cc_sim_coeffs *c, const cc_sim_model *m,
                           int tp, const cc_sim_work *w);

/* ==== deployments: tensor parallelism and HBM fit (deploy.c) ============= */

/* CC_EARG (field "tp") unless 1 <= tp <= 64 and tp divides both the model's
 * query heads and its K/V heads (each device holds whole heads). */
int cc_sim_tp_check(const cc_sim_model *m, int tp, cc_err *err);

/* One instance's HBM: tp devices of hw, of which hbm_fraction is usable,
 * hold the weights (split over the devices), the HBM cache tier and the KV
 * of running requests:
 *   usable = tp * hbm_bytes * hbm_fraction
 *   kv     = usable - weights - cache          (running requests' KV)
 * The configuration fits when kv >= min_kv_bytes and kv > 0. */
typedef struct cc_sim_fit {
    double usable_bytes, weight_bytes, cache_bytes, kv_bytes;
    uint64_t kv_tokens;   /* kv / the model's KV bytes per token */
} cc_sim_fit;
/* Fills out (always, fitting or not).  CC_ERANGE (field "hbm") when it
 * does not fit, the message naming how many bytes are missing; CC_EARG for
 * a bad tp (cc_sim_tp_check) or fraction outside (0, 1]. */
int cc_sim_fit_compute(const cc_sim_hw *hw, const cc_sim_model *m, int tp, double hbm_fraction,
                       double cache_bytes, double min_kv_bytes, cc_sim_fit *out, cc_err *err);

/* ==== calibration (calibrate.c) =========================================== */

/* A measured step: batch identical sequences of n_new tokens after n_cached
 * cached ones took `seconds` (decode steps: n_new = 1). */
typedef struct cc_calib_point {
    int64_t n_new, n_cached, batch;
    double seconds;
} cc_calib_point;

typedef struct cc_calib_result {
    cc_sim_coeffs coeffs;     /* the fit (held coefficients keep the prior) */
    unsigned held_mask;       /* bit i: coefficient i could not be determined
                               * from these points and kept its prior value */
    double median_abs_rel_err, p95_abs_rel_err, max_abs_rel_err;
    double r2;                /* on seconds: 1 - SS_res / SS_tot */
    size_t n_points;
    int iterations;           /* of the best start */
} cc_calib_result;

/* Fits hw->coeffs (the prior and starting point) to pts for model m (its
 * dtype and kv_dtype as the engine ran it) on one device.  Least squares on
 * relative residuals (t_model - t_meas) / t_meas, over the logarithms of
 * the coefficients (which keeps them positive), Levenberg-Marquardt from
 * several starts (GSL multifit_nlinear).  CC_EARG naming the point for bad
 * points or too few of them. */
int cc_calib_fit(const cc_sim_hw *hw, const cc_sim_model *m, const cc_calib_point *pts,
                 size_t n, cc_calib_result *res, cc_err *err);
/* Writes `base` with the fitted coefficients as profile `name` to path, with
 * the fit's error and `provenance` (how the points were measured) as
 * comments. */
int cc_calib_write_profile(const char *path, const cc_sim_hw *base, const char *name,
                           const cc_sim_model *m, const cc_calib_result *r,
                           const char *provenance, cc_err *err);

#endif
