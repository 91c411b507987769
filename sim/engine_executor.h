/*
 * engine_executor.h -- the real-engine executor: a cc_executor (sim.h) that
 * runs each step on a cc_engine (gpu/gpu.h) and returns its measured wall
 * time, so the simulator's driver (driver.h) replays a trace on real
 * kernels.  Semantics and costs: engine_executor.c.
 */
#ifndef CC_ENGINE_EXECUTOR_H
#define CC_ENGINE_EXECUTOR_H

#include "../gpu/gpu.h"
#include "../traces/traces.h"
#include "engine_calib.h"
#include "sim.h"

typedef struct cc_engine_exec_opts {
    /* Rates and latencies of the SSD and REMOTE tiers for kv_transfer (the
     * DRAM/HBM/PEER rate is measured at creation); NULL: those tiers move at
     * the measured rate too. */
    const cc_sim_hw *hw;
    /* 1: keep the logits of the last forward (cc_engine_exec_last_logits). */
    int keep_logits;
    /* the clock steps are timed with (engine_calib.h; 0 = wall): the one the
     * calibration it is compared with used */
    cc_engine_clock clock;
} cc_engine_exec_opts;

/* Counters of the KV store (all since creation). */
typedef struct cc_engine_exec_stats {
    uint64_t forwards;          /* cc_engine_forward calls */
    uint64_t prefill_items, decode_items;
    uint64_t reused_blocks;     /* cached blocks (per the driver) read from the store */
    uint64_t missing_blocks;    /* cached per the driver but not in the store: recomputed */
    uint64_t recomputed_tokens; /* tokens computed because of missing blocks */
    uint64_t copied_blocks;     /* copy-before-write of shared (partial) blocks */
    uint64_t stored_blocks;     /* blocks published to the store */
    uint64_t evicted_blocks;    /* store blocks dropped to make room (LRU) */
    double busy_s;              /* sum of the measured step durations */
    double host_bytes_per_s;    /* host <-> pool copy rate measured at creation */
} cc_engine_exec_stats;

/* An executor over engine e (not owned: it must outlive the executor) for
 * the requests of trace t (not owned).  The engine's block size must equal
 * the trace's (CC_EARG "block_size").  The executor owns the engine's pool
 * slots from now on.  CC_ENOMEM when allocations fail. */
int cc_engine_executor_create(cc_engine *e, const cc_trace *t, const cc_engine_exec_opts *o,
                              cc_executor *out, cc_err *err);
/* CC_EARG when x is not a real-engine executor. */
int cc_engine_exec_get_stats(const cc_executor *x, cc_engine_exec_stats *out);
/* Blocks of request req read from the store at its (last) admission, or -1
 * when req was never admitted. */
long cc_engine_exec_reused(const cc_executor *x, uint64_t req);
/* The block table of running request req (NULL when not running). */
const int32_t *cc_engine_exec_table(const cc_executor *x, uint64_t req, int *n_blocks,
                                    int *n_tokens);
/* The logits of the last forward ([rows][vocab], one row per sequence of
 * that forward, CC_LOGITS_LAST) when keep_logits; NULL otherwise. */
const float *cc_engine_exec_last_logits(const cc_executor *x, int *rows);

#endif
